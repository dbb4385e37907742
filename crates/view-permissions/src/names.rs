//! View names and ids. System views have fixed names that never start with `_`; custom views
//! belong to one account, their names start with `_`, and their id is the name lower-cased
//! without spaces.

/// The system views every account can grant.
pub const SYSTEM_VIEWS: &[&str] = &[
    "owner",
    "auditor",
    "accountant",
    "firehose",
    "standard",
    "StageOne",
    "ManageCustomViews",
    "ReadAccountsBasic",
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsBasic",
    "ReadTransactionsDebits",
    "ReadTransactionsDetail",
];

/// Longest view name accepted.
pub const MAX_VIEW_NAME_CHARS: usize = 255;

/// Whether `view_id` names a system view.
pub fn is_system_view(view_id: &str) -> bool {
    SYSTEM_VIEWS.contains(&view_id)
}

/// Why a custom view name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewNameError {
    /// Custom view names must start with `_` (OBP-20020).
    #[error("custom view names must start with an underscore")]
    MissingUnderscore,
    /// Empty after the underscore, too long, or with characters other than letters, digits,
    /// spaces, `_`, `-` and `.`.
    #[error(
        "custom view names are 2 to 255 characters of letters, digits, spaces, '_', '-' and '.'"
    )]
    Invalid,
}

/// The id of a custom view called `name`: the name lower-cased, spaces removed.
pub fn custom_view_id(name: &str) -> Result<String, ViewNameError> {
    if !name.starts_with('_') {
        return Err(ViewNameError::MissingUnderscore);
    }
    let len = name.chars().count();
    let allowed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'));
    let id: String = name
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !allowed || len > MAX_VIEW_NAME_CHARS || id.len() < 2 {
        return Err(ViewNameError::Invalid);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn system_views_never_look_custom() {
        for view in SYSTEM_VIEWS {
            assert!(!view.starts_with('_'));
            assert_eq!(custom_view_id(view), Err(ViewNameError::MissingUnderscore));
        }
    }

    #[test]
    fn custom_names() {
        assert_eq!(custom_view_id("_Family Members").unwrap(), "_familymembers");
        assert_eq!(custom_view_id("_a.b-c_d").unwrap(), "_a.b-c_d");
        assert_eq!(custom_view_id("_"), Err(ViewNameError::Invalid));
        assert_eq!(custom_view_id("_ "), Err(ViewNameError::Invalid));
        assert_eq!(custom_view_id("_bad/name"), Err(ViewNameError::Invalid));
        assert_eq!(
            custom_view_id(&format!("_{}", "x".repeat(255))),
            Err(ViewNameError::Invalid)
        );
    }

    proptest! {
        #[test]
        fn custom_ids_are_never_system_ids(name in "_[A-Za-z0-9 ._-]{1,60}") {
            if let Ok(id) = custom_view_id(&name) {
                prop_assert!(!is_system_view(&id));
                prop_assert!(id.starts_with('_'));
                prop_assert!(!id.contains(' '));
                prop_assert_eq!(custom_view_id(&id), Ok(id.clone()));
            }
        }
    }
}
