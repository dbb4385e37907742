//! A dedicated pool for password work (Argon2id: ~20 ms and 19 MiB each). Sign-up and login
//! run here, never on the async workers nor on the blocking pool that serves quick database
//! work, so a burst of logins queues behind its own threads without slowing other endpoints.

use crate::failure::Internal;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads fed by a bounded queue: when the queue is full, callers wait
/// (back-pressure) rather than pile up work or memory.
#[derive(Debug, Clone)]
pub struct HashingPool {
    sender: mpsc::Sender<Job>,
}

impl HashingPool {
    /// Starts `threads` threads with a queue of `queue` jobs.
    pub fn new(threads: usize, queue: usize) -> Result<Self, Internal> {
        let (sender, receiver) = mpsc::channel::<Job>(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("assent-hash-{index}"))
                .spawn(move || {
                    loop {
                        // Hold the lock only while taking a job, not while running it.
                        let job = match receiver.lock() {
                            Ok(mut receiver) => receiver.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => job(),
                            None => break,
                        }
                    }
                })?;
        }
        Ok(Self { sender })
    }

    /// Runs `work` on the pool and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Internal> {
        let (done, result) = oneshot::channel();
        self.sender
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .await
            .map_err(|_| Internal::Worker("the hashing pool stopped"))?;
        result
            .await
            .map_err(|_| Internal::Worker("a hashing job failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn runs_work_and_returns_results_concurrently() {
        let pool = HashingPool::new(2, 4).unwrap();
        let jobs = (0..20).map(|i| pool.run(move || i * 2));
        let results: Vec<_> = futures_util::future::join_all(jobs).await;
        let results: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }
}
