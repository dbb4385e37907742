//! DAuth: a smart contract acting as a user, on SQLite and (when configured) PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::testing::TestDatabase;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::net::SocketAddr;
use time::format_description::well_known::Rfc3339;

const PRIVATE: &[u8] = include_bytes!("fixtures/dauth-test-private.pem");
const OTHER_PRIVATE: &[u8] = include_bytes!("fixtures/dauth-other-private.pem");
const PUBLIC: &[u8] = include_bytes!("fixtures/dauth-test-public.pem");
const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/server/fixtures");

fn allowed() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn dauth_app(db: TestDatabase) -> TestApp {
    TestApp::with_config(db, |c| {
        c.dauth_enabled = true;
        c.dauth_public_key_file = Some(format!("{FIXTURE_DIR}/dauth-test-public.pem").into());
        c.dauth_allowed_hosts = vec!["127.0.0.1".into()];
    })
}

fn claims(
    app: &TestApp,
    consumer_key: &str,
    address: &str,
    request_id: &str,
    offset_secs: i64,
) -> Value {
    let at = app.now() + time::Duration::seconds(offset_secs);
    json!({
        "smart_contract_address": address,
        "network_name": "ethereum",
        "consumer_key": consumer_key,
        "timestamp": at.format(&Rfc3339).unwrap(),
        "request_id": request_id,
    })
}

fn rs256(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(key).unwrap(),
    )
    .unwrap()
}

fn call(token: &str, peer: Option<SocketAddr>) -> TestRequest {
    let req = TestRequest::get()
        .uri("/obp/v5.1.0/users/current")
        .insert_header(("DAuth", token.to_owned()));
    match peer {
        Some(peer) => req.peer_addr(peer),
        None => req,
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_valid_token_acts_as_the_contract_created_once(db) {
        let app = dauth_app(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let (status, _, first) = send(
            &svc,
            call(
                &rs256(&claims(&app, &key, "0xAbC123", "r1", 0), PRIVATE),
                Some(allowed()),
            ),
        )
        .await;
        assert_eq!(status, 200, "{}: {first}", app.backend());
        assert_eq!(first["username"], "0xAbC123");
        assert_eq!(first["provider"], "dauth.ethereum");
        let (status, _, second) = send(
            &svc,
            call(
                &rs256(&claims(&app, &key, "0xAbC123", "r2", 0), PRIVATE),
                Some(allowed()),
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(second["user_id"], first["user_id"]);

        // Twenty first calls of a new contract at once: one user.
        let tokens: Vec<String> = (0..20)
            .map(|i| rs256(&claims(&app, &key, "0xNEW", &format!("p{i}"), 0), PRIVATE))
            .collect();
        let calls = tokens
            .iter()
            .map(|token| send(&svc, call(token, Some(allowed()))));
        let results = futures_util::future::join_all(calls).await;
        let ids: std::collections::HashSet<String> = results
            .iter()
            .map(|(s, _, body)| {
                assert_eq!(*s, 200, "{body}");
                body["user_id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "{}: one user for concurrent first calls",
            app.backend()
        );
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            assent_repository::users::count_by_username(&mut conn, "dauth.ethereum", "0xnew")
                .unwrap(),
            1
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn forged_stale_replayed_and_misdirected_tokens_are_refused(db) {
        let app = dauth_app(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let disabled = app.consumer(false);
        let good = rs256(&claims(&app, &key, "0xabc", "once", 0), PRIVATE);
        assert_eq!(send(&svc, call(&good, Some(allowed()))).await.0, 200);

        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let body = claims(&app, &key, "0xabc", "n1", 0);
        let none = format!(
            "{}.{}.",
            encode(&json!({ "alg": "none", "typ": "JWT" })),
            encode(&body)
        );
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(&app, &key, "0xabc", "n2", 0),
            &EncodingKey::from_secret(PUBLIC),
        )
        .unwrap();
        let mut missing = claims(&app, &key, "0xabc", "n3", 0);
        missing.as_object_mut().unwrap().remove("network_name");
        let cases: Vec<(String, Option<SocketAddr>, &str)> = vec![
            (good.clone(), Some(allowed()), "OBP-20072"),
            (
                rs256(&claims(&app, &key, "0xabc", "n4", 0), OTHER_PRIVATE),
                Some(allowed()),
                "OBP-20070",
            ),
            (none, Some(allowed()), "OBP-20070"),
            (hs256, Some(allowed()), "OBP-20070"),
            (rs256(&missing, PRIVATE), Some(allowed()), "OBP-20070"),
            ("not a jwt".into(), Some(allowed()), "OBP-20070"),
            (
                rs256(&claims(&app, &key, "0xabc", "n5", -600), PRIVATE),
                Some(allowed()),
                "OBP-20071",
            ),
            (
                rs256(&claims(&app, &key, "0xabc", "n6", 600), PRIVATE),
                Some(allowed()),
                "OBP-20071",
            ),
            (
                rs256(&claims(&app, &key, "0xabc", "n7", 0), PRIVATE),
                Some("192.0.2.10:40000".parse().unwrap()),
                "OBP-20069",
            ),
            (
                rs256(&claims(&app, &key, "0xabc", "n8", 0), PRIVATE),
                None,
                "OBP-20069",
            ),
            (
                rs256(&claims(&app, "unknownkey", "0xabc", "n9", 0), PRIVATE),
                Some(allowed()),
                "OBP-20008",
            ),
            (
                rs256(&claims(&app, &disabled, "0xabc", "n10", 0), PRIVATE),
                Some(allowed()),
                "OBP-20008",
            ),
        ];
        for (token, peer, code) in cases {
            let (status, _, body) = send(&svc, call(&token, peer)).await;
            assert_eq!(status, 401, "{}: {code}: {body}", app.backend());
            assert!(message(&body).starts_with(code), "{code}: {body}");
        }
        let (status, _, body) = send(
            &svc,
            TestRequest::delete()
                .uri("/my/logins/current")
                .insert_header((
                    "DAuth",
                    rs256(&claims(&app, &key, "0xabc", "n11", 0), PRIVATE),
                ))
                .peer_addr(allowed()),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-20074"));
    }
}

#[actix_web::test]
async fn dauth_is_off_by_default() {
    let app = TestApp::new(TestDatabase::sqlite());
    let svc = app.service().await;
    let key = app.consumer(true);
    let token = rs256(&claims(&app, &key, "0xabc", "r1", 0), PRIVATE);
    let (status, _, body) = send(&svc, call(&token, Some(allowed()))).await;
    assert_eq!(status, 401);
    assert!(message(&body).starts_with("OBP-20001"), "{body}");
}

#[test]
fn enabling_dauth_without_a_valid_key_fails_at_start() {
    use assentd::config::Config;
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let error = Config::load(None, env(&[("ASSENT_DAUTH_ENABLED", "true")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("dauth_public_key_file"), "{error}");
    let not_rsa = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let error = Config::load(
        None,
        env(&[
            ("ASSENT_DAUTH_ENABLED", "true"),
            ("ASSENT_DAUTH_PUBLIC_KEY_FILE", not_rsa),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("not an RSA public key"), "{error}");
    let key = format!("{FIXTURE_DIR}/dauth-test-public.pem");
    let config = Config::load(
        None,
        env(&[
            ("ASSENT_DAUTH_ENABLED", "true"),
            ("ASSENT_DAUTH_PUBLIC_KEY_FILE", &key),
            ("ASSENT_DAUTH_ALLOWED_HOSTS", "127.0.0.1, ::1"),
        ]),
    )
    .unwrap();
    assert_eq!(config.dauth_allowed_hosts, ["127.0.0.1", "::1"]);
    let error = Config::load(None, env(&[("ASSENT_DAUTH_ALLOWED_HOSTS", "example.com")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not an IP address"), "{error}");

    // RS256 is verified with 2048- to 8192-bit keys only: a smaller one is refused at start,
    // not on every call. The PKCS#1 form of a good key is read too.
    let small = format!("{FIXTURE_DIR}/dauth-1024-public.pem");
    let error = Config::load(
        None,
        env(&[
            ("ASSENT_DAUTH_ENABLED", "true"),
            ("ASSENT_DAUTH_PUBLIC_KEY_FILE", &small),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("1024 bits"), "{error}");
    let pkcs1 = format!("{FIXTURE_DIR}/dauth-test-public-pkcs1.pem");
    assert!(
        Config::load(
            None,
            env(&[
                ("ASSENT_DAUTH_ENABLED", "true"),
                ("ASSENT_DAUTH_PUBLIC_KEY_FILE", &pkcs1),
            ]),
        )
        .is_ok()
    );
}

backend_test! {
    #[actix_web::test]
    async fn a_dauth_user_is_locked_and_unlocked_like_anyone_at_once(db) {
        let app = dauth_app(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let dauth = |request_id: &str| {
            call(
                &rs256(&claims(&app, &key, "0xAbC123", request_id, 0), PRIVATE),
                Some(allowed()),
            )
        };
        let (status, _, contract) = send(&svc, dauth("r1")).await;
        assert_eq!(status, 200);
        let admin = sign_up(&svc, "admin").await;
        for role in ["CanLockUser", "CanUnlockUser", "CanReadUserLockedStatus"] {
            app.grant_role(admin["user_id"].as_str().unwrap(), role, None);
        }
        let admin_token = token(&svc, "admin", &key).await;
        let as_admin = |req: TestRequest| authed(req, &admin_token);

        let (status, _, lock) = send(
            &svc,
            as_admin(TestRequest::post().uri("/obp/v5.1.0/users/0xAbC123/locks")),
        )
        .await;
        assert_eq!(status, 201, "{}: {lock}", app.backend());
        assert_eq!(lock["user_id"], contract["user_id"]);
        let (status, _, body) = send(&svc, dauth("r2")).await;
        assert_eq!(status, 401, "{}: a locked contract acts no more", app.backend());
        assert!(message(&body).starts_with("OBP-20013"), "{body}");

        let (status, _, body) = send(
            &svc,
            as_admin(TestRequest::get().uri("/obp/v5.1.0/users/0xabc123/lock-status")),
        )
        .await;
        assert_eq!((status, &body["username"]), (200, &json!("0xAbC123")));
        let (status, _, _) = send(
            &svc,
            as_admin(TestRequest::put().uri("/obp/v5.1.0/users/0xAbC123/lock-status")),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, body) = send(&svc, dauth("r3")).await;
        assert_eq!(status, 200, "{}: unlocked: {body}", app.backend());
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_username_at_several_providers_is_locked_only_by_naming_one(db) {
        let app = dauth_app(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let token_for = |request_id: &str| {
            rs256(&claims(&app, &key, "0xabc", request_id, 0), PRIVATE)
        };
        let (status, _, contract) = send(&svc, call(&token_for("r1"), Some(allowed()))).await;
        assert_eq!(status, 200);
        // The same address on another network is another user.
        let twin = assent_identity::User {
            user_id: assent_identity::UserId::generate(&mut rand::rng()),
            provider: "dauth.polygon".into(),
            provider_id: "0xabc".into(),
            username: "0xabc".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            phone_number: None,
            customer_number: None,
            created_at: app.now(),
            email_verified_at: None,
            phone_verified_at: None,
        };
        {
            let mut conn = app.state.pool.get().unwrap();
            let row = assent_repository::users::UserRow::new(&twin, "0xabc".into(), "!".into());
            assent_repository::users::insert(&mut conn, &row).unwrap();
        }
        let admin = sign_up(&svc, "admin").await;
        app.grant_role(admin["user_id"].as_str().unwrap(), "CanLockUser", None);
        let admin_token = token(&svc, "admin", &key).await;

        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri("/obp/v5.1.0/users/0xabc/locks"), &admin_token),
        )
        .await;
        assert_eq!(status, 400, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-20028"), "{body}");
        assert_eq!(app.audit_count("user.locked"), 0);

        let (status, _, lock) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/users/0xabc/locks?provider=dauth.ethereum"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 201, "{lock}");
        assert_eq!(lock["user_id"], contract["user_id"]);
        let (status, _, _) = send(&svc, call(&token_for("r2"), Some(allowed()))).await;
        assert_eq!(status, 401);
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/users/0xabc/locks?provider=dauth.nowhere"),
                &admin_token,
            ),
        )
        .await;
        assert_eq!(status, 404, "{body}");
    }
}
