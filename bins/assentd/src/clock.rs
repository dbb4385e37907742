//! The server's one source of the current time.
//!
//! Every use case, token check and allowance takes the time from the [`Clock`] in the
//! application state, read once per request. Production reads the system clock; tests hold a
//! [`Clock::manual`] clock and move it forward, so a test of a five-minute expiry takes no five
//! minutes and cannot fail because the machine was slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// Where the time comes from.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Debug, Default)]
enum Source {
    #[default]
    System,
    /// Microseconds since the Unix epoch, shared by every clone.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self {
            source: Source::System,
        }
    }

    /// A clock that stands at `start` until it is [`advance`](Clock::advance)d or
    /// [`set`](Clock::set). Clones share it.
    pub fn manual(start: OffsetDateTime) -> Self {
        Self {
            source: Source::Manual(Arc::new(AtomicI64::new(micros(start)))),
        }
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        match &self.source {
            Source::System => system_now(),
            Source::Manual(at) => from_micros(at.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock forward (or back, with a negative duration).
    ///
    /// # Panics
    /// On the system clock, which nobody can move: calling this there is a bug in a test.
    pub fn advance(&self, by: Duration) {
        let step = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.manual_source().fetch_add(step, Ordering::SeqCst);
    }

    /// Puts a manual clock at `at`.
    ///
    /// # Panics
    /// On the system clock, as [`Clock::advance`].
    pub fn set(&self, at: OffsetDateTime) {
        self.manual_source().store(micros(at), Ordering::SeqCst);
    }

    fn manual_source(&self) -> &AtomicI64 {
        match &self.source {
            Source::Manual(at) => at,
            Source::System => panic!("the system clock cannot be moved"),
        }
    }
}

tokio::task_local! {
    /// The time the request being served arrived, by the state's clock.
    static REQUEST_TIME: OffsetDateTime;
}

/// Runs `request` (one request's handling) with `at` as its [`request_time`].
pub async fn serving_at<F: std::future::Future>(at: OffsetDateTime, request: F) -> F::Output {
    REQUEST_TIME.scope(at, request).await
}

/// The time the request being served arrived, by the server's clock: for what is rendered
/// where the application state cannot be reached (an error body's timestamp). Outside a
/// request, the Unix epoch.
pub fn request_time() -> OffsetDateTime {
    REQUEST_TIME
        .try_with(|at| *at)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[expect(
    clippy::disallowed_methods,
    reason = "the one place the server reads the system clock"
)]
fn system_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_clones_share_it() {
        let clock = Clock::manual(datetime!(2026-01-01 00:00 UTC));
        let other = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        other.advance(Duration::minutes(5));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:05 UTC));
        clock.set(datetime!(2027-06-01 12:00:00.000_001 UTC));
        assert_eq!(other.now(), datetime!(2027-06-01 12:00:00.000_001 UTC));
    }

    #[test]
    fn the_system_clock_moves_on_its_own() {
        let clock = Clock::system();
        let first = clock.now();
        assert!(clock.now() >= first);
        assert!(first > datetime!(2026-01-01 00:00 UTC));
    }
}
