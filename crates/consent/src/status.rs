//! The consent status lifecycle.

use serde::{Deserialize, Serialize};

/// Every status a consent can have, as the reference spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConsentStatus {
    /// Requested; its SCA challenge is open.
    Initiated,
    /// The customer answered the challenge: the consent may be used.
    Accepted,
    /// The challenge was failed for good.
    Rejected,
    /// Revoked by the customer.
    Revoked,
    /// Received (Berlin Group).
    Received,
    /// Valid (Berlin Group). Nothing here moves a consent to it, and the transition table has
    /// no way out of it (no revocation, no expiry), so it is not usable.
    Valid,
    /// Revoked by the payment service user (Berlin Group).
    #[serde(rename = "REVOKEDBYPSU")]
    RevokedByPsu,
    /// Past its expiry.
    Expired,
    /// Terminated by the third party (Berlin Group).
    #[serde(rename = "TERMINATEDBYTPP")]
    TerminatedByTpp,
    /// Authorised (UK Open Banking).
    Authorised,
    /// Awaiting authorisation (UK Open Banking).
    #[serde(rename = "AWAITINGAUTHORISATION")]
    AwaitingAuthorisation,
}

/// Every status, in the reference's order.
pub const ALL_STATUSES: [ConsentStatus; 11] = [
    ConsentStatus::Initiated,
    ConsentStatus::Accepted,
    ConsentStatus::Rejected,
    ConsentStatus::Revoked,
    ConsentStatus::Received,
    ConsentStatus::Valid,
    ConsentStatus::RevokedByPsu,
    ConsentStatus::Expired,
    ConsentStatus::TerminatedByTpp,
    ConsentStatus::Authorised,
    ConsentStatus::AwaitingAuthorisation,
];

/// What can happen to a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentEvent {
    /// The customer answered the SCA challenge correctly.
    ChallengeAnswered,
    /// The SCA challenge can no longer be answered (attempts used up).
    ChallengeFailed,
    /// The customer revoked the consent.
    RevokedByUser,
    /// The consent reached its expiry.
    Expired,
}

/// Every event.
pub const ALL_EVENTS: [ConsentEvent; 4] = [
    ConsentEvent::ChallengeAnswered,
    ConsentEvent::ChallengeFailed,
    ConsentEvent::RevokedByUser,
    ConsentEvent::Expired,
];

/// The transition table: (from, event) -> to. Anything not listed is refused.
const TRANSITIONS: &[(ConsentStatus, ConsentEvent, ConsentStatus)] = &[
    (
        ConsentStatus::Initiated,
        ConsentEvent::ChallengeAnswered,
        ConsentStatus::Accepted,
    ),
    (
        ConsentStatus::Initiated,
        ConsentEvent::ChallengeFailed,
        ConsentStatus::Rejected,
    ),
    (
        ConsentStatus::Accepted,
        ConsentEvent::RevokedByUser,
        ConsentStatus::Revoked,
    ),
    (
        ConsentStatus::Accepted,
        ConsentEvent::Expired,
        ConsentStatus::Expired,
    ),
];

/// A transition the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} consent cannot take the event {event:?}")]
pub struct InvalidTransition {
    /// The current status.
    pub from: ConsentStatus,
    /// The refused event.
    pub event: ConsentEvent,
}

impl ConsentStatus {
    /// The status after `event`, or an error if the table has no such transition.
    pub fn apply(self, event: ConsentEvent) -> Result<ConsentStatus, InvalidTransition> {
        TRANSITIONS
            .iter()
            .find(|(from, on, _)| *from == self && *on == event)
            .map(|(_, _, to)| *to)
            .ok_or(InvalidTransition { from: self, event })
    }

    /// Whether a consent in this status lets its holder act for the customer.
    pub fn is_usable(self) -> bool {
        // Only a status the customer can still revoke and that can still expire.
        matches!(self, ConsentStatus::Accepted)
    }

    /// Whether no event can move the consent on.
    pub fn is_final(self) -> bool {
        ALL_EVENTS.iter().all(|event| self.apply(*event).is_err())
    }

    /// The reference's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Initiated => "INITIATED",
            ConsentStatus::Accepted => "ACCEPTED",
            ConsentStatus::Rejected => "REJECTED",
            ConsentStatus::Revoked => "REVOKED",
            ConsentStatus::Received => "RECEIVED",
            ConsentStatus::Valid => "VALID",
            ConsentStatus::RevokedByPsu => "REVOKEDBYPSU",
            ConsentStatus::Expired => "EXPIRED",
            ConsentStatus::TerminatedByTpp => "TERMINATEDBYTPP",
            ConsentStatus::Authorised => "AUTHORISED",
            ConsentStatus::AwaitingAuthorisation => "AWAITINGAUTHORISATION",
        }
    }

    /// Parses the reference's spelling (exactly, upper case).
    pub fn parse(text: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lifecycle_this_product_uses() {
        use ConsentEvent::*;
        use ConsentStatus::*;
        assert_eq!(Initiated.apply(ChallengeAnswered), Ok(Accepted));
        assert_eq!(Initiated.apply(ChallengeFailed), Ok(Rejected));
        assert_eq!(Accepted.apply(RevokedByUser), Ok(Revoked));
        assert_eq!(
            Accepted.apply(ConsentEvent::Expired),
            Ok(ConsentStatus::Expired)
        );
        assert!(Revoked.apply(RevokedByUser).is_err());
        assert!(Rejected.apply(ChallengeAnswered).is_err());
        assert!(Initiated.apply(RevokedByUser).is_err());
        for status in [Rejected, Revoked, ConsentStatus::Expired] {
            assert!(status.is_final(), "{status:?}");
            assert!(!status.is_usable());
        }
        assert!(Accepted.is_usable() && !Initiated.is_usable());
    }

    #[test]
    fn spelling_round_trips_through_text_and_serde() {
        for status in ALL_STATUSES {
            assert_eq!(ConsentStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(
                serde_json::from_str::<ConsentStatus>(&json).unwrap(),
                status
            );
        }
        assert_eq!(ConsentStatus::parse("accepted"), None);
    }

    fn any_status() -> impl Strategy<Value = ConsentStatus> {
        (0..ALL_STATUSES.len()).prop_map(|i| ALL_STATUSES[i])
    }

    fn any_event() -> impl Strategy<Value = ConsentEvent> {
        (0..ALL_EVENTS.len()).prop_map(|i| ALL_EVENTS[i])
    }

    proptest! {
        #[test]
        fn only_listed_transitions_happen(status in any_status(), events in proptest::collection::vec(any_event(), 0..12)) {
            let mut current = status;
            for event in events {
                match current.apply(event) {
                    Ok(next) => {
                        prop_assert!(TRANSITIONS.contains(&(current, event, next)));
                        current = next;
                    }
                    Err(e) => prop_assert_eq!(e, InvalidTransition { from: current, event }),
                }
            }
        }

        #[test]
        fn nothing_leaves_a_final_status(status in any_status(), event in any_event()) {
            if status.is_final() {
                prop_assert!(status.apply(event).is_err());
            }
        }
    }
}
