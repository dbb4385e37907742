//! A dedicated pool for password work (Argon2id: ~20 ms and 19 MiB each). Sign-up and login
//! run here, never on the async workers nor on the blocking pool that serves quick database
//! work, so a burst of logins queues behind its own threads without slowing other endpoints.
//!
//! The pool has two lanes. Work for people who already have an account (logins, password
//! re-confirmations, answers checked with Argon2id) goes first; sign-ups run on at most half
//! of the threads, and while account work waits they get one job in
//! [`ACCOUNT_JOBS_PER_SIGN_UP`] + 1. Sign-up needs no authentication, so without the lanes a
//! flood of sign-ups from anywhere would queue every login behind it; without the share, a
//! steady stream of logins would starve sign-ups altogether.

use crate::failure::Internal;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// While both lanes have work waiting, how many account jobs a thread takes before a sign-up.
pub const ACCOUNT_JOBS_PER_SIGN_UP: usize = 3;

/// Which lane a job queues in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Someone who has an account is waiting: taken first, on any thread.
    Account,
    /// A sign-up: taken only when no account work waits, on at most half of the threads.
    SignUp,
}

/// The queues the threads take jobs from.
#[derive(Default)]
struct Queues {
    account: VecDeque<Job>,
    sign_up: VecDeque<Job>,
    sign_ups_running: usize,
    /// Account jobs taken in a row while a sign-up could have run.
    account_streak: usize,
}

struct Shared {
    queues: Mutex<Queues>,
    work_ready: Condvar,
    /// How many sign-ups may run at once.
    sign_up_threads: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // A job runs outside the lock, so a panic cannot poison it mid-update; if it ever
        // were poisoned, the queues themselves are still consistent.
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next job a free thread should run, waiting for one; account work first.
    fn next(&self) -> (Job, Lane) {
        let mut queues = self.lock();
        loop {
            let sign_up_may_run =
                queues.sign_ups_running < self.sign_up_threads && !queues.sign_up.is_empty();
            let sign_ups_turn = queues.account_streak >= ACCOUNT_JOBS_PER_SIGN_UP;
            if !(sign_up_may_run && sign_ups_turn)
                && let Some(job) = queues.account.pop_front()
            {
                queues.account_streak = if sign_up_may_run {
                    queues.account_streak + 1
                } else {
                    0
                };
                return (job, Lane::Account);
            }
            if sign_up_may_run && let Some(job) = queues.sign_up.pop_front() {
                queues.sign_ups_running += 1;
                queues.account_streak = 0;
                return (job, Lane::SignUp);
            }
            queues = self
                .work_ready
                .wait(queues)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn finished(&self, lane: Lane) {
        if lane == Lane::SignUp {
            self.lock().sign_ups_running -= 1;
            // A sign-up slot is free: a thread waiting only because of the cap may go on.
            self.work_ready.notify_all();
        }
    }
}

/// A fixed set of threads fed by two bounded lanes: when a lane is full, its callers wait
/// (back-pressure) rather than pile up work or memory.
#[derive(Clone)]
pub struct HashingPool {
    shared: Arc<Shared>,
    account_room: Arc<Semaphore>,
    sign_up_room: Arc<Semaphore>,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("sign_up_threads", &self.shared.sign_up_threads)
            .finish_non_exhaustive()
    }
}

impl HashingPool {
    /// Starts `threads` threads, each lane holding up to `queue` jobs (waiting or running).
    pub fn new(threads: usize, queue: usize) -> Result<Self, Internal> {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            work_ready: Condvar::new(),
            sign_up_threads: (threads / 2).max(1),
        });
        for index in 0..threads {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("assent-hash-{index}"))
                .spawn(move || {
                    loop {
                        let (job, lane) = shared.next();
                        // A job that panics drops its answer (its caller gets an error) but
                        // neither this thread nor the lane's count with it.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        shared.finished(lane);
                    }
                })?;
        }
        Ok(Self {
            shared,
            account_room: Arc::new(Semaphore::new(queue.max(1))),
            sign_up_room: Arc::new(Semaphore::new(queue.max(1))),
        })
    }

    /// Runs `work` in `lane` and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Internal> {
        let room = match lane {
            Lane::Account => &self.account_room,
            Lane::SignUp => &self.sign_up_room,
        };
        let permit: OwnedSemaphorePermit = Arc::clone(room)
            .acquire_owned()
            .await
            .map_err(|_| Internal::Worker("the hashing pool stopped"))?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        {
            let mut queues = self.shared.lock();
            match lane {
                Lane::Account => queues.account.push_back(job),
                Lane::SignUp => queues.sign_up.push_back(job),
            }
        }
        self.shared.work_ready.notify_one();
        result
            .await
            .map_err(|_| Internal::Worker("a hashing job failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[actix_web::test]
    async fn runs_work_and_returns_results_concurrently() {
        let pool = HashingPool::new(2, 4).unwrap();
        let jobs = (0..20).map(|i| {
            let lane = if i % 2 == 0 {
                Lane::Account
            } else {
                Lane::SignUp
            };
            pool.run(lane, move || i * 2)
        });
        let results: Vec<_> = futures_util::future::join_all(jobs).await;
        let results: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }

    /// A job that holds its thread until the test opens the gate.
    fn gated(
        gate: &Arc<(Mutex<bool>, Condvar)>,
        started: &Arc<AtomicUsize>,
    ) -> impl FnOnce() + Send + use<> {
        let (gate, started) = (Arc::clone(gate), Arc::clone(started));
        move || {
            started.fetch_add(1, Ordering::SeqCst);
            let (open, opened) = &*gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
        }
    }

    /// Lets the spawned callers and the pool's threads run until `condition` holds.
    async fn wait_until(condition: impl Fn() -> bool) {
        for _ in 0..100_000 {
            if condition() {
                return;
            }
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        panic!("condition not reached");
    }

    fn open(gate: &Arc<(Mutex<bool>, Condvar)>) {
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    }

    #[actix_web::test]
    async fn a_job_that_panics_costs_neither_its_thread_nor_its_lane() {
        let pool = HashingPool::new(1, 4).unwrap();
        for _ in 0..3 {
            let failed = pool.run(Lane::SignUp, || -> u8 { panic!("a hashing job failed") });
            assert!(failed.await.is_err());
        }
        assert_eq!(pool.run(Lane::SignUp, || 7).await.unwrap(), 7);
        assert_eq!(pool.run(Lane::Account, || 8).await.unwrap(), 8);
    }

    #[actix_web::test]
    async fn sign_ups_take_at_most_half_the_threads() {
        let pool = HashingPool::new(4, 64).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let flood: Vec<_> = (0..10)
            .map(|_| {
                let pool = pool.clone();
                let job = gated(&gate, &started);
                tokio::spawn(async move { pool.run(Lane::SignUp, job).await })
            })
            .collect();
        wait_until(|| started.load(Ordering::SeqCst) == 2).await;
        {
            let queues = pool.shared.lock();
            assert_eq!((queues.sign_ups_running, queues.sign_up.len()), (2, 8));
        }
        // A login finds a free thread at once, while eight sign-ups still wait.
        assert_eq!(pool.run(Lane::Account, || "in").await.unwrap(), "in");
        assert_eq!(pool.shared.lock().sign_up.len(), 8);
        open(&gate);
        for handle in flood {
            handle.await.unwrap().unwrap();
        }
        assert_eq!(started.load(Ordering::SeqCst), 10);
    }

    /// Runs `jobs` on a one-thread pool, queued in this order while the thread is busy, and
    /// answers the order the thread ran them in.
    async fn run_order(jobs: &[(Lane, &'static str)]) -> Vec<&'static str> {
        let pool = HashingPool::new(1, 64).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let busy = {
            let pool = pool.clone();
            let job = gated(&gate, &started);
            tokio::spawn(async move { pool.run(Lane::Account, job).await })
        };
        wait_until(|| started.load(Ordering::SeqCst) == 1).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let queued: Vec<_> = jobs
            .iter()
            .map(|&(lane, name)| {
                let (pool, order) = (pool.clone(), Arc::clone(&order));
                tokio::spawn(async move {
                    pool.run(lane, move || order.lock().unwrap().push(name))
                        .await
                })
            })
            .collect();
        wait_until(|| {
            let queues = pool.shared.lock();
            queues.sign_up.len() + queues.account.len() == jobs.len()
        })
        .await;
        open(&gate);
        busy.await.unwrap().unwrap();
        for handle in queued {
            handle.await.unwrap().unwrap();
        }
        order.lock().unwrap().clone()
    }

    #[actix_web::test]
    async fn a_stream_of_account_work_leaves_sign_ups_their_share() {
        let order = run_order(&[
            (Lane::SignUp, "s1"),
            (Lane::SignUp, "s2"),
            (Lane::Account, "a1"),
            (Lane::Account, "a2"),
            (Lane::Account, "a3"),
            (Lane::Account, "a4"),
            (Lane::Account, "a5"),
        ])
        .await;
        assert_eq!(order, ["a1", "a2", "a3", "s1", "a4", "a5", "s2"]);
    }

    #[actix_web::test]
    async fn account_work_goes_before_every_sign_up_queued_earlier() {
        let order = run_order(&[
            (Lane::SignUp, "a"),
            (Lane::SignUp, "b"),
            (Lane::Account, "c"),
        ])
        .await;
        assert_eq!(order, ["c", "a", "b"]);
    }
}
