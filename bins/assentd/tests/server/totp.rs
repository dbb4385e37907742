//! Authenticator-app enrolment over HTTP (RFC 6238), SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_otp::totp::{TotpAlgorithm, TotpSecret};
use assent_repository::totp;
use data_encoding::{BASE32_NOPAD, HEXLOWER};
use serde_json::{Value, json};

fn enrol(token: &str) -> TestRequest {
    authed(
        TestRequest::post().uri("/obp/v5.1.0/my/authenticators/totp"),
        token,
    )
    .set_json(json!({ "password": PASSWORD }))
}

fn confirm(token: &str, code: &str) -> TestRequest {
    authed(
        TestRequest::post().uri("/obp/v5.1.0/my/authenticators/totp/confirm"),
        token,
    )
    .set_json(json!({ "code": code }))
}

fn remove(token: &str) -> TestRequest {
    authed(
        TestRequest::delete().uri("/obp/v3.1.0/my/authenticators/totp"),
        token,
    )
    .set_json(json!({ "password": PASSWORD }))
}

/// The secret inside an `otpauth://` URI.
fn secret_of(body: &Value) -> TotpSecret {
    let uri = body["uri"].as_str().unwrap();
    let query = uri.split_once('?').unwrap().1;
    let encoded = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .unwrap();
    TotpSecret::from_bytes(
        BASE32_NOPAD.decode(encoded.as_bytes()).unwrap(),
        TotpAlgorithm::Sha1,
        6,
    )
    .unwrap()
}

fn current_code(app: &TestApp, secret: &TotpSecret) -> String {
    secret.code_at_step(TotpSecret::step(app.now()))
}

fn wrong_for(app: &TestApp, secret: &TotpSecret) -> String {
    // Neither the current nor the previous step's code.
    let step = TotpSecret::step(app.now());
    let taken = [secret.code_at_step(step), secret.code_at_step(step - 1)];
    (0..)
        .map(|n: u32| format!("{:06}", n))
        .find(|c| !taken.contains(c))
        .unwrap()
}

backend_test! {
    #[actix_web::test]
    async fn enrol_confirm_and_remove(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        let user_id = user["user_id"].as_str().unwrap();
        let token = token(&svc, "felix", &key).await;

        let (status, _, body) = send(&svc, enrol(&token)).await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        let uri = body["uri"].as_str().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Assent:felix?secret="),
            "{uri}"
        );
        assert!(uri.contains("issuer=Assent&algorithm=SHA1&digits=6&period=30"));
        assert_eq!(body["status"], "PENDING_CONFIRMATION");
        let secret = secret_of(&body);
        assert_eq!(secret.expose_bytes().len(), 20, "160 bits");

        // The stored row seals the secret.
        let mut conn = app.state.pool.get().unwrap();
        let row = totp::find(&mut conn, user_id).unwrap().unwrap();
        let b32 = BASE32_NOPAD.encode(secret.expose_bytes());
        let hex = HEXLOWER.encode(secret.expose_bytes());
        assert!(!row.secret_sealed.contains(&b32) && !row.secret_sealed.contains(&hex));
        drop(conn);

        let (status, _, body) = send(&svc, confirm(&token, &wrong_for(&app, &secret))).await;
        assert_eq!(status, 403);
        assert_eq!(
            message(&body),
            "OBP-30286: Invalid authenticator code. 4 attempts left."
        );
        let (status, _, body) = send(&svc, confirm(&token, "12 34")).await;
        assert_eq!(status, 400);
        assert!(message(&body).contains("Send the 6 digits"), "{body}");

        let code = current_code(&app, &secret);
        let (status, _, body) = send(&svc, confirm(&token, &code)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "CONFIRMED");
        let mut conn = app.state.pool.get().unwrap();
        let row = totp::find(&mut conn, user_id).unwrap().unwrap();
        assert!(row.confirmed_at.is_some());
        let used = row.last_used_step.unwrap();
        assert!(
            !totp::use_step(&mut conn, user_id, used).unwrap(),
            "the confirming code is used up"
        );
        assert!(totp::use_step(&mut conn, user_id, used + 1).unwrap());
        drop(conn);

        let (status, _, body) = send(&svc, confirm(&token, &code)).await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30285"));
        let (status, _, body) = send(&svc, enrol(&token)).await;
        assert_eq!(status, 409, "one authenticator at a time: {body}");

        let (status, _, _) = send(&svc, remove(&token)).await;
        assert_eq!(status, 204);
        let (status, _, body) = send(&svc, remove(&token)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30288"));
        let (status, _, _) = send(&svc, enrol(&token)).await;
        assert_eq!(status, 201, "a new one after removal");
        assert_eq!(app.audit_count("totp.enrolled"), 1);
        assert_eq!(app.audit_count("totp.removed"), 1);

        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/my/authenticators/totp")
                .set_json(json!({ "password": PASSWORD })),
        )
        .await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20001"));

        // A session token alone cannot add or remove a factor: the password is asked again,
        // and a wrong one counts towards the lockout.
        let without = authed(
            TestRequest::post().uri("/obp/v5.1.0/my/authenticators/totp"),
            &token,
        );
        let (status, _, _) = send(&svc, without).await;
        assert_eq!(status, 400);
        let wrong = authed(
            TestRequest::delete().uri("/obp/v5.1.0/my/authenticators/totp"),
            &token,
        )
        .set_json(json!({ "password": "Wr0ng-passw0rd!" }));
        let (status, _, body) = send(&svc, wrong).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20004"), "{body}");
        assert_eq!(app.audit_count("reconfirmation.failure"), 1);
        let (status, _, _) = send(&svc, remove(&token)).await;
        assert_eq!(status, 204, "the right password still works");
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_confirmations_decide_once(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;

        // Wrong codes: four counted, the fifth discards the enrolment, the rest find none.
        let (_, _, body) = send(&svc, enrol(&token)).await;
        let wrong = wrong_for(&app, &secret_of(&body));
        let results =
            futures_util::future::join_all((0..20).map(|_| send(&svc, confirm(&token, &wrong))))
                .await;
        let count = |prefix: &str| {
            results
                .iter()
                .filter(|(_, _, b)| message(b).starts_with(prefix))
                .count()
        };
        assert_eq!(
            (count("OBP-30286"), count("OBP-30287"), count("OBP-30288")),
            (4, 1, 15),
            "{}",
            app.backend()
        );

        // The right code, many times at once: confirmed exactly once.
        let (_, _, body) = send(&svc, enrol(&token)).await;
        let code = current_code(&app, &secret_of(&body));
        let results =
            futures_util::future::join_all((0..10).map(|_| send(&svc, confirm(&token, &code))))
                .await;
        let confirmed = results.iter().filter(|(s, _, _)| *s == 200).count();
        let conflicts = results.iter().filter(|(s, _, _)| *s == 409).count();
        assert_eq!((confirmed, conflicts), (1, 9), "{}", app.backend());
        assert_eq!(app.audit_count("totp.enrolled"), 1);
    }
}
