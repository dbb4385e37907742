//! Verified contact details: a contact given at sign-up is only a claim; codes for strong
//! customer authentication go only to contacts the customer proved. SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::banks;
use serde_json::{Value, json};

const BANK: &str = "gh.29.uk";
const VICTIM_PHONE: &str = "+447700900123";

fn start(token: &str, channel: &str) -> TestRequest {
    authed(
        TestRequest::post().uri("/obp/v5.1.0/users/current/contact-verifications"),
        token,
    )
    .set_json(json!({ "channel": channel }))
}

fn answer(token: &str, verification_id: &str, code: &str) -> TestRequest {
    authed(
        TestRequest::post().uri(&format!(
            "/obp/v5.1.0/users/current/contact-verifications/{verification_id}/challenge"
        )),
        token,
    )
    .set_json(json!({ "answer": code }))
}

fn consent(token: &str, method: &str) -> TestRequest {
    authed(
        TestRequest::post().uri(&format!("/obp/v5.1.0/banks/{BANK}/my/consents/{method}")),
        token,
    )
    .set_json(json!({ "everything": true }))
}

fn kony(token: &str, op: &str) -> TestRequest {
    TestRequest::post()
        .uri(&format!(
            "/services/data/v1/RBObjects/operations/DbxUser/{op}"
        ))
        .insert_header(("X-Kony-Authorization", token.to_owned()))
        .set_json(json!({}))
}

fn add_bank(app: &TestApp) {
    let mut conn = app.state.pool.get().unwrap();
    banks::insert(
        &mut conn,
        &banks::row(BANK, "uk", "UK bank", "", "", app.now()),
    )
    .unwrap();
}

/// Signs `username` up with `email` and `phone`, and logs in.
async fn customer<S: TestService>(
    app: &TestApp,
    svc: &S,
    username: &str,
    email: &str,
    phone: &str,
) -> String {
    let mut body = sign_up_body(username);
    body["email"] = json!(email);
    body["phone_number"] = json!(phone);
    let (status, _, user) = send(
        svc,
        TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let key = app.consumer(true);
    token(svc, username, &key).await
}

fn errcode(body: &Value) -> u64 {
    body["errcode"].as_u64().unwrap_or(0)
}

backend_test! {
    #[actix_web::test]
    async fn a_contact_given_at_sign_up_receives_no_code_until_it_is_verified(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        add_bank(&app);
        let svc = app.service().await;
        let token = customer(&app, &svc, "felix", "felix@example.com", VICTIM_PHONE).await;
        let (_, _, me) = send(&svc, current(&token)).await;
        assert_eq!((&me["email_verified"], &me["phone_number_verified"]), (&json!(false), &json!(false)));

        for method in ["EMAIL", "SMS", "IMPLICIT"] {
            let (status, _, body) = send(&svc, consent(&token, method)).await;
            assert_eq!(status, 409, "{}: {method}: {body}", app.backend());
            assert!(message(&body).starts_with("OBP-30300"), "{body}");
        }
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post()
                    .uri(&format!("/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/SMS")),
                &token,
            )
            .set_json(json!({ "key": "CUSTOMER_NUMBER", "value": "78987432" })),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert!(message(&body).starts_with("OBP-30300"), "{body}");
        let (status, _, body) = send(&svc, kony(&token, "requestUpdateSecurityQuestionsOTP")).await;
        assert_eq!((status, errcode(&body)), (409, 10820), "{body}");
        assert!(app.messages().is_empty(), "nothing was sent");
        assert_eq!(app.audit_count("consent.created"), 0);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_customer_verifies_their_email_and_then_receives_codes_there(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        add_bank(&app);
        let svc = app.service().await;
        let token = customer(&app, &svc, "felix", "felix@example.com", VICTIM_PHONE).await;

        // Under every OBP version, as the other OBP routes.
        let (status, _, started) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v3.1.0/users/current/contact-verifications"),
                &token,
            )
            .set_json(json!({ "channel": "EMAIL" })),
        )
        .await;
        assert_eq!(status, 201, "{}: {started}", app.backend());
        assert_eq!(started["channel"], "EMAIL");
        assert_eq!(started["status"], "INITIATED");
        assert_eq!(started["destination"], "felXX@example.com");
        let id = started["verification_id"].as_str().unwrap().to_owned();
        let sent = app.messages();
        assert_eq!((sent.len(), &sent[0]["destination"]), (1, &json!("felix@example.com")));
        let code = app.code_of(&id);

        let (status, _, body) = send(&svc, answer(&token, &id, &wrong_code(&code))).await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("4 attempts left"), "{body}");
        let (status, _, body) = send(&svc, answer(&token, &id, &code)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((&body["status"], &body["verification_id"]), (&json!("VERIFIED"), &json!(id)));
        let (_, _, me) = send(&svc, current(&token)).await;
        assert_eq!((&me["email_verified"], &me["phone_number_verified"]), (&json!(true), &json!(false)));
        assert_eq!(app.audit_count("contact.verified"), 1);

        let (status, _, body) = send(&svc, answer(&token, &id, &code)).await;
        assert_eq!(status, 404, "a code proves once: {body}");
        let (status, _, body) = send(&svc, start(&token, "EMAIL")).await;
        assert_eq!(status, 409, "{body}");
        assert!(message(&body).starts_with("OBP-30302"), "{body}");

        let (status, _, body) = send(&svc, consent(&token, "EMAIL")).await;
        assert_eq!(status, 201, "{body}");
        let (status, _, body) = send(&svc, consent(&token, "SMS")).await;
        assert!(status == 409 && message(&body).starts_with("OBP-30300"), "{body}");
        // IMPLICIT takes the verified email while the phone is not.
        let (status, _, body) = send(&svc, consent(&token, "IMPLICIT")).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(app.messages().last().unwrap()["channel"], "email");
    }
}

backend_test! {
    #[actix_web::test]
    async fn five_wrong_answers_end_a_verification_and_only_its_customer_may_answer(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let token = customer(&app, &svc, "felix", "felix@example.com", VICTIM_PHONE).await;
        let mallory = customer(&app, &svc, "mallory", "mallory@example.com", "+447700900999").await;
        let (status, _, started) = send(&svc, start(&token, "SMS")).await;
        assert_eq!(status, 201, "{started}");
        assert_eq!(started["destination"], "+44XXXXXXXX23");
        let id = started["verification_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&id);

        let (status, _, body) = send(&svc, answer(&mallory, &id, &code)).await;
        assert_eq!(status, 404, "another customer's verification: {body}");
        for _ in 0..4 {
            let (status, _, _) = send(&svc, answer(&token, &id, &wrong_code(&code))).await;
            assert_eq!(status, 403);
        }
        let (status, _, body) = send(&svc, answer(&token, &id, &wrong_code(&code))).await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-40014"), "REJECTED: {body}");
        let (status, _, _) = send(&svc, answer(&token, &id, &code)).await;
        assert_ne!(status, 200, "{}: the right code after five wrong ones", app.backend());
        let (_, _, me) = send(&svc, current(&token)).await;
        assert_eq!(me["phone_number_verified"], false);

        for (body, expected) in [
            (json!({ "channel": "VOICE" }), "OBP-30301"),
            (json!({ "channel": "email" }), "OBP-30301"),
            (json!({ "chanel": "EMAIL" }), "OBP-10001"),
        ] {
            let req = authed(
                TestRequest::post().uri("/obp/v5.1.0/users/current/contact-verifications"),
                &token,
            )
            .set_json(body);
            let (status, _, reply) = send(&svc, req).await;
            assert_eq!(status, 400, "{reply}");
            assert!(message(&reply).starts_with(expected), "{reply}");
        }
        let (status, _, _) = send(&svc, answer(&token, "not-an-id", "123456")).await;
        assert_eq!(status, 404);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_stranger_with_a_victims_contacts_cannot_reach_them_nor_spend_their_allowance(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.otp_codes_per_destination_per_day = 2;
            c.contact_verification_codes_per_day = 3;
        });
        add_bank(&app);
        let svc = app.service().await;
        // The victim's contacts are verified (they came from the bank's records).
        let victim = customer(&app, &svc, "victim", "victim@example.com", VICTIM_PHONE).await;
        app.verify_contacts("victim");
        // The attacker signs up with the victim's phone number and email (in upper case).
        let attacker = customer(&app, &svc, "attacker", "VICTIM@EXAMPLE.COM", VICTIM_PHONE).await;

        for _ in 0..10 {
            let (status, _, body) =
                send(&svc, kony(&attacker, "requestUpdateSecurityQuestionsOTP")).await;
            assert_eq!((status, errcode(&body)), (409, 10820), "{body}");
        }
        assert!(app.messages().is_empty(), "no code reached the victim");
        // Verification codes are the attacker's only way to reach the victim's phone, capped
        // per account and counted apart from the victim's own allowance.
        for _ in 0..3 {
            let (status, _, body) = send(&svc, start(&attacker, "SMS")).await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, _, body) = send(&svc, start(&attacker, "SMS")).await;
        assert_eq!(status, 429, "{body}");
        assert!(message(&body).starts_with("OBP-30303"), "{body}");
        let (status, _, body) = send(&svc, start(&attacker, "EMAIL")).await;
        assert_eq!(status, 429, "the account's cap covers every channel: {body}");

        // The victim's own codes are all still there.
        for method in ["SMS", "EMAIL"] {
            for _ in 0..2 {
                let (status, _, body) = send(&svc, consent(&victim, method)).await;
                assert_eq!(status, 201, "{}: {method}: {body}", app.backend());
            }
        }
        let (status, _, body) = send(&svc, consent(&victim, "SMS")).await;
        assert_eq!(status, 429, "the victim's own allowance still applies: {body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn another_customers_number_cannot_be_claimed_as_an_auth_context(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        add_bank(&app);
        let svc = app.service().await;
        let owner = sign_up(&svc, "owner").await;
        let number = {
            let mut conn = app.state.pool.get().unwrap();
            let id = assent_identity::UserId(
                uuid::Uuid::parse_str(owner["user_id"].as_str().unwrap()).unwrap(),
            );
            assent_repository::users::find_by_id(&mut conn, &id)
                .unwrap()
                .unwrap()
                .customer_number
                .unwrap()
        };
        let token = customer(&app, &svc, "mallory", "mallory@example.com", "+447700900999").await;
        app.verify_contacts("mallory");
        let update = |value: &str| {
            authed(
                TestRequest::post()
                    .uri(&format!("/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/SMS")),
                &token,
            )
            .set_json(json!({ "key": "CUSTOMER_NUMBER", "value": value }))
        };
        let (status, _, body) = send(&svc, update(&number)).await;
        assert_eq!(status, 409, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30306"), "{body}");
        assert!(app.messages().is_empty());
        let (status, _, body) = send(&svc, update("78987432")).await;
        assert_eq!(status, 201, "a number nobody here has: {body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_third_party_with_a_consent_cannot_verify_the_customers_contacts(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        add_bank(&app);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &key).await;
        let (status, _, body) = send(&svc, consent(&token, "EMAIL")).await;
        assert_eq!(status, 201, "{body}");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&challenge_id_of(&app, &consent_id));
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post()
                    .uri(&format!("/obp/v5.1.0/banks/{BANK}/consents/{consent_id}/challenge")),
                &token,
            )
            .set_json(json!({ "answer": code })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let jwt = body["jwt"].as_str().unwrap().to_owned();
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/users/current/contact-verifications")
                .insert_header(("Consent-JWT", jwt))
                .insert_header(("Consumer-Key", key))
                .set_json(json!({ "channel": "SMS" })),
        )
        .await;
        assert_eq!(status, 403, "{body}");
    }
}

fn challenge_id_of(app: &TestApp, consent_id: &str) -> String {
    let mut conn = app.state.pool.get().unwrap();
    assent_repository::consents::find(&mut conn, consent_id)
        .unwrap()
        .unwrap()
        .challenge_id
}

backend_test! {
    #[actix_web::test]
    async fn an_identity_challenge_offers_only_verified_contacts(db) {
        let app = TestApp::with_file_delivery(db, |c| c.session_reauthentication_interval_secs = 1);
        let svc = app.service().await;
        let key = system_key(&app);
        let token = customer(&app, &svc, "felix", "felix@example.com", VICTIM_PHONE).await;
        let claims = claims(&token);
        let resume = || {
            system_call(
                "/system/resumedCustomerSessions",
                &key,
                json!({ "sessionId": claims["sid"] }),
            )
        };
        app.advance(time::Duration::seconds(1));
        let (status, _, body) = send(&svc, resume()).await;
        assert_eq!(status, 403, "{}: {body}", app.backend());
        assert!(body["type"].as_str().unwrap().ends_with("noChallengeFactors"), "{body}");

        app.verify_contacts("felix");
        let (status, _, body) = send(&svc, resume()).await;
        assert_eq!(status, 401, "{body}");
        let kinds: Vec<&str> = body["attributes"]["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["sms", "voice", "email"], "{body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_stranger_cannot_stop_the_owner_of_a_contact_from_verifying_it(db) {
        let app = TestApp::with_file_delivery(db, |c| c.contact_verification_codes_per_day = 2);
        let svc = app.service().await;
        let owner = customer(&app, &svc, "owner", "owner@example.com", VICTIM_PHONE).await;
        for name in ["mallory", "mallory2"] {
            let stranger = customer(&app, &svc, name, "OWNER@example.com", VICTIM_PHONE).await;
            for _ in 0..2 {
                let (status, _, body) = send(&svc, start(&stranger, "SMS")).await;
                assert_eq!(status, 201, "{body}");
            }
            let (status, _, _) = send(&svc, start(&stranger, "SMS")).await;
            assert_eq!(status, 429, "each account's own cap");
        }
        // The owner's own codes are counted apart from the strangers'.
        let (status, _, started) = send(&svc, start(&owner, "SMS")).await;
        assert_eq!(status, 201, "{}: {started}", app.backend());
        let id = started["verification_id"].as_str().unwrap().to_owned();
        let (status, _, body) = send(&svc, answer(&owner, &id, &app.code_of(&id))).await;
        assert_eq!((status, &body["status"]), (200, &json!("VERIFIED")), "{body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_customer_number_the_bank_gave_another_user_cannot_be_claimed(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        add_bank(&app);
        let svc = app.service().await;
        let alice = sign_up(&svc, "alice").await;
        let token = customer(&app, &svc, "mallory", "mallory@example.com", "+447700900999").await;
        app.verify_contacts("mallory");
        let update = authed(
            TestRequest::post()
                .uri(&format!("/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/SMS")),
            &token,
        )
        .set_json(json!({ "key": "CUSTOMER_NUMBER", "value": "78987432" }));
        let (status, _, body) = send(&svc, update).await;
        assert_eq!(status, 201, "{body}");
        let update_id = body["user_auth_context_update_id"].as_str().unwrap().to_owned();
        // Meanwhile staff record the number as Alice's.
        {
            let mut conn = app.state.pool.get().unwrap();
            assent_repository::auth_contexts::set(
                &mut conn,
                alice["user_id"].as_str().unwrap(),
                "CUSTOMER_NUMBER",
                "78987432",
                app.now(),
            )
            .unwrap();
        }
        let challenge = {
            let mut conn = app.state.pool.get().unwrap();
            assent_repository::auth_context_updates::find(&mut conn, &update_id)
                .unwrap()
                .unwrap()
                .challenge_id
        };
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri(&format!(
                    "/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/{update_id}/challenge"
                )),
                &token,
            )
            .set_json(json!({ "answer": app.code_of(&challenge) })),
        )
        .await;
        assert_eq!(status, 409, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-30306"), "{body}");
        // And a new request for it is refused at once.
        let again = authed(
            TestRequest::post()
                .uri(&format!("/obp/v5.1.0/banks/{BANK}/users/current/auth-context-updates/SMS")),
            &token,
        )
        .set_json(json!({ "key": "CUSTOMER_NUMBER", "value": "78987432" }));
        let (status, _, body) = send(&svc, again).await;
        assert!(status == 409 && message(&body).starts_with("OBP-30306"), "{body}");
    }
}
