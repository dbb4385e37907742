//! The fine-grained permissions a view gives on an account: every `can_*` field of OBP's view
//! JSON, and a compact set of them with O(1) checks.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! permissions {
    ($($variant:ident => $name:literal,)*) => {
        /// One permission a view can give.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Permission {
            /// Every permission, in the order of its bit.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The field name in view JSON (`can_…`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            /// The permission of a `can_…` field name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Permission::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

permissions! {
    CanAddComment => "can_add_comment",
    CanAddCorporateLocation => "can_add_corporate_location",
    CanAddCounterparty => "can_add_counterparty",
    CanAddImage => "can_add_image",
    CanAddImageUrl => "can_add_image_url",
    CanAddMoreInfo => "can_add_more_info",
    CanAddOpenCorporatesUrl => "can_add_open_corporates_url",
    CanAddPhysicalLocation => "can_add_physical_location",
    CanAddPrivateAlias => "can_add_private_alias",
    CanAddPublicAlias => "can_add_public_alias",
    CanAddTag => "can_add_tag",
    CanAddTransactionRequestToAnyAccount => "can_add_transaction_request_to_any_account",
    CanAddTransactionRequestToOwnAccount => "can_add_transaction_request_to_own_account",
    CanAddUrl => "can_add_url",
    CanAddWhereTag => "can_add_where_tag",
    CanCreateDirectDebit => "can_create_direct_debit",
    CanCreateStandingOrder => "can_create_standing_order",
    CanDeleteComment => "can_delete_comment",
    CanDeleteCorporateLocation => "can_delete_corporate_location",
    CanDeleteImage => "can_delete_image",
    CanDeletePhysicalLocation => "can_delete_physical_location",
    CanDeleteTag => "can_delete_tag",
    CanDeleteWhereTag => "can_delete_where_tag",
    CanEditOwnerComment => "can_edit_owner_comment",
    CanQueryAvailableFunds => "can_query_available_funds",
    CanSeeBankAccountBalance => "can_see_bank_account_balance",
    CanSeeBankAccountBankName => "can_see_bank_account_bank_name",
    CanSeeBankAccountCreditLimit => "can_see_bank_account_credit_limit",
    CanSeeBankAccountCurrency => "can_see_bank_account_currency",
    CanSeeBankAccountIban => "can_see_bank_account_iban",
    CanSeeBankAccountLabel => "can_see_bank_account_label",
    CanSeeBankAccountNationalIdentifier => "can_see_bank_account_national_identifier",
    CanSeeBankAccountNumber => "can_see_bank_account_number",
    CanSeeBankAccountOwners => "can_see_bank_account_owners",
    CanSeeBankAccountRoutingAddress => "can_see_bank_account_routing_address",
    CanSeeBankAccountRoutingScheme => "can_see_bank_account_routing_scheme",
    CanSeeBankAccountSwiftBic => "can_see_bank_account_swift_bic",
    CanSeeBankAccountType => "can_see_bank_account_type",
    CanSeeBankRoutingAddress => "can_see_bank_routing_address",
    CanSeeBankRoutingScheme => "can_see_bank_routing_scheme",
    CanSeeComments => "can_see_comments",
    CanSeeCorporateLocation => "can_see_corporate_location",
    CanSeeImageUrl => "can_see_image_url",
    CanSeeImages => "can_see_images",
    CanSeeMoreInfo => "can_see_more_info",
    CanSeeOpenCorporatesUrl => "can_see_open_corporates_url",
    CanSeeOtherAccountBankName => "can_see_other_account_bank_name",
    CanSeeOtherAccountIban => "can_see_other_account_iban",
    CanSeeOtherAccountKind => "can_see_other_account_kind",
    CanSeeOtherAccountMetadata => "can_see_other_account_metadata",
    CanSeeOtherAccountNationalIdentifier => "can_see_other_account_national_identifier",
    CanSeeOtherAccountNumber => "can_see_other_account_number",
    CanSeeOtherAccountRoutingAddress => "can_see_other_account_routing_address",
    CanSeeOtherAccountRoutingScheme => "can_see_other_account_routing_scheme",
    CanSeeOtherAccountSwiftBic => "can_see_other_account_swift_bic",
    CanSeeOtherBankRoutingAddress => "can_see_other_bank_routing_address",
    CanSeeOtherBankRoutingScheme => "can_see_other_bank_routing_scheme",
    CanSeeOwnerComment => "can_see_owner_comment",
    CanSeePhysicalLocation => "can_see_physical_location",
    CanSeePrivateAlias => "can_see_private_alias",
    CanSeePublicAlias => "can_see_public_alias",
    CanSeeTags => "can_see_tags",
    CanSeeTransactionAmount => "can_see_transaction_amount",
    CanSeeTransactionBalance => "can_see_transaction_balance",
    CanSeeTransactionCurrency => "can_see_transaction_currency",
    CanSeeTransactionDescription => "can_see_transaction_description",
    CanSeeTransactionFinishDate => "can_see_transaction_finish_date",
    CanSeeTransactionMetadata => "can_see_transaction_metadata",
    CanSeeTransactionOtherBankAccount => "can_see_transaction_other_bank_account",
    CanSeeTransactionStartDate => "can_see_transaction_start_date",
    CanSeeTransactionThisBankAccount => "can_see_transaction_this_bank_account",
    CanSeeTransactionType => "can_see_transaction_type",
    CanSeeUrl => "can_see_url",
    CanSeeWhereTag => "can_see_where_tag",
}

impl Permission {
    fn bit(self) -> u128 {
        1u128 << (self as u32)
    }

    /// Whether this permission only lets its holder see something (`can_see_…`, or query
    /// available funds), as opposed to change or initiate anything.
    pub fn is_read_only(self) -> bool {
        self.name().starts_with("can_see_") || self == Permission::CanQueryAvailableFunds
    }
}

/// A set of permissions: one bit each, so a check is a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u128);

impl PermissionSet {
    /// No permission.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.iter().copied().collect()
    }

    /// Whether `permission` is in the set.
    #[inline]
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Removes `permission`.
    pub fn remove(&mut self, permission: Permission) {
        self.0 &= !permission.bit();
    }

    /// Every permission of either set.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every permission of `self` is in `other`.
    pub fn is_subset(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    /// The permissions in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    /// How many permissions the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as stored: the bits, as a decimal string (a `u128` fits no SQL integer type).
    pub fn to_storage(self) -> String {
        self.0.to_string()
    }

    /// A set from its stored form; bits beyond the known permissions are dropped.
    pub fn from_storage(stored: &str) -> Option<Self> {
        let bits: u128 = stored.parse().ok()?;
        Some(Self(bits & PermissionSet::all().0))
    }

    /// The set of the permissions named (each name trimmed); the first name that is no
    /// permission is the error.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, UnknownPermission> {
        names
            .into_iter()
            .map(|name| {
                let name = name.trim();
                Permission::from_name(name).ok_or_else(|| UnknownPermission(name.to_owned()))
            })
            .collect()
    }

    /// Applies changes given as `can_…` field names with `true` or `false`; names that are not
    /// permissions are returned as the error, and nothing changes.
    pub fn apply<'a>(
        self,
        changes: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Result<Self, UnknownPermission> {
        let mut next = self;
        for (name, value) in changes {
            let permission =
                Permission::from_name(name).ok_or_else(|| UnknownPermission(name.to_owned()))?;
            if value {
                next.insert(permission);
            } else {
                next.remove(permission);
            }
        }
        Ok(next)
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::empty();
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

/// A field name that is no permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {0:?}")]
pub struct UnknownPermission(pub String);

/// Serialised as OBP's view JSON has them: every `can_…` field, `true` or `false`.
impl Serialize for PermissionSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Permission::ALL.len()))?;
        for permission in Permission::ALL {
            map.serialize_entry(permission.name(), &self.contains(*permission))?;
        }
        map.end()
    }
}

/// Read from `can_…` fields (missing ones are `false`); other fields are ignored, so a whole
/// view JSON can be read.
impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = PermissionSet;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of can_* fields to booleans")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PermissionSet, A::Error> {
                let mut set = PermissionSet::empty();
                while let Some(key) = map.next_key::<String>()? {
                    match Permission::from_name(&key) {
                        Some(permission) => {
                            if map.next_value::<bool>()? {
                                set.insert(permission);
                            }
                        }
                        None => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(set)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_catalogue_has_every_field_of_the_reference_once() {
        assert_eq!(Permission::ALL.len(), 74);
        assert!(Permission::ALL.len() <= 128, "a set is one u128");
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 74);
        for permission in Permission::ALL {
            assert_eq!(Permission::from_name(permission.name()), Some(*permission));
            assert!(permission.name().starts_with("can_"));
        }
        for name in [
            "can_see_bank_account_credit_limit",
            "can_create_direct_debit",
            "can_create_standing_order",
            "can_add_transaction_request_to_own_account",
        ] {
            assert!(Permission::from_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_set_is_read_from_names() {
        let set = PermissionSet::from_names([" can_see_bank_account_balance", "can_add_comment "])
            .unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.contains(Permission::CanSeeBankAccountBalance));
        assert!(set.contains(Permission::CanAddComment));
        assert_eq!(PermissionSet::from_names([]), Ok(PermissionSet::empty()));
        assert_eq!(
            PermissionSet::from_names(["can_add_comment", " can_fly "]),
            Err(UnknownPermission("can_fly".into()))
        );
    }

    #[test]
    fn json_has_every_field_and_reads_back() {
        let mut set = PermissionSet::empty();
        set.insert(Permission::CanSeeBankAccountBalance);
        set.insert(Permission::CanCreateStandingOrder);
        let json = serde_json::to_value(set).unwrap();
        let fields = json.as_object().unwrap();
        assert_eq!(fields.len(), 74);
        assert_eq!(fields["can_see_bank_account_balance"], true);
        assert_eq!(fields["can_add_comment"], false);
        let back: PermissionSet = serde_json::from_value(json).unwrap();
        assert_eq!(back, set);
        let partial: PermissionSet = serde_json::from_value(serde_json::json!({
            "id": "x", "can_see_tags": true, "can_add_tag": false
        }))
        .unwrap();
        assert_eq!(
            partial.iter().collect::<Vec<_>>(),
            vec![Permission::CanSeeTags]
        );
    }

    #[test]
    fn changes_apply_all_or_nothing() {
        let set = PermissionSet::empty();
        let next = set
            .apply([("can_see_tags", true), ("can_add_tag", true)])
            .unwrap();
        assert_eq!(next.len(), 2);
        let off = next.apply([("can_add_tag", false)]).unwrap();
        assert_eq!(off.iter().collect::<Vec<_>>(), vec![Permission::CanSeeTags]);
        assert_eq!(
            next.apply([("can_see_tags", false), ("can_fly", true)]),
            Err(UnknownPermission("can_fly".into()))
        );
    }

    proptest! {
        #[test]
        fn storage_and_set_algebra_hold(bits in any::<u128>(), other in any::<u128>()) {
            let a = PermissionSet::from_storage(&bits.to_string()).unwrap();
            let b = PermissionSet::from_storage(&other.to_string()).unwrap();
            prop_assert!(a.is_subset(PermissionSet::all()));
            prop_assert_eq!(PermissionSet::from_storage(&a.to_storage()), Some(a));
            prop_assert!(a.is_subset(a.union(b)) && b.is_subset(a.union(b)));
            prop_assert_eq!(a.iter().count(), a.len());
            for p in Permission::ALL {
                prop_assert_eq!(a.union(b).contains(*p), a.contains(*p) || b.contains(*p));
            }
        }
    }
}
