//! Call limits. Counted in this process by default: exact on a single node, needing no other
//! server. With `rate_limit_url` (Redis) every replica counts in one store, so N replicas
//! together admit exactly a consumer's limit. When that store cannot be answered, calls of
//! limited consumers fail closed (503, as when the database is out of reach); unlimited
//! consumers never touch it.

use crate::failure::Internal;
use assent_identity::rate_limit::{Admitted, CallCounter, CallLimits, Exceeded, PERIODS};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where calls are counted.
#[derive(Debug)]
pub enum RateLimiter {
    /// In this process.
    InProcess(Mutex<HashMap<Uuid, CallCounter>>),
    /// In a Redis all replicas share.
    Shared(SharedCounter),
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::InProcess(Mutex::default())
    }
}

/// The store of call counts could not be answered.
#[derive(Debug, thiserror::Error)]
#[error("call limit store: {0}")]
pub struct LimitStoreUnreachable(pub String);

impl RateLimiter {
    /// The limiter `url` names (`redis://` or `rediss://`), or one in this process.
    pub fn from_url(url: Option<&str>) -> Result<Self, LimitStoreUnreachable> {
        match url {
            None => Ok(Self::default()),
            Some(url) => SharedCounter::connect(url).map(RateLimiter::Shared),
        }
    }

    /// Where calls are counted, as Get Rate Limiting Info names it: `IN_PROCESS` (each
    /// process counts its own) or `REDIS` (every replica counts in one store).
    pub fn technology(&self) -> &'static str {
        match self {
            RateLimiter::InProcess(_) => "IN_PROCESS",
            RateLimiter::Shared(_) => "REDIS",
        }
    }

    /// Whether the store of counts answers (in this process it always does). A shared store is
    /// asked at most once per [`STORE_CHECK_INTERVAL`]; meanwhile the last answer stands, so
    /// callers of this public check cannot load the store. Blocks up to the store's timeout:
    /// call it off the async workers.
    pub fn store_answers(&self, now: OffsetDateTime) -> bool {
        match self {
            RateLimiter::InProcess(_) => true,
            RateLimiter::Shared(shared) => shared.answers(now),
        }
    }

    /// Counts a call of `consumer` if its limits allow it. Unlimited consumers cost nothing.
    pub fn admit(
        &self,
        consumer: Uuid,
        limits: &CallLimits,
        now: OffsetDateTime,
    ) -> Result<Result<Admitted, Exceeded>, Internal> {
        if *limits == CallLimits::UNLIMITED {
            return Ok(Ok(Admitted {
                limit: None,
                remaining: None,
            }));
        }
        match self {
            RateLimiter::InProcess(counters) => {
                let mut counters = counters
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(counters.entry(consumer).or_default().admit(limits, now))
            }
            RateLimiter::Shared(shared) => shared
                .admit(consumer, limits, now)
                .map_err(|e| Internal::LimitStore(e.0)),
        }
    }
}

/// Counts in Redis: one key per consumer, period and window, checked and incremented for
/// every limited period at once by one script (atomic in Redis), expiring with its window.
pub struct SharedCounter {
    pool: r2d2::Pool<redis::Client>,
    script: redis::Script,
    /// When the store was last asked whether it answers, and what that showed.
    last_check: Mutex<Option<(OffsetDateTime, bool)>>,
}

impl std::fmt::Debug for SharedCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedCounter")
    }
}

/// KEYS: one per limited period. ARGV: each one's limit, then each one's seconds to live.
/// Answers 0 and the counts after the call when every limit allows it (and counts it), or the
/// 1-based position of the first exhausted limit (and counts nothing).
const ADMIT: &str = r"
local n = #KEYS
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[i]) then
    return {i}
  end
end
local counts = {0}
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[n + i])
  end
  counts[i + 1] = count
end
return counts
";

/// How long the answer of one check that the shared store answers stands.
pub const STORE_CHECK_INTERVAL: time::Duration = time::Duration::SECOND;

/// How long a call waits for the store before failing closed.
const STORE_TIMEOUT: Duration = Duration::from_millis(500);

impl SharedCounter {
    fn connect(url: &str) -> Result<Self, LimitStoreUnreachable> {
        let client = redis::Client::open(url).map_err(|e| LimitStoreUnreachable(e.to_string()))?;
        // Built without waiting for the store: a replica starts while Redis is down, and its
        // limited consumers are refused until it is back.
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .min_idle(Some(0))
            .connection_timeout(STORE_TIMEOUT)
            .build_unchecked(client);
        Ok(Self {
            pool,
            script: redis::Script::new(ADMIT),
            last_check: Mutex::default(),
        })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<redis::Client>, LimitStoreUnreachable> {
        let conn = self
            .pool
            .get()
            .map_err(|e| LimitStoreUnreachable(e.to_string()))?;
        conn.set_read_timeout(Some(STORE_TIMEOUT))
            .and_then(|()| conn.set_write_timeout(Some(STORE_TIMEOUT)))
            .map_err(|e| LimitStoreUnreachable(e.to_string()))?;
        Ok(conn)
    }

    fn answers(&self, now: OffsetDateTime) -> bool {
        // Held across the ping: concurrent checks wait for one answer instead of each asking.
        let mut last = self
            .last_check
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A check newer than `now` (made while this caller waited for the lock) stands too.
        if let Some((at, answered)) = *last
            && now - at < STORE_CHECK_INTERVAL
        {
            return answered;
        }
        let answered = self.ping().is_ok();
        *last = Some((now, answered));
        answered
    }

    /// When the store was last asked whether it answers.
    pub fn last_checked(&self) -> Option<OffsetDateTime> {
        self.last_check
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map(|(at, _)| at)
    }

    fn ping(&self) -> Result<(), LimitStoreUnreachable> {
        let mut conn = self.connection()?;
        redis::cmd("PING")
            .query::<String>(&mut *conn)
            .map(drop)
            .map_err(|e| LimitStoreUnreachable(e.to_string()))
    }

    fn admit(
        &self,
        consumer: Uuid,
        limits: &CallLimits,
        now: OffsetDateTime,
    ) -> Result<Result<Admitted, Exceeded>, LimitStoreUnreachable> {
        let at = now.unix_timestamp();
        let limited: Vec<_> = PERIODS
            .iter()
            .copied()
            .filter(|period| limits.get(*period) >= 0)
            .collect();
        let mut invocation = self.script.prepare_invoke();
        for period in &limited {
            let window = at.div_euclid(period.seconds());
            // The consumer in braces: every key of one consumer in one Redis Cluster slot.
            invocation.key(format!(
                "assent:calls:{{{consumer}}}:{}:{window}",
                period.name()
            ));
        }
        for period in &limited {
            invocation.arg(limits.get(*period));
        }
        for period in &limited {
            let window_end = (at.div_euclid(period.seconds()) + 1) * period.seconds();
            invocation.arg(window_end - at + 1);
        }
        let mut conn = self.connection()?;
        let answer: Vec<i64> = invocation
            .invoke(&mut *conn)
            .map_err(|e| LimitStoreUnreachable(e.to_string()))?;
        match answer.as_slice() {
            [0, counts @ ..] if counts.len() == limited.len() => {
                let tightest = limited
                    .iter()
                    .zip(counts)
                    .map(|(period, count)| (limits.get(*period), limits.get(*period) - count))
                    .min_by_key(|(_, remaining)| *remaining);
                Ok(Ok(Admitted {
                    limit: tightest.map(|(limit, _)| limit),
                    remaining: tightest.map(|(_, remaining)| remaining.max(0)),
                }))
            }
            [position] if *position >= 1 => {
                let index = usize::try_from(*position - 1).unwrap_or(usize::MAX);
                let period = *limited
                    .get(index)
                    .ok_or_else(|| LimitStoreUnreachable("malformed answer".into()))?;
                let window = at.div_euclid(period.seconds());
                Ok(Err(Exceeded {
                    period,
                    limit: limits.get(period),
                    reset_in_seconds: (window + 1) * period.seconds() - at,
                }))
            }
            _ => Err(LimitStoreUnreachable(format!(
                "unexpected answer {answer:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_shared_store_is_asked_at_most_once_per_interval() {
        let limiter = RateLimiter::from_url(Some("redis://127.0.0.1:1/0")).unwrap();
        let RateLimiter::Shared(shared) = &limiter else {
            panic!("a redis URL makes a shared limiter");
        };
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        assert_eq!(shared.last_checked(), None);
        assert!(!limiter.store_answers(t0), "nothing listens on port 1");
        assert_eq!(shared.last_checked(), Some(t0));
        let half = t0 + time::Duration::milliseconds(500);
        assert!(!limiter.store_answers(half));
        assert_eq!(shared.last_checked(), Some(t0), "the last answer stands");
        let next = t0 + STORE_CHECK_INTERVAL;
        assert!(!limiter.store_answers(next));
        assert_eq!(shared.last_checked(), Some(next), "asked again");
    }

    #[test]
    fn in_process_counting_always_answers() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.technology(), "IN_PROCESS");
        assert!(limiter.store_answers(datetime!(2026-01-01 00:00:00 UTC)));
    }
}
