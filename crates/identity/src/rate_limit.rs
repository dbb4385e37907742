//! Call limits per consumer: at most N calls per second, minute, hour, day, week and month,
//! each counted in a fixed window aligned to the Unix epoch (a week is seven days; a month
//! thirty). `-1` means unlimited.

use time::OffsetDateTime;

/// The periods a limit can be set for, shortest first.
pub const PERIODS: [Period; 6] = [
    Period::Second,
    Period::Minute,
    Period::Hour,
    Period::Day,
    Period::Week,
    Period::Month,
];

/// A limit's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// One second.
    Second,
    /// Sixty seconds.
    Minute,
    /// 3600 seconds.
    Hour,
    /// 86,400 seconds.
    Day,
    /// Seven days.
    Week,
    /// Thirty days.
    Month,
}

impl Period {
    /// Length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3_600,
            Period::Day => 86_400,
            Period::Week => 7 * 86_400,
            Period::Month => 30 * 86_400,
        }
    }

    /// The word OBP uses in its message.
    pub fn name(self) -> &'static str {
        match self {
            Period::Second => "second",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    fn index(self) -> usize {
        match self {
            Period::Second => 0,
            Period::Minute => 1,
            Period::Hour => 2,
            Period::Day => 3,
            Period::Week => 4,
            Period::Month => 5,
        }
    }
}

/// A consumer's limits, in [`PERIODS`] order; `-1` is unlimited. Each is `-1` or at least 0:
/// [`CallLimits::new`] refuses anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits([i64; 6]);

/// A limit below `-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a call limit is -1 (unlimited) or at least 0")]
pub struct InvalidCallLimits;

impl CallLimits {
    /// No limit at all.
    pub const UNLIMITED: CallLimits = CallLimits([-1; 6]);

    /// Limits in [`PERIODS`] order, each `-1` (unlimited) or at least 0.
    pub fn new(limits: [i64; 6]) -> Result<Self, InvalidCallLimits> {
        if limits.iter().all(|limit| *limit >= -1) {
            Ok(Self(limits))
        } else {
            Err(InvalidCallLimits)
        }
    }

    /// The limit for `period` (`-1` unlimited).
    pub fn get(&self, period: Period) -> i64 {
        self.0.get(period.index()).copied().unwrap_or(-1)
    }

    /// Every limit, in [`PERIODS`] order.
    pub fn limits(&self) -> [i64; 6] {
        self.0
    }
}

/// Refused: the first exhausted limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// Its period.
    pub period: Period,
    /// Its limit.
    pub limit: i64,
    /// Seconds until its window ends.
    pub reset_in_seconds: i64,
}

/// Admitted: the tightest remaining allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// The tightest limit (`None` if unlimited).
    pub limit: Option<i64>,
    /// Calls left under it.
    pub remaining: Option<i64>,
}

/// The counts of one consumer's current windows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounter {
    windows: [(i64, i64); 6],
}

impl CallCounter {
    /// Counts a call at `now` if every limit allows it; a refused call is not counted.
    pub fn admit(
        &mut self,
        limits: &CallLimits,
        now: OffsetDateTime,
    ) -> Result<Admitted, Exceeded> {
        let at = now.unix_timestamp();
        let mut tightest: Option<(i64, i64)> = None;
        for period in PERIODS {
            let limit = limits.get(period);
            let window = at.div_euclid(period.seconds());
            let Some(slot) = self.windows.get_mut(period.index()) else {
                continue;
            };
            if slot.0 != window {
                *slot = (window, 0);
            }
            if limit < 0 {
                continue;
            }
            if slot.1 >= limit {
                return Err(Exceeded {
                    period,
                    limit,
                    reset_in_seconds: (window + 1) * period.seconds() - at,
                });
            }
            let remaining = limit - slot.1 - 1;
            if tightest.is_none_or(|(_, r)| remaining < r) {
                tightest = Some((limit, remaining));
            }
        }
        for slot in &mut self.windows {
            slot.1 += 1;
        }
        Ok(Admitted {
            limit: tightest.map(|(l, _)| l),
            remaining: tightest.map(|(_, r)| r),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

    #[test]
    fn the_sixth_call_in_a_second_is_refused_and_the_next_second_is_served() {
        let limits = CallLimits::new([5, -1, -1, -1, -1, -1]).unwrap();
        let mut counter = CallCounter::default();
        for i in 0..5 {
            let admitted = counter.admit(&limits, T).unwrap();
            assert_eq!(admitted.remaining, Some(4 - i));
        }
        let refused = counter
            .admit(&limits, T + Duration::milliseconds(900))
            .unwrap_err();
        assert_eq!(refused.period, Period::Second);
        assert_eq!(refused.limit, 5);
        assert_eq!(refused.reset_in_seconds, 1);
        assert!(counter.admit(&limits, T + Duration::seconds(1)).is_ok());
    }

    #[test]
    fn every_period_counts_and_refusals_do_not() {
        let limits = CallLimits::new([-1, 3, -1, -1, -1, 4]).unwrap();
        let mut counter = CallCounter::default();
        for s in 0..3 {
            counter.admit(&limits, T + Duration::seconds(s)).unwrap();
        }
        let refused = counter
            .admit(&limits, T + Duration::seconds(5))
            .unwrap_err();
        assert_eq!(
            (refused.period, refused.reset_in_seconds),
            (Period::Minute, 55)
        );
        counter.admit(&limits, T + Duration::minutes(1)).unwrap();
        let refused = counter
            .admit(&limits, T + Duration::minutes(2))
            .unwrap_err();
        assert_eq!(refused.period, Period::Month);
    }

    #[test]
    fn unlimited_and_zero() {
        let mut counter = CallCounter::default();
        for _ in 0..1000 {
            assert_eq!(
                counter.admit(&CallLimits::UNLIMITED, T).unwrap().limit,
                None
            );
        }
        let mut counter = CallCounter::default();
        assert!(
            counter
                .admit(&CallLimits::new([0, -1, -1, -1, -1, -1]).unwrap(), T)
                .is_err()
        );
        assert_eq!(CallLimits::new([-2, 0, 0, 0, 0, 0]), Err(InvalidCallLimits));
    }
}
