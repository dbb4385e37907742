//! Masking of contact details: phone `+99XXXXXX07` (the `+`, the first two digits and the last
//! two kept), email `sowXXXXXXXX@example.com` (the first three characters of the local part
//! kept, never all of it).

/// A contact detail that cannot be masked because it is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    /// Not an E.164 phone number (`+` and 8 to 15 digits; spaces, dashes, dots and brackets
    /// are ignored).
    #[error("not an international phone number")]
    InvalidPhone,
    /// Not an email address with a non-empty local part and domain.
    #[error("not an email address")]
    InvalidEmail,
}

/// The digits of an E.164 number, separators removed.
pub fn normalise_phone(phone: &str) -> Result<String, MaskError> {
    let rest = phone
        .trim()
        .strip_prefix('+')
        .ok_or(MaskError::InvalidPhone)?;
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(MaskError::InvalidPhone),
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(MaskError::InvalidPhone);
    }
    Ok(digits)
}

/// `+99XXXXXX07`: the country prefix's first two digits and the last two digits shown, every
/// other digit an `X`.
pub fn mask_phone(phone: &str) -> Result<String, MaskError> {
    let digits = normalise_phone(phone)?;
    let len = digits.len();
    let masked: String = digits
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 2 || i >= len - 2 { c } else { 'X' })
        .collect();
    Ok(format!("+{masked}"))
}

/// `sowXXX@example.com`: up to three characters of the local part shown, always at least one
/// hidden; the domain shown.
pub fn mask_email(email: &str) -> Result<String, MaskError> {
    let (local, domain) = email
        .trim()
        .rsplit_once('@')
        .ok_or(MaskError::InvalidEmail)?;
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return Err(MaskError::InvalidEmail);
    }
    let chars = local.chars().count();
    let shown = chars.saturating_sub(1).min(3);
    let masked: String = local
        .chars()
        .enumerate()
        .map(|(i, c)| if i < shown { c } else { 'X' })
        .collect();
    Ok(format!("{masked}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert_eq!(mask_phone("+9912345607").unwrap(), "+99XXXXXX07");
        assert_eq!(mask_phone("+44 (20) 7946-0958").unwrap(), "+44XXXXXXXX58");
        assert_eq!(mask_phone("9912345607"), Err(MaskError::InvalidPhone));
        assert_eq!(mask_phone("+99123"), Err(MaskError::InvalidPhone));
        assert_eq!(mask_phone("+0912345607"), Err(MaskError::InvalidPhone));
        assert_eq!(mask_phone("+99123456x7"), Err(MaskError::InvalidPhone));
        assert_eq!(
            mask_phone(&format!("+{}", "1".repeat(16))),
            Err(MaskError::InvalidPhone)
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            mask_email("sowmya.k@temenos.com").unwrap(),
            "sowXXXXX@temenos.com"
        );
        assert_eq!(mask_email("ab@example.com").unwrap(), "aX@example.com");
        assert_eq!(mask_email("a@example.com").unwrap(), "X@example.com");
        assert_eq!(mask_email("no-at-sign"), Err(MaskError::InvalidEmail));
        assert_eq!(mask_email("@example.com"), Err(MaskError::InvalidEmail));
        assert_eq!(mask_email("a@"), Err(MaskError::InvalidEmail));
    }

    proptest! {
        #[test]
        fn a_masked_phone_shows_at_most_four_digits(digits in "[1-9][0-9]{7,14}") {
            let masked = mask_phone(&format!("+{digits}")).unwrap();
            prop_assert_eq!(masked.len(), digits.len() + 1);
            prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 4);
            prop_assert!(masked.ends_with(&digits[digits.len() - 2..]));
        }

        #[test]
        fn a_masked_email_never_shows_the_whole_local_part(local in "[a-z0-9._%+-]{1,64}") {
            let masked = mask_email(&format!("{local}@example.com")).unwrap();
            let (shown, domain) = masked.rsplit_once('@').unwrap();
            prop_assert_eq!(domain, "example.com");
            prop_assert_eq!(shown.chars().count(), local.chars().count());
            prop_assert!(shown.contains('X'));
            prop_assert!(shown.chars().filter(|c| *c != 'X').count() <= 3);
        }
    }
}
