//! The fuzz targets' bodies: one function per target in `fuzz/fuzz_targets/`, so that
//! libFuzzer (through cargo-fuzz) and the replay test below run the same code. The replay test
//! feeds every committed seed in `fuzz/corpus/<target>/` through its function on stable Rust,
//! as part of `cargo test`. Compiled for tests and with the `fuzzing` feature only.
//!
//! Each function must never panic on any input: a panic is a finding. Besides not panicking,
//! each checks a few invariants its code promises (an assertion failure is a finding too).

use crate::api::apiture::{challenges, sessions};
use crate::api::obp::direct_login::{credentials_text, param, parse_params};
use crate::api::obp::{
    accounts, auth_context_updates, auth_contexts, authenticators, banks, consents, consumers,
    entitlement_requests, roles, users,
};
use crate::api::temenos::mfa;
use crate::client_address::TrustedProxies;
use crate::keys::SigningKeys;
use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use assent_consent::consent::{Access, ConsentRequest, Scope, USE_LEEWAY};
use assent_consent::token::{CONSENT_TOKEN_TYP, ConsentClaims};
use assent_identity::registration::{
    MAX_USERNAME_CHARS, Registration, is_valid_email, is_valid_phone_number, is_valid_username,
    username_key,
};
use assent_identity::{RegistrationInput, SecretString};
use assent_otp::masking::{mask_email, mask_phone, normalise_phone};
use assent_otp::security_questions::{MAX_ANSWER_CHARS, enrol};
use assent_session::{SESSION_TOKEN_TYP, SessionClaims};
use assent_view_permissions::view::CustomViewFields;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use std::net::IpAddr;
use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The fixed "now" of the targets that need a clock (2026-05-28).
const NOW: i64 = 1_780_000_000;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

// --- direct_login_header -----------------------------------------------------------------

/// The DirectLogin credentials: `data` is a header value, read as a `DirectLogin` header and
/// as an `Authorization` header, then split into parameters; and, when it is UTF-8, split as
/// parameter text directly.
pub fn direct_login_header(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_params(text);
    }
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    for name in [HeaderName::from_static("directlogin"), AUTHORIZATION] {
        let is_authorization = name == AUTHORIZATION;
        let mut headers = HeaderMap::new();
        headers.insert(name, value.clone());
        let Ok(text) = credentials_text(&headers) else {
            continue;
        };
        if is_authorization {
            // The scheme is a whole word, and only the parameters are handed on.
            assert!(text.is_empty() || text.starts_with(' '), "{text:?}");
        } else {
            assert_eq!(text.as_bytes(), data);
        }
        check_params(text);
    }
}

fn check_params(text: &str) {
    let Ok(params) = parse_params(text) else {
        return;
    };
    assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)), "{text:?}");
    for (index, (name, value)) in params.iter().enumerate() {
        assert!(!name.is_empty(), "{text:?}");
        assert!(!name.contains(['=', ',']), "{text:?}: {name:?}");
        assert_eq!(name.trim(), name, "{text:?}");
        assert!(
            params[..index].iter().all(|(earlier, _)| earlier != name),
            "a duplicate name was accepted in {text:?}"
        );
        let expected = Some(value.as_str()).filter(|v| !v.is_empty());
        assert_eq!(param(&params, name), expected, "{text:?}");
    }
    // Every value quoted and escaped reads back as the same parameters.
    let quoted = params
        .iter()
        .map(|(name, value)| {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{name}=\"{escaped}\"")
        })
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(parse_params(&quoted).as_ref(), Ok(&params), "{text:?}");
}

// --- forwarded_for -----------------------------------------------------------------------

/// The client's address behind proxies. `data` is lines: the trusted proxies (comma
/// separated; if they do not parse, a fixed set is used), the TCP peer's address (anything
/// else: no peer), then one `X-Forwarded-For` header value per line, raw bytes.
pub fn forwarded_for(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let proxies_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let entries: Vec<&str> = proxies_line.split(',').collect();
    let proxies = TrustedProxies::parse(&entries).unwrap_or_else(|_| {
        TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8", "127.0.0.1"]).unwrap_or_default()
    });
    let peer = std::str::from_utf8(lines.next().unwrap_or_default())
        .ok()
        .and_then(|p| p.trim().parse::<IpAddr>().ok());
    let values: Vec<&[u8]> = lines.collect();
    let client = proxies.client(peer, values.iter().copied());

    let Some(peer) = peer else {
        assert_eq!(client, None);
        return;
    };
    let peer = canonical(peer);
    if !proxies.trusts(peer) {
        // A peer that is not a proxy is believed over any header.
        assert_eq!(client, Some(peer));
        return;
    }
    if let Some(found) = client {
        assert_eq!(
            found,
            canonical(found),
            "a v4-mapped address was not unwrapped"
        );
        if !proxies.trusts(found) {
            // Entries left of the client's were written by the client and are never read:
            // whatever it adds there, valid or not, changes nothing.
            for forged in [&b"198.51.100.77"[..], b"\xff\xfe", b"unknown, 10.0.0.1"] {
                let mut more = vec![forged];
                more.extend(values.iter().copied());
                assert_eq!(proxies.client(Some(peer), more), client, "{data:?}");
            }
        }
    }
    // What the last proxy appends is the client when it is not a proxy.
    let appended: IpAddr = [203, 0, 113, 9].into();
    if !proxies.trusts(appended) {
        let mut more = values.clone();
        more.push(b" 203.0.113.9");
        assert_eq!(proxies.client(Some(peer), more), Some(appended));
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

// --- token_form --------------------------------------------------------------------------

fn keys() -> &'static SigningKeys {
    static KEYS: OnceLock<SigningKeys> = OnceLock::new();
    KEYS.get_or_init(SigningKeys::generate)
}

fn consent_leeway() -> u64 {
    USE_LEEWAY.whole_seconds().unsigned_abs()
}

/// Token verification before and after the signature check, against a key generated once per
/// process. The first byte picks the form of the rest (modulo 3; `0`, `1` and `2` in seeds):
///
/// - `0`: the rest is a token, as text. It must be refused (no one can forge our signature).
/// - `1`: the rest is three lines: the header JSON (`$KID` stands for our key id, which
///   changes with every key), the payload (both base64url-encoded here) and the signature
///   segment, as it stands. Refused too, but the header checks can be passed.
/// - `2`: the rest is a claims JSON object that we sign as a session and as a consent token.
///   Verification may accept it only inside its validity window, only as the type it was
///   signed as, and never in the signature's high-S spelling.
pub fn token_form(data: &[u8]) {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    match form % 3 {
        0 => refused(&String::from_utf8_lossy(rest)),
        1 => refused(&assembled(rest)),
        _ => signed(rest),
    }
}

fn refused(token: &str) {
    let keys = keys();
    assert!(
        keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, token, now())
            .is_err(),
        "a session token not signed by us was accepted: {token:?}"
    );
    assert!(
        keys.verify_with_leeway::<ConsentClaims>(CONSENT_TOKEN_TYP, token, consent_leeway(), now())
            .is_err(),
        "a consent token not signed by us was accepted: {token:?}"
    );
}

fn assembled(rest: &[u8]) -> String {
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let header =
        String::from_utf8_lossy(parts.next().unwrap_or_default()).replace("$KID", keys().kid());
    let payload = parts.next().unwrap_or_default();
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fn signed(rest: &[u8]) {
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    if !claims.is_object() {
        return;
    }
    let keys = keys();
    let now = now();
    let leeway = consent_leeway();
    if let Ok(token) = keys.sign(SESSION_TOKEN_TYP, &claims) {
        if let Ok(session) = keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &token, now) {
            assert!(session.exp >= NOW, "an expired session token was accepted");
        }
        assert!(
            keys.verify_with_leeway::<ConsentClaims>(CONSENT_TOKEN_TYP, &token, leeway, now)
                .is_err(),
            "a session token was accepted as a consent"
        );
        if let Some(high) = high_s(&token) {
            refused(&high);
        }
    }
    if let Ok(token) = keys.sign(CONSENT_TOKEN_TYP, &claims) {
        if let Ok(consent) =
            keys.verify_with_leeway::<ConsentClaims>(CONSENT_TOKEN_TYP, &token, leeway, now)
        {
            let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
            assert!(
                consent.exp.saturating_add(leeway) >= NOW,
                "an expired consent token was accepted"
            );
            assert!(
                consent.nbf.saturating_sub(leeway) <= NOW,
                "a consent token was accepted before its nbf"
            );
        }
        assert!(
            keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, &token, now)
                .is_err(),
            "a consent token was accepted as a session"
        );
        if let Some(high) = high_s(&token) {
            refused(&high);
        }
    }
}

/// The same token with its signature's `s` replaced by `n - s`: as valid to ECDSA, but not the
/// one spelling we accept.
fn high_s(token: &str) -> Option<String> {
    let (signed_part, encoded) = token.rsplit_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    let signature = p256::ecdsa::Signature::from_slice(&bytes).ok()?;
    let (r, s) = signature.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(r, -s).ok()?;
    Some(format!(
        "{signed_part}.{}",
        URL_SAFE_NO_PAD.encode(high.to_bytes())
    ))
}

// --- dialect_bodies ----------------------------------------------------------------------

fn body<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// The JSON request bodies of the three dialects: `data` is read as every body type, and the
/// bodies that a pure function validates next (sign-up, consent request, custom view,
/// security-question answers) are validated as their handlers do.
pub fn dialect_bodies(data: &[u8]) {
    // OBP.
    let _ = body::<accounts::BalanceJson>(data);
    let _ = body::<accounts::CreateAccountJson>(data);
    let _ = body::<accounts::ViewRefJson>(data);
    let _ = body::<accounts::GrantJson>(data);
    let _ = body::<accounts::BulkAccessJson>(data);
    let _ = body::<accounts::DAuthUserAccessJson>(data);
    let _ = body::<auth_context_updates::AuthContextUpdateRequestJson>(data);
    let _ = body::<auth_context_updates::ChallengeAnswerJson>(data);
    let _ = body::<auth_contexts::CreateAuthContextJson>(data);
    let _ = body::<authenticators::PasswordJson>(data);
    let _ = body::<authenticators::TotpCodeJson>(data);
    let _ = body::<banks::BankJson>(data);
    let _ = body::<consents::ConsentAnswerJson>(data);
    let _ = body::<consumers::CreateConsumerJson>(data);
    let _ = body::<consumers::EnabledJson>(data);
    let _ = body::<consumers::RedirectUrlJson>(data);
    let _ = body::<consumers::SetCallLimitsJson>(data);
    let _ = body::<entitlement_requests::CreateEntitlementRequestJson>(data);
    let _ = body::<roles::CreateEntitlementJson>(data);
    if let Some(user) = body::<users::CreateUserJson>(data) {
        sign_up(user);
    }
    if let Some(consent) = body::<consents::CreateConsentJson>(data) {
        consent_request(consent);
    }
    if let Some(view) = body::<accounts::CustomViewJson>(data) {
        custom_view(view);
    }
    // Apiture.
    let _ = body::<challenges::ChallengeVerification>(data);
    let _ = body::<sessions::TerminatedCustomerSession>(data);
    let _ = body::<sessions::ResumedCustomerSession>(data);
    // Temenos.
    let _ = body::<mfa::PreLoginFlowRequest>(data);
    let _ = body::<mfa::FlowRequest>(data);
    let _ = body::<mfa::VerifyRequest>(data);
    if let Some(update) = body::<mfa::UpdateQuestionsRequest>(data) {
        security_answers(update);
    }
}

fn sign_up(user: users::CreateUserJson) {
    let input = RegistrationInput {
        username: user.username,
        password: SecretString::new(user.password),
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone_number: user.phone_number,
    };
    let Ok(registration) = Registration::validate(input) else {
        return;
    };
    assert!(is_valid_username(registration.username()));
    assert_eq!(
        registration.username_key(),
        username_key(registration.username())
    );
    assert!(registration.email().is_none_or(is_valid_email));
    assert!(
        registration
            .phone_number()
            .is_none_or(is_valid_phone_number)
    );
    for name in [registration.first_name(), registration.last_name()] {
        assert!(!name.is_empty() && name.trim() == name);
    }
}

/// The consent request as `POST .../my/consents/{method}` builds it, validated against what
/// it asks for as held (so the checks run past "not held"), then against nothing held.
fn consent_request(consent: consents::CreateConsentJson) {
    let Ok(valid_from) = consent
        .valid_from
        .as_deref()
        .map(|v| OffsetDateTime::parse(v.trim(), &Rfc3339))
        .transpose()
    else {
        return;
    };
    let access = consents::access_asked(consent.views, consent.entitlements);
    let request = ConsentRequest {
        bank_id: "gh.29.uk".to_owned(),
        scope: Scope {
            everything: consent.everything,
            access: access.clone(),
        },
        valid_from,
        time_to_live: consent.time_to_live,
    };
    let max = Duration::hours(1);
    if let Ok(validity) = request.validate(now(), max, &access) {
        assert!(validity.valid_from() < validity.expires_at());
        assert!(validity.expires_at() - validity.valid_from() <= max);
        assert!(validity.valid_from() >= now() - assent_consent::consent::VALID_FROM_LEEWAY);
    }
    if request.validate(now(), max, &Access::default()).is_ok() {
        assert!(access.views.is_empty() && access.entitlements.is_empty());
    }
}

/// A custom view made from the body; the same body applied to that view changes nothing.
fn custom_view(view: accounts::CustomViewJson) {
    let fields = CustomViewFields::from(view);
    let Ok(created) = fields.clone().into_new_view() else {
        return;
    };
    assert_eq!(fields.apply_to(&created).as_ref(), Ok(&created));
}

fn security_answers(update: mfa::UpdateQuestionsRequest) {
    let _ = crate::services::mfa::flow_of(update.service_key.as_deref().unwrap_or_default());
    let answers: Vec<(String, String)> = update
        .security_questions
        .unwrap_or_default()
        .into_iter()
        .map(|qa| (qa.question_id, qa.answer))
        .collect();
    let Ok(normalised) = enrol(&answers) else {
        return;
    };
    assert_eq!(normalised.len(), answers.len());
    for (index, (id, answer)) in normalised.iter().enumerate() {
        assert_eq!(id, &answers[index].0);
        let chars = answer.chars().count();
        assert!((1..=MAX_ANSWER_CHARS).contains(&chars), "{answer:?}");
    }
}

// --- contact_normalisation ---------------------------------------------------------------

/// Phone and email normalisation, masking and validation on the same text.
pub fn contact_normalisation(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    match normalise_phone(text) {
        Ok(digits) => {
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{digits:?}");
            assert!((8..=15).contains(&digits.len()) && !digits.starts_with('0'));
            let stored = format!("+{digits}");
            // The normalised form is the stored (E.164) form, and a fixed point.
            assert!(is_valid_phone_number(&stored), "{stored:?}");
            assert_eq!(normalise_phone(&stored).as_ref(), Ok(&digits));
            let masked = mask_phone(text).unwrap_or_default();
            let len = digits.len();
            // `+`, two digits shown, every middle digit an `X`, two digits shown.
            assert_eq!(masked.len(), len + 1, "{masked:?}");
            assert_eq!(masked.get(..3), stored.get(..3));
            assert_eq!(masked.get(len - 1..), stored.get(len - 1..));
            assert!(masked[3..len - 1].bytes().all(|b| b == b'X'), "{masked:?}");
        }
        Err(_) => assert!(mask_phone(text).is_err()),
    }
    if is_valid_phone_number(text) {
        assert_eq!(normalise_phone(text).ok().as_deref(), text.get(1..));
    }

    if let Ok(masked) = mask_email(text) {
        let (local, domain) = text.trim().rsplit_once('@').unwrap_or_default();
        let (masked_local, masked_domain) = masked.rsplit_once('@').unwrap_or_default();
        assert_eq!(masked_domain, domain);
        assert_eq!(masked_local.chars().count(), local.chars().count());
        // At most the first three characters shown, the rest `X`; the last always hidden.
        for (index, (m, l)) in masked_local.chars().zip(local.chars()).enumerate() {
            assert!(m == 'X' || (index < 3 && m == l), "{masked:?}");
        }
        assert!(masked_local.ends_with('X'), "{masked:?}");
    }
    if is_valid_email(text) {
        assert!(text.is_ascii() && text.len() <= 254);
        assert!(mask_email(text).is_ok(), "{text:?}");
    }

    if is_valid_username(text) {
        let key = username_key(text);
        assert!((1..=MAX_USERNAME_CHARS).contains(&text.chars().count()));
        // Valid usernames are ASCII: their key is the ASCII lower case, itself valid.
        assert_eq!(key, text.to_ascii_lowercase());
        assert!(is_valid_username(&key), "{key:?}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Runs every committed seed of `target` through its function.
    fn replay(target: &str, run: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .expect("corpus directory");
        assert!(!entries.is_empty(), "no seeds in {}", dir.display());
        for path in entries {
            let data = std::fs::read(&path).expect("seed");
            eprintln!("replaying {}", path.display());
            run(&data);
        }
    }

    #[test]
    fn direct_login_header_corpus() {
        replay("direct_login_header", super::direct_login_header);
    }

    #[test]
    fn forwarded_for_corpus() {
        replay("forwarded_for", super::forwarded_for);
    }

    #[test]
    fn token_form_corpus() {
        replay("token_form", super::token_form);
    }

    #[test]
    fn dialect_bodies_corpus() {
        replay("dialect_bodies", super::dialect_bodies);
    }

    #[test]
    fn contact_normalisation_corpus() {
        replay("contact_normalisation", super::contact_normalisation);
    }
}
