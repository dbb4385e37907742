//! The HTTP surface through `actix_web::test`, on SQLite and (when configured) PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_identity::UserId;
use assent_repository::testing::TestDatabase;
use assent_repository::users;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

backend_test! {
    #[actix_web::test]
    async fn sign_up_log_in_read_profile_log_out(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let user = sign_up(&svc, "Felix.Smith").await;
        assert_eq!(user["username"], "Felix.Smith");
        assert_eq!(user["email"], "Felix.Smith@example.com");
        assert_eq!(user["provider"], "http://127.0.0.1:8080");
        assert_eq!(user["provider_id"], "Felix.Smith");
        assert_eq!(user["entitlements"], json!({ "list": [] }));
        assert!(uuid::Uuid::parse_str(user["user_id"].as_str().unwrap()).is_ok());
        assert!(user.get("password").is_none());

        // Usernames are case-insensitive at login too.
        let token = token(&svc, "felix.smith", &key).await;
        for version in ["v3.1.0", "v4.0.0", "v5.1.0"] {
            let (status, _, body) = send(
                &svc,
                TestRequest::get()
                    .uri(&format!("/obp/{version}/users/current"))
                    .insert_header(("Authorization", format!("DirectLogin token=\"{token}\""))),
            )
            .await;
            assert_eq!(status, 200, "{} {version}: {body}", app.backend());
            assert_eq!(body, user);
        }

        let (status, _, _) = send(
            &svc,
            TestRequest::delete()
                .uri("/my/logins/current")
                .insert_header(("DirectLogin", format!("token={token}"))),
        )
        .await;
        assert_eq!(status, 204);
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(
            status,
            401,
            "{}: token must die with its session",
            app.backend()
        );
        assert!(message(&body).starts_with("OBP-20003"), "{body}");
        assert!(headers.contains_key("www-authenticate"));
        let (status, _, _) = send(
            &svc,
            TestRequest::delete()
                .uri("/my/logins/current")
                .insert_header(("DirectLogin", format!("token={token}"))),
        )
        .await;
        assert_eq!(status, 401);

        assert_eq!(app.audit_count("user.created"), 1);
        assert_eq!(app.audit_count("login.success"), 1);
        assert_eq!(app.audit_count("session.terminated"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn entitlements_show_in_the_profile(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let user = sign_up(&svc, "felix").await;
        let user_id = user["user_id"].as_str().unwrap();
        app.grant_role(user_id, "CanGetAnyUser", None);
        let token = token(&svc, "felix", &key).await;
        let (status, _, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 200);
        let list = body["entitlements"]["list"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["role_name"], "CanGetAnyUser");
        assert_eq!(list[0]["bank_id"], "");
    }
}

backend_test! {
    #[actix_web::test]
    async fn bad_sign_ups_get_clear_errors_and_store_nothing(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let post = || TestRequest::post().uri("/obp/v4.0.0/users");
        let mut cases: Vec<(TestRequest, u16, &str)> = vec![
            (
                post()
                    .insert_header(("content-type", "application/json"))
                    .set_payload("{bad"),
                400,
                "OBP-10001",
            ),
            (
                post().set_json(json!({ "username": "felix" })),
                400,
                "OBP-10001",
            ),
            (post().set_json(json!([1, 2])), 400, "OBP-10001"),
        ];
        let variants: Vec<(&str, Value, &str)> = vec![
            ("username", json!(42), "OBP-10001"),
            ("password", json!("short"), "OBP-30207"),
            ("password", json!("Abcdefg1![x"), "OBP-30207"),
            ("password", json!("a".repeat(513)), "OBP-30207"),
            ("password", json!("Password123!"), "OBP-30270"),
            ("password", json!("Felixsmith#2025"), "OBP-30270"),
            ("username", json!("felix smith"), "OBP-30271"),
            ("username", json!("x".repeat(101)), "OBP-30271"),
            ("username", json!(""), "OBP-30271"),
            ("email", json!("not-an-email"), "OBP-30272"),
            ("first_name", json!(""), "OBP-30273"),
            ("last_name", json!("y".repeat(101)), "OBP-30273"),
        ];
        for (field, value, code) in &variants {
            let mut body = sign_up_body("felixsmith");
            body[*field] = value.clone();
            // Well formed, and refused by the password policy the document cannot state.
            let status = if *code == "OBP-30270" { 422 } else { 400 };
            cases.push((post().set_json(body), status, ""));
        }
        let expected: Vec<&str> = ["OBP-10001"; 3]
            .into_iter()
            .chain(variants.iter().map(|(_, _, code)| *code))
            .collect();
        for ((req, status, _), code) in cases.into_iter().zip(expected) {
            let (got, _, body) = send(&svc, req).await;
            assert_eq!(got, status, "{}: {code}: {body}", app.backend());
            assert!(
                message(&body).starts_with(code),
                "expected {code}, got {body}"
            );
            assert_eq!(body["code"], status);
        }
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            users::count_by_username(&mut conn, &app.state.config.provider, "felixsmith").unwrap(),
            0
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn duplicate_usernames_are_refused_ignoring_case(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        sign_up(&svc, "felix").await;
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v3.1.0/users")
                .set_json(sign_up_body("FELIX")),
        )
        .await;
        assert_eq!(status, 409);
        assert_eq!(
            message(&body),
            "OBP-30274: User with the same username already exists."
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn fifty_parallel_sign_ups_of_one_username_create_exactly_one_user(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let requests = (0..50).map(|_| {
            send(
                &svc,
                TestRequest::post()
                    .uri("/obp/v5.1.0/users")
                    .set_json(sign_up_body("racer")),
            )
        });
        let results = futures_util::future::join_all(requests).await;
        let created = results.iter().filter(|(s, _, _)| *s == 201).count();
        let conflicts = results.iter().filter(|(s, _, _)| *s == 409).count();
        assert_eq!((created, conflicts), (1, 49), "{}", app.backend());
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            users::count_by_username(&mut conn, &app.state.config.provider, "racer").unwrap(),
            1
        );
        assert_eq!(app.audit_count("user.created"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn oversized_bodies_are_refused_with_413(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let big = format!("{{\"username\":\"{}\"}}", "a".repeat(1024 * 1024));
        let (status, _, body) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/users")
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
        assert_eq!(status, 413);
        assert!(message(&body).starts_with("OBP-10413"), "{body}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn direct_login_errors_follow_obp(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let disabled = app.consumer(false);
        sign_up(&svc, "felix").await;
        let direct = |header: (&'static str, String)| {
            TestRequest::post()
                .uri("/my/logins/direct")
                .insert_header(header)
        };
        let cases: Vec<(TestRequest, u16, String)> = vec![
            (
                TestRequest::post().uri("/my/logins/direct"),
                400,
                "OBP-20082".into(),
            ),
            (
                direct(("Authorization", "Bearer abc".into())),
                400,
                "OBP-20083".into(),
            ),
            (
                direct(("DirectLogin", format!("username=felix, consumer_key={key}"))),
                400,
                "OBP-20002: These DirectLogin parameters are missing: password".into(),
            ),
            (
                direct(("DirectLogin", "consumer_key=x".into())),
                400,
                "OBP-20002: These DirectLogin parameters are missing: username, password".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=fe<lix, password=x, consumer_key={key}"),
                )),
                400,
                "OBP-20011".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=felix, password=\"open, consumer_key={key}"),
                )),
                400,
                "OBP-20011".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!(
                        "username={}, password=x, consumer_key={key}",
                        "a".repeat(101)
                    ),
                )),
                400,
                "OBP-20010".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=felix, password=\"{PASSWORD}\", consumer_key=unknown"),
                )),
                401,
                "OBP-20008".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=felix, password=\"{PASSWORD}\", consumer_key={disabled}"),
                )),
                401,
                "OBP-20008".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=felix, password=\"Wrong-Pass-1\", consumer_key={key}"),
                )),
                401,
                "OBP-20004".into(),
            ),
            (
                direct((
                    "DirectLogin",
                    format!("username=nobody, password=\"{PASSWORD}\", consumer_key={key}"),
                )),
                401,
                "OBP-20004".into(),
            ),
        ];
        for (req, status, expected) in cases {
            let (got, _, body) = send(&svc, req).await;
            assert_eq!(got, status, "{}: {expected}: {body}", app.backend());
            assert!(
                message(&body).starts_with(&expected),
                "expected {expected}, got {body}"
            );
        }
        // Unknown user and wrong password give the very same answer.
        let (_, unknown) = login(&svc, "nobody", PASSWORD, &key).await;
        let (_, wrong) = login(&svc, "felix", "Wrong-Pass-1", &key).await;
        assert_eq!(unknown, wrong);
        assert_eq!(app.audit_count("login.failure"), 4);
        assert_eq!(app.audit_count("login.success"), 0);
    }
}

fn tampered_variants(token: &str) -> Vec<String> {
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let mut variants = Vec::new();
    // One byte changed in each part.
    for part in 0..3 {
        let mut bytes = token.as_bytes().to_vec();
        let offset: usize = parts[..part].iter().map(|p| p.len() + 1).sum::<usize>() + 5;
        bytes[offset] = if bytes[offset] == b'A' { b'B' } else { b'A' };
        variants.push(String::from_utf8(bytes).unwrap());
    }
    // alg: none, with and without the signature.
    let mut none = header.clone();
    none["alg"] = json!("none");
    variants.push(format!("{}.{}.", encode(&none), parts[1]));
    variants.push(format!("{}.{}.{}", encode(&none), parts[1], parts[2]));
    // HS256 signed with the public JWKS as the secret (key confusion).
    let mut hs = header.clone();
    hs["alg"] = json!("HS256");
    variants.push(format!("{}.{}.{}", encode(&hs), parts[1], parts[2]));
    // Claims changed to another subject, signature kept.
    let mut other = claims.clone();
    other["sub"] = json!(uuid::Uuid::new_v4().to_string());
    variants.push(format!("{}.{}.{}", parts[0], encode(&other), parts[2]));
    // Another token type.
    let mut typ = header;
    typ["typ"] = json!("JWT");
    variants.push(format!("{}.{}.{}", encode(&typ), parts[1], parts[2]));
    variants.push("not-a-jwt".into());
    variants
}

backend_test! {
    #[actix_web::test]
    async fn tampered_and_foreign_tokens_are_refused(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let good = token(&svc, "felix", &key).await;
        for bad in tampered_variants(&good) {
            let (status, _, body) = send(&svc, current(&bad)).await;
            assert_eq!(status, 401, "{}: accepted {bad}", app.backend());
            assert!(message(&body).starts_with("OBP-20003"), "{body}");
        }
        // A token from another server (another key) naming a real session here.
        let other = TestApp::new(TestDatabase::sqlite());
        let other_svc = other.service().await;
        let other_key = other.consumer(true);
        sign_up(&other_svc, "felix").await;
        let foreign = token(&other_svc, "felix", &other_key).await;
        let (status, _, _) = send(&svc, current(&foreign)).await;
        assert_eq!(status, 401);
        // The good token still works.
        let (status, _, _) = send(&svc, current(&good)).await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn missing_credentials_answer_not_logged_in(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        for req in [
            TestRequest::get().uri("/obp/v5.1.0/users/current"),
            TestRequest::get()
                .uri("/obp/v5.1.0/users/current")
                .insert_header(("Authorization", "Bearer x")),
            TestRequest::get()
                .uri("/obp/v5.1.0/users/current")
                .insert_header(("DirectLogin", "username=x")),
        ] {
            let (status, headers, body) = send(&svc, req).await;
            assert_eq!(status, 401);
            assert_eq!(
                message(&body),
                "OBP-20001: User not logged in. Authentication is required!"
            );
            assert_eq!(
                headers.get("www-authenticate").unwrap(),
                "DirectLogin realm=\"assent\""
            );
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_live_session_is_refused_while_its_consumer_is_disabled(db) {
        use assent_repository::consumers;
        let app = TestApp::new(db);
        let svc = app.service().await;
        let (consumer_id, key) = app.consumer_with_id(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        assert_eq!(send(&svc, current(&token)).await.0, 200);
        // Disabling through the API also ends the consumer's sessions; here the flag alone
        // changes, as when a login commits its session just as the consumer is disabled.
        let mut conn = app.state.pool.get().unwrap();
        assert!(consumers::set_enabled(&mut conn, &consumer_id, false).unwrap());
        let (status, _, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 401, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-20003"), "{body}");
        assert!(consumers::set_enabled(&mut conn, &consumer_id, true).unwrap());
        assert_eq!(send(&svc, current(&token)).await.0, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn idle_sessions_expire(db) {
        let app = TestApp::with_config(db, |c| c.session_idle_timeout_secs = 2);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 200);
        // Alive to the last instant of the timeout; that read is activity, so the timeout
        // starts again from it.
        app.advance(time::Duration::seconds(2) - time::Duration::MICROSECOND);
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 200, "{}: idle session refused early", app.backend());
        app.advance(time::Duration::seconds(2));
        let (status, _, body) = send(&svc, current(&token)).await;
        assert_eq!(
            status,
            401,
            "{}: idle session still accepted",
            app.backend()
        );
        assert!(message(&body).starts_with("OBP-20003"));
    }
}

backend_test! {
    #[actix_web::test]
    async fn reading_the_profile_records_activity_that_keeps_the_session_alive(db) {
        // users/current reads in one snapshot and records the session's activity after it.
        let app = TestApp::with_config(db, |c| c.session_idle_timeout_secs = 3);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        for _ in 0..3 {
            app.advance(time::Duration::milliseconds(1_400));
            let (status, _, body) = send(&svc, current(&token)).await;
            assert_eq!(status, 200, "{}: {body}", app.backend());
        }
        // 4.2 s after login, past the idle timeout, alive: the reads were recorded as activity.
        app.advance(time::Duration::seconds(3));
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(
            status,
            401,
            "{}: idle session still accepted",
            app.backend()
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn stronger_argon2_parameters_rehash_on_login(db) {
        let url = db.url().to_owned();
        let first = TestApp::new(db);
        let svc = first.service().await;
        let user = sign_up(&svc, "felix").await;
        let key = first.consumer(true);
        let data_dir = first.data_dir.clone();
        let stronger = TestApp::with_config(TestDatabase::sqlite(), |c| {
            c.database_url = url.clone();
            c.data_dir = data_dir.clone();
            c.argon2_iterations = 3;
        });
        let svc = stronger.service().await;
        token(&svc, "felix", &key).await;
        let mut conn = stronger.state.pool.get().unwrap();
        let id = UserId(uuid::Uuid::parse_str(user["user_id"].as_str().unwrap()).unwrap());
        let row = users::find_by_id(&mut conn, &id).unwrap().unwrap();
        assert!(row.password_hash.contains("t=3"), "{}", row.password_hash);
    }
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_answer_in_each_dialect() {
    let app = TestApp::new(TestDatabase::sqlite());
    let svc = app.service().await;
    let (status, _, body) = send(&svc, TestRequest::get().uri("/obp/v5.1.0/nothing")).await;
    assert_eq!(status, 404);
    assert!(message(&body).starts_with("OBP-10404"));
    let (status, _, body) = send(&svc, TestRequest::get().uri("/elsewhere")).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(404)));

    let (status, headers, body) = send(&svc, TestRequest::put().uri("/obp/v3.1.0/users")).await;
    assert_eq!(status, 405);
    assert_eq!(headers.get("allow").unwrap(), "POST, GET");
    assert!(message(&body).starts_with("OBP-10405"));

    let (status, headers, body) = send(&svc, TestRequest::get().uri("/system/sessions/x")).await;
    assert_eq!(status, 404);
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["status"], 404);
    assert_eq!(body["instance"], "/system/sessions/x");
    for field in ["id", "type", "title", "occurredAt", "detail"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }

    let (status, _, body) = send(
        &svc,
        TestRequest::post().uri("/services/data/v1/RBObjects/operations/DbxUser/nothing"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["httpStatusCode"], "404");
    assert_ne!(body["opstatus"], "0");
    assert!(body["errcode"].is_number() && body["errmsg"].is_string());
}

backend_test! {
    #[actix_web::test]
    async fn no_answer_may_be_cached_or_sniffed(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let login = TestRequest::post().uri("/my/logins/direct").insert_header((
            "DirectLogin",
            format!("username=felix, password=\"{PASSWORD}\", consumer_key={key}"),
        ));
        let (status, headers, body) = send(&svc, login).await;
        assert_eq!(status, 201, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let answers = [
            ("token", headers),
            ("profile", send(&svc, current(&token)).await.1),
            ("refusal", send(&svc, current(&format!("{token}x"))).await.1),
            (
                "unknown route",
                send(&svc, TestRequest::get().uri("/obp/v5.1.0/nothing"))
                    .await
                    .1,
            ),
            (
                "Apiture",
                send(&svc, TestRequest::get().uri("/system/sessions/x"))
                    .await
                    .1,
            ),
        ];
        for (what, headers) in answers {
            assert_eq!(headers.get("cache-control").unwrap(), "no-store", "{what}");
            assert_eq!(
                headers.get("x-content-type-options").unwrap(),
                "nosniff",
                "{what}"
            );
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn health_metrics_certs_and_request_ids(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let (status, headers, body) = send(&svc, TestRequest::get().uri("/health/ready")).await;
        assert_eq!(status, 200);
        assert_eq!(body["database"], app.backend());
        assert!(headers.contains_key("x-request-id"));
        let (status, _, _) = send(&svc, TestRequest::get().uri("/health/live")).await;
        assert_eq!(status, 200);

        let (status, _, jwks) = send(&svc, TestRequest::get().uri("/obp/v3.1.0/certs")).await;
        assert_eq!(status, 200);
        let jwk = &jwks["keys"][0];
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["crv"].as_str(),
                jwk["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(jwk.get("d").is_none(), "private key published");

        let response =
            actix_web::test::call_service(&svc, TestRequest::get().uri("/metrics").to_request())
                .await;
        let text = String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap();
        assert!(text.contains("assent_http_requests_total{method=\"GET\",route=\"/health/ready\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("assent_db_pool_connections"));
    }
}

#[actix_web::test]
async fn openapi_describes_every_route() {
    let app = TestApp::new(TestDatabase::sqlite());
    let svc = app.service().await;
    let (status, _, doc) = send(&svc, TestRequest::get().uri("/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["servers"],
        json!([{ "url": app.state.config.provider.trim_end_matches('/') }]),
        "clients call the server's public base URL"
    );
    for scheme in ["directLogin", "dAuth"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    let endpoints = assentd::api::endpoints();
    for endpoint in &endpoints {
        let method = endpoint.method.as_str().to_lowercase();
        assert!(
            doc["paths"][&endpoint.path][&method].is_object(),
            "{} {} missing from OpenAPI",
            endpoint.method,
            endpoint.path
        );
    }
    // Every operation has an id of its own (OpenAPI requires it; code generators name their
    // functions by it): an OBP operation's copies carry their version.
    let mut ids = std::collections::HashMap::<String, String>::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} names both {other} and {method} {path}");
            }
        }
    }
    assert!(ids.contains_key("create_user") && ids.contains_key("create_user_v3_1_0"));
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        endpoints.len(),
        "OpenAPI documents routes that do not exist"
    );
}

backend_test! {
    #[actix_web::test]
    async fn a_busy_database_answers_503_with_retry_after_in_each_dialect(db) {
        let app = TestApp::with_one_impatient_connection(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;

        let held = app.state.pool.get().unwrap();
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 503, "{}: {body}", app.backend());
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert_eq!(
            message(&body),
            "OBP-10503: The service is busy. Try again shortly."
        );
        let apiture = TestRequest::post()
            .uri("/system/resumedCustomerSessions")
            .insert_header(("Authorization", "Bearer some-system-key"))
            .set_json(json!({ "sessionId": "0".repeat(32) }));
        let (status, headers, body) = send(&svc, apiture).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert!(
            body["type"].as_str().unwrap().ends_with("serviceBusy"),
            "{body}"
        );
        let temenos = TestRequest::post()
            .uri("/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB")
            .set_json(json!({ "Phone": "+44 7700 900123" }));
        let (status, headers, body) = send(&svc, temenos).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert_eq!(body["errcode"], json!(10503), "{body}");

        // With the connection free again, all is well.
        drop(held);
        let (status, _, _) = send(&svc, current(&token)).await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_control_character_in_the_query_string_is_refused_before_any_query(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        for uri in [
            "/obp/v5.1.0/users/felix/lock-status?provider=%00",
            "/obp/v5.1.0/management/audit-events?kind=a%00b",
            "/obp/v5.1.0/users?limit=%0a5",
        ] {
            let (status, _, body) = send(
                &svc,
                TestRequest::get()
                    .uri(uri)
                    .insert_header(("DirectLogin", format!("token={token}"))),
            )
            .await;
            assert_eq!(status, 400, "{}: {uri}: {body}", app.backend());
            assert!(message(&body).starts_with("OBP-10044"), "{body}");
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn the_session_check_with_holdings_reads_what_the_separate_reads_do(db) {
        use assent_repository::{accounts, entitlements, sessions};
        let app = TestApp::new(db);
        let svc = app.service().await;
        // A user who opened an account (so holds its owner view), with two roles.
        let felix = crate::consents::setup(&app, &svc, "felix").await;
        let user_id = felix.user_id.as_str();
        app.grant_role(user_id, "CanGetAnyUser", None);
        app.advance(time::Duration::seconds(1));
        app.grant_role(user_id, "CanCreateAccount", Some("bank.one"));
        let claims = claims(&felix.token);
        let session_id =
            assent_session::SessionId::parse(claims["sid"].as_str().unwrap()).unwrap();
        let mut conn = app.state.pool.get().unwrap();
        let (check, holdings) = sessions::find_for_check_with_holdings(&mut conn, &session_id)
            .unwrap()
            .unwrap();
        assert_eq!(check.user.user_id, user_id);
        assert_eq!(holdings.entitlements, entitlements::list_for_user(&mut conn, user_id).unwrap());
        assert_eq!(holdings.entitlements.len(), 2);
        assert_eq!(holdings.views, accounts::grants_of_user(&mut conn, user_id).unwrap());
        assert!(!holdings.views.is_empty());
        let unknown = assent_session::SessionId::parse(&"0".repeat(32)).unwrap();
        assert!(sessions::find_for_check_with_holdings(&mut conn, &unknown).unwrap().is_none());
    }
}
