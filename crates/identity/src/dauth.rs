//! DAuth: a smart contract acting as a user. The signature is checked by the caller (RS256
//! with the configured key); this module checks what the signed claims say.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The claims of a DAuth JWT.
#[derive(Debug, Clone, Deserialize)]
pub struct DAuthClaims {
    /// The contract's address: the user's username.
    pub smart_contract_address: String,
    /// The chain it lives on: the user's provider is `dauth.<network_name>`.
    pub network_name: String,
    /// The consumer (app) the call is made for.
    pub consumer_key: String,
    /// When the token was made (RFC 3339).
    pub timestamp: String,
    /// Unique per request: a second use is a replay.
    pub request_id: String,
}

/// A DAuth request whose claims hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DAuthRequest {
    /// `dauth.<network_name>`.
    pub provider: String,
    /// The contract's address as given.
    pub username: String,
    /// The consumer key (a secret: do not log).
    pub consumer_key: crate::SecretString,
    /// The request's id.
    pub request_id: String,
}

/// Why DAuth claims were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DAuthError {
    /// A field is missing, empty, too long or badly formed.
    #[error("malformed DAuth claims")]
    Malformed,
    /// The timestamp is outside the window around now.
    #[error("DAuth timestamp outside the allowed window")]
    Stale,
}

fn token_chars(value: &str, max: usize, extra: &[char]) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Longest network name accepted.
pub const MAX_NETWORK_NAME_CHARS: usize = 50;

/// Whether `network` can be a DAuth `network_name`: at most 50 characters in dot-separated
/// parts (`ETHEREUM`, `AIRNODE.TESTNET.ETHEREUM`, as the reference names them), each part one
/// or more ASCII letters, digits, `_` and `-`.
pub fn is_valid_network_name(network: &str) -> bool {
    network.len() <= MAX_NETWORK_NAME_CHARS
        && network
            .split('.')
            .all(|part| token_chars(part, MAX_NETWORK_NAME_CHARS, &['_', '-']))
}

/// Whether `provider` can name DAuth users, as DAuth logins name them: `dauth.` and a network
/// name ([`is_valid_network_name`]).
pub fn is_valid_provider(provider: &str) -> bool {
    provider
        .strip_prefix("dauth.")
        .is_some_and(is_valid_network_name)
}

/// Checks the claims at `now`: every field well formed, and the timestamp no further than
/// `window` from now in either direction (a token from the future is as suspect as an old one).
pub fn check(
    claims: DAuthClaims,
    now: OffsetDateTime,
    window: Duration,
) -> Result<DAuthRequest, DAuthError> {
    if !token_chars(&claims.smart_contract_address, 100, &[])
        || !is_valid_network_name(&claims.network_name)
        || !token_chars(&claims.consumer_key, 100, &['_', '-'])
        || !token_chars(&claims.request_id, 100, &['_', '-'])
    {
        return Err(DAuthError::Malformed);
    }
    let at =
        OffsetDateTime::parse(&claims.timestamp, &Rfc3339).map_err(|_| DAuthError::Malformed)?;
    if (now - at).abs() > window {
        return Err(DAuthError::Stale);
    }
    Ok(DAuthRequest {
        provider: format!("dauth.{}", claims.network_name),
        username: claims.smart_contract_address,
        consumer_key: crate::SecretString::new(claims.consumer_key),
        request_id: claims.request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn claims(timestamp: &str) -> DAuthClaims {
        DAuthClaims {
            smart_contract_address: "0x9a8b7c".into(),
            network_name: "ethereum".into(),
            consumer_key: "abc123".into(),
            timestamp: timestamp.into(),
            request_id: "r-1".into(),
        }
    }

    #[test]
    fn fresh_claims_name_the_user() {
        let request = check(claims("2026-11-22T09:58:00Z"), NOW, Duration::minutes(5)).unwrap();
        assert_eq!(request.provider, "dauth.ethereum");
        assert_eq!(request.username, "0x9a8b7c");
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let window = Duration::minutes(5);
        assert_eq!(
            check(claims("2026-11-22T09:54:59Z"), NOW, window),
            Err(DAuthError::Stale)
        );
        assert_eq!(
            check(claims("2026-11-22T10:05:01Z"), NOW, window),
            Err(DAuthError::Stale)
        );
        assert_eq!(
            check(claims("yesterday"), NOW, window),
            Err(DAuthError::Malformed)
        );
    }

    #[test]
    fn network_names_are_the_references() {
        for good in [
            "ETHEREUM",
            "AIRNODE.TESTNET.ETHEREUM",
            "ethereum",
            "eth_main-2",
        ] {
            assert!(is_valid_network_name(good), "{good:?}");
        }
        for bad in [
            "",
            ".",
            ".ETHEREUM",
            "ETHEREUM.",
            "AIRNODE..ETHEREUM",
            "eth/main",
            "eth main",
            "éther",
            &"n".repeat(51),
            &format!("{}.{}", "n".repeat(25), "n".repeat(25)),
        ] {
            assert!(!is_valid_network_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn providers_are_dauth_networks() {
        assert!(is_valid_provider("dauth.ethereum"));
        assert!(is_valid_provider("dauth.AIRNODE.TESTNET.ETHEREUM"));
        assert!(is_valid_provider(&format!("dauth.{}", "n".repeat(50))));
        for bad in [
            "",
            "dauth.",
            "ethereum",
            "DAUTH.ethereum",
            "dauth.eth/main",
            "dauth.éther",
            "dauth..ethereum",
            &format!("dauth.{}", "n".repeat(51)),
        ] {
            assert!(!is_valid_provider(bad), "{bad:?}");
        }
    }

    #[test]
    fn malformed_fields_are_refused() {
        let window = Duration::minutes(5);
        let mut c = claims("2026-11-22T10:00:00Z");
        c.smart_contract_address = "0x 12".into();
        assert_eq!(check(c, NOW, window), Err(DAuthError::Malformed));
        let mut c = claims("2026-11-22T10:00:00Z");
        c.network_name = "eth/main".into();
        assert_eq!(check(c, NOW, window), Err(DAuthError::Malformed));
        let mut c = claims("2026-11-22T10:00:00Z");
        c.request_id = String::new();
        assert_eq!(check(c, NOW, window), Err(DAuthError::Malformed));
    }
}
