//! The system views: the same on every account, defined here (documented in
//! `docs/views.md`, which a test keeps in step).

use crate::names::SYSTEM_VIEWS;
use crate::permission::{Permission, PermissionSet};
use crate::view::{Alias, Delegation, View};
use Permission::*;

const ACCOUNT_BASIC: &[Permission] = &[
    CanSeeBankAccountLabel,
    CanSeeBankAccountType,
    CanSeeBankAccountCurrency,
    CanSeeBankAccountBankName,
];

const ACCOUNT_DETAIL: &[Permission] = &[
    CanSeeBankAccountNumber,
    CanSeeBankAccountIban,
    CanSeeBankAccountSwiftBic,
    CanSeeBankAccountNationalIdentifier,
    CanSeeBankAccountRoutingScheme,
    CanSeeBankAccountRoutingAddress,
    CanSeeBankRoutingScheme,
    CanSeeBankRoutingAddress,
    CanSeeBankAccountOwners,
];

const BALANCES: &[Permission] = &[
    CanSeeBankAccountBalance,
    CanSeeBankAccountCreditLimit,
    CanQueryAvailableFunds,
];

const TRANSACTIONS_BASIC: &[Permission] = &[
    CanSeeTransactionAmount,
    CanSeeTransactionCurrency,
    CanSeeTransactionType,
    CanSeeTransactionStartDate,
    CanSeeTransactionFinishDate,
    CanSeeTransactionThisBankAccount,
];

const TRANSACTIONS_DETAIL: &[Permission] = &[
    CanSeeTransactionDescription,
    CanSeeTransactionBalance,
    CanSeeTransactionOtherBankAccount,
    CanSeeOtherAccountBankName,
    CanSeeOtherAccountIban,
    CanSeeOtherAccountKind,
    CanSeeOtherAccountNationalIdentifier,
    CanSeeOtherAccountNumber,
    CanSeeOtherAccountRoutingAddress,
    CanSeeOtherAccountRoutingScheme,
    CanSeeOtherAccountSwiftBic,
    CanSeeOtherBankRoutingAddress,
    CanSeeOtherBankRoutingScheme,
];

const METADATA_READ: &[Permission] = &[
    CanSeeTransactionMetadata,
    CanSeeOtherAccountMetadata,
    CanSeeComments,
    CanSeeTags,
    CanSeeImages,
    CanSeeImageUrl,
    CanSeeWhereTag,
    CanSeeMoreInfo,
    CanSeeUrl,
    CanSeePublicAlias,
    CanSeePrivateAlias,
    CanSeeOwnerComment,
    CanSeePhysicalLocation,
    CanSeeCorporateLocation,
    CanSeeOpenCorporatesUrl,
];

const METADATA_WRITE: &[Permission] = &[
    CanAddComment,
    CanDeleteComment,
    CanAddTag,
    CanDeleteTag,
    CanAddImage,
    CanAddImageUrl,
    CanDeleteImage,
    CanAddWhereTag,
    CanDeleteWhereTag,
];

fn set(groups: &[&[Permission]]) -> PermissionSet {
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

fn read_only() -> PermissionSet {
    Permission::ALL
        .iter()
        .copied()
        .filter(|p| p.is_read_only())
        .collect()
}

/// The definition of a system view, or `None` for any other id.
pub fn system_view(view_id: &str) -> Option<View> {
    let (description, permissions, grants, is_firehose) = match view_id {
        "owner" => (
            "The account's holder: sees and may do everything, and may grant and revoke every view.",
            PermissionSet::all(),
            Delegation::everything(),
            false,
        ),
        "auditor" => (
            "Read-only: everything there is to see, nothing to change.",
            read_only(),
            Delegation::none(),
            false,
        ),
        "accountant" => (
            "Read-only: account details, balances, transactions and their comments and tags.",
            set(&[
                ACCOUNT_BASIC,
                ACCOUNT_DETAIL,
                BALANCES,
                TRANSACTIONS_BASIC,
                TRANSACTIONS_DETAIL,
                &[CanSeeComments, CanSeeTags],
            ]),
            Delegation::none(),
            false,
        ),
        "firehose" => (
            "Read-only bulk access for the bank's own systems.",
            read_only(),
            Delegation::none(),
            true,
        ),
        "standard" => (
            "Everyday use: sees the account and its transactions, manages comments, tags and images; no payments.",
            set(&[
                ACCOUNT_BASIC,
                ACCOUNT_DETAIL,
                BALANCES,
                TRANSACTIONS_BASIC,
                TRANSACTIONS_DETAIL,
                METADATA_READ,
                METADATA_WRITE,
            ]),
            Delegation::none(),
            false,
        ),
        "StageOne" => (
            "Onboarding: the account's basic details only.",
            set(&[ACCOUNT_BASIC]),
            Delegation::none(),
            false,
        ),
        "ManageCustomViews" => (
            "Manages the account's custom views and who holds them; sees no account data.",
            PermissionSet::empty(),
            Delegation {
                system_views: Vec::new(),
                custom_views: true,
            },
            false,
        ),
        "ReadAccountsBasic" => (
            "Read: the account's label, type, currency and bank.",
            set(&[ACCOUNT_BASIC]),
            Delegation::none(),
            false,
        ),
        "ReadAccountsDetail" => (
            "Read: the account's basic details, numbers, routings and owners.",
            set(&[ACCOUNT_BASIC, ACCOUNT_DETAIL]),
            Delegation::none(),
            false,
        ),
        "ReadBalances" => (
            "Read: balance, credit limit and available funds.",
            set(&[BALANCES]),
            Delegation::none(),
            false,
        ),
        "ReadTransactionsBasic" => (
            "Read: transactions' amount, currency, type and dates.",
            set(&[TRANSACTIONS_BASIC]),
            Delegation::none(),
            false,
        ),
        "ReadTransactionsDebits" => (
            "Read: as ReadTransactionsBasic, for debits only (the data layer applies the filter).",
            set(&[TRANSACTIONS_BASIC]),
            Delegation::none(),
            false,
        ),
        "ReadTransactionsDetail" => (
            "Read: transactions in full, with the counterparty's account.",
            set(&[TRANSACTIONS_BASIC, TRANSACTIONS_DETAIL]),
            Delegation::none(),
            false,
        ),
        _ => return None,
    };
    Some(View {
        view_id: view_id.to_owned(),
        short_name: view_id.to_owned(),
        description: description.to_owned(),
        metadata_view: view_id.to_owned(),
        is_public: false,
        is_system: true,
        is_firehose,
        alias: Alias::None,
        hide_metadata_if_alias_used: false,
        permissions,
        can_revoke: grants.clone(),
        can_grant: grants,
    })
}

/// Every system view.
pub fn system_views() -> Vec<View> {
    SYSTEM_VIEWS
        .iter()
        .filter_map(|id| system_view(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_view_is_defined() {
        assert_eq!(system_views().len(), SYSTEM_VIEWS.len());
        assert!(system_view("_custom").is_none());
        assert!(system_view("Owner").is_none(), "ids are exact");
    }

    #[test]
    fn owner_does_everything_and_the_readers_only_read() {
        let owner = system_view("owner").unwrap();
        assert_eq!(owner.permissions, PermissionSet::all());
        for view in system_views() {
            assert!(
                owner.can_grant.covers(&view.reference()),
                "{}",
                view.view_id
            );
            assert!(view.permissions.is_subset(owner.permissions));
        }
        for id in [
            "auditor",
            "accountant",
            "firehose",
            "ReadAccountsBasic",
            "ReadAccountsDetail",
            "ReadBalances",
            "ReadTransactionsBasic",
            "ReadTransactionsDebits",
            "ReadTransactionsDetail",
            "StageOne",
        ] {
            let view = system_view(id).unwrap();
            assert!(
                view.permissions.iter().all(Permission::is_read_only),
                "{id}"
            );
            assert_eq!(view.can_grant, Delegation::none(), "{id}");
        }
        assert!(system_view("firehose").unwrap().is_firehose);
        let manager = system_view("ManageCustomViews").unwrap();
        assert!(manager.permissions.is_empty());
        assert!(manager.can_grant.custom_views && manager.can_grant.system_views.is_empty());
        assert!(
            !system_view("standard")
                .unwrap()
                .can(CanAddTransactionRequestToOwnAccount)
        );
    }
}

#[cfg(test)]
mod documentation {
    use super::*;

    /// The table of docs/views.md, as the definitions above give it.
    fn table() -> String {
        let mut out = String::from("| view | grants and revokes | permissions |\n|---|---|---|\n");
        for view in system_views() {
            let delegates = if view.can_grant.system_views.len() == SYSTEM_VIEWS.len() {
                "every view".to_owned()
            } else if view.can_grant.custom_views {
                "custom views".to_owned()
            } else {
                "nothing".to_owned()
            };
            let permissions = if view.permissions == PermissionSet::all() {
                "all".to_owned()
            } else if view.permissions.is_empty() {
                "none".to_owned()
            } else {
                view.permissions
                    .iter()
                    .map(|p| format!("`{}`", p.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "| `{}`{} | {delegates} | {permissions} |\n",
                view.view_id,
                if view.is_firehose { " (firehose)" } else { "" }
            ));
        }
        out
    }

    #[test]
    fn docs_show_every_system_view_as_defined() {
        let doc = include_str!("../../../docs/views.md");
        let table = table();
        if !doc.contains(&table) {
            std::fs::write(std::env::temp_dir().join("assent-views-table.md"), &table).unwrap();
            panic!(
                "docs/views.md is out of date; the current table is in the temp dir's assent-views-table.md"
            );
        }
    }
}
