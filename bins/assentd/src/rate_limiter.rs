//! Call limits, counted in this process: exact within one replica. With N replicas behind a
//! load balancer a consumer can get up to N times its limit; see docs/operations.md.

use assent_identity::rate_limit::{Admitted, CallCounter, CallLimits, Exceeded};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct RateLimiter {
    counters: Mutex<HashMap<Uuid, CallCounter>>,
}

impl RateLimiter {
    /// Counts a call of `consumer` if its limits allow it. Unlimited consumers cost nothing.
    pub fn admit(
        &self,
        consumer: Uuid,
        limits: &CallLimits,
        now: OffsetDateTime,
    ) -> Result<Admitted, Exceeded> {
        if *limits == CallLimits::UNLIMITED {
            return Ok(Admitted {
                limit: None,
                remaining: None,
            });
        }
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counters.entry(consumer).or_default().admit(limits, now)
    }
}
