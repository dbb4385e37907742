//! The OpenAPI document against real refusals: for a sample of answers the server really sends
//! (no credentials, a body too large, a body of the wrong shape, a consumer over its call
//! limit, a database too busy, a limit store out of reach), the operation documents that
//! status, with the content type the answer carries and every header a client is told to read
//! (`Retry-After`, `X-Rate-Limit-*`). SQLite and PostgreSQL.

use crate::common::*;
use actix_web::http::header::HeaderMap;
use actix_web::test::TestRequest;
use assent_identity::rate_limit::CallLimits;
use assent_repository::consumers;
use serde_json::{Value, json};

/// The headers of an answer the document must name when the answer carries them.
const TOLD_HEADERS: [&str; 4] = [
    "retry-after",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
];

fn document() -> Value {
    serde_json::to_value(assentd::api::openapi::document()).unwrap()
}

/// Asserts that `method path` documents the answer received: its status, its media type and
/// the headers of [`TOLD_HEADERS`] it carries.
fn assert_documented(doc: &Value, method: &str, path: &str, status: u16, headers: &HeaderMap) {
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which it does not document: {}",
        operation["responses"]
    );
    let media_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().trim().to_owned())
        .expect("every refusal has a body");
    assert!(
        response["content"][&media_type].is_object(),
        "{method} {path} {status} sent {media_type}, documented {}",
        response["content"]
    );
    let documented: Vec<String> = response["headers"]
        .as_object()
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    for name in TOLD_HEADERS {
        if headers.contains_key(name) {
            assert!(
                documented.iter().any(|d| d == name),
                "{method} {path} {status} sent {name}, documented {documented:?}"
            );
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn refusals_without_credentials_or_with_bad_bodies_are_documented(db) {
        let doc = document();
        let app = TestApp::new(db);
        let svc = app.service().await;

        let (status, headers, _) =
            send(&svc, TestRequest::get().uri("/obp/v5.1.0/users/current")).await;
        assert_eq!(status, 401);
        assert_documented(&doc, "get", "/obp/v5.1.0/users/current", status, &headers);
        let (status, headers, _) = send(
            &svc,
            TestRequest::post()
                .uri("/system/terminatedCustomerSessions")
                .set_json(json!({ "sessionId": "s" })),
        )
        .await;
        assert_eq!(status, 401);
        assert_documented(&doc, "post", "/system/terminatedCustomerSessions", status, &headers);
        let (status, headers, _) = send(
            &svc,
            TestRequest::post()
                .uri("/services/data/v1/RBObjects/operations/DbxUser/getSecurityQuestions")
                .set_json(json!({})),
        )
        .await;
        assert_eq!(status, 401);
        let temenos = "/services/data/v1/RBObjects/operations/DbxUser/getSecurityQuestions";
        assert_documented(&doc, "post", temenos, status, &headers);

        let big = format!("{{\"username\":\"{}\"}}", "a".repeat(1024 * 1024));
        let (status, headers, _) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/users")
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
        assert_eq!(status, 413);
        assert_documented(&doc, "post", "/obp/v5.1.0/users", status, &headers);

        let (status, headers, _) = send(
            &svc,
            TestRequest::post()
                .uri("/obp/v5.1.0/users")
                .insert_header(("content-type", "application/json"))
                .set_payload("[1, 2]"),
        )
        .await;
        assert_eq!(status, 400);
        assert_documented(&doc, "post", "/obp/v5.1.0/users", status, &headers);
        let (status, headers, body) = send(
            &svc,
            TestRequest::post()
                .uri("/system/resumedCustomerSessions")
                .insert_header(("Authorization", "Bearer some-system-key"))
                .set_payload("{"),
        )
        .await;
        assert!(status == 400 || status == 401, "{status}: {body}");
        assert_documented(&doc, "post", "/system/resumedCustomerSessions", status, &headers);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_consumer_over_its_call_limit_gets_a_documented_429(db) {
        let doc = document();
        let app = TestApp::new(db);
        let svc = app.service().await;
        let (consumer_id, key) = app.consumer_with_id(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        {
            let mut conn = app.state.pool.get().unwrap();
            let limits = CallLimits::new([-1, 1, -1, -1, -1, -1]).unwrap();
            assert!(consumers::set_call_limits(&mut conn, &consumer_id, &limits).unwrap());
        }
        assert_eq!(send(&svc, current(&token)).await.0, 200);
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 429, "{}: {body}", app.backend());
        assert!(headers.contains_key("x-rate-limit-reset"), "{headers:?}");
        assert_documented(&doc, "get", "/obp/v5.1.0/users/current", status, &headers);
    }
}

backend_test! {
    #[actix_web::test]
    async fn an_unreachable_limit_store_gets_a_documented_503(db) {
        let doc = document();
        // Nothing listens on port 1.
        let app = TestApp::with_config(db, |config| {
            config.rate_limit_url = Some("redis://127.0.0.1:1/0".into());
        });
        let svc = app.service().await;
        let (consumer_id, key) = app.consumer_with_id(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        {
            let mut conn = app.state.pool.get().unwrap();
            let limits = CallLimits::new([-1, 100, -1, -1, -1, -1]).unwrap();
            assert!(consumers::set_call_limits(&mut conn, &consumer_id, &limits).unwrap());
        }
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 503, "{}: {body}", app.backend());
        assert_documented(&doc, "get", "/obp/v5.1.0/users/current", status, &headers);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_busy_database_gets_a_documented_503_in_each_dialect(db) {
        let doc = document();
        let app = TestApp::with_one_impatient_connection(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;

        let held = app.state.pool.get().unwrap();
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 503, "{}: {body}", app.backend());
        assert_documented(&doc, "get", "/obp/v5.1.0/users/current", status, &headers);
        let (status, headers, body) = send(
            &svc,
            TestRequest::post()
                .uri("/system/resumedCustomerSessions")
                .insert_header(("Authorization", "Bearer some-system-key"))
                .set_json(json!({ "sessionId": "0".repeat(32) })),
        )
        .await;
        assert_eq!(status, 503, "{body}");
        assert_documented(&doc, "post", "/system/resumedCustomerSessions", status, &headers);
        let pre_login = "/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB";
        let (status, headers, body) = send(
            &svc,
            TestRequest::post()
                .uri(pre_login)
                .set_json(json!({ "Phone": "+44 7700 900123" })),
        )
        .await;
        assert_eq!(status, 503, "{body}");
        assert_documented(&doc, "post", pre_login, status, &headers);
        drop(held);
    }
}
