//! Reading the audit trail over HTTP: role, filters, paging, and no secret in any event; on
//! SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use time::Duration;
use time::format_description::well_known::Rfc3339;

fn events(token: &str, query: &str) -> TestRequest {
    authed(
        TestRequest::get().uri(&format!("/obp/v5.1.0/management/audit-events{query}")),
        token,
    )
}

fn kinds(body: &Value) -> Vec<String> {
    body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

backend_test! {
    #[actix_web::test]
    async fn an_operator_with_the_role_reads_the_trail_newest_first_filtered_and_paged(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        let auditor = sign_up(&svc, "auditor").await;
        let auditor_id = auditor["user_id"].as_str().unwrap().to_owned();
        let token = token(&svc, "auditor", &key).await;
        let (status, _, body) = send(&svc, events(&token, "")).await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("CanReadAuditEvents"), "{body}");

        app.grant_role(&auditor_id, "CanReadAuditEvents", None);
        let start = app.now();
        for name in ["a1", "a2", "a3"] {
            app.advance(Duration::minutes(1));
            sign_up(&svc, name).await;
        }
        let (status, _, body) = send(&svc, events(&token, "?kind=user.created")).await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        let created: Vec<&str> = body["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["detail"]["username"].as_str().unwrap())
            .collect();
        assert_eq!(created, ["a3", "a2", "a1", "auditor"], "newest first");
        let first = &body["audit_events"][0];
        assert!(first["event_id"].is_string() && first["user_id"].is_string(), "{first}");
        let occurred_at = first["occurred_at"].as_str().unwrap();
        assert!(time::OffsetDateTime::parse(occurred_at, &Rfc3339).is_ok(), "{occurred_at}");

        // Paging never repeats or skips an event.
        let (_, _, page1) = send(&svc, events(&token, "?kind=user.created&limit=2")).await;
        let (_, _, page2) =
            send(&svc, events(&token, "?kind=user.created&limit=2&offset=2")).await;
        let ids = |b: &Value| {
            b["audit_events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["detail"]["username"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!([ids(&page1), ids(&page2)].concat(), ["a3", "a2", "a1", "auditor"]);

        // A time window, and one user's events.
        let from = (start + Duration::seconds(90)).format(&Rfc3339).unwrap();
        let to = (start + Duration::seconds(150)).format(&Rfc3339).unwrap();
        let (status, _, body) = send(
            &svc,
            events(&token, &format!("?kind=user.created&from_date={from}&to_date={to}")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["audit_events"].as_array().unwrap().len(), 1);
        assert_eq!(body["audit_events"][0]["detail"]["username"], "a2");
        let (_, _, body) = send(&svc, events(&token, &format!("?user_id={auditor_id}"))).await;
        assert!(
            body["audit_events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["user_id"] == auditor_id.as_str()),
            "{body}"
        );
        assert!(kinds(&body).contains(&"user.created".to_owned()));

        for (query, code) in [
            ("?limit=0", "OBP-10040"),
            ("?offset=-1", "OBP-10041"),
            ("?from_date=yesterday", "OBP-10045"),
            ("?user_id=auditor", "OBP-10046"),
            ("?sort=asc", "OBP-10044"),
        ] {
            let (status, _, body) = send(&svc, events(&token, query)).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert!(message(&body).starts_with(code), "{query}: {body}");
        }
    }
}

backend_test! {
    #[actix_web::test]
    async fn no_event_holds_a_password_a_token_a_key_or_a_code(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (_, key) = app.consumer_with_id(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        // A wrong password, a contact verification with its code, a logout.
        let (status, _) = login(&svc, "felix", "Wr0ng-password!", &key).await;
        assert_eq!(status, 401);
        let (status, _, started) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v5.1.0/users/current/contact-verifications"),
                &token,
            )
            .set_json(json!({ "channel": "EMAIL" })),
        )
        .await;
        assert_eq!(status, 201, "{started}");
        let id = started["verification_id"].as_str().unwrap().to_owned();
        let code = app.code_of(&id);
        let (status, _, _) = send(
            &svc,
            authed(
                TestRequest::post().uri(&format!(
                    "/obp/v5.1.0/users/current/contact-verifications/{id}/challenge"
                )),
                &token,
            )
            .set_json(json!({ "answer": code })),
        )
        .await;
        assert_eq!(status, 200);
        let system = system_key(&app);

        let mut conn = app.state.pool.get().unwrap();
        let mut trail = String::new();
        let mut ctx = assentd::services::Context::new(&app.state, &mut conn);
        let exported = assentd::services::audit_events::export(&mut ctx, |row| {
            trail.push_str(&format!("{} {} {:?}\n", row.kind, row.detail, row.user_id));
            Ok(())
        })
        .unwrap();
        assert!(exported >= 4, "{trail}");
        assert!(trail.contains("contact.verified") && trail.contains("login"), "{trail}");
        for secret in [PASSWORD, "Wr0ng-password!", token.as_str(), key.as_str(), code.as_str(), system.as_str()] {
            assert!(!trail.contains(secret), "{}: the trail holds a secret: {trail}", app.backend());
        }
    }
}
