//! User auth contexts: what a key and a value may hold.

/// Why a pair was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "auth context keys are 1 to 255 of letters, digits, '_', '-', '.'; values 1 to 255 characters without control characters"
)]
pub struct InvalidAuthContext;

/// Checks a key and a value (the value is trimmed).
pub fn validate(key: &str, value: &str) -> Result<(String, String), InvalidAuthContext> {
    let key_ok = !key.is_empty()
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let value = value.trim();
    let value_ok =
        (1..=255).contains(&value.chars().count()) && !value.chars().any(char::is_control);
    if key_ok && value_ok {
        Ok((key.to_owned(), value.to_owned()))
    } else {
        Err(InvalidAuthContext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        assert_eq!(
            validate("CUSTOMER_NUMBER", " 78987432 ").unwrap().1,
            "78987432"
        );
        assert!(validate("", "x").is_err());
        assert!(validate("a b", "x").is_err());
        assert!(validate("k", "").is_err());
        assert!(validate("k", "a\nb").is_err());
        assert!(validate(&"k".repeat(256), "x").is_err());
    }
}
