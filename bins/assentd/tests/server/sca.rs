//! Auth-context updates confirmed by a one-time code (OBP), with codes read from the `file`
//! delivery; SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::auth_contexts;
use serde_json::{Value, json};

const BANK: &str = "gh.29.uk";

fn request(token: &str, method: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!(
            "/obp/v3.1.0/banks/{BANK}/users/current/auth-context-updates/{method}"
        ))
        .insert_header(("DirectLogin", format!("token={token}")))
        .set_json(body)
}

fn answer(token: &str, update_id: &str, answer: &str) -> TestRequest {
    TestRequest::post()
        .uri(&format!(
            "/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/{update_id}/challenge"
        ))
        .insert_header(("DirectLogin", format!("token={token}")))
        .set_json(json!({ "answer": answer }))
}

fn contexts(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    let mut conn = app.state.pool.get().unwrap();
    auth_contexts::list(&mut conn, user_id)
        .unwrap()
        .into_iter()
        .map(|row| (row.context_key, row.context_value))
        .collect()
}

/// The challenge id the last code was sent for.
fn last_challenge(app: &TestApp) -> String {
    app.messages().last().unwrap()["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_test! {
    #[actix_web::test]
    async fn the_right_answer_creates_the_auth_context(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        app.add_bank(BANK);
        let svc = app.service().await;
        let key = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        let user_id = user["user_id"].as_str().unwrap();
        let token = token(&svc, "felix", &key).await;

        let (status, _, body) = send(
            &svc,
            request(
                &token,
                "EMAIL",
                json!({ "key": "CUSTOMER_NUMBER", "value": "78987432" }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        assert_eq!(body["status"], "INITIATED");
        assert_eq!(body["user_id"], user_id);
        assert_eq!(body["key"], "CUSTOMER_NUMBER");
        assert_eq!(body["value"], "78987432");
        let update_id = body["user_auth_context_update_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let sent = app.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["channel"], "email");
        assert_eq!(sent[0]["destination"], "felix@example.com");
        assert_eq!(sent[0]["purpose"], "obp:auth-context-update");
        let code = app.code_of(&last_challenge(&app));
        assert!(
            contexts(&app, user_id).is_empty(),
            "nothing before the answer"
        );

        let (status, _, body) = send(&svc, answer(&token, &update_id, &wrong_code(&code))).await;
        assert_eq!(status, 403);
        assert_eq!(
            message(&body),
            "OBP-40016: Invalid Challenge Answer. 4 attempts left."
        );

        let (status, _, body) = send(&svc, answer(&token, &update_id, &code)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "ACCEPTED");
        assert_eq!(body["user_auth_context_update_id"], update_id.as_str());
        assert_eq!(
            contexts(&app, user_id),
            vec![("CUSTOMER_NUMBER".to_owned(), "78987432".to_owned())]
        );

        let (status, _, body) = send(&svc, answer(&token, &update_id, &code)).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30090"), "{body}");
        assert_eq!(app.audit_count("auth_context.set"), 1);

        // A customer adds contexts; they never change one that is set.
        let (status, _, body) = send(
            &svc,
            request(
                &token,
                "EMAIL",
                json!({ "key": "CUSTOMER_NUMBER", "value": "1" }),
            ),
        )
        .await;
        assert_eq!(status, 409);
        assert!(message(&body).starts_with("OBP-30290"), "{body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn wrong_answers_exhaust_to_rejected_and_others_cannot_answer(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        app.add_bank(BANK);
        let svc = app.service().await;
        let key = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        sign_up(&svc, "mallory").await;
        app.verify_contacts("mallory");
        let mallory = token(&svc, "mallory", &key).await;
        let token = token(&svc, "felix", &key).await;

        let (_, _, body) = send(
            &svc,
            request(
                &token,
                "EMAIL",
                json!({ "key": "CUSTOMER_NUMBER", "value": "1" }),
            ),
        )
        .await;
        let update_id = body["user_auth_context_update_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = app.code_of(&last_challenge(&app));

        // Another user, even with the right code, finds nothing, and counts nothing.
        let (status, _, body) = send(&svc, answer(&mallory, &update_id, &code)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-30057"), "{body}");
        // Another bank's path finds nothing either.
        let (status, _, _) = send(
            &svc,
            TestRequest::post()
                .uri(&format!(
                    "/obp/v5.1.0/banks/other.bank/users/current/auth-context-updates/{update_id}/challenge"
                ))
                .insert_header(("DirectLogin", format!("token={token}")))
                .set_json(json!({ "answer": code })),
        )
        .await;
        assert_eq!(status, 404);

        // A malformed answer does not count.
        let (status, _, body) = send(&svc, answer(&token, &update_id, "12ab")).await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-40016"), "{body}");

        let wrong = wrong_code(&code);
        let attempts = (0..20).map(|_| send(&svc, answer(&token, &update_id, &wrong)));
        let results = futures_util::future::join_all(attempts).await;
        let left = results
            .iter()
            .filter(|(_, _, b)| message(b).contains("attempts left"))
            .count();
        let used_up = results
            .iter()
            .filter(|(_, _, b)| message(b).starts_with("OBP-40014"))
            .count();
        let actioned = results
            .iter()
            .filter(|(_, _, b)| message(b).starts_with("OBP-30090"))
            .count();
        assert_eq!(left, 4, "{}", app.backend());
        assert_eq!(used_up + actioned, 16, "{}", app.backend());
        assert!(used_up >= 1);

        let (status, _, body) = send(&svc, answer(&token, &update_id, &code)).await;
        assert_eq!(status, 400, "the right code is refused once rejected");
        assert!(message(&body).starts_with("OBP-30090"), "{body}");
        assert!(contexts(&app, user["user_id"].as_str().unwrap()).is_empty());
    }
}

backend_test! {
    #[actix_web::test]
    async fn bad_requests_change_nothing(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        app.add_bank(BANK);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        let body = json!({ "key": "CUSTOMER_NUMBER", "value": "1" });

        let (status, _, reply) = send(&svc, request(&token, "PIGEON", body.clone())).await;
        assert_eq!(status, 400);
        assert!(message(&reply).starts_with("OBP-35034"), "{reply}");
        let (status, _, reply) = send(&svc, request(&token, "SMS", body.clone())).await;
        assert_eq!(status, 409, "no phone number registered");
        assert!(message(&reply).starts_with("OBP-30283"), "{reply}");
        let (status, _, reply) = send(
            &svc,
            request(&token, "EMAIL", json!({ "key": "bad key", "value": "1" })),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&reply).starts_with("OBP-30281"), "{reply}");
        let (status, _, reply) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/banks/nope/users/current/auth-context-updates/EMAIL")
                .insert_header(("DirectLogin", format!("token={token}")))
                .set_json(body.clone()),
        )
        .await;
        assert_eq!(status, 404);
        assert!(message(&reply).starts_with("OBP-30001"), "{reply}");
        let (status, _, reply) = send(
            &svc,
            TestRequest::post()
                .uri(&format!(
                    "/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/EMAIL"
                ))
                .set_json(body.clone()),
        )
        .await;
        assert_eq!(status, 401);
        assert!(message(&reply).starts_with("OBP-20001"), "{reply}");
        let (status, _, reply) = send(
            &svc,
            answer(&token, &uuid::Uuid::new_v4().to_string(), "123456"),
        )
        .await;
        assert_eq!(status, 404, "{reply}");
        assert!(app.messages().is_empty(), "no code was sent");
    }
}

backend_test! {
    #[actix_web::test]
    async fn sms_goes_to_the_registered_phone_and_expired_codes_are_refused(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_validity_secs = 1);
        app.add_bank(BANK);
        let svc = app.service().await;
        let key = app.consumer(true);
        let mut body = sign_up_body("felix");
        body["phone_number"] = json!("+447700900123");
        let (status, _, _) = send(
            &svc,
            TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
        )
        .await;
        assert_eq!(status, 201);
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &key).await;
        let (status, _, body) = send(
            &svc,
            request(
                &token,
                "SMS",
                json!({ "key": "CUSTOMER_NUMBER", "value": "1" }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let sent = app.messages();
        assert_eq!(sent[0]["channel"], "sms");
        assert_eq!(sent[0]["destination"], "+447700900123");
        let update_id = body["user_auth_context_update_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = app.code_of(&last_challenge(&app));
        // Open to the last instant of its validity: a wrong code there is only wrong.
        app.advance(time::Duration::seconds(1) - time::Duration::MICROSECOND);
        let (status, _, body) = send(&svc, answer(&token, &update_id, &wrong_code(&code))).await;
        assert_eq!(
            (status, message(&body)),
            (403, "OBP-40016: Invalid Challenge Answer. 4 attempts left.")
        );
        app.advance(time::Duration::MICROSECOND);
        let (status, _, body) = send(&svc, answer(&token, &update_id, &code)).await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-20211"), "{body}");
        // The request is over, not left waiting for an answer that can never be right.
        let mut conn = app.state.pool.get().unwrap();
        let stored = assent_repository::auth_context_updates::find(&mut conn, &update_id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, "REJECTED", "{}", app.backend());
    }
}

backend_test! {
    #[actix_web::test]
    async fn an_undeliverable_code_rejects_the_request(db) {
        let app = TestApp::with_config(db, |c| {
            c.otp_delivery = "webhook:http://127.0.0.1:9/unreachable".into();
        });
        app.add_bank(BANK);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &key).await;
        let (status, _, body) = send(
            &svc,
            request(
                &token,
                "EMAIL",
                json!({ "key": "CUSTOMER_NUMBER", "value": "1" }),
            ),
        )
        .await;
        assert_eq!(status, 503);
        assert_eq!(
            message(&body),
            "OBP-35010: SMS server is not working or SMS server can not send the message to the phone number:"
        );
        let mut conn = app.state.pool.get().unwrap();
        let count = |conn: &mut _, state| {
            assent_repository::challenges::count_in_state(conn, state).unwrap()
        };
        use assent_otp::challenge::ChallengeState;
        assert_eq!(count(&mut conn, ChallengeState::Failed), 1);
        assert_eq!(count(&mut conn, ChallengeState::Pending), 0);
    }
}
