//! In-process costs on the request path. Results go to docs/benchmarks.md.

use assent_identity::SecretString;
use assent_identity::password::{Argon2Params, PasswordHasher};
use assent_session::{SESSION_TOKEN_TYP, SessionClaims};
use assentd::api::obp::direct_login::parse_params;
use assentd::keys::SigningKeys;
use assentd::state::TokenCache;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn tokens(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("assent-bench-{}", uuid::Uuid::new_v4()));
    let keys = SigningKeys::load(None, &dir).expect("keys");
    let now = assentd::clock::Clock::system().now();
    let claims = SessionClaims {
        sid: "0123456789abcdef0123456789abcdef".into(),
        sub: uuid::Uuid::new_v4().to_string(),
        iss: "http://127.0.0.1:8080".into(),
        aud: "http://127.0.0.1:8080".into(),
        jti: "0123456789abcdef0123456789abcdef".into(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: now.unix_timestamp() + 3600,
    };
    let token = keys.sign(SESSION_TOKEN_TYP, &claims).expect("sign");
    c.bench_function("session_token/sign_es256", |b| {
        b.iter(|| keys.sign(SESSION_TOKEN_TYP, black_box(&claims)))
    });
    c.bench_function("session_token/verify_es256", |b| {
        b.iter(|| keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, black_box(&token), now))
    });
    // For comparison, RustCrypto's ECDSA P-256 verify over the same signing input (the
    // backend jsonwebtoken used before AWS-LC); OpenSSL's figure comes from `openssl speed`.
    {
        use p256::ecdsa::signature::{Signer, Verifier};
        use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
        let signing = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let verifying = VerifyingKey::from(&signing);
        let input = token
            .rsplit_once('.')
            .map(|(i, _)| i)
            .unwrap_or(&token)
            .as_bytes()
            .to_vec();
        let signature: Signature = signing.sign(&input);
        c.bench_function("es256/raw_p256_verify", |b| {
            b.iter(|| verifying.verify(black_box(&input), black_box(&signature)))
        });
    }
    let cache = TokenCache::new(100_000);
    let verify = |t: &str| keys.verify::<SessionClaims>(SESSION_TOKEN_TYP, t, now);
    cache.get_or_verify(&token, now, verify).expect("valid");
    c.bench_function("session_token/verify_cached", |b| {
        b.iter(|| cache.get_or_verify(black_box(&token), now, verify))
    });
    let _ = std::fs::remove_dir_all(dir);
}

fn passwords(c: &mut Criterion) {
    let hasher = PasswordHasher::new(Argon2Params::default()).expect("params");
    let password = SecretString::from("Tr0ub4dour&3x");
    let stored = hasher.hash(&password, &mut rand::rng()).expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("argon2id_verify_m19456_t2", |b| {
        b.iter(|| hasher.verify(black_box(&password), &stored))
    });
    group.finish();
}

fn headers(c: &mut Criterion) {
    let header = r#"username=felixsmith, password="Tr0ub4dour&3x", consumer_key=14568eb7if1wt36mb24miuxzqbo2i7jhx0qc0hq6"#;
    c.bench_function("direct_login/parse_header", |b| {
        b.iter(|| parse_params(black_box(header)))
    });
}

fn one_time_codes(c: &mut Criterion) {
    use assent_otp::challenge::{Challenge, ChallengePolicy, CodeHasher};
    use assent_otp::totp::TotpSecret;
    let secret = TotpSecret::generate(&mut rand::rng());
    let now = assentd::clock::Clock::system().now();
    let code = secret.code_at_step(TotpSecret::step(now));
    c.bench_function("totp/verify_sha1_current_step", |b| {
        b.iter(|| secret.verify(black_box(&code), now, None))
    });
    let hasher = CodeHasher::new(&[7u8; 32]).expect("key");
    let (challenge, code) = Challenge::issue(
        "bench",
        ChallengePolicy::default(),
        now,
        &mut rand::rng(),
        &hasher,
    );
    c.bench_function("challenge/verify_right_code", |b| {
        b.iter(|| {
            let mut fresh = challenge.clone();
            fresh.verify(black_box(code.expose()), now, &hasher)
        })
    });
}

fn permissions(c: &mut Criterion) {
    use assent_view_permissions::access::can;
    use assent_view_permissions::permission::Permission;
    use assent_view_permissions::system::system_view;
    let views = [
        system_view("ReadAccountsBasic").expect("view"),
        system_view("ReadBalances").expect("view"),
        system_view("auditor").expect("view"),
    ];
    c.bench_function("views/can_three_views_hit_last", |b| {
        b.iter(|| {
            can(
                black_box(&views),
                black_box(Permission::CanSeeTransactionDescription),
            )
        })
    });
    c.bench_function("views/can_three_views_miss", |b| {
        b.iter(|| {
            can(
                black_box(&views),
                black_box(Permission::CanCreateStandingOrder),
            )
        })
    });
    let set = views[2].permissions();
    c.bench_function("views/permission_set_contains", |b| {
        b.iter(|| black_box(set).contains(black_box(Permission::CanSeeBankAccountBalance)))
    });
}

criterion_group!(
    benches,
    tokens,
    passwords,
    headers,
    one_time_codes,
    permissions
);
criterion_main!(benches);
