//! The reference APIs' own examples (`reference/`), sent as they show them, get the answers
//! they show, or the stricter answer `docs/api.md` lists; on SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use serde_json::json;

backend_test! {
    #[actix_web::test]
    async fn create_user_takes_the_references_fields_without_an_email(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = app.consumer(true);
        // The reference's request body: first_name, last_name, password, username; no email.
        // (Its example password "password" breaks the reference's own OBP-30207 rule.)
        let (status, _, user) = send(
            &svc,
            TestRequest::post().uri("/obp/v3.1.0/users").set_json(json!({
                "first_name": "Tom",
                "last_name": "Smith",
                "password": PASSWORD,
                "username": "felixsmith",
            })),
        )
        .await;
        assert_eq!(status, 201, "{}: {user}", app.backend());
        assert_eq!(user["username"], "felixsmith");
        assert_eq!(user["provider_id"], "felixsmith");
        assert_eq!(user["email"], "", "no email address, as a DAuth user shows it");
        assert_eq!(user["email_verified"], false);
        assert!(user["entitlements"]["list"].as_array().unwrap().is_empty());

        // Without an email address, nothing email-based can be asked for, and nothing is sent.
        let token = token(&svc, "felixsmith", &key).await;
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post()
                    .uri("/obp/v5.1.0/users/current/contact-verifications")
                    .set_json(json!({ "channel": "EMAIL" })),
                &token,
            ),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30291"), "{body}");
        assert!(app.messages().is_empty());

        // A username that is an email address is the email, as the reference's
        // "username(email)" says; stored unverified like any other.
        let (status, _, user) = send(
            &svc,
            TestRequest::post().uri("/obp/v5.1.0/users").set_json(json!({
                "first_name": "Tom",
                "last_name": "Smith",
                "password": PASSWORD,
                "username": "tom.smith@example.com",
            })),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        assert_eq!(user["email"], "tom.smith@example.com");
        assert_eq!(user["email_verified"], false);

        // A given email is still checked.
        let mut bad = sign_up_body("felix2");
        bad["email"] = "not-an-address".into();
        let (status, _, body) = send(
            &svc,
            TestRequest::post().uri("/obp/v5.1.0/users").set_json(bad),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&body).starts_with("OBP-30272"), "{body}");
    }
}
