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
    /// Microseconds since the Unix epoch, read from a file at every call: a manual clock that
    /// several processes share (test builds only).
    #[cfg(debug_assertions)]
    SharedFile(Arc<std::path::Path>),
}

/// Names the file a test build's clock reads (see [`Clock::from_environment`]).
pub const SHARED_CLOCK_VARIABLE: &str = "ASSENT_TEST_CLOCK_FILE";

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self {
            source: Source::System,
        }
    }

    /// The clock a server or admin command runs on: the system clock, except in a test build
    /// (debug assertions on) whose environment names a file in `ASSENT_TEST_CLOCK_FILE`. Then
    /// the time is the number of microseconds since the Unix epoch that file holds, read at
    /// every call, so that a test moves the time of several `assentd` processes at once by
    /// rewriting it. A release build never reads that variable.
    pub fn from_environment() -> Self {
        #[cfg(debug_assertions)]
        if let Some(path) = std::env::var_os(SHARED_CLOCK_VARIABLE).filter(|p| !p.is_empty()) {
            let path = std::path::PathBuf::from(path);
            tracing::warn!(file = %path.display(), "test build: the clock is read from a file");
            return Self {
                source: Source::SharedFile(path.into()),
            };
        }
        Self::system()
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
            #[cfg(debug_assertions)]
            Source::SharedFile(path) => from_micros(read_shared(path)),
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
            #[cfg(debug_assertions)]
            Source::SharedFile(_) => panic!("a shared clock is moved by rewriting its file"),
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

/// The time a shared clock's file holds. A test that cannot write it as a number has broken
/// the test build's clock: nothing sensible can be served then.
#[cfg(debug_assertions)]
fn read_shared(path: &std::path::Path) -> i64 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the shared clock {}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|_| {
        panic!(
            "the shared clock {} holds {text:?}, not microseconds since the epoch",
            path.display()
        )
    })
}

/// Writes `at` to a shared clock's file as [`Clock::from_environment`] reads it, atomically
/// (a new file renamed over the old one), so no reader sees half a time.
///
/// # Panics
/// When the file cannot be written: a test's bug.
#[cfg(debug_assertions)]
pub fn set_shared(path: &std::path::Path, at: OffsetDateTime) {
    let next = path.with_extension("next");
    std::fs::write(&next, micros(at).to_string()).expect("writing the shared clock");
    std::fs::rename(&next, path).expect("moving the shared clock into place");
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
    fn a_shared_clock_reads_the_time_its_file_holds_at_every_call() {
        let path = std::env::temp_dir().join(format!("assent-clock-{}", std::process::id()));
        set_shared(&path, datetime!(2026-01-01 00:00 UTC));
        let clock = Clock {
            source: Source::SharedFile(path.clone().into()),
        };
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        set_shared(&path, datetime!(2026-02-03 04:05:06.000_007 UTC));
        assert_eq!(clock.now(), datetime!(2026-02-03 04:05:06.000_007 UTC));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_system_clock_moves_on_its_own() {
        let clock = Clock::system();
        let first = clock.now();
        assert!(clock.now() >= first);
        assert!(first > datetime!(2026-01-01 00:00 UTC));
    }
}
