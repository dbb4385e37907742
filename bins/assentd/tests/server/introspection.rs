//! Token introspection (RFC 7662) over HTTP: live session tokens and consent JWTs answer who
//! and what; every token that would be refused on use answers `{"active": false}` and nothing
//! else; the endpoint wants a system key. SQLite and PostgreSQL.

use crate::common::*;
use crate::consents::{BANK, accepted, revoke, setup};
use actix_web::test::TestRequest;
use assent_repository::{consumers, lockout};
use serde_json::{Value, json};

fn introspect(system_key: &str, token: &str) -> TestRequest {
    TestRequest::post()
        .uri("/oauth2/introspect")
        .insert_header(("Authorization", format!("Bearer {system_key}")))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(format!(
            "token={}",
            percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
        ))
}

async fn active<S: TestService>(svc: &S, system_key: &str, token: &str) -> Value {
    let (status, headers, body) = send(svc, introspect(system_key, token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    body
}

/// The claims of the live session token introspection described, issued by `issuer`.
fn claims_of(live: &Value, issuer: &str) -> assent_session::SessionClaims {
    assent_session::SessionClaims {
        sid: live["jti"].as_str().unwrap().to_owned(),
        sub: live["sub"].as_str().unwrap().to_owned(),
        iss: issuer.to_owned(),
        aud: issuer.to_owned(),
        jti: live["jti"].as_str().unwrap().to_owned(),
        iat: live["iat"].as_i64().unwrap(),
        nbf: live["iat"].as_i64().unwrap(),
        exp: live["exp"].as_i64().unwrap(),
    }
}

fn inactive() -> Value {
    json!({ "active": false })
}

backend_test! {
    #[actix_web::test]
    async fn a_session_token_is_live_until_logout_and_asking_writes_nothing(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let system = system_key(&app);
        let user = sign_up(&svc, "felix").await;
        let (consumer_id, key) = app.consumer_with_id(true);
        let token = token(&svc, "felix", &key).await;

        let body = active(&svc, &system, &token).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_type"], "session");
        assert_eq!(body["sub"], user["user_id"]);
        assert_eq!(body["client_id"], consumer_id.to_string());
        assert_eq!(body["iss"], app.state.config.provider);
        assert_eq!(body["iat"], app.now().unix_timestamp());
        assert!(body["exp"].as_i64().unwrap() > app.now().unix_timestamp());
        assert!(body["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
        assert!(body.get("views").is_none(), "{body}");

        // Asking does not keep the session alive.
        let mut conn = app.state.pool.get().unwrap();
        let before = assent_repository::sessions::find(&mut conn, body["jti"].as_str().unwrap())
            .unwrap()
            .unwrap();
        app.advance(time::Duration::seconds(120));
        for _ in 0..5 {
            assert_eq!(active(&svc, &system, &token).await["active"], true);
        }
        let after = assent_repository::sessions::find(&mut conn, body["jti"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(before.last_activity_at(), after.last_activity_at());

        let (status, _, _) = send(
            &svc,
            authed(TestRequest::delete().uri("/my/logins/current"), &token),
        )
        .await;
        assert!(status < 300, "{status}");
        assert_eq!(active(&svc, &system, &token).await, inactive());
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_locked_user_a_disabled_consumer_and_an_expired_session_are_inactive(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let system = system_key(&app);
        let felix = sign_up(&svc, "felix").await;
        sign_up(&svc, "grace").await;
        let (consumer_id, key) = app.consumer_with_id(true);
        let felix_token = token(&svc, "felix", &key).await;
        let grace_token = token(&svc, "grace", &key).await;
        let mut conn = app.state.pool.get().unwrap();

        lockout::lock(&mut conn, felix["user_id"].as_str().unwrap(), "admin", app.now()).unwrap();
        assert_eq!(active(&svc, &system, &felix_token).await, inactive());

        assert_eq!(active(&svc, &system, &grace_token).await["active"], true);
        assert!(consumers::set_enabled(&mut conn, &consumer_id, false).unwrap());
        assert_eq!(active(&svc, &system, &grace_token).await, inactive());
        assert!(consumers::set_enabled(&mut conn, &consumer_id, true).unwrap());
        assert_eq!(active(&svc, &system, &grace_token).await["active"], true);

        // Idle past the session's idle timeout.
        app.advance(time::Duration::seconds(
            i64::try_from(app.state.config.session_idle_timeout_secs).unwrap() + 1,
        ));
        assert_eq!(active(&svc, &system, &grace_token).await, inactive());
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_is_live_with_its_scope_until_revoked(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let system = system_key(&app);
        let felix = setup(&app, &svc, "felix").await;
        let (consent_id, jwt) = accepted(&app, &svc, &felix).await;

        let body = active(&svc, &system, &jwt).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_type"], "consent");
        assert_eq!(body["jti"], consent_id);
        assert_eq!(body["sub"], felix.user_id);
        assert_eq!(body["bank_id"], BANK);
        assert_eq!(body["everything"], false);
        assert_eq!(
            body["views"],
            json!([{ "bank_id": BANK, "account_id": "acc-1", "view_id": "owner" }])
        );
        assert_eq!(body["roles"], json!([]));
        let mut conn = app.state.pool.get().unwrap();
        let consumer = consumers::find_by_key_hash(
            &mut conn,
            &app.state.secret_hasher.hash(
                assent_identity::consumer::CONSUMER_KEY_LABEL,
                &assent_identity::SecretString::new(felix.key.clone()),
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(body["client_id"], consumer.consumer_id.to_string());

        let (status, _, body) = send(
            &svc,
            revoke(&felix.token, &consent_id),
        )
        .await;
        assert!(status < 300, "{status} {body}");
        assert_eq!(active(&svc, &system, &jwt).await, inactive());
    }
}

backend_test! {
    #[actix_web::test]
    async fn malformed_forged_foreign_and_misaddressed_tokens_are_inactive_alike(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let system = system_key(&app);
        sign_up(&svc, "felix").await;
        let key = app.consumer(true);
        let token = token(&svc, "felix", &key).await;
        let live = active(&svc, &system, &token).await;
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let mut forged_signature = signature.to_owned();
        let last = if forged_signature.ends_with('A') { "B" } else { "A" };
        forged_signature.replace_range(forged_signature.len() - 1.., last);
        let unsigned = format!("{head}.{payload}.");
        let other_keys = assentd::keys::SigningKeys::load(
            None,
            &std::env::temp_dir().join(format!("assent-other-{}", uuid::Uuid::new_v4())),
        )
        .unwrap();
        let foreign = other_keys
            .sign(
                assent_session::SESSION_TOKEN_TYP,
                &claims_of(&live, live["iss"].as_str().unwrap()),
            )
            .unwrap();
        // Signed by this server's own key, but issued for another server.
        let for_another_server = app
            .state
            .keys
            .sign(
                assent_session::SESSION_TOKEN_TYP,
                &claims_of(&live, "https://other.example"),
            )
            .unwrap();
        assert_eq!(send(&svc, current(&for_another_server)).await.0, 401);
        for candidate in [
            "",
            "not-a-jwt",
            &for_another_server,
            &unsigned,
            &format!("{head}.{payload}.{forged_signature}"),
            &foreign,
            &"x".repeat(10_000),
        ] {
            let (status, _, body) = send(&svc, introspect(&system, candidate)).await;
            if candidate.is_empty() {
                assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
            } else {
                assert_eq!((status, &body), (200, &inactive()), "{candidate}");
            }
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn introspection_wants_a_system_key_and_a_form(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let system = system_key(&app);
        sign_up(&svc, "felix").await;
        let key = app.consumer(true);
        let token = token(&svc, "felix", &key).await;

        for request in [
            introspect("", &token),
            introspect("not-a-key", &token),
            introspect(&token, &token),
            TestRequest::post()
                .uri("/oauth2/introspect")
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload(format!("token={token}")),
        ] {
            let (status, headers, body) = send(&svc, request).await;
            assert_eq!(status, 401, "{body}");
            assert_eq!(body["error"], "invalid_client");
            assert!(headers.get("www-authenticate").is_some());
            assert!(body.get("active").is_none(), "nothing about the token: {body}");
        }
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/oauth2/introspect")
                .insert_header(("Authorization", format!("Bearer {system}")))
                .set_json(json!({ "token": token })),
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/oauth2/introspect")
                .insert_header(("Authorization", format!("Bearer {system}")))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload("token_type_hint=access_token"),
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    }
}
