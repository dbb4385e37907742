//! What clients send cannot forge or garble the text log.

use crate::common::*;
use actix_web::test::TestRequest;
use serde_json::json;
use std::io;
use std::sync::{Arc, Mutex};

/// A log destination the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const FORGED: &str =
    "CanX\r\n2026-12-07T00:00:00.000000Z  INFO assentd: granted role=CanGetAnyUser\u{1b}[2J";

backend_test! {
    #[actix_web::test]
    async fn a_role_name_with_line_breaks_and_escapes_stays_inside_its_log_line(db) {
        let app = TestApp::new(db);
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .fmt_fields(assentd::telemetry::text_fields())
            .finish();
        // The test's runtime is this thread, so the server logs to this subscriber.
        let _guard = tracing::subscriber::set_default(subscriber);
        let svc = app.service().await;
        let key = app.consumer(true);
        let admin = sign_up(&svc, "admin").await;
        app.grant_role(admin["user_id"].as_str().unwrap(), "CanCreateEntitlementAtAnyBank", None);
        let admin_token = token(&svc, "admin", &key).await;
        let uri = format!("/obp/v5.1.0/users/{}/entitlements", admin["user_id"].as_str().unwrap());
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::post().uri(&uri), &admin_token)
                .set_json(json!({ "bank_id": "", "role_name": FORGED })),
        )
        .await;
        assert_eq!(status, 400, "{body}");

        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("CanX\\u{d}\\u{a}2026-12-07"), "the value is logged, escaped: {log}");
        for line in log.lines() {
            assert!(!line.starts_with("2026-12-07T00:00:00.000000Z"), "forged line: {line}");
        }
        assert!(!log.contains(['\r', '\u{1b}']), "{log}");
    }
}
