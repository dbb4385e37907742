//! Apiture identity challenges (step-up) over HTTP with every factor kind, SQLite and
//! PostgreSQL. Challenges are opened through the service, as an operation that requires one
//! does; started, verified and redeemed as a system caller would.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_identity::secret::SecretString;
use assent_otp::totp::{TotpAlgorithm, TotpSecret};
use assent_repository::{security_answers, users};
use assentd::services::step_up::{self, FactorType};
use serde_json::{Value, json};

const OPERATION: &str = "resumeCustomerSession";

fn start(challenge: &str, factor: &str, key: &str) -> TestRequest {
    system_call(
        &format!("/system/challenges/{challenge}/factors/{factor}/start"),
        key,
        json!({}),
    )
}

fn verify(challenge: &str, factor: &str, key: &str, body: Value) -> TestRequest {
    system_call(
        &format!("/system/challenges/{challenge}/factors/{factor}/verify"),
        key,
        body,
    )
}

/// Opens a challenge for the user with every factor they have; returns its id and the
/// `requiredIdentityChallenge` JSON.
fn open(app: &TestApp, user_id: &str) -> (String, Value) {
    let mut conn = app.state.pool.get().unwrap();
    let user = users::find_by_id(
        &mut conn,
        &assent_identity::UserId(uuid::Uuid::parse_str(user_id).unwrap()),
    )
    .unwrap()
    .unwrap();
    let factors = step_up::factors_for(&app.state, &mut conn, &user.into()).unwrap();
    let challenge = step_up::open(
        &app.state,
        &mut conn,
        app.now(),
        OPERATION,
        user_id,
        &factors,
    )
    .unwrap();
    (
        challenge.id().to_string(),
        step_up::required_challenge(&challenge, &factors),
    )
}

fn redeem(app: &TestApp, challenge: &str, user_id: &str) -> bool {
    let mut conn = app.state.pool.get().unwrap();
    let id = uuid::Uuid::parse_str(challenge).unwrap();
    match step_up::redeem(&mut conn, &id, OPERATION, user_id, app.now()) {
        Ok(()) => true,
        Err(assentd::failure::Failure::Refused(_)) => false,
        Err(assentd::failure::Failure::Internal(internal)) => panic!("{internal}"),
    }
}

async fn customer<S: TestService>(app: &TestApp, svc: &S) -> (String, String) {
    let mut body = sign_up_body("sowmya");
    body["phone_number"] = json!("+447700900123");
    let (status, _, user) = send(
        svc,
        TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
    )
    .await;
    assert_eq!(status, 201);
    app.verify_contacts("sowmya");
    let key = app.consumer(true);
    let token = token(svc, "sowmya", &key).await;
    (user["user_id"].as_str().unwrap().to_owned(), token)
}

backend_test! {
    #[actix_web::test]
    async fn sms_factor_start_verify_and_redeem(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (user_id, _) = customer(&app, &svc).await;
        let key = system_key(&app);
        let (challenge, required) = open(&app, &user_id);
        assert_eq!(required["operationId"], OPERATION);
        assert_eq!(required["challengeId"], challenge.as_str());
        let factors = required["factors"].as_array().unwrap();
        let kinds: Vec<&str> = factors
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["sms", "voice", "email"]);
        assert_eq!(factors[0]["labels"], json!(["0123"]));
        assert_eq!(factors[2]["labels"], json!(["sowXXX@example.com"]));
        assert!(!required.to_string().contains("7700900123"));
        assert!(
            app.messages().is_empty(),
            "nothing is sent before a factor starts"
        );

        for bad in ["", "wrong-key"] {
            let mut req = start(&challenge, "sms", bad);
            if bad.is_empty() {
                req = TestRequest::post()
                    .uri(&format!("/system/challenges/{challenge}/factors/sms/start"));
            }
            let (status, headers, body) = send(&svc, req).await;
            assert_eq!(status, 401, "{body}");
            assert_problem(status, &headers, &body);
        }

        let (status, headers, body) = send(
            &svc,
            verify(&challenge, "sms", &key, json!({ "code": "123456" })),
        )
        .await;
        assert_eq!(status, 409);
        assert_problem(status, &headers, &body);
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .ends_with("challengeFactorNotStarted")
        );

        let (status, _, body) = send(&svc, start(&challenge, "sms", &key)).await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        assert_eq!(body["codeSent"], true);
        let sent = app.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["channel"], "sms");
        assert_eq!(sent[0]["purpose"], "apiture:resumeCustomerSession");
        let code = app.code_of(&challenge);

        let (status, headers, body) = send(
            &svc,
            verify(
                &challenge,
                "sms",
                &key,
                json!({ "code": wrong_code(&code) }),
            ),
        )
        .await;
        assert_eq!(status, 422);
        assert_problem(status, &headers, &body);
        assert_eq!(body["attributes"]["remainingAttempts"], 4);
        let (status, _, _) = send(
            &svc,
            verify(&challenge, "sms", &key, json!({ "code": "12" })),
        )
        .await;
        assert_eq!(status, 400, "malformed, not counted");

        assert!(!redeem(&app, &challenge, &user_id), "not verified yet");
        let (status, _, body) = send(
            &svc,
            verify(&challenge, "sms", &key, json!({ "code": code })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "verified");
        assert_eq!(body["operationId"], OPERATION);
        let (status, _, _) = send(
            &svc,
            verify(&challenge, "sms", &key, json!({ "code": code })),
        )
        .await;
        assert_eq!(status, 409, "single use");

        assert!(!redeem(&app, &challenge, "someone-else"));
        assert!(redeem(&app, &challenge, &user_id));
        assert!(!redeem(&app, &challenge, &user_id), "redeemed once");

        let (status, headers, body) =
            send(&svc, start(&uuid::Uuid::new_v4().to_string(), "sms", &key)).await;
        assert_eq!(status, 404);
        assert_problem(status, &headers, &body);
        let (other, _) = open(&app, &user_id);
        let (status, _, body) = send(&svc, start(&other, "authenticatorToken", &key)).await;
        assert_eq!(status, 404, "a factor the customer lacks: {body}");
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .ends_with("challengeFactorNotFound")
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn authenticator_and_security_question_factors(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (user_id, token) = customer(&app, &svc).await;
        let key = system_key(&app);

        // An authenticator app, enrolled and confirmed over HTTP.
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/my/authenticators/totp")
                .insert_header(("DirectLogin", format!("token={token}")))
                .set_json(json!({ "password": PASSWORD })),
        )
        .await;
        assert_eq!(status, 201);
        let uri = body["uri"].as_str().unwrap();
        let encoded = uri
            .split("secret=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let secret = TotpSecret::from_bytes(
            data_encoding::BASE32_NOPAD
                .decode(encoded.as_bytes())
                .unwrap(),
            TotpAlgorithm::Sha1,
            6,
        )
        .unwrap();
        // The enrolment is confirmed with the previous step's code, still within the server's
        // window.
        let step = TotpSecret::step(app.now());
        let (status, _, _) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/my/authenticators/totp/confirm")
                .insert_header(("DirectLogin", format!("token={token}")))
                .set_json(json!({ "code": secret.code_at_step(step - 1) })),
        )
        .await;
        assert_eq!(status, 200);

        // Security answers, stored as updateSecurityQuestions stores them.
        let questions = ["first-pet", "birth-city", "first-car"];
        let answers = ["rex", "oslo", "saab"];
        {
            let mut conn = app.state.pool.get().unwrap();
            let hashed: Vec<(String, String)> = questions
                .iter()
                .zip(answers)
                .map(|(q, a)| {
                    let hash = app
                        .state
                        .password_hasher
                        .hash(&SecretString::new(a.to_owned()), &mut rand::rng())
                        .unwrap();
                    ((*q).to_owned(), hash)
                })
                .collect();
            security_answers::replace(&mut conn, &user_id, &hashed, app.now()).unwrap();
        }

        let (challenge, required) = open(&app, &user_id);
        let kinds: Vec<&str> = required["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "sms",
                "voice",
                "email",
                "authenticatorToken",
                "securityQuestions"
            ]
        );
        let asked: Vec<String> = required["factors"][4]["securityQuestions"]["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(asked.len(), 3);

        // The code that confirmed the enrolment is used up; the current one works once.
        let (status, _, body) = send(
            &svc,
            verify(
                &challenge,
                "authenticatorToken",
                &key,
                json!({ "code": secret.code_at_step(step - 1) }),
            ),
        )
        .await;
        assert_eq!(status, 422, "a used code: {body}");
        let (status, _, body) = send(&svc, start(&challenge, "authenticatorToken", &key)).await;
        assert_eq!((status, body["codeSent"].clone()), (200, json!(false)));
        let current = secret.code_at_step(TotpSecret::step(app.now()));
        let (status, _, body) = send(
            &svc,
            verify(
                &challenge,
                "authenticatorToken",
                &key,
                json!({ "code": current }),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (again, _) = open(&app, &user_id);
        let (status, _, body) = send(
            &svc,
            verify(
                &again,
                "authenticatorToken",
                &key,
                json!({ "code": current }),
            ),
        )
        .await;
        assert_eq!(status, 422, "a TOTP code is accepted once: {body}");
        assert_eq!(body["attributes"]["remainingAttempts"], 4);
        let audited_wrong = |id: &str| {
            let mut conn = app.state.pool.get().unwrap();
            assent_repository::audit::list_by_kind(&mut conn, "otp.wrong_answer")
                .unwrap()
                .iter()
                .filter(|e| e.detail.contains(id))
                .count()
        };
        assert_eq!(audited_wrong(&again), 1, "a replayed app code is audited");

        // Security questions.
        let (challenge, required) = open(&app, &user_id);
        let asked: Vec<String> = required["factors"][4]["securityQuestions"]["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect();
        let answer_of = |q: &str| answers[questions.iter().position(|x| *x == q).unwrap()];
        let reply = |right: bool| -> Value {
            let list: Vec<Value> = asked
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let answer = if right || i > 0 {
                        answer_of(q).to_uppercase()
                    } else {
                        "nope".into()
                    };
                    json!({ "promptId": q, "answer": format!("  {answer} ") })
                })
                .collect();
            json!({ "answers": list })
        };
        let (status, _, body) = send(
            &svc,
            verify(
                &challenge,
                "securityQuestions",
                &key,
                json!({ "answers": [{ "promptId": asked[0], "answer": "x" }] }),
            ),
        )
        .await;
        assert_eq!(status, 400, "not the questions asked: {body}");
        let (status, _, body) = send(
            &svc,
            verify(&challenge, "securityQuestions", &key, reply(false)),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["attributes"]["remainingAttempts"], 4);
        assert_eq!(audited_wrong(&challenge), 1, "a wrong answer is audited");
        let (status, _, body) = send(
            &svc,
            verify(&challenge, "securityQuestions", &key, reply(true)),
        )
        .await;
        assert_eq!(status, 200, "answers are normalised: {body}");
        assert!(redeem(&app, &challenge, &user_id));
        assert!(matches!(
            FactorType::parse("securityQuestions"),
            Some(FactorType::SecurityQuestions)
        ));
    }
}

backend_test! {
    #[actix_web::test]
    async fn wrong_answers_on_any_factor_share_one_limit(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (user_id, _) = customer(&app, &svc).await;
        let key = system_key(&app);
        let (challenge, _) = open(&app, &user_id);
        let (status, _, _) = send(&svc, start(&challenge, "email", &key)).await;
        assert_eq!(status, 200);
        let code = app.code_of(&challenge);
        let attempts = (0..12).map(|i| {
            let factor = if i % 2 == 0 { "sms" } else { "email" };
            send(
                &svc,
                verify(
                    &challenge,
                    factor,
                    &key,
                    json!({ "code": wrong_code(&code) }),
                ),
            )
        });
        let results = futures_util::future::join_all(attempts).await;
        let counted = results.iter().filter(|(s, _, _)| *s == 422).count();
        let locked = results.iter().filter(|(s, _, _)| *s == 403).count();
        assert_eq!((counted, locked), (4, 8), "{}", app.backend());
        let (status, _, _) = send(
            &svc,
            verify(&challenge, "sms", &key, json!({ "code": code })),
        )
        .await;
        assert_eq!(status, 403);
        assert!(!redeem(&app, &challenge, &user_id));
    }
}

backend_test! {
    #[actix_web::test]
    async fn new_challenges_do_not_multiply_the_attempts(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_step_up_failures_per_user_per_day = 3);
        let svc = app.service().await;
        let (user_id, _) = customer(&app, &svc).await;
        let key = system_key(&app);
        let (first, _) = open(&app, &user_id);
        let (status, _, _) = send(&svc, start(&first, "sms", &key)).await;
        assert_eq!(status, 200);
        let code = app.code_of(&first);
        for _ in 0..3 {
            let (status, _, _) = send(
                &svc,
                verify(&first, "sms", &key, json!({ "code": wrong_code(&code) })),
            )
            .await;
            assert_eq!(status, 422);
        }
        let (status, headers, body) =
            send(&svc, verify(&first, "sms", &key, json!({ "code": code }))).await;
        assert_eq!(status, 429, "{}: {body}", app.backend());
        assert_problem(status, &headers, &body);
        assert!(body["type"].as_str().unwrap().ends_with("tooManyFailures"));
        let (second, _) = open(&app, &user_id);
        let (status, _, _) = send(&svc, start(&second, "email", &key)).await;
        assert_eq!(status, 200);
        let code = app.code_of(&second);
        let (status, _, _) = send(
            &svc,
            verify(&second, "email", &key, json!({ "code": code })),
        )
        .await;
        assert_eq!(status, 429, "a new challenge brings no new attempts today");
    }
}
