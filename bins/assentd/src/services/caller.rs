//! Rules about who is calling that several use cases share: a consent's reach, and who asks
//! for an administrative change.

use super::auth::SignedIn;
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure};

/// A third party acting on a consent asked for the customer's own records (their sessions,
/// requests, apps, consents, account access), which a consent does not reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCannot;

/// Refuses a caller acting on a consent.
pub fn customer_only<R: From<ConsentCannot>>(caller: &SignedIn) -> Result<(), Failure<R>> {
    if caller.consent.is_some() {
        return Err(Failure::Refused(ConsentCannot.into()));
    }
    Ok(())
}

/// Who asks for an administrative change.
#[derive(Debug, Clone, Copy)]
pub enum Operator<'a> {
    /// A signed-in user, allowed by the roles they hold.
    User(&'a SignedIn),
    /// The operator of the command line, who holds the database and its configuration, so no
    /// role could restrain them.
    Cli,
}

impl Operator<'_> {
    /// Refuses a user who holds none of `needs`; the command line is always allowed.
    pub fn require<R: From<MissingRoles>>(
        &self,
        ctx: &mut Context<'_>,
        needs: &[Need<'_>],
    ) -> Result<(), Failure<R>> {
        match self {
            Operator::User(caller) => require(ctx, caller, needs),
            Operator::Cli => Ok(()),
        }
    }

    /// The user asking, if a user asks.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Operator::User(caller) => Some(&caller.user.user_id),
            Operator::Cli => None,
        }
    }

    /// How the audit trail names who asked: a user id, or `cli`.
    pub fn audit_name(&self) -> &str {
        self.user_id().unwrap_or("cli")
    }
}
