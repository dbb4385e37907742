//! How Linux schedules the server's threads.
//!
//! Every database call crosses from an async worker to a blocking thread and back (the design
//! keeps blocking work off the workers). Under Linux's default policy a woken thread usually
//! preempts the one that woke it, so each crossing costs two context switches: the worker wakes
//! a blocking thread and is switched out at once, the blocking thread answers one request and
//! sleeps, the worker resumes for one response. `SCHED_BATCH` threads do not preempt on
//! wakeup: the worker reads every request that is ready, the blocking thread then answers them
//! back to back, and the worker writes every response. Same work, a tenth of the switches
//! (measured in `docs/benchmarks.md`). The policy keeps the threads' nice value and needs no
//! privilege.
//!
//! It is the default. A thread woken from a sleep or an `fsync` waits for the running one; with
//! SQLite's own polling for its write lock that let a writer lose the race for the whole busy
//! timeout under heavy concurrent writes ("database is locked": 5 failures in 38,000 resumes by
//! 16 clients at full speed). SQLite writers now queue in-process on a fair lock
//! (`assent_repository`'s write queue) and are handed the lock in turn, and the same load
//! fails nothing. `normal` leaves the system's policy, for hosts where `assentd` shares its
//! cores with latency-sensitive programs.

use serde::{Deserialize, Serialize};

/// The CPU scheduling policy asked for the server's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuScheduling {
    /// Linux `SCHED_BATCH`: a woken thread waits for the running one to block or use up its
    /// slice (default).
    Batch,
    /// The operating system's default policy, left as it is.
    Normal,
}

/// Asks for `policy` for the calling thread; threads it starts afterwards inherit it, so this
/// runs first, before any worker, pool or housekeeping thread exists. On systems without the
/// policy it changes nothing and says so.
pub fn apply_to_current_thread(policy: CpuScheduling) -> Result<(), String> {
    match policy {
        CpuScheduling::Normal => Ok(()),
        CpuScheduling::Batch => set_batch(),
    }
}

#[cfg(target_os = "linux")]
fn set_batch() -> Result<(), String> {
    // Thread id 0 is the calling thread; the static priority of a non-realtime policy is 0.
    let param = uapi::c::sched_param { sched_priority: 0 };
    uapi::sched_setscheduler(0, uapi::c::SCHED_BATCH, &param)
        .map(drop)
        .map_err(|e| format!("SCHED_BATCH refused by the system: {e}"))
}

#[cfg(not(target_os = "linux"))]
fn set_batch() -> Result<(), String> {
    Err("SCHED_BATCH exists only on Linux; the default policy stays".into())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn current_thread_is_batch() -> bool {
        uapi::sched_getscheduler(0).is_ok_and(|p| p == uapi::c::SCHED_BATCH)
    }

    #[test]
    fn batch_reaches_the_thread_and_the_threads_it_starts() {
        let (own, child) = std::thread::spawn(|| {
            apply_to_current_thread(CpuScheduling::Batch).expect("SCHED_BATCH needs no privilege");
            let child = std::thread::spawn(current_thread_is_batch)
                .join()
                .expect("child thread");
            (current_thread_is_batch(), child)
        })
        .join()
        .expect("test thread");
        assert!(own, "the calling thread runs under SCHED_BATCH");
        assert!(child, "a thread started afterwards inherits it");
    }

    #[test]
    fn normal_leaves_the_thread_alone() {
        let (before, after) = std::thread::spawn(|| {
            let before = uapi::sched_getscheduler(0).expect("policy");
            apply_to_current_thread(CpuScheduling::Normal).expect("nothing to do");
            (before, uapi::sched_getscheduler(0).expect("policy"))
        })
        .join()
        .expect("test thread");
        assert_eq!(before, after);
    }
}
