//! Account access: accounts and their holders, custom views, grants and revokes. Each change
//! is one transaction that first locks the account's access (`accounts::lock_access`), so the
//! rules that count (the last owner, what the caller may define) are judged on what is stored
//! when the change is made, and any refusal changes nothing.

use super::auth::SignedIn;
use super::caller::{ConsentCannot, customer_only};
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, Internal, record, refuse, rollback_if_refused};
use assent_identity::UserId;
use assent_identity::account::{InvalidAccount, NewAccount};
use assent_identity::roles;
use assent_repository::accounts::{self, AccountRow, CustomViewRow, Grant};
use assent_repository::users::UserDetailsRow;
use assent_repository::{DbConnection, RepoError, banks, to_micros, users};
use assent_view_permissions::access::{self, AccessRefusal, Actor, OWNER_VIEW};
use assent_view_permissions::names;
use assent_view_permissions::system::{system_view, system_views};
use assent_view_permissions::view::{CustomViewFields, CustomViewFieldsError, View};
use serde_json::json;
use time::OffsetDateTime;

/// A view named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRequest {
    pub view_id: String,
    pub is_system: bool,
}

/// An account named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub bank_id: String,
    pub account_id: String,
}

/// A custom view named in a request: its account and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomViewRef {
    pub account: AccountRef,
    pub view_id: String,
}

/// Why an account-access use case was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRefusal {
    MissingRoles(MissingRoles),
    ConsentCannot(ConsentCannot),
    BankNotFound,
    AccountNotFound,
    UserNotFound,
    UnknownSystemView(String),
    /// No custom view of this id on the account (or none any more).
    UnknownCustomView(String),
    /// The access rules refuse the change.
    Rule(AccessRefusal),
    /// The caller neither holds the account nor holds a view that allows what was asked.
    NotAllowed,
    /// The user does not hold the view to revoke.
    NoSuchGrant(String),
    InvalidAccount(InvalidAccount),
    AccountIdTaken,
    InvalidCustomView(CustomViewFieldsError),
    CustomViewExists,
    /// System views are the same on every account: nobody changes or deletes one.
    SystemViewImmutable,
    /// A DAuth user's provider must be `dauth.` and a network name.
    InvalidDAuthProvider,
    InvalidUsername,
}

impl From<MissingRoles> for AccountRefusal {
    fn from(missing: MissingRoles) -> Self {
        AccountRefusal::MissingRoles(missing)
    }
}

impl From<ConsentCannot> for AccountRefusal {
    fn from(cannot: ConsentCannot) -> Self {
        AccountRefusal::ConsentCannot(cannot)
    }
}

type Outcome<T> = Result<T, Failure<AccountRefusal>>;

/// Runs `work` in one transaction that takes the account's lock first, so the caller's rights
/// are judged on what is stored when the change is made and changes to one account never
/// interleave. A refusal rolls everything back.
fn under_account_lock<T>(
    conn: &mut DbConnection,
    account: &AccountRef,
    mut work: impl FnMut(&mut DbConnection) -> Outcome<T>,
) -> Outcome<T> {
    rollback_if_refused(conn, |conn| {
        accounts::lock_access(conn, &account.bank_id, &account.account_id)?;
        work(conn)
    })
}

/// The account, if the bank and the account exist.
fn existing_account(conn: &mut DbConnection, account: &AccountRef) -> Outcome<AccountRow> {
    let bank_id = account.bank_id.as_str();
    if !assent_identity::bank::is_valid_bank_id(bank_id) || banks::find(conn, bank_id)?.is_none() {
        return refuse(AccountRefusal::BankNotFound);
    }
    accounts::find(conn, bank_id, &account.account_id)?
        .ok_or(Failure::Refused(AccountRefusal::AccountNotFound))
}

/// What `user_id` may do on the account: whether they hold it, and the views they hold.
fn actor_of(
    conn: &mut DbConnection,
    bank_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<(bool, Vec<View>), RepoError> {
    Ok((
        accounts::is_holder(conn, bank_id, account_id, user_id)?,
        accounts::views_held(conn, bank_id, account_id, user_id)?,
    ))
}

/// The view a request names, on this account.
fn resolve(conn: &mut DbConnection, account: &AccountRef, view: &ViewRequest) -> Outcome<View> {
    if view.is_system {
        system_view(&view.view_id).ok_or_else(|| {
            Failure::Refused(AccountRefusal::UnknownSystemView(view.view_id.clone()))
        })
    } else if names::custom_view_id(&view.view_id).as_deref() != Ok(view.view_id.as_str()) {
        // Not an id a custom view can have: never looked up (PostgreSQL refuses some
        // characters in text with an error).
        refuse(AccountRefusal::UnknownCustomView(view.view_id.clone()))
    } else {
        stored_custom_view(conn, account, &view.view_id)
    }
}

/// The account's custom view `view_id`.
fn stored_custom_view(
    conn: &mut DbConnection,
    account: &AccountRef,
    view_id: &str,
) -> Outcome<View> {
    let row = accounts::custom_view(conn, &account.bank_id, &account.account_id, view_id)?
        .ok_or_else(|| Failure::Refused(AccountRefusal::UnknownCustomView(view_id.to_owned())))?;
    Ok(row.view()?)
}

fn existing_user(conn: &mut DbConnection, user_id: &str) -> Outcome<String> {
    super::users::existing_user(conn, user_id)?
        .ok_or(Failure::Refused(AccountRefusal::UserNotFound))
}

/// Refuses unless `caller` may define `view` (create, change or delete it) on the account:
/// holders may define any custom view, managers of custom views only views within what they
/// have themselves.
fn require_may_define(
    conn: &mut DbConnection,
    account: &AccountRef,
    caller: &str,
    view: &View,
) -> Outcome<()> {
    let (is_holder, views) = actor_of(conn, &account.bank_id, &account.account_id, caller)?;
    let actor = Actor {
        is_holder,
        views: &views,
    };
    match access::may_define(&actor, view) {
        Ok(()) => Ok(()),
        Err(refusal @ AccessRefusal::OnlyHoldersDelegate(_)) => {
            refuse(AccountRefusal::Rule(refusal))
        }
        Err(_) => refuse(AccountRefusal::NotAllowed),
    }
}

/// A new account to open at a bank for a holder.
#[derive(Debug, Clone)]
pub struct OpenAccount {
    pub bank_id: String,
    /// The user who will hold it.
    pub holder: String,
    pub account: NewAccount,
}

/// Opens an account with `holder` holding it (`owner` and `ManageCustomViews`), audited as
/// `account.created`. Opening an account for someone else needs `CanCreateAccount` at the bank.
pub fn create_account(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    input: OpenAccount,
) -> Outcome<AccountRow> {
    if input.holder != caller.user.user_id {
        require(
            ctx,
            caller,
            &[Need::AtBank(roles::CAN_CREATE_ACCOUNT, &input.bank_id)],
        )?;
    }
    let account = input
        .account
        .validate()
        .map_err(|e| Failure::Refused(AccountRefusal::InvalidAccount(e)))?;
    let now = ctx.now;
    let row = AccountRow {
        bank_id: input.bank_id,
        account_id: account.id,
        label: account.label,
        product_code: account.product_code,
        currency: account.currency,
        balance_amount: account.amount,
        created_at: to_micros(now),
        access_version: 0,
    };
    let by = caller.user.user_id.as_str();
    rollback_if_refused(ctx.conn(), |conn| {
        if banks::find(conn, &row.bank_id)?.is_none() {
            return refuse(AccountRefusal::BankNotFound);
        }
        let holder = existing_user(conn, &input.holder)?;
        if !accounts::create(conn, &row, &holder, now)? {
            return refuse(AccountRefusal::AccountIdTaken);
        }
        record(
            conn,
            now,
            "account.created",
            Some(&holder),
            json!({ "bank_id": row.bank_id, "account_id": row.account_id, "by": by }),
        )?;
        Ok(())
    })?;
    Ok(row)
}

/// Every view of the account: the system views, then its custom views. Holders and those
/// who may hand views on see them; through a consent, only the views it reaches that the
/// customer still holds count, never the customer's standing as a holder (unless it covers
/// everything at this bank), and nothing at another bank.
pub fn list_views(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
) -> Outcome<Vec<View>> {
    let conn = ctx.conn();
    existing_account(conn, &account)?;
    let (bank_id, account_id) = (account.bank_id.as_str(), account.account_id.as_str());
    let user_id = caller.user.user_id.as_str();
    let allowed = match caller.consent.as_ref() {
        Some(reach) if !(reach.is_everything() && reach.bank_id() == bank_id) => {
            let reached: Vec<View> = accounts::views_held(conn, bank_id, account_id, user_id)?
                .into_iter()
                .filter(|v| reach.covers_view(bank_id, account_id, v.view_id()))
                .collect();
            access::delegates_anything(&Actor {
                is_holder: false,
                views: &reached,
            })
        }
        _ => {
            let (is_holder, views) = actor_of(conn, bank_id, account_id, user_id)?;
            access::delegates_anything(&Actor {
                is_holder,
                views: &views,
            })
        }
    };
    if !allowed {
        return refuse(AccountRefusal::NotAllowed);
    }
    let mut views = system_views();
    for row in accounts::custom_views_of(conn, bank_id, account_id)? {
        views.push(row.view()?);
    }
    Ok(views)
}

/// Creates a custom view on the account, audited as `custom_view.created`.
pub fn create_custom_view(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
    fields: CustomViewFields,
) -> Outcome<View> {
    let now = ctx.now;
    let conn = ctx.conn();
    existing_account(conn, &account)?;
    let view = fields
        .into_new_view()
        .map_err(|e| Failure::Refused(AccountRefusal::InvalidCustomView(e)))?;
    let caller_id = caller.user.user_id.as_str();
    under_account_lock(conn, &account, |conn| {
        require_may_define(conn, &account, caller_id, &view)?;
        let row = CustomViewRow::new(&account.bank_id, &account.account_id, &view, now);
        if !accounts::create_custom_view(conn, &row)? {
            return refuse(AccountRefusal::CustomViewExists);
        }
        record_custom_view(conn, now, "custom_view.created", caller_id, &row)
    })?;
    Ok(view)
}

fn record_custom_view(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    kind: &str,
    caller: &str,
    row: &CustomViewRow,
) -> Outcome<()> {
    record(
        conn,
        now,
        kind,
        Some(caller),
        json!({ "bank_id": row.bank_id, "account_id": row.account_id, "view_id": row.view_id }),
    )?;
    Ok(())
}

/// Changes a custom view: fields not given keep their value; audited as
/// `custom_view.updated`. The stored view is read, merged and written under the account's
/// lock, so two partial updates at once never drop each other's fields.
pub fn update_custom_view(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    target: CustomViewRef,
    fields: CustomViewFields,
) -> Outcome<View> {
    let now = ctx.now;
    let conn = ctx.conn();
    let account = &target.account;
    existing_account(conn, account)?;
    if names::is_system_view(&target.view_id) {
        return refuse(AccountRefusal::SystemViewImmutable);
    }
    let caller_id = caller.user.user_id.as_str();
    under_account_lock(conn, account, |conn| {
        let current = stored_custom_view(conn, account, &target.view_id)?;
        require_may_define(conn, account, caller_id, &current)?;
        let view = fields
            .clone()
            .apply_to(&current)
            .map_err(|e| Failure::Refused(AccountRefusal::InvalidCustomView(e)))?;
        require_may_define(conn, account, caller_id, &view)?;
        let row = CustomViewRow::new(&account.bank_id, &account.account_id, &view, now);
        if !accounts::update_custom_view(conn, &row)? {
            return refuse(AccountRefusal::UnknownCustomView(target.view_id.clone()));
        }
        record_custom_view(conn, now, "custom_view.updated", caller_id, &row)?;
        // A view narrowed may no longer ground what its holders gave themselves.
        let withdrawn = withdraw_ungrounded_self_grants(conn, account)?;
        if !withdrawn.is_empty() {
            record(
                conn,
                now,
                "account_access.changed",
                None,
                json!({
                    "bank_id": account.bank_id, "account_id": account.account_id,
                    "by": caller_id, "withdrawn_self_grants": withdrawn,
                }),
            )?;
        }
        Ok(view)
    })
}

/// Deletes a custom view and every grant of it, audited as `custom_view.deleted`.
pub fn delete_custom_view(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    target: CustomViewRef,
) -> Outcome<()> {
    let now = ctx.now;
    let conn = ctx.conn();
    let account = &target.account;
    existing_account(conn, account)?;
    if names::is_system_view(&target.view_id) {
        return refuse(AccountRefusal::SystemViewImmutable);
    }
    let caller_id = caller.user.user_id.as_str();
    let view_id = target.view_id.as_str();
    under_account_lock(conn, account, |conn| {
        let current = stored_custom_view(conn, account, view_id)?;
        require_may_define(conn, account, caller_id, &current)?;
        if !accounts::delete_custom_view(conn, &account.bank_id, &account.account_id, view_id)? {
            return refuse(AccountRefusal::UnknownCustomView(view_id.to_owned()));
        }
        let withdrawn = withdraw_ungrounded_self_grants(conn, account)?;
        record(
            conn,
            now,
            "custom_view.deleted",
            Some(caller_id),
            json!({
                "bank_id": account.bank_id, "account_id": account.account_id, "view_id": view_id,
                "withdrawn_self_grants": withdrawn,
            }),
        )?;
        Ok(())
    })
}

/// A change to one user's access to an account: views to grant and views to revoke.
#[derive(Debug, Clone)]
pub struct AccessChange {
    pub account: AccountRef,
    /// Whose access changes.
    pub user_id: String,
    pub grants: Vec<ViewRequest>,
    pub revokes: Vec<ViewRequest>,
}

/// Applies a change as a whole, audited as `account_access.changed`: every grant and revoke
/// is allowed and possible, or nothing happens. Returns the views granted.
pub fn change_access(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    change: AccessChange,
) -> Outcome<Vec<View>> {
    let now = ctx.now;
    let caller_id = caller.user.user_id.as_str();
    let views = Views {
        grants: &change.grants,
        revokes: &change.revokes,
    };
    rollback_if_refused(ctx.conn(), |conn| {
        apply_locked(
            conn,
            &change.account,
            &change.user_id,
            views,
            caller_id,
            now,
        )
    })
}

/// A change to the caller's own views on an account.
#[derive(Debug, Clone)]
pub struct OwnAccessChange {
    pub account: AccountRef,
    pub grants: Vec<ViewRequest>,
    pub revokes: Vec<ViewRequest>,
}

/// OBP's Revoke/Grant User access to Views: changes the caller's own access, as a whole, by
/// the same rules as a change to anyone's (the caller must hold views that delegate each view,
/// and the account keeps an owner).
pub fn change_own_access(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    change: OwnAccessChange,
) -> Outcome<Vec<View>> {
    let change = AccessChange {
        account: change.account,
        user_id: caller.user.user_id.clone(),
        grants: change.grants,
        revokes: change.revokes,
    };
    change_access(ctx, caller, change)
}

/// One view to grant to one user.
#[derive(Debug, Clone)]
pub struct GrantView {
    pub account: AccountRef,
    /// Who receives it.
    pub user_id: String,
    pub view: ViewRequest,
}

/// Grants one view (granting a view already held changes nothing); the view granted.
pub fn grant(ctx: &mut Context<'_>, caller: &SignedIn, input: GrantView) -> Outcome<View> {
    let change = AccessChange {
        account: input.account,
        user_id: input.user_id,
        grants: vec![input.view],
        revokes: Vec::new(),
    };
    change_access(ctx, caller, change)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Internal(Internal::from("no view granted")))
}

/// The views a change grants and revokes.
#[derive(Clone, Copy)]
struct Views<'a> {
    grants: &'a [ViewRequest],
    revokes: &'a [ViewRequest],
}

/// Checks and applies a change to `user_id`'s access under the account's lock; call inside a
/// transaction that rolls back on a refusal.
fn apply_locked(
    conn: &mut DbConnection,
    account: &AccountRef,
    user_id: &str,
    change: Views<'_>,
    caller: &str,
    now: OffsetDateTime,
) -> Outcome<Vec<View>> {
    let (bank_id, account_id) = (account.bank_id.as_str(), account.account_id.as_str());
    existing_account(conn, account)?;
    // Serialises every access change to this account until the transaction ends.
    accounts::lock_access(conn, bank_id, account_id)?;
    let (is_holder, views) = actor_of(conn, bank_id, account_id, caller)?;
    let actor = Actor {
        is_holder,
        views: &views,
    };
    // Someone who may delegate nothing learns nothing about users or views here.
    if !access::delegates_anything(&actor) {
        return refuse(AccountRefusal::Rule(AccessRefusal::MayNotGrant(
            String::new(),
        )));
    }
    let user_id = existing_user(conn, user_id)?;
    let grants = change
        .grants
        .iter()
        .map(|v| resolve(conn, account, v))
        .collect::<Result<Vec<_>, _>>()?;
    let revokes = change
        .revokes
        .iter()
        .map(|v| resolve(conn, account, v))
        .collect::<Result<Vec<_>, _>>()?;
    let held = accounts::views_held(conn, bank_id, account_id, &user_id)?;
    let target_is_owner = held
        .iter()
        .any(|v| v.is_system() && v.view_id() == OWNER_VIEW);
    let owners = usize::try_from(accounts::holders_of_view(
        conn, bank_id, account_id, OWNER_VIEW,
    )?)
    .unwrap_or(usize::MAX);
    let grant_refs: Vec<&View> = grants.iter().collect();
    let revoke_refs: Vec<&View> = revokes.iter().collect();
    access::decide_bulk(&actor, &grant_refs, &revoke_refs, owners, target_is_owner)
        .map_err(|(_, refusal)| Failure::Refused(AccountRefusal::Rule(refusal)))?;
    for view in &grants {
        accounts::grant(
            conn,
            bank_id,
            account_id,
            &user_id,
            view.view_id(),
            view.is_system(),
            Some(caller),
            now,
        )?;
    }
    for view in &revokes {
        if !accounts::revoke(conn, bank_id, account_id, &user_id, view.view_id())? {
            return refuse(AccountRefusal::NoSuchGrant(view.view_id().to_owned()));
        }
    }
    // A last safety net under the lock: whatever the change, an owner remains.
    if accounts::holders_of_view(conn, bank_id, account_id, OWNER_VIEW)? == 0 {
        return refuse(AccountRefusal::Rule(AccessRefusal::LastOwner));
    }
    // Granting only adds power: only a revoke can leave a self-grant ungrounded.
    let withdrawn = if revokes.is_empty() {
        Vec::new()
    } else {
        withdraw_ungrounded_self_grants(conn, account)?
    };
    record(
        conn,
        now,
        "account_access.changed",
        Some(&user_id),
        json!({
            "bank_id": bank_id, "account_id": account_id, "by": caller,
            "granted": grants.iter().map(|v| v.view_id()).collect::<Vec<_>>(),
            "revoked": revokes.iter().map(|v| v.view_id()).collect::<Vec<_>>(),
            "withdrawn_self_grants": withdrawn,
        }),
    )?;
    Ok(grants)
}

/// Revokes every view someone gave themselves on the account that what others gave them no
/// longer lets them grant (see [`access::ungrounded_self_grants`]), until none is left: a
/// delegate's power taken away takes what they gave themselves with it. Call under the
/// account's lock; returns `[{user_id, view_id}]` withdrawn.
fn withdraw_ungrounded_self_grants(
    conn: &mut DbConnection,
    account: &AccountRef,
) -> Result<Vec<serde_json::Value>, RepoError> {
    let (bank_id, account_id) = (account.bank_id.as_str(), account.account_id.as_str());
    let mut withdrawn = Vec::new();
    loop {
        let held = accounts::access_held(conn, bank_id, account_id, None)?;
        let mut users: Vec<&str> = held
            .iter()
            .filter(|h| h.granted_by.as_deref() == Some(h.user_id.as_str()))
            .map(|h| h.user_id.as_str())
            .collect();
        users.dedup();
        let mut ungrounded = Vec::new();
        for user in users {
            let (given, own): (Vec<&accounts::HeldView>, Vec<&accounts::HeldView>) = held
                .iter()
                .filter(|h| h.user_id == user)
                .partition(|h| h.granted_by.as_deref() != Some(user));
            let given: Vec<View> = given.into_iter().map(|h| h.view.clone()).collect();
            let own: Vec<View> = own.into_iter().map(|h| h.view.clone()).collect();
            let is_holder = accounts::is_holder(conn, bank_id, account_id, user)?;
            for view in access::ungrounded_self_grants(is_holder, &given, &own) {
                ungrounded.push((user.to_owned(), view.view_id().to_owned()));
            }
        }
        if ungrounded.is_empty() {
            return Ok(withdrawn);
        }
        for (user, view_id) in ungrounded {
            accounts::revoke(conn, bank_id, account_id, &user, &view_id)?;
            withdrawn.push(json!({ "user_id": user, "view_id": view_id }));
        }
    }
}

/// A smart contract to give access to an account: the DAuth user it acts as (created if
/// new) and the views to grant it.
#[derive(Debug, Clone)]
pub struct DAuthUserAccess {
    pub account: AccountRef,
    /// `dauth.` and the contract's network.
    pub provider: String,
    /// The contract's address.
    pub username: String,
    pub views: Vec<ViewRequest>,
}

/// Gets or creates the DAuth user and grants it the views, all or nothing. Only the account's
/// holders may. Returns the views granted.
pub fn give_dauth_user_access(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    input: DAuthUserAccess,
) -> Outcome<Vec<View>> {
    if !assent_identity::dauth::is_valid_provider(&input.provider) {
        return refuse(AccountRefusal::InvalidDAuthProvider);
    }
    if !assent_identity::registration::is_valid_username(&input.username) {
        return refuse(AccountRefusal::InvalidUsername);
    }
    let now = ctx.now;
    let conn = ctx.conn();
    let account = &input.account;
    existing_account(conn, account)?;
    let caller_id = caller.user.user_id.as_str();
    if !accounts::is_holder(conn, &account.bank_id, &account.account_id, caller_id)? {
        return refuse(AccountRefusal::NotAllowed);
    }
    let views = Views {
        grants: &input.views,
        revokes: &[],
    };
    rollback_if_refused(conn, |conn| {
        let user = assent_identity::User {
            user_id: UserId::generate(&mut rand::rng()),
            provider: input.provider.clone(),
            provider_id: input.username.clone(),
            username: input.username.clone(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            phone_number: None,
            customer_number: Some(assent_identity::user::generate_customer_number(
                &mut rand::rng(),
            )),
            created_at: now,
            email_verified_at: None,
            phone_verified_at: None,
        };
        // "!" is no PHC string: nobody logs in to a DAuth user with a password.
        let row = users::UserRow::new(
            &user,
            assent_identity::registration::username_key(&input.username),
            "!".into(),
        );
        let user = users::get_or_create(conn, &row)?;
        apply_locked(conn, account, &user.user_id, views, caller_id, now)
    })
}

/// The views the caller holds, on every account, ordered by account. Not through a consent.
pub fn my_access(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
) -> Result<Vec<Grant>, Failure<ConsentCannot>> {
    customer_only(caller)?;
    Ok(accounts::grants_of_user(ctx.conn(), &caller.user.user_id)?)
}

/// The views `user_id` holds, on every account, ordered by account. Needs
/// `CanSeeAccountAccessForAnyUser`.
pub fn user_access(ctx: &mut Context<'_>, caller: &SignedIn, user_id: &str) -> Outcome<Vec<Grant>> {
    require(
        ctx,
        caller,
        &[Need::System(roles::CAN_SEE_ACCOUNT_ACCESS_FOR_ANY_USER)],
    )?;
    let conn = ctx.conn();
    let user_id = existing_user(conn, user_id)?;
    Ok(accounts::grants_of_user(conn, &user_id)?)
}

/// The views every holder has on their account.
const HOLDER_VIEWS: [&str; 2] = [OWNER_VIEW, "ManageCustomViews"];

/// Gives a user back the default access of every account they hold (`owner` and
/// `ManageCustomViews`), in one transaction audited as `user.refreshed`; returns how many
/// grants were missing. Needs `CanRefreshUser`.
pub fn refresh_holder_access(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    user_id: &str,
) -> Outcome<usize> {
    require(ctx, caller, &[Need::System(roles::CAN_REFRESH_USER)])?;
    let now = ctx.now;
    let by = caller.user.user_id.as_str();
    rollback_if_refused(ctx.conn(), |conn| {
        let user_id = existing_user(conn, user_id)?;
        let mut restored = 0;
        for (bank_id, account_id) in accounts::held_by(conn, &user_id)? {
            accounts::lock_access(conn, &bank_id, &account_id)?;
            for view in HOLDER_VIEWS {
                if accounts::grant(conn, &bank_id, &account_id, &user_id, view, true, None, now)? {
                    restored += 1;
                }
            }
        }
        record(
            conn,
            now,
            "user.refreshed",
            Some(&user_id),
            json!({
                "restored_grants": restored, "by": by,
            }),
        )?;
        Ok(restored)
    })
}

/// A user as OBP's account permission routes name one: their provider and the provider's id
/// for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUser {
    pub provider: String,
    pub provider_id: String,
}

/// The user a provider names: by the provider's id for them, or (as usernames are unique
/// ignoring case) by username.
fn user_named(conn: &mut DbConnection, user: &ProviderUser) -> Outcome<UserDetailsRow> {
    let key = assent_identity::registration::username_key(&user.provider_id);
    let found = match users::find_by_provider_id(conn, &user.provider, &user.provider_id)? {
        Some(found) => Some(found),
        None => users::find_by_username(conn, &user.provider, &key)?,
    };
    found
        .map(UserDetailsRow::from)
        .ok_or(Failure::Refused(AccountRefusal::UserNotFound))
}

/// Refuses, before anything is looked up, a caller who may hand on or take back nothing on
/// the account: they learn nothing about its users.
fn require_delegates(conn: &mut DbConnection, account: &AccountRef, caller: &str) -> Outcome<()> {
    let (is_holder, views) = actor_of(conn, &account.bank_id, &account.account_id, caller)?;
    let actor = Actor {
        is_holder,
        views: &views,
    };
    if access::delegates_anything(&actor) {
        Ok(())
    } else {
        refuse(AccountRefusal::Rule(AccessRefusal::MayNotGrant(
            String::new(),
        )))
    }
}

/// One user's access to an account.
#[derive(Debug, Clone)]
pub struct UserAccess {
    pub user: UserDetailsRow,
    pub views: Vec<View>,
}

/// Refuses unless the caller holds the account (a holder, or given its owner view): only they
/// see who holds what on it.
fn require_holder(conn: &mut DbConnection, account: &AccountRef, caller: &str) -> Outcome<()> {
    let (is_holder, views) = actor_of(conn, &account.bank_id, &account.account_id, caller)?;
    let actor = Actor {
        is_holder,
        views: &views,
    };
    if actor.holds_account() {
        Ok(())
    } else {
        refuse(AccountRefusal::NotAllowed)
    }
}

/// Who holds which views on the account, by user; for the account's holders. Not through a
/// consent.
pub fn account_permissions(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
) -> Outcome<Vec<UserAccess>> {
    customer_only::<AccountRefusal>(caller)?;
    let conn = ctx.conn();
    existing_account(conn, &account)?;
    require_holder(conn, &account, &caller.user.user_id)?;
    let held = accounts::access_held(conn, &account.bank_id, &account.account_id, None)?;
    let mut ids: Vec<&str> = held.iter().map(|h| h.user_id.as_str()).collect();
    ids.dedup();
    // Ordered by user id, as the grants are.
    let mut users = users::details_of(conn, &ids)?;
    users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(users
        .into_iter()
        .map(|user| UserAccess {
            views: held
                .iter()
                .filter(|h| h.user_id == user.user_id)
                .map(|h| h.view.clone())
                .collect(),
            user,
        })
        .collect())
}

/// The views one user holds on the account; for the account's holders and the user
/// themselves. Not through a consent.
pub fn user_account_permissions(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
    user: ProviderUser,
) -> Outcome<Vec<View>> {
    customer_only::<AccountRefusal>(caller)?;
    let conn = ctx.conn();
    existing_account(conn, &account)?;
    let caller_id = caller.user.user_id.as_str();
    let (is_holder, caller_views) =
        actor_of(conn, &account.bank_id, &account.account_id, caller_id)?;
    let holds = Actor {
        is_holder,
        views: &caller_views,
    }
    .holds_account();
    // Nobody else learns whether the user exists.
    let named = match user_named(conn, &user) {
        Ok(named) if holds || named.user_id == caller_id => named,
        Ok(_) => return refuse(AccountRefusal::NotAllowed),
        Err(refused) if holds => return Err(refused),
        Err(_) => return refuse(AccountRefusal::NotAllowed),
    };
    Ok(accounts::views_held(
        conn,
        &account.bank_id,
        &account.account_id,
        &named.user_id,
    )?)
}

/// Grants views to the user a provider names, all or nothing, by the rules of
/// [`change_access`]; the views granted.
pub fn grant_to_provider_user(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
    user: ProviderUser,
    views: Vec<ViewRequest>,
) -> Outcome<Vec<View>> {
    customer_only::<AccountRefusal>(caller)?;
    let now = ctx.now;
    let caller_id = caller.user.user_id.as_str();
    let grants = Views {
        grants: &views,
        revokes: &[],
    };
    rollback_if_refused(ctx.conn(), |conn| {
        existing_account(conn, &account)?;
        require_delegates(conn, &account, caller_id)?;
        let named = user_named(conn, &user)?;
        apply_locked(conn, &account, &named.user_id, grants, caller_id, now)
    })
}

/// Revokes views (`None`: every view) from the user a provider names, all or nothing, by the
/// rules of [`change_access`]: the account's last owner stays.
pub fn revoke_from_provider_user(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    account: AccountRef,
    user: ProviderUser,
    views: Option<Vec<ViewRequest>>,
) -> Outcome<()> {
    customer_only::<AccountRefusal>(caller)?;
    let now = ctx.now;
    let caller_id = caller.user.user_id.as_str();
    rollback_if_refused(ctx.conn(), |conn| {
        existing_account(conn, &account)?;
        require_delegates(conn, &account, caller_id)?;
        let named = user_named(conn, &user)?;
        let revokes = match &views {
            Some(views) => views.clone(),
            None => {
                accounts::views_held(conn, &account.bank_id, &account.account_id, &named.user_id)?
                    .into_iter()
                    .map(|view| ViewRequest {
                        view_id: view.view_id().to_owned(),
                        is_system: view.is_system(),
                    })
                    .collect()
            }
        };
        let change = Views {
            grants: &[],
            revokes: &revokes,
        };
        apply_locked(conn, &account, &named.user_id, change, caller_id, now)?;
        Ok(())
    })
}
