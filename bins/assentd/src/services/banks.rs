//! Banks: created by holders of `CanCreateBank`, readable by anyone signed in.

use super::auth::SignedIn;
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, Internal, record, refuse, rollback_if_refused};
use assent_identity::bank::{BankError, NewBank};
use assent_identity::roles;
use assent_repository::banks::{self, BankRow};

/// Why a bank was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateBankRefusal {
    MissingRoles(MissingRoles),
    Invalid(BankError),
    AlreadyExists,
}

impl From<MissingRoles> for CreateBankRefusal {
    fn from(missing: MissingRoles) -> Self {
        CreateBankRefusal::MissingRoles(missing)
    }
}

/// Creates a bank, audited as `bank.created`.
pub fn create(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    bank: NewBank,
) -> Result<BankRow, Failure<CreateBankRefusal>> {
    require(ctx, caller, &[Need::System(roles::CAN_CREATE_BANK)])?;
    let bank = bank
        .validate()
        .map_err(|e| Failure::Refused(CreateBankRefusal::Invalid(e)))?;
    let now = ctx.now;
    let row = banks::row(
        &bank.id,
        &bank.short_name,
        &bank.full_name,
        &bank.logo,
        &bank.website,
        now,
    );
    rollback_if_refused(ctx.conn(), |conn| {
        if !banks::insert(conn, &row)? {
            return refuse(CreateBankRefusal::AlreadyExists);
        }
        record(
            conn,
            now,
            "bank.created",
            Some(&caller.user.user_id),
            serde_json::json!({ "bank_id": row.bank_id }),
        )?;
        Ok(())
    })?;
    Ok(row)
}

/// Every bank.
pub fn list(ctx: &mut Context<'_>) -> Result<Vec<BankRow>, Internal> {
    Ok(banks::list(ctx.conn())?)
}

/// No bank has the id asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankNotFound;

/// The bank with this id.
pub fn find(ctx: &mut Context<'_>, bank_id: &str) -> Result<BankRow, Failure<BankNotFound>> {
    banks::find(ctx.conn(), bank_id)?.ok_or(Failure::Refused(BankNotFound))
}
