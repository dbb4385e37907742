//! Signing-key rotation: a new key is published before it signs, tokens signed by the key
//! before keep working until they expire, every replica picks a rotation up when it reads the
//! ring again, and keys leave the JWKS once nothing they signed can still be live. SQLite and
//! PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assentd::services::{Context, signing_keys};
use assentd::state::AppState;
use serde_json::Value;

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn rotate(state: &AppState, immediately: bool) -> signing_keys::RotatedKey {
    let mut conn = state.pool.get().unwrap();
    signing_keys::rotate(&mut Context::new(state, &mut conn), immediately).unwrap()
}

async fn jwks_kids<S: TestService>(svc: &S) -> Vec<String> {
    let (status, headers, body) = send(svc, TestRequest::get().uri("/obp/v5.1.0/certs")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("cache-control").unwrap(),
        "public, max-age=300",
        "cacheable, for far less than a key stays published"
    );
    let mut kids: Vec<String> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn sorted(mut kids: Vec<String>) -> Vec<String> {
    kids.sort();
    kids
}

backend_test! {
    #[actix_web::test]
    async fn a_rotation_publishes_first_signs_later_and_leaves_earlier_tokens_working(db) {
        let app = TestApp::with_config(db, |config| config.session_idle_timeout_secs = 3_600);
        let svc = app.service().await;
        sign_up(&svc, "felix").await;
        let key = app.consumer(true);
        let before = token(&svc, "felix", &key).await;
        let first = kid_of(&before);
        assert_eq!(jwks_kids(&svc).await, std::slice::from_ref(&first));

        let rotated = rotate(&app.state, false);
        assert_eq!(
            rotated.signs_from,
            app.now() + app.state.signing_key_activation_delay()
        );
        assert_eq!(app.audit_count("signing_key.rotated"), 1);
        // Published at once, so verifiers with a fresh JWKS know it before it signs.
        assert_eq!(jwks_kids(&svc).await, sorted(vec![first.clone(), rotated.kid.clone()]));
        assert_eq!(kid_of(&token(&svc, "felix", &key).await), first);

        app.advance(app.state.signing_key_activation_delay());
        signing_keys::refresh(&app.state).unwrap();
        let after = token(&svc, "felix", &key).await;
        assert_eq!(kid_of(&after), rotated.kid);
        assert_eq!(send(&svc, current(&before)).await.0, 200, "the earlier key still verifies");
        assert_eq!(send(&svc, current(&after)).await.0, 200);

        // The earlier key no longer signs: its private half goes; it stays published.
        let mut conn = app.state.pool.get().unwrap();
        let swept = signing_keys::sweep(&app.state, &mut conn, app.now()).unwrap();
        assert_eq!((swept.wiped, swept.deleted), (1, 0));
        signing_keys::refresh(&app.state).unwrap();
        assert_eq!(send(&svc, current(&before)).await.0, 200);

        // Once every token it could have signed has expired, it leaves the JWKS and the ring.
        app.advance(app.state.longest_token_lifetime());
        signing_keys::refresh(&app.state).unwrap();
        assert_eq!(jwks_kids(&svc).await, std::slice::from_ref(&rotated.kid));
        let swept = signing_keys::sweep(&app.state, &mut conn, app.now()).unwrap();
        assert_eq!((swept.wiped, swept.deleted), (0, 1));
        assert_eq!(send(&svc, current(&before)).await.0, 401);
    }
}

backend_test! {
    #[actix_web::test]
    async fn another_replica_picks_a_rotation_up_when_it_reads_the_ring_again(db) {
        let app = TestApp::with_config(db, |config| config.session_idle_timeout_secs = 3_600);
        let other = app.replica();
        let svc = app.service().await;
        let other_svc = actix_web::test::init_service(assentd::server::build_app(other.clone())).await;
        sign_up(&svc, "felix").await;
        let key = app.consumer(true);
        let before = token(&svc, "felix", &key).await;
        assert_eq!(send(&other_svc, current(&before)).await.0, 200);

        let rotated = rotate(&app.state, true);
        let after = token(&svc, "felix", &key).await;
        assert_eq!(kid_of(&after), rotated.kid, "an immediate rotation signs at once");
        // Until it reads the ring again, the other replica does not know the new key.
        assert_eq!(send(&other_svc, current(&after)).await.0, 401);
        signing_keys::refresh(&other).unwrap();
        assert_eq!(send(&other_svc, current(&after)).await.0, 200);
        assert_eq!(send(&other_svc, current(&before)).await.0, 200);
        assert_eq!(kid_of(&token(&other_svc, "felix", &key).await), rotated.kid);
    }
}
