//! Metrics: security events counted once their transaction commits, every label bounded.
//! SQLite and PostgreSQL.

use crate::common::*;
use crate::consents::{accepted, answer, challenge_of, owner_view, request_consent, revoke, setup};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

async fn scrape<S: TestService>(svc: &S) -> String {
    let response =
        actix_web::test::call_service(svc, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), 200);
    String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap()
}

/// The value of the series written exactly as `series` (name and labels).
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{metrics}"))
        .parse()
        .unwrap()
}

backend_test! {
    #[actix_web::test]
    async fn logins_lockouts_and_session_ends_are_counted_by_outcome(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        assert_eq!(login(&svc, "felix", PASSWORD, "no-such-consumer").await.0, 401);
        let max = app.state.lockout.max_bad_attempts();
        for _ in 0..max {
            assert_eq!(login(&svc, "felix", "wrong password", &key).await.0, 401);
        }
        assert_ne!(login(&svc, "felix", PASSWORD, &key).await.0, 201, "locked by now");
        let (status, _, _) =
            send(&svc, authed(TestRequest::delete().uri("/my/logins/current"), &token)).await;
        assert!(status < 300);

        let metrics = scrape(&svc).await;
        assert_eq!(value(&metrics, r#"assent_logins_total{outcome="success"}"#), 1.0);
        assert_eq!(
            value(&metrics, r#"assent_logins_total{outcome="wrong_password"}"#),
            f64::from(max)
        );
        assert_eq!(value(&metrics, r#"assent_logins_total{outcome="locked"}"#), 1.0);
        assert_eq!(value(&metrics, r#"assent_logins_total{outcome="unknown_consumer"}"#), 1.0);
        assert_eq!(value(&metrics, r#"assent_lockouts_total{cause="failures"}"#), 1.0);
        assert_eq!(
            value(&metrics, r#"assent_session_terminations_total{reason="logout"}"#),
            1.0
        );
        assert!(
            metrics
                .lines()
                .any(|line| line.starts_with("assent_build_info{version=\"") && line.ends_with(" 1")),
            "{metrics}"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn codes_answers_and_consent_changes_are_counted(db) {
        // The session outlives the code, to answer after the code's validity.
        let app = TestApp::with_file_delivery(db, |config| config.session_idle_timeout_secs = 3_600);
        let svc = app.service().await;
        let felix = setup(&app, &svc, "felix").await;
        let (consent_id, _) = accepted(&app, &svc, &felix).await;
        // A second consent, answered wrong once; then the first is revoked.
        let (status, _, body) = send(
            &svc,
            request_consent(
                &felix.token,
                json!({ "everything": false, "views": [owner_view()], "entitlements": [] }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let second = body["consent_id"].as_str().unwrap();
        // Not a code at all: refused without counting.
        let (status, _, _) = send(&svc, answer(&felix.token, second, "000000x")).await;
        assert!(status >= 400);
        let code = app.code_of(&challenge_of(&app, second));
        let (status, _, _) = send(&svc, answer(&felix.token, second, &wrong_code(&code))).await;
        assert!(status >= 400);
        let (status, _, _) = send(
            &svc,
            revoke(&felix.token, &consent_id),
        )
        .await;
        assert!(status < 300);

        let metrics = scrape(&svc).await;
        assert_eq!(value(&metrics, r#"assent_otp_codes_sent_total{channel="email"}"#), 2.0);
        assert_eq!(value(&metrics, r#"assent_otp_delivery_failures_total{channel="email"}"#), 0.0);
        assert_eq!(value(&metrics, r#"assent_otp_answers_total{outcome="right"}"#), 1.0);
        assert_eq!(value(&metrics, r#"assent_otp_answers_total{outcome="wrong"}"#), 1.0);
        assert_eq!(
            value(&metrics, r#"assent_consent_status_changes_total{status="ACCEPTED"}"#),
            1.0
        );
        assert_eq!(
            value(&metrics, r#"assent_consent_status_changes_total{status="REVOKED"}"#),
            1.0
        );

        // An answer after the code's validity ended.
        app.advance(time::Duration::seconds(
            i64::try_from(app.state.config.otp_validity_secs).unwrap() + 1,
        ));
        let (status, _, body) = send(&svc, answer(&felix.token, second, &code)).await;
        assert_eq!(status, 403, "{body}");
        let metrics = scrape(&svc).await;
        assert_eq!(value(&metrics, r#"assent_otp_answers_total{outcome="expired"}"#), 1.0);
    }
}

backend_test! {
    #[actix_web::test]
    async fn invented_methods_and_paths_create_no_new_series(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        send(&svc, TestRequest::get().uri("/health/live")).await;
        let before = scrape(&svc).await;
        let series = |metrics: &str| metrics.lines().filter(|l| !l.starts_with('#')).count();
        for n in 0..40 {
            let method = Method::from_bytes(format!("FOO{n}").as_bytes()).unwrap();
            send(&svc, TestRequest::default().method(method).uri(&format!("/nowhere/{n}"))).await;
            send(&svc, TestRequest::default().method(Method::from_bytes(b"BAR").unwrap()).uri("/health/live")).await;
        }
        let after = scrape(&svc).await;
        assert!(!after.contains("FOO") && !after.contains("BAR"), "{after}");
        assert!(after.contains(r#"method="other""#), "{after}");
        // Forty invented methods on forty paths: one method value, two routes.
        let other_requests = after
            .lines()
            .filter(|l| l.starts_with("assent_http_requests_total{") && l.contains(r#"method="other""#))
            .count();
        assert_eq!(other_requests, 2, "{after}");
        let mut methods: Vec<&str> = after
            .lines()
            .filter_map(|l| l.split_once(r#"method=""#)?.1.split_once('"'))
            .map(|(method, _)| method)
            .collect();
        methods.sort_unstable();
        methods.dedup();
        assert_eq!(methods, ["GET", "other"], "{after}");
        assert!(series(&after) > series(&before));
    }
}
