//! Parsing the DirectLogin header, as OBP does: `DirectLogin: username=..., password=...,
//! consumer_key=...` or `Authorization: DirectLogin username=...`; values may be quoted (then
//! they may hold commas, with `\"` and `\\` escapes).

use actix_web::http::header::HeaderMap;

/// Why the header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Neither `DirectLogin` nor `Authorization` is present.
    Missing,
    /// `Authorization` is present with another scheme.
    WrongScheme,
    /// Control or non-ASCII characters, or unparsable structure.
    InvalidCharacters,
}

/// The raw parameter text of the DirectLogin credentials, if the request carries any.
pub fn credentials_text(headers: &HeaderMap) -> Result<String, HeaderError> {
    if let Some(value) = headers.get("DirectLogin") {
        let text = value.to_str().map_err(|_| HeaderError::InvalidCharacters)?;
        return Ok(text.to_owned());
    }
    if let Some(value) = headers.get(actix_web::http::header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| HeaderError::InvalidCharacters)?;
        let Some(rest) = text.trim_start().strip_prefix("DirectLogin") else {
            return Err(HeaderError::WrongScheme);
        };
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return Err(HeaderError::WrongScheme);
        }
        return Ok(rest.to_owned());
    }
    Err(HeaderError::Missing)
}

/// Splits `name=value, name="value"` into pairs. Later duplicates are refused rather than
/// silently chosen.
pub fn parse_params(text: &str) -> Result<Vec<(String, String)>, HeaderError> {
    if text.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(HeaderError::InvalidCharacters);
    }
    let mut params: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().to_owned();
        if chars.next() != Some('=') || name.is_empty() {
            return Err(HeaderError::InvalidCharacters);
        }
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or(HeaderError::InvalidCharacters)?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    other => value.push(other),
                }
            }
            if !closed {
                return Err(HeaderError::InvalidCharacters);
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek().is_some_and(|c| *c != ',') {
                return Err(HeaderError::InvalidCharacters);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_owned();
        }
        if params.iter().any(|(n, _)| *n == name) {
            return Err(HeaderError::InvalidCharacters);
        }
        params.push((name, value));
    }
    Ok(params)
}

/// The value of one parameter.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn reads_either_header() {
        assert_eq!(
            credentials_text(&headers(&[("directlogin", "token=abc")])).unwrap(),
            "token=abc"
        );
        assert_eq!(
            credentials_text(&headers(&[("authorization", "DirectLogin token=abc")])).unwrap(),
            " token=abc"
        );
        assert_eq!(
            credentials_text(&headers(&[("authorization", "Bearer abc")])),
            Err(HeaderError::WrongScheme)
        );
        assert_eq!(
            credentials_text(&headers(&[("authorization", "DirectLoginX token=abc")])),
            Err(HeaderError::WrongScheme)
        );
        assert_eq!(credentials_text(&headers(&[])), Err(HeaderError::Missing));
    }

    #[test]
    fn parses_plain_and_quoted_values() {
        let params =
            parse_params(r#"username=felix, password="a, \"quoted\" pass",consumer_key=k1"#)
                .unwrap();
        assert_eq!(param(&params, "username"), Some("felix"));
        assert_eq!(param(&params, "password"), Some(r#"a, "quoted" pass"#));
        assert_eq!(param(&params, "consumer_key"), Some("k1"));
        assert_eq!(param(&params, "token"), None);
    }

    #[test]
    fn refuses_broken_input() {
        assert_eq!(
            parse_params("username"),
            Err(HeaderError::InvalidCharacters)
        );
        assert_eq!(parse_params("=x"), Err(HeaderError::InvalidCharacters));
        assert_eq!(
            parse_params("a=\"open"),
            Err(HeaderError::InvalidCharacters)
        );
        assert_eq!(
            parse_params("a=\"x\"y"),
            Err(HeaderError::InvalidCharacters)
        );
        assert_eq!(parse_params("a=1,a=2"), Err(HeaderError::InvalidCharacters));
        assert_eq!(parse_params("a=\u{7}"), Err(HeaderError::InvalidCharacters));
    }

    #[test]
    fn empty_values_count_as_missing() {
        let params = parse_params("username=, password=\"\"").unwrap();
        assert_eq!(param(&params, "username"), None);
        assert_eq!(param(&params, "password"), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,200}") {
            let _ = parse_params(&text);
        }

        #[test]
        fn quoted_values_round_trip(value in "[ -~]{0,60}") {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let params = parse_params(&format!("password=\"{escaped}\", username=u")).unwrap();
            prop_assert_eq!(params[0].1.as_str(), value.as_str());
            prop_assert_eq!(param(&params, "username"), Some("u"));
        }
    }
}
