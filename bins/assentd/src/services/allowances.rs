//! Abuse allowances counted in the database (so every replica shares them): how a client or a
//! destination is named in the counters, and the fixed windows they are counted in.

use crate::state::AppState;
use assent_identity::secret::SecretString;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime, Time};

/// The start of the UTC day holding `now`.
pub fn day_start(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_time(Time::MIDNIGHT)
}

/// The start of the UTC hour holding `now`.
pub fn hour_start(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_time(Time::MIDNIGHT) + Duration::hours(i64::from(now.hour()))
}

/// Whole seconds from `now` to the start of the next UTC hour (at least 1): when an hourly
/// allowance is given again.
pub fn seconds_to_next_hour(now: OffsetDateTime) -> u64 {
    let left = hour_start(now) + Duration::HOUR - now;
    u64::try_from(left.whole_seconds()).unwrap_or(0).max(1)
}

/// Whole seconds from `now` to the next UTC midnight (at least 1): when a daily allowance is
/// given again.
pub fn seconds_to_next_day(now: OffsetDateTime) -> u64 {
    let left = day_start(now) + Duration::DAY - now;
    u64::try_from(left.whole_seconds()).unwrap_or(0).max(1)
}

/// The keyed hash that stands for a destination or a client address in the counters, so the
/// table holds no address in clear.
pub fn subject(state: &AppState, label: &str, value: &str) -> String {
    state
        .secret_hasher
        .hash(label, &SecretString::new(value.to_owned()))
}

/// How a client address is counted: IPv4 as is, IPv6 by its /64 (one subscriber's prefix), so
/// rotating addresses within a prefix gains nothing. Text that is no address (and an unknown
/// client, `None`) is counted as itself.
pub fn client_key(client: Option<&str>) -> String {
    let Some(client) = client else {
        return "unknown".to_owned();
    };
    match client.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| client.to_owned(), |v4| v4.to_string()),
        _ => client.to_owned(),
    }
}

/// Allowances this process has seen spent, by counter and window: a subject over its
/// allowance is refused again without a database write until its window ends. Only refusals
/// are remembered, so the database stays the one judge of what is admitted, on every replica;
/// a flood of refused requests then costs no write.
pub struct SpentAllowances(quick_cache::sync::Cache<(String, i64), ()>);

impl std::fmt::Debug for SpentAllowances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpentAllowances")
            .field("remembered", &self.0.len())
            .finish()
    }
}

impl SpentAllowances {
    /// Remembers up to `capacity` spent allowances (the least used go first).
    pub fn new(capacity: usize) -> Self {
        Self(quick_cache::sync::Cache::new(capacity))
    }

    fn key(scope: &str, subject: &str, window_start: OffsetDateTime) -> (String, i64) {
        (format!("{scope}/{subject}"), window_start.unix_timestamp())
    }

    /// Whether the counter was seen spent in this window.
    pub fn is_spent(&self, scope: &str, subject: &str, window_start: OffsetDateTime) -> bool {
        self.0
            .get(&Self::key(scope, subject, window_start))
            .is_some()
    }

    /// Records that the counter refused a use in this window.
    pub fn mark_spent(&self, scope: &str, subject: &str, window_start: OffsetDateTime) {
        self.0.insert(Self::key(scope, subject, window_start), ());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn allowances_come_back_at_the_next_utc_hour_and_day() {
        let now = datetime!(2026-12-03 23:59:30 UTC);
        assert_eq!(seconds_to_next_day(now), 30);
        assert_eq!(seconds_to_next_hour(now), 30);
        let morning = datetime!(2026-12-03 06:00 UTC);
        assert_eq!(seconds_to_next_day(morning), 18 * 3600);
        assert_eq!(seconds_to_next_hour(morning), 3600);
        assert_eq!(seconds_to_next_day(datetime!(2026-12-03 23:59:59.9 UTC)), 1);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            client_key(Some("2001:db8:1:2::1")),
            client_key(Some("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_key(Some("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(client_key(Some("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(client_key(Some("unknown")), "unknown");
        assert_eq!(client_key(Some("192.0.2.1")), "192.0.2.1");
        assert_eq!(client_key(None), "unknown");
    }

    #[test]
    fn a_spent_allowance_is_remembered_for_its_window_only() {
        let spent = SpentAllowances::new(10);
        let hour = datetime!(2026-12-03 10:00 UTC);
        assert!(!spent.is_spent("signup-client", "a", hour));
        spent.mark_spent("signup-client", "a", hour);
        assert!(spent.is_spent("signup-client", "a", hour));
        assert!(!spent.is_spent("signup-client", "b", hour));
        assert!(!spent.is_spent("other", "a", hour));
        assert!(!spent.is_spent("signup-client", "a", hour + Duration::HOUR));
    }

    #[test]
    fn an_hourly_allowance_comes_back_at_the_next_hour() {
        assert_eq!(seconds_to_next_hour(datetime!(2026-12-03 10:00 UTC)), 3600);
        assert_eq!(
            seconds_to_next_hour(datetime!(2026-12-03 10:59:59.5 UTC)),
            1
        );
        assert_eq!(seconds_to_next_hour(datetime!(2026-12-03 23:30 UTC)), 1800);
    }
}
