//! Rules about who is calling, shared by use cases of every area.

use super::Failure;
use super::auth::SignedIn;

/// A third party acting on a consent asked for one of the customer's own records (their
/// sessions, requests, apps, consents, account access), which a consent does not reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCannot;

/// Refuses a caller acting on a consent: only the customer themselves reaches their own records.
pub fn customer_only<R: From<ConsentCannot>>(caller: &SignedIn) -> Result<(), Failure<R>> {
    if caller.consent.is_some() {
        return Err(Failure::Refused(ConsentCannot.into()));
    }
    Ok(())
}
