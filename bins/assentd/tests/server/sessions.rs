//! Customer sessions over HTTP: the Apiture session API (terminate, resume, replace,
//! re-authentication with an identity challenge) and customers' own sessions (OBP), on SQLite
//! and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::{sessions, system_keys, users};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::Duration;

fn resume(key: &str, body: Value) -> TestRequest {
    system_call("/system/resumedCustomerSessions", key, body)
}

fn terminate(key: &str, session_id: &str) -> TestRequest {
    system_call(
        "/system/terminatedCustomerSessions",
        key,
        json!({ "sessionId": session_id }),
    )
}

/// The session id a token names.
fn sid(token: &str) -> String {
    claims(token)["sid"].as_str().unwrap().to_owned()
}

/// The `exp` a token carries.
fn exp(token: &str) -> i64 {
    claims(token)["exp"].as_i64().unwrap()
}

/// Completes an identity challenge with its email factor, as the customer would.
async fn verify_by_email<S: TestService>(app: &TestApp, svc: &S, key: &str, challenge: &str) {
    let factor = |step: &str| format!("/system/challenges/{challenge}/factors/email/{step}");
    let (status, _, body) = send(svc, system_call(&factor("start"), key, json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let code = app.code_of(challenge);
    let (status, _, body) = send(
        svc,
        system_call(&factor("verify"), key, json!({ "code": code })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn customer_number(app: &TestApp, user: &Value) -> String {
    let mut conn = app.state.pool.get().unwrap();
    let id = uuid::Uuid::parse_str(user["user_id"].as_str().unwrap()).unwrap();
    users::find_by_id(&mut conn, &assent_identity::UserId(id))
        .unwrap()
        .unwrap()
        .customer_number
        .unwrap()
}

fn problem_type(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

backend_test! {
    #[actix_web::test]
    async fn resume_keeps_a_session_alive_but_never_past_its_absolute_expiry(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            // Timeouts of a few seconds, with margins a busy test machine cannot use up.
            c.session_idle_timeout_secs = 4;
            c.session_absolute_lifetime_secs = 8;
        });
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);

        for _ in 0..2 {
            app.advance(Duration::milliseconds(2500));
            let (status, _, body) = send(&svc, resume(&key, json!({ "sessionId": session }))).await;
            assert_eq!(status, 200, "{}: {body}", app.backend());
            assert_eq!(body, json!({ "sessionId": session }));
        }
        // 5 s after login, past the idle timeout of the first activity, still alive.
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 200, "resumed past its idle timeout");

        // Resumed to the last instant before its absolute expiry, and over at that expiry.
        app.advance(Duration::seconds(3) - Duration::MICROSECOND);
        let (status, _, body) = send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        app.advance(Duration::MICROSECOND);
        let (status, headers, body) =
            send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(status, 422, "at the absolute expiry: {body}");
        assert_problem(status, &headers, &body);
        assert_eq!(problem_type(&body), "expiredSession");
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 401);

        // The owner named: a new session replaces it; the old one stays dead.
        let number = customer_number(&app, &user);
        let wrong =
            json!({ "sessionId": session, "customerId": "999999", "institutionId": "ASSENT" });
        let (status, _, body) = send(&svc, resume(&key, wrong)).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "unknownSession"),
            "a wrong owner learns nothing"
        );
        let owner =
            json!({ "sessionId": session, "customerId": number, "institutionId": "ASSENT" });
        // Past its absolute expiry, a session goes on only after a strong authentication: the
        // absolute lifetime bounds the time between them, not the age of one session.
        let (status, _, body) = send(&svc, resume(&key, owner.clone())).await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "challengeRequired"),
            "{}: replaced without the customer: {body}",
            app.backend()
        );
        let challenge = body["attributes"]["challengeId"].as_str().unwrap().to_owned();
        app.advance(Duration::seconds(10));
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 401, "18 s after login, nothing works without the customer");
        verify_by_email(&app, &svc, &key, &challenge).await;
        let (status, _, body) = send(
            &svc,
            resume(&key, owner.clone()).insert_header(("Apiture-Challenge", challenge)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let new_token = body["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(body["sessionId"], sid(&new_token).as_str());
        assert_ne!(body["sessionId"], session.as_str());
        let (status, _, me) = send(&svc, current(&new_token)).await;
        assert_eq!(status, 200);
        assert_eq!(me["user_id"], user["user_id"]);
        assert_eq!(
            exp(&new_token),
            app.now().unix_timestamp() + 8,
            "a new absolute lifetime runs from the strong authentication"
        );
        let (status, _, body) = send(&svc, resume(&key, owner)).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "terminatedSession"),
            "replaced once: {body}"
        );
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 401);
        assert_eq!(app.audit_count("session.replaced"), 1);
        // Terminating the old id ends its replacement too.
        let (status, _, _) = send(&svc, terminate(&key, &session)).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&new_token)).await;
        assert_eq!(
            status, 401,
            "the replacement ends with the session it replaced"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn terminate_kills_every_token_at_once_and_reveals_nothing(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);

        let (status, _, _) = send(&svc, terminate(&key, &session)).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 401, "{}", app.backend());
        for again in [session.as_str(), "unknown-session", "x"] {
            let (status, _, _) = send(&svc, terminate(&key, again)).await;
            assert_eq!(status, 204);
        }
        let (status, headers, body) =
            send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!((status, problem_type(&body)), (422, "terminatedSession"));
        assert_problem(status, &headers, &body);
        let (status, _, body) = send(&svc, resume(&key, json!({ "sessionId": "nope" }))).await;
        assert_eq!((status, problem_type(&body)), (422, "unknownSession"));
        assert_eq!(app.audit_count("session.terminated"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn every_malformed_request_is_a_400_problem(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = system_key(&app);
        let long = "a".repeat(129);
        let cases: Vec<(&str, TestRequest)> = vec![
            ("missing sessionId", terminate_body(&key, json!({}))),
            (
                "long sessionId",
                terminate_body(&key, json!({ "sessionId": long })),
            ),
            (
                "empty sessionId",
                terminate_body(&key, json!({ "sessionId": "" })),
            ),
            ("number", terminate_body(&key, json!({ "sessionId": 12 }))),
            (
                "not JSON",
                raw("/system/terminatedCustomerSessions", &key, "{sessionId"),
            ),
            (
                "resume not JSON",
                raw("/system/resumedCustomerSessions", &key, "["),
            ),
            (
                "resume missing",
                resume(&key, json!({ "customerId": "123456" })),
            ),
            ("long id", resume(&key, json!({ "sessionId": long }))),
            (
                "short customer",
                resume(&key, json!({ "sessionId": "s", "customerId": "12345" })),
            ),
            (
                "letters customer",
                resume(&key, json!({ "sessionId": "s", "customerId": "12345a" })),
            ),
            (
                "long customer",
                resume(
                    &key,
                    json!({ "sessionId": "s", "customerId": "1".repeat(39) }),
                ),
            ),
            (
                "lower institution",
                resume(&key, json!({ "sessionId": "s", "institutionId": "booil" })),
            ),
            (
                "long institution",
                resume(
                    &key,
                    json!({ "sessionId": "s", "institutionId": "ABCDEFGHI" }),
                ),
            ),
            (
                "short institution",
                resume(&key, json!({ "sessionId": "s", "institutionId": "A" })),
            ),
            (
                "bad challenge header",
                resume(&key, json!({ "sessionId": "s" }))
                    .insert_header(("Apiture-Challenge", "not an id")),
            ),
        ];
        for (what, request) in cases {
            let (status, headers, body) = send(&svc, request).await;
            assert_eq!(status, 400, "{what}: {body}");
            assert_problem(status, &headers, &body);
        }
        let big = json!({ "sessionId": "a".repeat(70_000) });
        let (status, headers, body) = send(&svc, terminate_body(&key, big)).await;
        assert_eq!(status, 413);
        assert_problem(status, &headers, &body);
        let (status, _, _) = send(
            &svc,
            TestRequest::post()
                .uri("/system/terminatedCustomerSessions")
                .insert_header(("Authorization", format!("bearer {key}")))
                .set_json(json!({ "sessionId": "s" })),
        )
        .await;
        assert_eq!(status, 204, "the scheme is case-insensitive");
        for bad_key in ["", "Bearer", "Bearer wrong", "Basic abc"] {
            let mut request = TestRequest::post()
                .uri("/system/terminatedCustomerSessions")
                .set_json(json!({ "sessionId": "s" }));
            if !bad_key.is_empty() {
                request = request.insert_header(("Authorization", bad_key));
            }
            let (status, headers, body) = send(&svc, request).await;
            assert_eq!(status, 401, "{bad_key:?}");
            assert_problem(status, &headers, &body);
        }
        // A revoked key stops working on the next request.
        {
            let mut conn = app.state.pool.get().unwrap();
            for (key_id, _, _) in system_keys::list(&mut conn).unwrap() {
                assert!(system_keys::delete(&mut conn, &key_id).unwrap());
            }
        }
        let (status, headers, body) =
            send(&svc, terminate_body(&key, json!({ "sessionId": "s" }))).await;
        assert_eq!(status, 401, "{}", app.backend());
        assert_problem(status, &headers, &body);
    }
}

fn terminate_body(key: &str, body: Value) -> TestRequest {
    system_call("/system/terminatedCustomerSessions", key, body)
}

fn raw(path: &str, key: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

backend_test! {
    #[actix_web::test]
    async fn reauthentication_needs_a_verified_challenge(db) {
        let app = TestApp::with_file_delivery(db, |c| c.session_reauthentication_interval_secs = 1);
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        let mut body = sign_up_body("felix");
        body["phone_number"] = json!("+447700900123");
        let (status, _, _) = send(
            &svc,
            TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
        )
        .await;
        assert_eq!(status, 201);
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);
        app.advance(Duration::seconds(1) - Duration::MICROSECOND);
        let (status, _, body) = send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(status, 200, "not yet due: {body}");
        app.advance(Duration::MICROSECOND);

        let (status, headers, body) =
            send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(status, 401, "{}: {body}", app.backend());
        assert_problem(status, &headers, &body);
        assert_eq!(problem_type(&body), "challengeRequired");
        let challenge = body["attributes"]["challengeId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(body["attributes"]["operationId"], "resumeCustomerSession");
        assert_eq!(body["attributes"]["factors"][0]["type"], "sms");

        // A challenge that is not verified does not pass.
        let retry = |challenge: &str| {
            resume(&key, json!({ "sessionId": session }))
                .insert_header(("Apiture-Challenge", challenge.to_owned()))
        };
        let (status, _, body) = send(&svc, retry(&challenge)).await;
        assert_eq!((status, problem_type(&body)), (401, "challengeRequired"));

        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{challenge}/factors/sms/start"),
                &key,
                json!({}),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let code = app.code_of(&challenge);
        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{challenge}/factors/sms/verify"),
                &key,
                json!({ "code": code }),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, body) = send(&svc, retry(&challenge)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sessionId"], session.as_str());
        let mut conn = app.state.pool.get().unwrap();
        let stored = sessions::find(&mut conn, &session).unwrap().unwrap();
        assert!(
            stored.last_strong_auth_at() > stored.created_at(),
            "the strong authentication is recorded"
        );
        drop(conn);
        // The challenge was used up; the fresh strong authentication carries the next resume.
        let (status, _, _) = send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_resumes_racing_a_terminate_never_outlive_it(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);
        let mut requests: Vec<_> = (0..40)
            .map(|_| resume(&key, json!({ "sessionId": session })))
            .collect();
        requests.insert(20, terminate(&key, &session));
        let results =
            futures_util::future::join_all(requests.into_iter().map(|r| send(&svc, r))).await;
        assert_eq!(results[20].0, 204);
        for (i, (status, _, body)) in results.iter().enumerate() {
            if i != 20 {
                assert!(
                    *status == 200 || (*status == 422 && problem_type(body) == "terminatedSession"),
                    "{status} {body}"
                );
            }
        }
        // Every resume wrote conditionally on the session not being terminated, so whatever
        // the interleaving the session ends terminated by the system, and stays so.
        let mut conn = app.state.pool.get().unwrap();
        let stored = sessions::find(&mut conn, &session).unwrap().unwrap();
        assert!(stored.terminated_at().is_some(), "{}", app.backend());
        assert_eq!(stored.termination_reason(), Some("system"));
        drop(conn);
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 401);
        let after = (0..10).map(|_| send(&svc, resume(&key, json!({ "sessionId": session }))));
        for (status, _, body) in futures_util::future::join_all(after).await {
            assert_eq!((status, problem_type(&body)), (422, "terminatedSession"));
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn customers_see_and_end_their_own_sessions(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let consumer = app.consumer(true);
        let felix = sign_up(&svc, "felix").await;
        sign_up(&svc, "admin").await;
        let phone = token(&svc, "felix", &consumer).await;
        let laptop = token(&svc, "felix", &consumer).await;
        let tablet = token(&svc, "felix", &consumer).await;
        let me = |token: &str, req: TestRequest| {
            req.insert_header(("DirectLogin", format!("token={token}")))
        };

        let (status, _, body) = send(
            &svc,
            me(&laptop, TestRequest::get().uri("/obp/v5.1.0/my/sessions")),
        )
        .await;
        assert_eq!(status, 200);
        let listed = body["sessions"].as_array().unwrap();
        assert_eq!(listed.len(), 3, "{body}");
        let this: Vec<_> = listed.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(this.len(), 1);
        assert_eq!(this[0]["session_id"], sid(&laptop).as_str());
        assert_eq!(this[0]["status"], "ACTIVE");
        assert_eq!(this[0]["institution_id"], "ASSENT");
        assert!(!body.to_string().contains(&laptop), "never a token");

        let uri = format!("/obp/v5.1.0/my/sessions/{}", sid(&phone));
        let (status, _, _) = send(&svc, me(&laptop, TestRequest::delete().uri(&uri))).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&phone)).await;
        assert_eq!(status, 401);
        let (status, _, body) = send(&svc, me(&laptop, TestRequest::delete().uri(&uri))).await;
        assert_eq!(status, 404);
        assert!(message(&body).starts_with("OBP-20075"));

        let (status, _, _) = send(
            &svc,
            me(
                &laptop,
                TestRequest::delete().uri("/obp/v5.1.0/my/sessions"),
            ),
        )
        .await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&tablet)).await;
        assert_eq!(status, 401, "the others end");
        let (status, _, _) = send(&svc, current(&laptop)).await;
        assert_eq!(status, 200, "the caller's own goes on");

        // Another user's session cannot be ended by id.
        let admin = token(&svc, "admin", &consumer).await;
        let uri = format!("/obp/v5.1.0/my/sessions/{}", sid(&laptop));
        let (status, _, _) = send(&svc, me(&admin, TestRequest::delete().uri(&uri))).await;
        assert_eq!(status, 404);

        // An administrator ends them all, with the role.
        let felix_id = felix["user_id"].as_str().unwrap();
        let uri = format!("/obp/v5.1.0/users/{felix_id}/sessions");
        let (status, _, body) = send(&svc, me(&admin, TestRequest::delete().uri(&uri))).await;
        assert_eq!(status, 403);
        assert!(message(&body).contains("CanTerminateUserSessions"));
        let (status, _, me_body) = send(&svc, current(&admin)).await;
        assert_eq!(status, 200);
        app.grant_role(
            me_body["user_id"].as_str().unwrap(),
            "CanTerminateUserSessions",
            None,
        );
        let (status, _, _) = send(&svc, me(&admin, TestRequest::delete().uri(&uri))).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&laptop)).await;
        assert_eq!(status, 401);
    }
}

backend_test! {
    #[actix_web::test]
    async fn housekeeping_deletes_what_ended_long_ago(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        let ended = token(&svc, "felix", &consumer).await;
        let live = token(&svc, "felix", &consumer).await;
        let (status, _, _) = send(&svc, terminate(&key, &sid(&ended))).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(
            &svc,
            TestRequest::post()
                .uri("/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB")
                .set_json(json!({ "Phone": "+447700900123" })),
        )
        .await;
        assert_eq!(status, 200);

        let mut conn = app.state.pool.get().unwrap();
        let soon =
            assentd::services::customer_sessions::sweep(&app.state, &mut conn, app.now()).unwrap();
        assert_eq!(
            (soon.sessions, soon.challenges),
            (0, 0),
            "nothing is old enough yet"
        );
        assert!(sessions::find(&mut conn, &sid(&live)).unwrap().is_some());
        assert!(sessions::find(&mut conn, &sid(&ended)).unwrap().is_some());
        // 31 days on: the terminated session and the old challenge go; the live session has
        // passed its absolute expiry by then too.
        let later = app.now() + Duration::days(31);
        let swept =
            assentd::services::customer_sessions::sweep(&app.state, &mut conn, later).unwrap();
        assert_eq!(
            (swept.sessions, swept.challenges),
            (2, 1),
            "{}",
            app.backend()
        );
        assert!(swept.quota_windows >= 1);
        assert!(sessions::find(&mut conn, &sid(&live)).unwrap().is_none());
        let again =
            assentd::services::customer_sessions::sweep(&app.state, &mut conn, later).unwrap();
        assert_eq!(again, Default::default(), "idempotent");
    }
}

backend_test! {
    #[actix_web::test]
    async fn expiry_and_ownership_are_decided_before_reauthentication(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.session_idle_timeout_secs = 2;
            c.session_absolute_lifetime_secs = 2;
            c.session_reauthentication_interval_secs = 1;
        });
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        app.verify_contacts("felix");
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);
        app.advance(Duration::seconds(2));

        // Expired and re-authentication due: without its owner named, still just expired, and
        // nobody learns the owner's factors.
        let (status, _, body) = send(&svc, resume(&key, json!({ "sessionId": session }))).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "expiredSession"),
            "{}: {body}",
            app.backend()
        );
        assert!(body.get("attributes").is_none());
        let wrong =
            json!({ "sessionId": session, "customerId": "123456", "institutionId": "ASSENT" });
        let (status, _, body) = send(&svc, resume(&key, wrong)).await;
        assert_eq!((status, problem_type(&body)), (422, "unknownSession"));

        // Its owner named: now the identity challenge, then the replacement.
        let owner = json!({
            "sessionId": session,
            "customerId": customer_number(&app, &user),
            "institutionId": "ASSENT",
        });
        let (status, _, body) = send(&svc, resume(&key, owner.clone())).await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "challengeRequired"),
            "{body}"
        );
        let challenge = body["attributes"]["challengeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let factor = body["attributes"]["factors"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{challenge}/factors/{factor}/start"),
                &key,
                json!({}),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let code = app.code_of(&challenge);
        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{challenge}/factors/{factor}/verify"),
                &key,
                json!({ "code": code }),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, body) = send(
            &svc,
            resume(&key, owner).insert_header(("Apiture-Challenge", challenge.clone())),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let mut conn = app.state.pool.get().unwrap();
        let new = sessions::find(&mut conn, body["sessionId"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert!(
            !new.reauthentication_due(app.now(), &app.state.session_policy),
            "the verified challenge counts as a strong authentication"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn ids_of_any_shape_and_wrong_owners_reveal_nothing(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &consumer).await;
        let session = sid(&token);
        for odd in ["a\u{0}b", "ABCDEF", "x'; DROP TABLE sessions; --"] {
            let (status, _, _) = send(&svc, terminate(&key, odd)).await;
            assert_eq!(status, 204, "{}: {odd:?}", app.backend());
            let (status, headers, body) =
                send(&svc, resume(&key, json!({ "sessionId": odd }))).await;
            assert_eq!(
                (status, problem_type(&body)),
                (422, "unknownSession"),
                "{odd:?}"
            );
            assert_problem(status, &headers, &body);
        }
        let nul = r#"{"sessionId":"abc\u0000def"}"#;
        let (status, _, body) = send(&svc, raw("/system/resumedCustomerSessions", &key, nul)).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "unknownSession"),
            "{body}"
        );
        let (status, _, _) = send(&svc, raw("/system/terminatedCustomerSessions", &key, nul)).await;
        assert_eq!(status, 204);

        // An active session with the wrong owner named: unknown, and kept as it was.
        let wrong =
            json!({ "sessionId": session, "customerId": "123456", "institutionId": "ASSENT" });
        let (status, _, body) = send(&svc, resume(&key, wrong)).await;
        assert_eq!((status, problem_type(&body)), (422, "unknownSession"));
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 200);

        let long = format!("/system/{}", "a".repeat(3000));
        let (status, headers, body) = send(&svc, TestRequest::get().uri(&long)).await;
        assert_eq!(status, 404);
        assert_problem(status, &headers, &body);
    }
}

backend_test! {
    #[actix_web::test]
    async fn another_customers_challenge_does_not_count(db) {
        let app = TestApp::with_file_delivery(db, |c| c.session_reauthentication_interval_secs = 1);
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        sign_up(&svc, "mallory").await;
        app.verify_contacts("felix");
        app.verify_contacts("mallory");
        let felix = token(&svc, "felix", &consumer).await;
        let mallory = token(&svc, "mallory", &consumer).await;
        app.advance(Duration::seconds(1));
        // Mallory verifies her own challenge, then presents it for Felix's session.
        let (_, _, body) = send(&svc, resume(&key, json!({ "sessionId": sid(&mallory) }))).await;
        let theirs = body["attributes"]["challengeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{theirs}/factors/email/start"),
                &key,
                json!({}),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let code = app.code_of(&theirs);
        let (status, _, _) = send(
            &svc,
            system_call(
                &format!("/system/challenges/{theirs}/factors/email/verify"),
                &key,
                json!({ "code": code }),
            ),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, body) = send(
            &svc,
            resume(&key, json!({ "sessionId": sid(&felix) }))
                .insert_header(("Apiture-Challenge", theirs.clone())),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "challengeRequired"),
            "{}",
            app.backend()
        );
        // Still hers to use.
        let (status, _, _) = send(
            &svc,
            resume(&key, json!({ "sessionId": sid(&mallory) }))
                .insert_header(("Apiture-Challenge", theirs)),
        )
        .await;
        assert_eq!(status, 200);
    }
}

/// The token with its ECDSA signature's `s` replaced by `n - s`, which ECDSA alone accepts too.
fn with_high_s(token: &str) -> String {
    use p256::ecdsa::Signature;
    let (signed_part, encoded) = token.rsplit_once('.').unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    let flipped =
        Signature::from_scalars(signature.r().to_bytes(), (-*signature.s()).to_bytes()).unwrap();
    // Of `s` and `n - s` exactly one is low: whichever the server issued, this is the other.
    format!(
        "{signed_part}.{}",
        URL_SAFE_NO_PAD.encode(flipped.to_bytes())
    )
}

backend_test! {
    #[actix_web::test]
    async fn a_session_token_has_one_spelling_its_high_s_twin_is_refused(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        for _ in 0..8 {
            let token = token(&svc, "felix", &consumer).await;
            let (status, _, _) = send(&svc, current(&token)).await;
            assert_eq!(status, 200);
            let (status, _, body) = send(&svc, current(&with_high_s(&token))).await;
            assert_eq!(status, 401, "{}: {body}", app.backend());
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_family_keeps_its_deadline_and_ends_whole_from_any_member(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.session_idle_timeout_secs = 4;
            c.session_absolute_lifetime_secs = 3600;
        });
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        let first = token(&svc, "felix", &consumer).await;
        let owner = |session: &str| {
            json!({ "sessionId": session, "customerId": customer_number(&app, &user),
                "institutionId": "ASSENT" })
        };
        // Idle, replaced, idle again: a chain longer than any fixed number of hops.
        let mut newest = first.clone();
        for _ in 0..34 {
            app.advance(Duration::seconds(5));
            let (status, _, body) = send(&svc, resume(&key, owner(&sid(&newest)))).await;
            assert_eq!(status, 201, "{}: {body}", app.backend());
            newest = body["accessToken"].as_str().unwrap().to_owned();
            assert_eq!(exp(&newest), exp(&first), "an idle replacement keeps the deadline");
        }
        let (status, _, _) = send(&svc, current(&newest)).await;
        assert_eq!(status, 200);

        let (status, _, _) = send(&svc, terminate(&key, &sid(&first))).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(&svc, current(&newest)).await;
        assert_eq!(
            status,
            401,
            "{}: terminating the first session ends the newest",
            app.backend()
        );
        let (status, _, body) = send(&svc, resume(&key, owner(&sid(&newest)))).await;
        assert_eq!((status, problem_type(&body)), (422, "terminatedSession"));
        assert_eq!(app.audit_count("session.terminated"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_customer_ending_an_old_session_of_a_family_ends_its_newest(db) {
        let app = TestApp::with_file_delivery(db, |c| c.session_idle_timeout_secs = 4);
        let svc = app.service().await;
        let key = system_key(&app);
        let consumer = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        let first = token(&svc, "felix", &consumer).await;
        app.advance(Duration::seconds(5));
        let owner = json!({ "sessionId": sid(&first), "customerId": customer_number(&app, &user),
            "institutionId": "ASSENT" });
        let (status, _, body) = send(&svc, resume(&key, owner)).await;
        assert_eq!(status, 201, "{body}");
        let replacement = body["accessToken"].as_str().unwrap().to_owned();
        let other = token(&svc, "felix", &consumer).await;

        let uri = format!("/obp/v5.1.0/my/sessions/{}", sid(&first));
        let (status, _, body) = send(&svc, authed(TestRequest::delete().uri(&uri), &other)).await;
        assert_eq!(status, 204, "{body}");
        let (status, _, _) = send(&svc, current(&replacement)).await;
        assert_eq!(status, 401, "{}", app.backend());
        let (status, _, _) = send(&svc, current(&other)).await;
        assert_eq!(status, 200, "another family goes on");
    }
}

backend_test! {
    #[actix_web::test]
    async fn replicas_sweeping_at_once_delete_each_row_once(db) {
        use assentd::services::customer_sessions::housekeeping;
        let app = TestApp::new(db);
        let svc = app.service().await;
        let consumer = app.consumer(true);
        sign_up(&svc, "felix").await;
        for _ in 0..6 {
            let token = token(&svc, "felix", &consumer).await;
            let (status, _, _) =
                send(&svc, authed(TestRequest::delete().uri("/my/logins/current"), &token)).await;
            assert!(status < 300);
        }
        let replicas: Vec<_> = (0..4).map(|_| app.replica()).collect();
        let later = app.now() + Duration::days(31);
        let swept: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = replicas
                .iter()
                .map(|state| {
                    scope.spawn(move || {
                        let mut conn = state.pool.get().unwrap();
                        housekeeping(state, &mut conn, later).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let deleted: usize = swept.iter().flatten().map(|s| s.sessions).sum();
        assert_eq!(deleted, 6, "{}: {swept:?}", app.backend());

        // While one replica sweeps, another skips its round on PostgreSQL.
        let mut holder = app.state.pool.get().unwrap();
        let inner = assent_repository::coordination::if_not_running_elsewhere(
            &mut holder,
            assent_repository::coordination::locks::HOUSEKEEPING,
            |_| {
                let mut conn = replicas[0].pool.get().unwrap();
                housekeeping(&replicas[0], &mut conn, later)
            },
        )
        .unwrap()
        .expect("the holder itself runs");
        match app.backend() {
            "postgres" => assert_eq!(inner, None, "skipped while another sweeps"),
            _ => assert_eq!(inner, Some(Default::default()), "SQLite writers take turns"),
        }
    }
}
