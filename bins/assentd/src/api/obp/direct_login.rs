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

/// The raw parameter text of the DirectLogin credentials, if the request carries any. Only
/// UTF-8 is checked here: [`parse_params`] refuses control and non-ASCII characters in one
/// pass, so the token's few hundred bytes are not validated twice on every request.
pub fn credentials_text(headers: &HeaderMap) -> Result<&str, HeaderError> {
    if let Some(value) = headers.get("DirectLogin") {
        return text(value);
    }
    if let Some(value) = headers.get(actix_web::http::header::AUTHORIZATION) {
        let Some(rest) = text(value)?.trim_start().strip_prefix("DirectLogin") else {
            return Err(HeaderError::WrongScheme);
        };
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return Err(HeaderError::WrongScheme);
        }
        return Ok(rest);
    }
    Err(HeaderError::Missing)
}

fn text(value: &actix_web::http::header::HeaderValue) -> Result<&str, HeaderError> {
    std::str::from_utf8(value.as_bytes()).map_err(|_| HeaderError::InvalidCharacters)
}

/// Splits `name=value, name="value"` into pairs. Later duplicates are refused rather than
/// silently chosen.
pub fn parse_params(text: &str) -> Result<Vec<(String, String)>, HeaderError> {
    // ASCII only, so every byte index below is a character boundary. Every request with a
    // token passes here: values are sliced, not rebuilt character by character.
    let bytes = text.as_bytes();
    // Control characters are below 0x20 and 0x7f; non-ASCII is above. No early exit: a
    // branch-free pass that the compiler turns into vector instructions.
    if bytes
        .iter()
        .fold(false, |bad, &b| bad | !(0x20..0x7f).contains(&b))
    {
        return Err(HeaderError::InvalidCharacters);
    }
    let skip = |mut at: usize, what: &[u8]| {
        while bytes.get(at).is_some_and(|b| what.contains(b)) {
            at += 1;
        }
        at
    };
    // The index of the first separator at or after `at`, or the end (memchr scans a token's
    // few hundred bytes many at a time).
    let end_or = |at: usize, found: Option<usize>| found.map_or(bytes.len(), |n| at + n);
    let mut params: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    loop {
        at = skip(at, b" ,");
        if at == bytes.len() {
            break;
        }
        let name_end = end_or(at, memchr::memchr2(b'=', b',', &bytes[at..]));
        let name = text[at..name_end].trim();
        if bytes.get(name_end) != Some(&b'=') || name.is_empty() {
            return Err(HeaderError::InvalidCharacters);
        }
        at = skip(name_end + 1, b" ");
        let value = if bytes.get(at) == Some(&b'"') {
            let (value, after) = quoted(text, at + 1)?;
            at = skip(after, b" ");
            if bytes.get(at).is_some_and(|b| *b != b',') {
                return Err(HeaderError::InvalidCharacters);
            }
            value
        } else {
            let end = end_or(at, memchr::memchr(b',', &bytes[at..]));
            let value = text[at..end].trim().to_owned();
            at = end;
            value
        };
        if params.iter().any(|(n, _)| n == name) {
            return Err(HeaderError::InvalidCharacters);
        }
        params.push((name.to_owned(), value));
    }
    Ok(params)
}

/// The quoted value starting at `start` (just after the opening quote), unescaped, and the
/// index just after the closing quote.
fn quoted(text: &str, start: usize) -> Result<(String, usize), HeaderError> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut run = start;
    let mut at = start;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => {
                value.push_str(&text[run..at]);
                return Ok((value, at + 1));
            }
            b'\\' => {
                value.push_str(&text[run..at]);
                let escaped = bytes.get(at + 1).ok_or(HeaderError::InvalidCharacters)?;
                value.push(char::from(*escaped));
                at += 2;
                run = at;
            }
            _ => at += 1,
        }
    }
    Err(HeaderError::InvalidCharacters)
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

    /// The first parser, character by character: the reference the sliced one must match.
    fn reference_parse(text: &str) -> Result<Vec<(String, String)>, HeaderError> {
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

    proptest! {
        #[test]
        fn matches_the_reference_parser(text in "[a-z=,\" \\\\]{0,40}") {
            prop_assert_eq!(parse_params(&text), reference_parse(&text));
        }

        #[test]
        fn matches_the_reference_parser_on_any_text(text in ".{0,80}") {
            prop_assert_eq!(parse_params(&text), reference_parse(&text));
        }

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
