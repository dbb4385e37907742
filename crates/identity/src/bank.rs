//! Banks: what a bank's id and descriptive fields may hold.

/// A bank as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBank {
    /// Id, e.g. `gh.29.uk`.
    pub id: String,
    /// Short name.
    pub short_name: String,
    /// Full name.
    pub full_name: String,
    /// Logo URL, or empty.
    pub logo: String,
    /// Website URL, or empty.
    pub website: String,
}

/// Why a bank was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// The id is empty, over 255 characters, or holds characters other than ASCII letters,
    /// digits, `.`, `_` and `-`.
    #[error("invalid bank id")]
    InvalidId,
    /// A name is empty, over 255 characters, or holds control characters.
    #[error("invalid bank name")]
    InvalidName,
    /// The logo or website is neither empty nor an http(s) URL of at most 2048 characters.
    #[error("invalid bank URL")]
    InvalidUrl,
}

/// Whether `id` can name a bank: 1 to 255 of ASCII letters, digits, `.`, `_`, `-`.
pub fn is_valid_bank_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn valid_name(name: &str) -> bool {
    let len = name.trim().chars().count();
    (1..=255).contains(&len) && !name.chars().any(char::is_control)
}

fn valid_url(url: &str) -> bool {
    url.is_empty()
        || (url.len() <= 2048
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(|c| c.is_control() || c.is_whitespace()))
}

impl NewBank {
    /// Applies the rules, trimming names.
    pub fn validate(self) -> Result<Self, BankError> {
        if !is_valid_bank_id(&self.id) {
            return Err(BankError::InvalidId);
        }
        if !valid_name(&self.short_name) || !valid_name(&self.full_name) {
            return Err(BankError::InvalidName);
        }
        if !valid_url(&self.logo) || !valid_url(&self.website) {
            return Err(BankError::InvalidUrl);
        }
        Ok(Self {
            short_name: self.short_name.trim().to_owned(),
            full_name: self.full_name.trim().to_owned(),
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(id: &str) -> NewBank {
        NewBank {
            id: id.into(),
            short_name: "Bank".into(),
            full_name: "The Bank".into(),
            logo: String::new(),
            website: "https://bank.example".into(),
        }
    }

    #[test]
    fn ids() {
        assert!(bank("gh.29.uk").validate().is_ok());
        assert_eq!(bank("").validate(), Err(BankError::InvalidId));
        assert_eq!(bank("a b").validate(), Err(BankError::InvalidId));
        assert_eq!(bank("bank/1").validate(), Err(BankError::InvalidId));
        assert_eq!(bank(&"a".repeat(256)).validate(), Err(BankError::InvalidId));
    }

    #[test]
    fn names_and_urls() {
        let mut b = bank("x");
        b.short_name = " ".into();
        assert_eq!(b.validate(), Err(BankError::InvalidName));
        let mut b = bank("x");
        b.logo = "javascript:alert(1)".into();
        assert_eq!(b.validate(), Err(BankError::InvalidUrl));
        let mut b = bank("x");
        b.website = "https://a b".into();
        assert_eq!(b.validate(), Err(BankError::InvalidUrl));
    }
}
