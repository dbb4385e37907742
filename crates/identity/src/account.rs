//! Bank accounts: what a new account's id, label, product code and opening balance may hold.

use crate::bank::is_valid_bank_id;

/// An account as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Id at its bank: the same characters as a bank id.
    pub id: String,
    /// The customer's name for it.
    pub label: String,
    /// The bank's product code.
    pub product_code: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// The balance, a decimal number, e.g. `-12.50`.
    pub amount: String,
}

/// Why an account was refused: the id is not 1 to 255 letters, digits, `.`, `_` or `-`; the
/// label not 1 to 255 characters; the product code not 1 to 64 letters, digits, `_`, `-` or
/// `.`; the currency not three capital letters; or the amount not a decimal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid account fields")]
pub struct InvalidAccount;

fn is_text(value: &str, max: usize) -> bool {
    let len = value.chars().count();
    (1..=max).contains(&len) && !value.chars().any(char::is_control)
}

fn is_product_code(code: &str) -> bool {
    is_text(code, 64)
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn is_currency(currency: &str) -> bool {
    currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())
}

/// An optional `-`, 1 to 15 digits, and if there is a `.`, 1 to 4 digits after it.
fn is_amount(amount: &str) -> bool {
    let digits = amount.strip_prefix('-').unwrap_or(amount);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    (1..=15).contains(&whole.len())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 4
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (!digits.contains('.') || !fraction.is_empty())
}

impl NewAccount {
    /// Applies the rules; the label is judged as given and kept trimmed.
    pub fn validate(self) -> Result<Self, InvalidAccount> {
        if !is_valid_bank_id(&self.id)
            || !is_text(&self.label, 255)
            || !is_product_code(&self.product_code)
            || !is_currency(&self.currency)
            || !is_amount(&self.amount)
        {
            return Err(InvalidAccount);
        }
        Ok(Self {
            label: self.label.trim().to_owned(),
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> NewAccount {
        NewAccount {
            id: "acc-1".into(),
            label: " Savings ".into(),
            product_code: "SAV.01".into(),
            currency: "EUR".into(),
            amount: "0".into(),
        }
    }

    #[test]
    fn a_valid_account_keeps_its_label_trimmed() {
        let valid = account().validate().unwrap();
        assert_eq!(valid.label, "Savings");
        assert_eq!(valid.id, "acc-1");
    }

    #[test]
    fn ids_labels_and_product_codes() {
        for id in ["", "a b", "acc/1"] {
            let a = NewAccount {
                id: id.into(),
                ..account()
            };
            assert_eq!(a.validate(), Err(InvalidAccount), "{id:?}");
        }
        for label in ["", "tab\there", &"l".repeat(256)] {
            let a = NewAccount {
                label: label.into(),
                ..account()
            };
            assert_eq!(a.validate(), Err(InvalidAccount), "{label:?}");
        }
        assert!(
            NewAccount {
                label: "é".repeat(255),
                ..account()
            }
            .validate()
            .is_ok()
        );
        for code in ["", "a b", &"p".repeat(65), "p/1"] {
            let a = NewAccount {
                product_code: code.into(),
                ..account()
            };
            assert_eq!(a.validate(), Err(InvalidAccount), "{code:?}");
        }
    }

    #[test]
    fn currencies_are_three_capital_letters() {
        for currency in ["EU", "EURO", "eur", "E1R", "ÉUR"] {
            let a = NewAccount {
                currency: currency.into(),
                ..account()
            };
            assert_eq!(a.validate(), Err(InvalidAccount), "{currency:?}");
        }
    }

    #[test]
    fn amounts_are_decimal_numbers() {
        for ok in ["0", "-12.5", "123456789012345", "1.2345"] {
            assert!(is_amount(ok), "{ok:?}");
        }
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1.23456",
            "1234567890123456",
            "1e3",
            "+1",
            "1,5",
        ] {
            assert!(!is_amount(bad), "{bad:?}");
        }
    }
}
