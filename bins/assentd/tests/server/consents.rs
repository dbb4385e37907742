//! Consents over HTTP: request with SCA, answer, use as a third party with Consent-JWT and
//! Consumer-Key, scope limits, revocation and expiry; SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::{accounts, banks, consents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub(crate) const BANK: &str = "gh.29.uk";
const ACCOUNT: &str = "acc-1";

pub(crate) fn as_app(req: TestRequest, jwt: &str, consumer_key: &str) -> TestRequest {
    req.insert_header(("Consent-JWT", jwt.to_owned()))
        .insert_header(("Consumer-Key", consumer_key.to_owned()))
}

pub(crate) fn owner_view() -> Value {
    json!({ "bank_id": BANK, "account_id": ACCOUNT, "view_id": "owner" })
}

pub(crate) fn request_consent(token: &str, body: Value) -> TestRequest {
    authed(
        TestRequest::post().uri(&format!("/obp/v3.1.0/banks/{BANK}/my/consents/EMAIL")),
        token,
    )
    .set_json(body)
}

/// The user's own revocation of a consent (OBP v3.1.0's GET form).
pub(crate) fn revoke(token: &str, consent_id: &str) -> TestRequest {
    authed(
        TestRequest::get().uri(&format!(
            "/obp/v3.1.0/banks/{BANK}/my/consents/{consent_id}/revoke"
        )),
        token,
    )
}

pub(crate) fn answer(token: &str, consent_id: &str, code: &str) -> TestRequest {
    authed(
        TestRequest::post().uri(&format!(
            "/obp/v5.1.0/banks/{BANK}/consents/{consent_id}/challenge"
        )),
        token,
    )
    .set_json(json!({ "answer": code }))
}

fn views_uri() -> String {
    format!("/obp/v5.1.0/banks/{BANK}/accounts/{ACCOUNT}/views")
}

pub(crate) struct Setup {
    pub(crate) user_id: String,
    pub(crate) token: String,
    pub(crate) key: String,
}

pub(crate) async fn setup<S: TestService>(app: &TestApp, svc: &S, name: &str) -> Setup {
    {
        let mut conn = app.state.pool.get().unwrap();
        if banks::find(&mut conn, BANK).unwrap().is_none() {
            banks::insert(
                &mut conn,
                &banks::row(BANK, "uk", "UK bank", "", "", app.now()),
            )
            .unwrap();
        }
    }
    let user = sign_up(svc, name).await;
    app.verify_contacts(name);
    let key = app.consumer(true);
    let token = token(svc, name, &key).await;
    let user_id = user["user_id"].as_str().unwrap().to_owned();
    let (status, _, body) = send(
        svc,
        authed(
            TestRequest::put().uri(&format!("/obp/v5.1.0/banks/{BANK}/accounts/{ACCOUNT}")),
            &token,
        )
        .set_json(
            json!({ "user_id": user_id, "label": "Main", "product_code": "current",
                "balance": { "currency": "EUR", "amount": "0" } }),
        ),
    )
    .await;
    assert!(status == 201 || status == 409, "{body}");
    Setup {
        user_id,
        token,
        key,
    }
}

/// Creates and accepts a consent for the owner view; returns (consent_id, jwt).
pub(crate) async fn accepted<S: TestService>(
    app: &TestApp,
    svc: &S,
    who: &Setup,
) -> (String, String) {
    let (status, _, body) = send(
        svc,
        request_consent(
            &who.token,
            json!({ "everything": false, "views": [owner_view()], "entitlements": [] }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let consent_id = body["consent_id"].as_str().unwrap().to_owned();
    let code = app.code_of(&challenge_of(app, &consent_id));
    let (status, _, body) = send(svc, answer(&who.token, &consent_id, &code)).await;
    assert_eq!(status, 201, "{body}");
    (consent_id, body["jwt"].as_str().unwrap().to_owned())
}

pub(crate) fn challenge_of(app: &TestApp, consent_id: &str) -> String {
    let mut conn = app.state.pool.get().unwrap();
    consents::find(&mut conn, consent_id)
        .unwrap()
        .unwrap()
        .challenge_id
}

backend_test! {
    #[actix_web::test]
    async fn the_full_flow_request_answer_use_revoke(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        let (status, _, body) = send(
            &svc,
            request_consent(
                &felix.token,
                json!({
                    "everything": false, "views": [owner_view()], "entitlements": [],
                    "email": "felix@example.com", "time_to_live": 600
                }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        assert_eq!(body["status"], "INITIATED");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        let jwt = body["jwt"].as_str().unwrap().to_owned();
        let sent = app.messages();
        assert_eq!(sent.last().unwrap()["destination"], "felix@example.com");

        // Not usable before it is accepted.
        let (status, _, body) = send(
            &svc,
            as_app(
                TestRequest::get().uri("/obp/v5.1.0/users/current"),
                &jwt,
                &felix.key,
            ),
        )
        .await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-35005"), "{body}");

        let code = app.code_of(&challenge_of(&app, &consent_id));
        let (status, _, body) = send(&svc, answer(&felix.token, &consent_id, &code)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "ACCEPTED");

        // The app acts as Felix, within the consent.
        let (status, _, me) = send(
            &svc,
            as_app(
                TestRequest::get().uri("/obp/v5.1.0/users/current"),
                &jwt,
                &felix.key,
            ),
        )
        .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user_id"], felix.user_id.as_str());
        let listed: Vec<&str> = me["views"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["view_id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ["owner"], "only what the consent reaches");
        let (status, _, _) = send(
            &svc,
            as_app(TestRequest::get().uri(&views_uri()), &jwt, &felix.key),
        )
        .await;
        assert_eq!(status, 200);

        // Reading only.
        let (status, _, body) = send(
            &svc,
            as_app(
                TestRequest::post().uri(&format!("/obp/v5.1.0/banks/{BANK}/my/consents/EMAIL")),
                &jwt,
                &felix.key,
            )
            .set_json(json!({ "everything": true })),
        )
        .await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-35042"));

        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri(&format!("/obp/v5.1.0/banks/{BANK}/my/consents")),
                &felix.token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["consents"][0]["status"], "ACCEPTED");

        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri(&format!("/obp/v5.1.0/user/current/consents/{consent_id}")),
                &felix.token,
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["views"], json!([owner_view()]));

        // Revoked: the same call fails at once.
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::delete()
                    .uri(&format!("/obp/v5.1.0/banks/{BANK}/consents/{consent_id}")),
                &felix.token,
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "REVOKED");
        let (status, _, body) = send(
            &svc,
            as_app(
                TestRequest::get().uri("/obp/v5.1.0/users/current"),
                &jwt,
                &felix.key,
            ),
        )
        .await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-35005"));
        let (status, _, body) = send(
            &svc,
            revoke(&felix.token, &consent_id),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-35012"), "{body}");
        assert_eq!(app.audit_count("consent.revoked"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn forged_misused_and_expired_tokens_are_refused(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        let (_, jwt) = accepted(&app, &svc, &felix).await;
        let other_key = app.consumer(true);
        let current = || TestRequest::get().uri("/obp/v5.1.0/users/current");

        let (status, _, body) = send(&svc, as_app(current(), &jwt, &other_key)).await;
        assert_eq!(status, 401);
        assert!(
            message(&body).starts_with("OBP-35015"),
            "another app's key: {body}"
        );
        let (status, _, body) =
            send(&svc, current().insert_header(("Consent-JWT", jwt.clone()))).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-35016"));
        // A session token is no consent, and a consent is no session token.
        let (status, _, body) = send(&svc, as_app(current(), &felix.token, &felix.key)).await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-35040"));
        let (status, _, _) = send(&svc, authed(current(), &jwt)).await;
        assert_eq!(status, 401);
        // Tampered claims, and alg: none.
        let parts: Vec<&str> = jwt.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"assent-consent+jwt"}"#),
            parts[1]
        );
        for bad in [forged, none, "not.a.jwt".to_owned()] {
            let (status, _, body) = send(&svc, as_app(current(), &bad, &felix.key)).await;
            assert_eq!(status, 401, "{bad}");
            assert!(message(&body).starts_with("OBP-35040"), "{body}");
        }
        // A consent whose time is over.
        let mut conn = app.state.pool.get().unwrap();
        let row = consents::ConsentRow {
            consent_id: uuid::Uuid::new_v4().to_string(),
            user_id: felix.user_id.clone(),
            consumer_id: consents::list_for_user(&mut conn, &felix.user_id, BANK).unwrap()[0]
                .consumer_id
                .clone(),
            bank_id: BANK.into(),
            everything: true,
            scope: r#"{"views":[],"entitlements":[]}"#.into(),
            valid_from: assent_repository::to_micros(app.now() - time::Duration::hours(2)),
            expires_at: assent_repository::to_micros(app.now() - time::Duration::hours(1)),
            sca_method: "EMAIL".into(),
            status: "ACCEPTED".into(),
            challenge_id: uuid::Uuid::new_v4().to_string(),
            created_at: assent_repository::to_micros(app.now() - time::Duration::hours(2)),
            status_changed_at: assent_repository::to_micros(app.now() - time::Duration::hours(2)),
        };
        consents::insert(&mut conn, &row).unwrap();
        let old = assentd::services::consents::jwt_of(&app.state, &row).unwrap();
        drop(conn);
        let (status, _, body) = send(&svc, as_app(current(), &old, &felix.key)).await;
        assert_eq!(status, 401, "{body}");
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            assentd::services::consents::expire(&mut conn, app.now()).unwrap(),
            1
        );
        assert_eq!(
            consents::find(&mut conn, &row.consent_id)
                .unwrap()
                .unwrap()
                .status,
            "EXPIRED"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_never_reaches_beyond_what_is_held(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        // Access the user does not hold is theirs to ask for, and refused.
        for (body, error) in [
            (
                json!({ "everything": false, "views": [{ "bank_id": BANK, "account_id": ACCOUNT, "view_id": "auditor" }] }),
                "OBP-35014",
            ),
            (
                json!({ "everything": false, "entitlements": [{ "bank_id": "", "role_name": "CanGetAnyUser" }] }),
                "OBP-35013",
            ),
        ] {
            let (status, _, reply) = send(&svc, request_consent(&felix.token, body)).await;
            assert_eq!(status, 403, "{reply}");
            assert!(message(&reply).starts_with(error), "{error}: {reply}");
        }
        for (body, error) in [
            (
                json!({ "everything": false, "views": [owner_view()], "time_to_live": 3601 }),
                "OBP-35020",
            ),
            (json!({ "everything": false }), "OBP-35045"),
            (
                json!({ "everything": true, "valid_from": "yesterday" }),
                "OBP-35043",
            ),
        ] {
            let (status, _, reply) = send(&svc, request_consent(&felix.token, body)).await;
            assert_eq!(status, 400, "{reply}");
            assert!(message(&reply).starts_with(error), "{error}: {reply}");
        }
        // Well formed, and refused for what the user has registered.
        let body = json!({ "everything": true, "email": "someone@else.example" });
        let (status, _, reply) = send(&svc, request_consent(&felix.token, body)).await;
        assert_eq!(status, 409, "{reply}");
        assert!(message(&reply).starts_with("OBP-35046"), "{reply}");
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri(&format!("/obp/v5.1.0/banks/{BANK}/my/consents/PIGEON")),
                &felix.token,
            )
            .set_json(json!({ "everything": true })),
        )
        .await;
        assert!(status == 400 && message(&body).starts_with("OBP-35009"));

        // After the user loses the view, the consent no longer reaches the account.
        let (_, jwt) = accepted(&app, &svc, &felix).await;
        let (status, _, _) = send(
            &svc,
            as_app(TestRequest::get().uri(&views_uri()), &jwt, &felix.key),
        )
        .await;
        assert_eq!(status, 200);
        {
            let mut conn = app.state.pool.get().unwrap();
            assert!(accounts::revoke(&mut conn, BANK, ACCOUNT, &felix.user_id, "owner").unwrap());
            assert!(
                accounts::revoke(
                    &mut conn,
                    BANK,
                    ACCOUNT,
                    &felix.user_id,
                    "ManageCustomViews"
                )
                .unwrap()
            );
            assert!(accounts::remove_holder(&mut conn, BANK, ACCOUNT, &felix.user_id).unwrap());
        }
        let (status, _, _) = send(
            &svc,
            as_app(TestRequest::get().uri(&views_uri()), &jwt, &felix.key),
        )
        .await;
        assert_eq!(status, 403, "{}", app.backend());
    }
}

backend_test! {
    #[actix_web::test]
    async fn only_the_customer_answers_and_wrong_answers_run_out(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        let mallory = setup(&app, &svc, "mallory").await;
        let (status, _, body) = send(
            &svc,
            request_consent(&felix.token, json!({ "everything": true })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&challenge_of(&app, &consent_id));
        let (status, _, body) = send(&svc, answer(&mallory.token, &consent_id, &code)).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-35001"));

        // 20 right answers at once: one transition, one audit row.
        let results = futures_util::future::join_all(
            (0..20).map(|_| send(&svc, answer(&felix.token, &consent_id, &code))),
        )
        .await;
        let accepted = results.iter().filter(|(s, _, _)| *s == 201).count();
        assert_eq!(accepted, 1, "{}", app.backend());
        assert_eq!(app.audit_count("consent.accepted"), 1);

        // Wrong answers run out: REJECTED.
        let (_, _, body) = send(
            &svc,
            request_consent(&felix.token, json!({ "everything": true })),
        )
        .await;
        let second = body["consent_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&challenge_of(&app, &second));
        for left in (1..5).rev() {
            let (status, _, body) =
                send(&svc, answer(&felix.token, &second, &wrong_code(&code))).await;
            assert_eq!(status, 403);
            assert_eq!(
                message(&body),
                format!("OBP-40016: Invalid Challenge Answer. {left} attempts left.")
            );
        }
        let (status, _, body) = send(&svc, answer(&felix.token, &second, &wrong_code(&code))).await;
        assert_eq!(status, 403);
        assert!(message(&body).starts_with("OBP-40014"));
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            consents::find(&mut conn, &second).unwrap().unwrap().status,
            "REJECTED"
        );
        drop(conn);
        let (status, _, _) = send(&svc, answer(&felix.token, &second, &code)).await;
        assert_eq!(status, 400, "the right code is refused once rejected");
    }
}

backend_test! {
    #[actix_web::test]
    async fn requests_name_a_real_bank_and_an_enabled_app(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        let create = |bank: &str, method: &str, body: Value| {
            authed(
                TestRequest::post().uri(&format!("/obp/v5.1.0/banks/{bank}/my/consents/{method}")),
                &felix.token,
            )
            .set_json(body)
        };
        let (status, _, body) =
            send(&svc, create("nope", "EMAIL", json!({ "everything": true }))).await;
        assert!(
            status == 404 && message(&body).starts_with("OBP-30001"),
            "{body}"
        );
        let (status, _, body) = send(
            &svc,
            create(
                BANK,
                "EMAIL",
                json!({ "everything": true, "consumer_id": uuid::Uuid::new_v4().to_string() }),
            ),
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(
            message(&body),
            "OBP-30019: Consumer not found. Please specify a valid value for CONSUMER_ID."
        );
        let disabled = {
            let key = app.consumer(false);
            let mut conn = app.state.pool.get().unwrap();
            let hash = app.state.secret_hasher.hash(
                assent_identity::consumer::CONSUMER_KEY_LABEL,
                &assent_identity::SecretString::new(key),
            );
            assent_repository::consumers::find_by_key_hash(&mut conn, &hash)
                .unwrap()
                .unwrap()
                .consumer_id
        };
        let (status, _, body) = send(
            &svc,
            create(
                BANK,
                "EMAIL",
                json!({ "everything": true, "consumer_id": disabled.to_string() }),
            ),
        )
        .await;
        assert!(
            status == 400 && message(&body).starts_with("OBP-20058"),
            "{body}"
        );
        let (status, _, body) =
            send(&svc, create(BANK, "EMAIL", json!({ "everything": "yes" }))).await;
        assert!(
            status == 400 && message(&body).starts_with("OBP-10001"),
            "{body}"
        );
        // IMPLICIT: no phone registered, so the email.
        let (status, _, body) = send(
            &svc,
            create(BANK, "IMPLICIT", json!({ "everything": true })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(app.messages().last().unwrap()["channel"], "email");
        let (status, _, body) =
            send(&svc, create(BANK, "SMS", json!({ "everything": true }))).await;
        assert!(
            status == 409 && message(&body).starts_with("OBP-30283"),
            "{body}"
        );

        // A consent JWT signed by another key set is refused.
        let (_, jwt) = accepted(&app, &svc, &felix).await;
        let other_dir = std::env::temp_dir().join(format!("assent-other-{}", uuid::Uuid::new_v4()));
        let other = assentd::keys::SigningKeys::load(None, &other_dir).unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        let claims: assent_consent::token::ConsentClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let foreign = other
            .sign(assent_consent::token::CONSENT_TOKEN_TYP, &claims)
            .unwrap();
        let _ = std::fs::remove_dir_all(other_dir);
        let (status, _, body) = send(
            &svc,
            as_app(
                TestRequest::get().uri("/obp/v5.1.0/users/current"),
                &foreign,
                &felix.key,
            ),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert!(message(&body).starts_with("OBP-35040"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_reaches_neither_the_customers_own_records_nor_beyond_its_views(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let gina = setup(&app, &svc, "gina").await;
        let (_, jwt) = accepted(&app, &svc, &gina).await;
        for uri in [
            "/obp/v5.1.0/my/sessions".to_owned(),
            "/obp/v5.1.0/my/entitlements".to_owned(),
            "/obp/v5.1.0/my/entitlement-requests".to_owned(),
            "/obp/v5.1.0/my/account-access".to_owned(),
            "/obp/v5.1.0/management/users/current/consumers".to_owned(),
            format!("/obp/v5.1.0/banks/{BANK}/my/consents"),
        ] {
            let (status, _, body) =
                send(&svc, as_app(TestRequest::get().uri(&uri), &jwt, &gina.key)).await;
            assert_eq!(status, 403, "{uri}: {body}");
            assert!(message(&body).starts_with("OBP-35042"), "{uri}: {body}");
        }

        // Gina also audits the account; a consent naming only the auditor view does not carry
        // her standing as the holder, so the views of the account stay closed to the app.
        {
            let mut conn = app.state.pool.get().unwrap();
            assert!(
                accounts::grant(
                    &mut conn,
                    BANK,
                    ACCOUNT,
                    &gina.user_id,
                    "auditor",
                    true,
                    None,
                    app.now()
                )
                .unwrap()
            );
        }
        let (status, _, body) = send(
            &svc,
            request_consent(
                &gina.token,
                json!({ "everything": false,
                    "views": [{ "bank_id": BANK, "account_id": ACCOUNT, "view_id": "auditor" }] }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&challenge_of(&app, &consent_id));
        let (status, _, body) = send(&svc, answer(&gina.token, &consent_id, &code)).await;
        assert_eq!(status, 201, "{body}");
        let auditor_jwt = body["jwt"].as_str().unwrap().to_owned();
        let (status, _, body) = send(
            &svc,
            as_app(
                TestRequest::get().uri(&views_uri()),
                &auditor_jwt,
                &gina.key,
            ),
        )
        .await;
        assert_eq!(status, 403, "{}: {body}", app.backend());
        // The owner-view consent still lists them.
        let (status, _, body) = send(
            &svc,
            as_app(TestRequest::get().uri(&views_uri()), &jwt, &gina.key),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // A start further ahead than a consent may last, or beyond the calendar, is refused.
        for valid_from in ["9999-12-31T23:59:00Z", "2100-01-01T00:00:00Z"] {
            let (status, _, body) = send(
                &svc,
                request_consent(
                    &gina.token,
                    json!({ "everything": true, "valid_from": valid_from }),
                ),
            )
            .await;
            assert_eq!(status, 422, "{body}");
            assert!(message(&body).starts_with("OBP-35043"), "{body}");
        }

        // Consents at a bank that does not exist: listing and revoking say so.
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::get().uri("/obp/v5.1.0/banks/no.such.bank/my/consents"),
                &gina.token,
            ),
        )
        .await;
        assert!(
            status == 404 && message(&body).starts_with("OBP-30001"),
            "{body}"
        );
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::delete().uri(&format!(
                    "/obp/v5.1.0/banks/no.such.bank/consents/{consent_id}"
                )),
                &gina.token,
            ),
        )
        .await;
        assert!(
            status == 404 && message(&body).starts_with("OBP-30001"),
            "{body}"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn an_expired_challenge_rejects_the_consent_and_everything_names_nothing(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_validity_secs = 1);
        let svc = app.service().await;
        let hugo = setup(&app, &svc, "hugo").await;
        let (status, _, body) = send(
            &svc,
            request_consent(&hugo.token, json!({ "everything": true })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        // An everything consent names no view or role: what the customer holds when the app
        // uses it decides, so the token never advertises a stale list.
        let payload = body["jwt"].as_str().unwrap().split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["views"], json!([]));
        assert_eq!(claims["entitlements"], json!([]));

        let code = app.code_of(&challenge_of(&app, &consent_id));
        // Open to the last instant of its validity: a wrong code there is only wrong.
        app.advance(time::Duration::seconds(1) - time::Duration::MICROSECOND);
        let (status, _, body) =
            send(&svc, answer(&hugo.token, &consent_id, &wrong_code(&code))).await;
        assert_eq!(
            (status, message(&body)),
            (403, "OBP-40016: Invalid Challenge Answer. 4 attempts left.")
        );
        app.advance(time::Duration::MICROSECOND);
        let (status, _, body) = send(&svc, answer(&hugo.token, &consent_id, &code)).await;
        assert_eq!(status, 403, "expired: {body}");
        let status_of = |app: &TestApp| {
            let mut conn = app.state.pool.get().unwrap();
            consents::find(&mut conn, &consent_id)
                .unwrap()
                .unwrap()
                .status
        };
        assert_eq!(status_of(&app), "REJECTED", "{}", app.backend());
        // Rejected for good: the right code later changes nothing.
        let (status, _, body) = send(&svc, answer(&hugo.token, &consent_id, &code)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(status_of(&app), "REJECTED");
    }
}

const OTHER_BANK: &str = "other.bank";
const OTHER_ACCOUNT: &str = "acc-2";

/// Gives `who` an account (and so the owner view) at [`OTHER_BANK`] too.
async fn account_at_other_bank<S: TestService>(app: &TestApp, svc: &S, who: &Setup) {
    {
        let mut conn = app.state.pool.get().unwrap();
        banks::insert(
            &mut conn,
            &banks::row(OTHER_BANK, "other", "Other bank", "", "", app.now()),
        )
        .unwrap();
    }
    let (status, _, body) = send(
        svc,
        authed(
            TestRequest::put().uri(&format!(
                "/obp/v5.1.0/banks/{OTHER_BANK}/accounts/{OTHER_ACCOUNT}"
            )),
            &who.token,
        )
        .set_json(
            json!({ "user_id": who.user_id, "label": "Other", "product_code": "current",
            "balance": { "currency": "EUR", "amount": "0" } }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_names_views_and_bank_roles_only_at_its_own_bank(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let gina = setup(&app, &svc, "gina").await;
        account_at_other_bank(&app, &svc, &gina).await;
        app.grant_role(&gina.user_id, "CanGetEntitlementsForAnyUserAtOneBank", Some(OTHER_BANK));
        let sent_before = app.messages().len();

        for body in [
            json!({ "everything": false, "views": [
                { "bank_id": OTHER_BANK, "account_id": OTHER_ACCOUNT, "view_id": "owner" }] }),
            json!({ "everything": false, "views": [owner_view()], "entitlements": [
                { "bank_id": OTHER_BANK, "role_name": "CanGetEntitlementsForAnyUserAtOneBank" }] }),
        ] {
            let (status, _, answer) = send(&svc, request_consent(&gina.token, body.clone())).await;
            assert_eq!(status, 422, "{}: {body} -> {answer}", app.backend());
            assert!(message(&answer).starts_with("OBP-35047"), "{answer}");
        }
        assert_eq!(app.messages().len(), sent_before, "no code was sent");
        assert_eq!(app.audit_count("consent.created"), 0);
        let mut conn = app.state.pool.get().unwrap();
        assert!(consents::list_for_user(&mut conn, &gina.user_id, BANK).unwrap().is_empty());
        assert!(consents::list_for_user(&mut conn, &gina.user_id, OTHER_BANK).unwrap().is_empty());
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consent_for_everything_reaches_nothing_at_another_bank(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let gina = setup(&app, &svc, "gina").await;
        account_at_other_bank(&app, &svc, &gina).await;
        for bank in [BANK, OTHER_BANK] {
            app.grant_role(&gina.user_id, "CanGetEntitlementsForAnyUserAtOneBank", Some(bank));
        }
        let (status, _, body) =
            send(&svc, request_consent(&gina.token, json!({ "everything": true }))).await;
        assert_eq!(status, 201, "{body}");
        let consent_id = body["consent_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&challenge_of(&app, &consent_id));
        let (status, _, body) = send(&svc, answer(&gina.token, &consent_id, &code)).await;
        assert_eq!(status, 201, "{body}");
        let jwt = body["jwt"].as_str().unwrap().to_owned();
        let get = |uri: String| as_app(TestRequest::get().uri(&uri), &jwt, &gina.key);

        let (status, _, body) = send(&svc, get(views_uri())).await;
        assert_eq!(status, 200, "its own bank: {body}");
        let (status, _, body) = send(
            &svc,
            get(format!("/obp/v5.1.0/banks/{OTHER_BANK}/accounts/{OTHER_ACCOUNT}/views")),
        )
        .await;
        assert_eq!(status, 403, "{}: another bank's account: {body}", app.backend());

        let entitlements =
            |bank: &str| format!("/obp/v5.1.0/banks/{bank}/users/{}/entitlements", gina.user_id);
        let (status, _, body) = send(&svc, get(entitlements(BANK))).await;
        assert_eq!(status, 200, "a role at its own bank: {body}");
        let (status, _, body) = send(&svc, get(entitlements(OTHER_BANK))).await;
        assert_eq!(status, 403, "{}: a role at another bank: {body}", app.backend());

        let (status, _, me) = send(&svc, get("/obp/v5.1.0/users/current".into())).await;
        assert_eq!(status, 200, "{me}");
        let text = me.to_string();
        assert!(!text.contains(OTHER_BANK), "the profile shows nothing at another bank: {me}");
        assert!(text.contains(BANK), "{me}");
    }
}
