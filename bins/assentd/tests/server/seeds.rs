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

const DAUTH_PRIVATE: &[u8] = include_bytes!("fixtures/dauth-test-private.pem");
const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/server/fixtures");

backend_test! {
    #[actix_web::test]
    async fn dauth_takes_the_references_network_names(db) {
        let app = TestApp::with_config(db, |c| {
            c.dauth_enabled = true;
            c.dauth_public_key_file = Some(format!("{FIXTURE_DIR}/dauth-test-public.pem").into());
            c.dauth_allowed_hosts = vec!["127.0.0.1".into()];
        });
        let svc = app.service().await;
        let key = app.consumer(true);
        let now = app.now().format(&time::format_description::well_known::Rfc3339).unwrap();
        let call = |network: &str, request_id: &str| {
            // The reference's payload, msg_sender included; the consumer key is a real one and
            // the timestamp fresh, which the token's other checks require.
            let claims = json!({
                "smart_contract_address": "0xe123425E7734CE288F8367e1Bb143E90bb3F051224",
                "network_name": network,
                "msg_sender": "0xe12340927f1725E7734CE288F8367e1Bb143E90fhku767",
                "consumer_key": key,
                "timestamp": now,
                "request_id": request_id,
            });
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_rsa_pem(DAUTH_PRIVATE).unwrap(),
            )
            .unwrap();
            TestRequest::get()
                .uri("/obp/v3.1.0/users/current")
                .peer_addr("127.0.0.1:40000".parse().unwrap())
                .insert_header(("DAuth", token))
        };
        for (network, request_id) in [
            ("AIRNODE.TESTNET.ETHEREUM", "0Xe876987694328763492876348928736497869273649"),
            ("ETHEREUM", "0Xe876987694328763492876348928736497869273650"),
        ] {
            let (status, _, user) = send(&svc, call(network, request_id)).await;
            assert_eq!(status, 200, "{}: {network}: {user}", app.backend());
            assert_eq!(user["username"], "0xe123425E7734CE288F8367e1Bb143E90bb3F051224");
            assert_eq!(user["provider_id"], "0xe123425E7734CE288F8367e1Bb143E90bb3F051224");
            assert_eq!(user["provider"], format!("dauth.{network}"));
            assert_eq!(user["email"], "");
            assert!(user["entitlements"]["list"].as_array().unwrap().is_empty());
        }
        // The name's shape is still checked, and a replay is still refused.
        for (network, request_id) in [("AIRNODE..ETHEREUM", "r-bad-1"), ("eth/main", "r-bad-2")] {
            let (status, _, body) = send(&svc, call(network, request_id)).await;
            assert_eq!(status, 401, "{network}: {body}");
        }
        let (status, _, body) = send(
            &svc,
            call("ETHEREUM", "0Xe876987694328763492876348928736497869273650"),
        )
        .await;
        assert_eq!(status, 401);
        assert!(message(&body).starts_with("OBP-20072"), "{body}");
    }
}
