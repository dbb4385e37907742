//! One queue of writers per SQLite database, in the process.
//!
//! SQLite lets one connection write at a time. A connection that finds the write lock taken
//! sleeps and polls (1, 2, 5, 10 … 100 ms apart) until `busy_timeout`. Under load that is
//! unfair: a writer that wakes just after the lock was taken again sleeps longer, and under a
//! non-preempting CPU policy (`SCHED_BATCH`) a writer can miss every release for the whole
//! timeout and fail with "database is locked". So every write from a pool's connections first
//! takes its turn on a fair lock: waiters sleep in the kernel and are handed the turn in the
//! order they came, the moment it is released. SQLite's own lock and `busy_timeout` still
//! order this process against other processes on the same file (`assentd admin`, backups).
//!
//! The queue travels with each connection as the connection's Diesel instrumentation: that is
//! the one place Diesel lets a connection carry a value of ours (the audit trail's chain key
//! travels the same way). It forwards every event to the
//! instrumentation that would otherwise have been installed, so nothing is lost.

use crate::audit::{AuditChainKey, AuditObserver};
use crate::{DbConnection, RepoError};
use diesel::connection::{Instrumentation, InstrumentationEvent, get_default_instrumentation};
use diesel::prelude::*;
use parking_lot::lock_api::ReentrantMutex;
use parking_lot::{RawFairMutex, RawThreadId};
use std::sync::Arc;
use std::time::Duration;

/// The turn to write on one database. A thread that holds it may take it again (a write
/// function that calls another), so only other threads wait.
#[derive(Debug)]
pub(crate) struct WriteQueue {
    turn: ReentrantMutex<RawFairMutex, RawThreadId, ()>,
    /// How long a writer waits for its turn before giving up.
    patience: Duration,
}

impl WriteQueue {
    pub(crate) fn new(patience: Duration) -> Arc<Self> {
        Arc::new(WriteQueue {
            turn: ReentrantMutex::new(()),
            patience,
        })
    }

    /// Runs `work` in this queue's turn.
    pub(crate) fn in_turn<T, E>(&self, work: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: From<RepoError>,
    {
        let _turn = self
            .turn
            .try_lock_for(self.patience)
            .ok_or(RepoError::WriteQueueTimeout)?;
        work()
    }
}

/// The instrumentation a pooled connection carries: its database's write queue (SQLite
/// only), the key of the audit trail's chain, and the instrumentation Diesel would have
/// installed.
struct PoolHandle {
    queue: Option<Arc<WriteQueue>>,
    audit_key: Option<Arc<AuditChainKey>>,
    audit_observer: Option<AuditObserver>,
    forward: Option<Box<dyn Instrumentation>>,
}

impl Instrumentation for PoolHandle {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let Some(forward) = self.forward.as_mut() {
            forward.on_connection_event(event);
        }
    }
}

/// Makes `conn` queue its writes on `queue` (SQLite), chain its audit events under
/// `audit_key` and show them, once committed, to `audit_observer`.
pub(crate) fn attach<C: Connection>(
    conn: &mut C,
    queue: Option<Arc<WriteQueue>>,
    audit_key: Option<Arc<AuditChainKey>>,
    audit_observer: Option<AuditObserver>,
) {
    conn.set_instrumentation(PoolHandle {
        queue,
        audit_key,
        audit_observer,
        forward: get_default_instrumentation(),
    });
}

fn handle(conn: &mut DbConnection) -> Option<&PoolHandle> {
    let instrumentation = match conn {
        DbConnection::Sqlite(sqlite) => sqlite.instrumentation(),
        DbConnection::Postgres(pg) => pg.instrumentation(),
    };
    instrumentation.downcast_ref::<PoolHandle>()
}

/// The queue `conn` writes through, if it came from a SQLite pool.
pub(crate) fn of(conn: &mut DbConnection) -> Option<Arc<WriteQueue>> {
    handle(conn).and_then(|handle| handle.queue.clone())
}

/// What `conn` shows its committed audit events to, if its pool was given one.
pub(crate) fn audit_observer_of(conn: &mut DbConnection) -> Option<AuditObserver> {
    handle(conn).and_then(|handle| handle.audit_observer.clone())
}

/// The key `conn` chains audit events under, if its pool was given one.
pub(crate) fn audit_key_of(conn: &mut DbConnection) -> Option<Arc<AuditChainKey>> {
    handle(conn).and_then(|handle| handle.audit_key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sqlite::SqliteConnection;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_connection_finds_the_queue_it_was_given_and_a_bare_one_has_none() {
        let queue = WriteQueue::new(Duration::from_secs(1));
        let mut pooled = SqliteConnection::establish(":memory:").unwrap();
        attach(&mut pooled, Some(Arc::clone(&queue)), None, None);
        let mut pooled = DbConnection::Sqlite(pooled);
        assert!(Arc::ptr_eq(&of(&mut pooled).unwrap(), &queue));

        let mut bare = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        assert!(of(&mut bare).is_none());
    }

    #[test]
    fn the_thread_in_turn_may_write_again_without_waiting() {
        let queue = WriteQueue::new(Duration::from_secs(60));
        let nested = queue.in_turn(|| queue.in_turn(|| Ok::<_, RepoError>(7)));
        assert_eq!(nested.unwrap(), 7);
    }

    #[test]
    fn writers_take_turns_and_a_writer_that_waits_too_long_gives_up() {
        // Patient enough that a descheduled holder on a busy machine cannot fail the turns.
        let queue = WriteQueue::new(Duration::from_secs(30));
        let inside = AtomicUsize::new(0);
        let most_inside = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        queue
                            .in_turn(|| {
                                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                                most_inside.fetch_max(now, Ordering::SeqCst);
                                std::thread::yield_now();
                                inside.fetch_sub(1, Ordering::SeqCst);
                                Ok::<_, RepoError>(())
                            })
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(most_inside.load(Ordering::SeqCst), 1);

        // The holder keeps its turn until the waiter has given up, so this cannot pass late.
        let impatient = WriteQueue::new(Duration::from_millis(50));
        let outcome = Mutex::new(None);
        impatient
            .in_turn(|| {
                std::thread::scope(|scope| {
                    scope.spawn(|| {
                        let waited = impatient.in_turn(|| Ok::<_, RepoError>(()));
                        *outcome.lock().unwrap() = Some(waited);
                    });
                });
                Ok::<_, RepoError>(())
            })
            .unwrap();
        assert!(matches!(
            outcome.into_inner().unwrap(),
            Some(Err(RepoError::WriteQueueTimeout))
        ));
    }
}
