//! Views: a named set of permissions on an account, and what its holder may grant and revoke.
//! System views are the same on every account; custom views belong to one account.

use crate::names::{self, ViewNameError};
use crate::permission::{Permission, PermissionSet, UnknownPermission};

/// Longest view description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Which alias of the counterparty a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alias {
    /// The public alias.
    Public,
    /// The private alias.
    Private,
    /// None: the real name.
    #[default]
    None,
}

impl Alias {
    /// As OBP's view JSON writes it: `public`, `private` or `""`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alias::Public => "public",
            Alias::Private => "private",
            Alias::None => "",
        }
    }

    /// `public`, `private`, or empty / `none` / `no` for none (any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "public" => Some(Alias::Public),
            "private" => Some(Alias::Private),
            "" | "none" | "no" => Some(Alias::None),
            _ => None,
        }
    }
}

/// What holding a view lets its holder hand on to others, or take away from them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delegation {
    /// System views (by id).
    pub system_views: Vec<String>,
    /// Whether any custom view of the account.
    pub custom_views: bool,
}

impl Delegation {
    /// Nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every system view and every custom view.
    pub fn everything() -> Self {
        Self {
            system_views: names::SYSTEM_VIEWS
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            custom_views: true,
        }
    }

    /// Whether this covers `view`.
    pub fn covers(&self, view: &ViewRef<'_>) -> bool {
        if view.is_system {
            self.system_views.iter().any(|v| v == view.view_id)
        } else {
            self.custom_views
        }
    }
}

/// A view named in a grant or revoke: its id and whether it is a system view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewRef<'a> {
    /// The view's id.
    pub view_id: &'a str,
    /// System (`true`) or custom (`false`).
    pub is_system: bool,
}

/// A view. Its fields are private: a view comes from the system views' definitions or from a
/// custom view's validated input ([`CustomViewInput::into_view`]), so its id, kind and
/// delegation always agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub(crate) view_id: String,
    pub(crate) short_name: String,
    pub(crate) description: String,
    pub(crate) metadata_view: String,
    pub(crate) is_public: bool,
    pub(crate) is_system: bool,
    pub(crate) is_firehose: bool,
    pub(crate) alias: Alias,
    pub(crate) hide_metadata_if_alias_used: bool,
    pub(crate) permissions: PermissionSet,
    pub(crate) can_grant: Delegation,
    pub(crate) can_revoke: Delegation,
}

impl View {
    /// Id: a system view's name, or a custom view's name lower-cased without spaces.
    pub fn view_id(&self) -> &str {
        &self.view_id
    }

    /// Short name, as given.
    pub fn short_name(&self) -> &str {
        &self.short_name
    }

    /// What it is for (at most 2000 characters).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The view whose metadata (comments, tags, ...) this view shows.
    pub fn metadata_view(&self) -> &str {
        &self.metadata_view
    }

    /// Whether anyone may see the account through it.
    pub fn is_public(&self) -> bool {
        self.is_public
    }

    /// System view or custom view.
    pub fn is_system(&self) -> bool {
        self.is_system
    }

    /// A firehose view (bulk access for the bank's own systems).
    pub fn is_firehose(&self) -> bool {
        self.is_firehose
    }

    /// Which counterparty alias it shows.
    pub fn alias(&self) -> Alias {
        self.alias
    }

    /// Hide metadata when an alias is shown.
    pub fn hide_metadata_if_alias_used(&self) -> bool {
        self.hide_metadata_if_alias_used
    }

    /// What it lets its holder see and do.
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// What its holder may grant to others.
    pub fn can_grant(&self) -> &Delegation {
        &self.can_grant
    }

    /// What its holder may revoke from others.
    pub fn can_revoke(&self) -> &Delegation {
        &self.can_revoke
    }

    /// Whether this view gives `permission`.
    #[inline]
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// This view as a grant or revoke names it.
    pub fn reference(&self) -> ViewRef<'_> {
        ViewRef {
            view_id: &self.view_id,
            is_system: self.is_system,
        }
    }
}

/// A custom view as a customer asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomViewInput {
    /// The name (must start with `_`).
    pub name: String,
    /// Description.
    pub description: String,
    /// The view whose metadata it shows; empty means itself.
    pub metadata_view: String,
    /// Public or not.
    pub is_public: bool,
    /// `public`, `private` or none.
    pub alias: String,
    /// Hide metadata when an alias is shown.
    pub hide_metadata_if_alias_used: bool,
    /// Its permissions.
    pub permissions: PermissionSet,
    /// Whether holders may grant this account's custom views.
    pub can_grant_custom_views: bool,
    /// Whether holders may revoke this account's custom views.
    pub can_revoke_custom_views: bool,
}

/// Why a custom view was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomViewError {
    /// The name breaks the naming rules.
    #[error(transparent)]
    Name(#[from] ViewNameError),
    /// The description is longer than 2000 characters or holds control characters.
    #[error("description: at most 2000 characters, no control characters")]
    Description,
    /// The alias is not `public`, `private` or none.
    #[error("alias must be public, private or empty")]
    Alias,
    /// The metadata view is neither a system view nor a custom view id.
    #[error("metadata_view must name a view")]
    MetadataView,
}

impl CustomViewInput {
    /// Checks the rules and builds the view. A custom view never delegates system views:
    /// only system views (such as `owner`) do.
    pub fn into_view(self) -> Result<View, CustomViewError> {
        let view_id = names::custom_view_id(&self.name)?;
        let description = self.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS
            || description.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(CustomViewError::Description);
        }
        let alias = Alias::parse(&self.alias).ok_or(CustomViewError::Alias)?;
        let metadata_view = match self.metadata_view.trim() {
            "" => view_id.clone(),
            other if names::is_system_view(other) => other.to_owned(),
            other => names::custom_view_id(other).map_err(|_| CustomViewError::MetadataView)?,
        };
        Ok(View {
            short_name: self.name.trim().to_owned(),
            view_id,
            description,
            metadata_view,
            is_public: self.is_public,
            is_system: false,
            is_firehose: false,
            alias,
            hide_metadata_if_alias_used: self.hide_metadata_if_alias_used,
            permissions: self.permissions,
            can_grant: Delegation {
                system_views: Vec::new(),
                custom_views: self.can_grant_custom_views,
            },
            can_revoke: Delegation {
                system_views: Vec::new(),
                custom_views: self.can_revoke_custom_views,
            },
        })
    }
}

/// A custom view as a request describes it: any field may be left out, and permissions are
/// named (`can_…`), as OBP's `allowed_actions` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomViewFields {
    /// The name (must start with `_`); never changes once the view exists.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The view whose metadata it shows; empty means itself.
    pub metadata_view: Option<String>,
    /// Public or not.
    pub is_public: Option<bool>,
    /// `public`, `private` or none.
    pub alias: Option<String>,
    /// Hide metadata when an alias is shown.
    pub hide_metadata_if_alias_used: Option<bool>,
    /// The permissions by name: the whole set, not changes to it.
    pub permissions: Option<Vec<String>>,
    /// Whether holders may grant this account's custom views.
    pub can_grant_custom_views: Option<bool>,
    /// Whether holders may revoke this account's custom views.
    pub can_revoke_custom_views: Option<bool>,
}

/// Why a custom view described by [`CustomViewFields`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomViewFieldsError {
    /// A permission named is no permission.
    #[error(transparent)]
    UnknownPermission(#[from] UnknownPermission),
    /// The view breaks a custom view rule.
    #[error(transparent)]
    Invalid(#[from] CustomViewError),
}

fn named_permissions(names: &[String]) -> Result<PermissionSet, UnknownPermission> {
    PermissionSet::from_names(names.iter().map(String::as_str))
}

impl CustomViewFields {
    /// A new custom view: fields left out are empty, `false` or no permission.
    pub fn into_new_view(self) -> Result<View, CustomViewFieldsError> {
        let permissions = named_permissions(&self.permissions.unwrap_or_default())?;
        Ok(CustomViewInput {
            name: self.name.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            metadata_view: self.metadata_view.unwrap_or_default(),
            is_public: self.is_public.unwrap_or(false),
            alias: self.alias.unwrap_or_default(),
            hide_metadata_if_alias_used: self.hide_metadata_if_alias_used.unwrap_or(false),
            permissions,
            can_grant_custom_views: self.can_grant_custom_views.unwrap_or(false),
            can_revoke_custom_views: self.can_revoke_custom_views.unwrap_or(false),
        }
        .into_view()?)
    }

    /// `current` with the fields given replacing its own, under the same rules as a new view.
    /// The name is kept whatever the fields say: it is where the view's id comes from.
    pub fn apply_to(self, current: &View) -> Result<View, CustomViewFieldsError> {
        let permissions = match &self.permissions {
            Some(names) => named_permissions(names)?,
            None => current.permissions,
        };
        Ok(CustomViewInput {
            name: current.short_name.clone(),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone()),
            metadata_view: self
                .metadata_view
                .unwrap_or_else(|| current.metadata_view.clone()),
            is_public: self.is_public.unwrap_or(current.is_public),
            alias: self
                .alias
                .unwrap_or_else(|| current.alias.as_str().to_owned()),
            hide_metadata_if_alias_used: self
                .hide_metadata_if_alias_used
                .unwrap_or(current.hide_metadata_if_alias_used),
            permissions,
            can_grant_custom_views: self
                .can_grant_custom_views
                .unwrap_or(current.can_grant.custom_views),
            can_revoke_custom_views: self
                .can_revoke_custom_views
                .unwrap_or(current.can_revoke.custom_views),
        }
        .into_view()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> CustomViewInput {
        CustomViewInput {
            name: name.into(),
            description: "For my accountant".into(),
            metadata_view: String::new(),
            is_public: false,
            alias: "private".into(),
            hide_metadata_if_alias_used: true,
            permissions: [Permission::CanSeeBankAccountBalance].into_iter().collect(),
            can_grant_custom_views: false,
            can_revoke_custom_views: false,
        }
    }

    #[test]
    fn custom_views_follow_the_rules() {
        let view = input("_My Accountant").into_view().unwrap();
        assert_eq!(view.view_id, "_myaccountant");
        assert_eq!(view.short_name, "_My Accountant");
        assert_eq!(view.metadata_view, "_myaccountant");
        assert!(!view.is_system && !view.is_firehose);
        assert_eq!(view.alias, Alias::Private);
        assert!(view.can(Permission::CanSeeBankAccountBalance));
        assert!(!view.can(Permission::CanAddComment));
        assert!(view.can_grant.system_views.is_empty());
        assert_eq!(
            input("accountant").into_view(),
            Err(CustomViewError::Name(ViewNameError::MissingUnderscore))
        );
        let mut long = input("_x");
        long.description = "d".repeat(2001);
        assert_eq!(long.into_view(), Err(CustomViewError::Description));
        let mut alias = input("_x");
        alias.alias = "secret".into();
        assert_eq!(alias.into_view(), Err(CustomViewError::Alias));
        let mut metadata = input("_x");
        metadata.metadata_view = "owner".into();
        assert_eq!(metadata.into_view().unwrap().metadata_view, "owner");
        metadata = input("_x");
        metadata.metadata_view = "no such/view".into();
        assert_eq!(metadata.into_view(), Err(CustomViewError::MetadataView));
    }

    #[test]
    fn fields_left_out_of_a_new_view_are_empty() {
        let view = CustomViewFields {
            name: Some("_Family".into()),
            permissions: Some(vec![" can_see_bank_account_balance ".into()]),
            ..CustomViewFields::default()
        }
        .into_new_view()
        .unwrap();
        assert_eq!(view.view_id, "_family");
        assert_eq!(view.description, "");
        assert_eq!(view.alias, Alias::None);
        assert!(!view.is_public && !view.can_grant.custom_views);
        assert_eq!(view.permissions.len(), 1);
        assert_eq!(
            CustomViewFields::default().into_new_view(),
            Err(CustomViewFieldsError::Invalid(CustomViewError::Name(
                ViewNameError::MissingUnderscore
            )))
        );
    }

    #[test]
    fn an_unknown_permission_is_named_before_other_rules_are_checked() {
        let fields = CustomViewFields {
            name: Some("no underscore".into()),
            permissions: Some(vec!["can_fly".into()]),
            ..CustomViewFields::default()
        };
        assert_eq!(
            fields.into_new_view(),
            Err(CustomViewFieldsError::UnknownPermission(UnknownPermission(
                "can_fly".into()
            )))
        );
    }

    #[test]
    fn changes_keep_what_they_leave_out_and_never_the_name() {
        let current = input("_My Accountant").into_view().unwrap();
        let changed = CustomViewFields {
            name: Some("_renamed".into()),
            is_public: Some(true),
            permissions: Some(vec!["can_add_comment".into()]),
            ..CustomViewFields::default()
        }
        .apply_to(&current)
        .unwrap();
        assert_eq!(changed.view_id, "_myaccountant");
        assert_eq!(changed.short_name, "_My Accountant");
        assert!(changed.is_public);
        assert_eq!(changed.description, current.description);
        assert_eq!(changed.alias, Alias::Private);
        assert!(changed.hide_metadata_if_alias_used);
        assert!(changed.can(Permission::CanAddComment));
        assert!(!changed.can(Permission::CanSeeBankAccountBalance));
        let untouched = CustomViewFields::default().apply_to(&current).unwrap();
        assert_eq!(untouched, current);
        let bad_alias = CustomViewFields {
            alias: Some("secret".into()),
            ..CustomViewFields::default()
        };
        assert_eq!(
            bad_alias.apply_to(&current),
            Err(CustomViewFieldsError::Invalid(CustomViewError::Alias))
        );
    }

    #[test]
    fn delegation_covers_what_it_names() {
        let owner = Delegation::everything();
        assert!(owner.covers(&ViewRef {
            view_id: "auditor",
            is_system: true
        }));
        assert!(owner.covers(&ViewRef {
            view_id: "_mine",
            is_system: false
        }));
        let custom_only = Delegation {
            system_views: Vec::new(),
            custom_views: true,
        };
        assert!(!custom_only.covers(&ViewRef {
            view_id: "owner",
            is_system: true
        }));
        assert!(custom_only.covers(&ViewRef {
            view_id: "_mine",
            is_system: false
        }));
        assert!(!Delegation::none().covers(&ViewRef {
            view_id: "_mine",
            is_system: false
        }));
    }
}
