use time::OffsetDateTime;

/// The stored form of a timestamp: microseconds since the Unix epoch, UTC. The same `BigInt`
/// on both backends, ordered, and exact to the precision we keep.
pub fn to_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(i64::MAX)
}

/// The timestamp back from its stored form.
pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_to_the_microsecond() {
        let at = datetime!(2026-11-22 10:11:12.123456 UTC);
        assert_eq!(from_micros(to_micros(at)), at);
    }
}
