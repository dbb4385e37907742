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
        assert_eq!(status, 409);
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

const TEMENOS: &str = "/services/data/v1/RBObjects/operations/DbxUser";

/// The reference's request example for both code requests, as it shows it: a `serviceKey`
/// this server never issued, OTP values, a made-up `securityKey`, and no `Phone`.
fn temenos_request_example() -> serde_json::Value {
    json!({
        "MFAAttributes": {
            "serviceKey": "3ac66eb8-1276-4445-9f7c-6aa1317cea7c",
            "OTP": { "phone": "326522", "email": "700214", "securityKey": "abcd" }
        }
    })
}

fn temenos(op: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("{TEMENOS}/{op}"))
        .set_json(body)
}

/// Every destination shows a mask and one opaque reference, as `referenceId` and `unmasked`:
/// 128 keyed bits in hex, neither the contact nor the code. Returns the references.
fn references(body: &serde_json::Value, contacts: &[&str], code: &str) -> Vec<String> {
    let communication = &body["MFAAttributes"]["customerCommunication"];
    let mut out = Vec::new();
    for channel in ["phone", "email"] {
        for entry in communication[channel].as_array().unwrap() {
            let reference = entry["referenceId"].as_str().unwrap();
            assert_eq!(entry["unmasked"], reference, "{body}");
            assert_eq!(reference.len(), 32, "{body}");
            assert!(reference.bytes().all(|b| b.is_ascii_hexdigit()), "{body}");
            assert_ne!(reference, code, "{body}");
            for contact in contacts {
                let digits: String = contact.chars().filter(char::is_ascii_digit).collect();
                assert!(digits.is_empty() || !reference.contains(&digits), "{body}");
                assert!(!reference.contains(contact), "{body}");
            }
            out.push(reference.to_owned());
        }
    }
    out
}

backend_test! {
    #[actix_web::test]
    async fn temenos_pre_login_takes_the_references_request_with_a_phone(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        // As the reference shows it, without the Phone it marks mandatory: the missing field
        // is named, nothing is sent.
        let (status, _, reply) =
            send(&svc, temenos("requestOTPPreLoginMB", temenos_request_example())).await;
        assert_eq!(status, 400, "{}: {reply}", app.backend());
        assert_eq!(reply["errcode"], 10800);
        assert_eq!(reply["httpStatusCode"], "400");
        assert!(reply["errmsg"].as_str().unwrap().starts_with("Phone is required"), "{reply}");
        assert!(app.messages().is_empty());

        // With a Phone, the unknown serviceKey starts a new flow with a key of the server's.
        let mut example = temenos_request_example();
        example["Phone"] = json!("+447700900123");
        let (status, _, body) = send(&svc, temenos("requestOTPPreLoginMB", example.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["opstatus"], "0");
        assert_eq!(body["httpStatusCode"], "0");
        assert_eq!(body["success"], "OTP request sent successfully.");
        let attributes = &body["MFAAttributes"];
        let service_key = attributes["serviceKey"].as_str().unwrap().to_owned();
        assert_ne!(service_key, "3ac66eb8-1276-4445-9f7c-6aa1317cea7c");
        assert_eq!(attributes["isMFARequired"], "true");
        assert_eq!(attributes["MFAType"], "SECURE_ACCESS_CODE");
        assert_eq!(attributes["communicationType"], "DISPLAY_ALL");
        let messages = app.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["destination"], "+447700900123");
        let code = app.code_of(&service_key);
        let first = references(&body, &["+447700900123"], &code);
        assert_eq!(first.len(), 1);
        assert_eq!(attributes["customerCommunication"]["phone"][0]["masked"], "+44XXXXXXXX23");

        // A resend keeps the flow's reference; another flow to the same phone has its own.
        let security_key = attributes["OTP"]["securityKey"].as_str().unwrap().to_owned();
        app.advance(time::Duration::seconds(30));
        let resend = json!({ "Phone": "+447700900123", "MFAAttributes": {
            "serviceKey": service_key, "OTP": { "securityKey": security_key } } });
        let (status, _, again) = send(&svc, temenos("requestOTPPreLoginMB", resend.clone())).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(references(&again, &["+447700900123"], &app.code_of(&service_key)), first);
        let (_, _, other) = send(&svc, temenos("requestOTPPreLoginMB", example)).await;
        assert_ne!(other["MFAAttributes"]["serviceKey"], service_key.as_str());
        let other_code = app.code_of(other["MFAAttributes"]["serviceKey"].as_str().unwrap());
        assert_ne!(references(&other, &["+447700900123"], &other_code), first);

        // A resend names the flow's phone too, as the reference marks Phone mandatory.
        let sent = app.messages().len();
        let without_phone = json!({ "MFAAttributes": {
            "serviceKey": service_key, "OTP": { "securityKey": again["MFAAttributes"]["OTP"]["securityKey"] } } });
        let (status, _, reply) = send(&svc, temenos("requestOTPPreLoginMB", without_phone)).await;
        assert_eq!((status, reply["errcode"].as_u64()), (400, Some(10800)), "{reply}");
        assert_eq!(app.messages().len(), sent);

        // A resend cannot point the flow at another phone.
        let security_key = again["MFAAttributes"]["OTP"]["securityKey"].as_str().unwrap();
        app.advance(time::Duration::seconds(30));
        let (status, _, reply) = send(&svc, temenos("requestOTPPreLoginMB", json!({
            "Phone": "+4915112345678",
            "MFAAttributes": { "serviceKey": service_key, "OTP": { "securityKey": security_key } }
        }))).await;
        assert_eq!((status, reply["errcode"].as_u64()), (409, Some(10821)), "{reply}");
        assert!(reply["errmsg"].as_str().unwrap().starts_with("Phone is not"), "{reply}");
        assert_eq!(app.messages().len(), sent);
    }
}

backend_test! {
    #[actix_web::test]
    async fn temenos_security_questions_request_takes_the_references_example(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let mut user = sign_up_body("sowmya");
        user["phone_number"] = json!("+447700900123");
        let (status, _, _) =
            send(&svc, TestRequest::post().uri("/obp/v5.1.0/users").set_json(user)).await;
        assert_eq!(status, 201);
        app.verify_contacts("sowmya");
        let key = app.consumer(true);
        let token = token(&svc, "sowmya", &key).await;
        let kony = |body: serde_json::Value| {
            temenos("requestUpdateSecurityQuestionsOTP", body)
                .insert_header(("X-Kony-Authorization", token.clone()))
        };

        // The example as shown: its serviceKey names no flow of this user, so one starts, with
        // the code to the registered phone and email only.
        let (status, _, body) = send(&svc, kony(temenos_request_example())).await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        assert_eq!(body["httpStatusCode"], "0");
        let service_key = body["MFAAttributes"]["serviceKey"].as_str().unwrap().to_owned();
        assert_ne!(service_key, "3ac66eb8-1276-4445-9f7c-6aa1317cea7c");
        let code = app.code_of(&service_key);
        let refs = references(&body, &["+447700900123", "sowmya@example.com"], &code);
        assert_eq!(refs.len(), 2);
        assert_ne!(refs[0], refs[1]);
        let mut destinations: Vec<String> = app
            .messages()
            .iter()
            .map(|m| m["destination"].as_str().unwrap().to_owned())
            .collect();
        destinations.sort();
        assert_eq!(destinations, ["+447700900123", "sowmya@example.com"]);

        // A Phone or Email in the request may name the registered contact, never another.
        let sent = app.messages().len();
        for (field, value) in [("Phone", "+4915112345678"), ("Email", "mallory@example.com")] {
            let mut body = temenos_request_example();
            body[field] = json!(value);
            let (status, _, reply) = send(&svc, kony(body)).await;
            assert_eq!((status, reply["errcode"].as_u64()), (409, Some(10821)), "{reply}");
            assert!(reply["errmsg"].as_str().unwrap().starts_with(field), "{reply}");
        }
        assert_eq!(app.messages().len(), sent, "nothing sent");
        let mut body = temenos_request_example();
        body["Phone"] = json!("+44 7700 900123");
        body["Email"] = json!("Sowmya@Example.com");
        let (status, _, reply) = send(&svc, kony(body)).await;
        assert_eq!(status, 200, "{reply}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn lock_status_shows_the_last_failed_login_as_the_reference_does(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felixsmith").await;
        let admin = sign_up(&svc, "admin").await;
        app.grant_role(admin["user_id"].as_str().unwrap(), "CanReadUserLockedStatus", None);
        app.grant_role(admin["user_id"].as_str().unwrap(), "CanUnlockUser", None);
        let admin_token = token(&svc, "admin", &key).await;
        let status_of = |uri: &str| {
            authed(TestRequest::get().uri(uri), &admin_token)
        };

        // Never failed: no date to show.
        let (status, _, body) = send(&svc, status_of("/obp/v3.1.0/users/felixsmith/lock-status")).await;
        assert_eq!(status, 200);
        assert_eq!(body["last_failure_date"], serde_json::Value::Null);

        // A failure, then a success: the count is reset, the date stays, as the reference's
        // example shows ({"bad_attempts_since_last_success_or_reset": 0, "last_failure_date":
        // "1100-01-01T01:01:01Z"}).
        app.advance(time::Duration::seconds(61) + time::Duration::milliseconds(250));
        let (status, _) = login(&svc, "felixsmith", "Wrong-Pass-1", &key).await;
        assert_eq!(status, 401);
        app.advance(time::Duration::minutes(2));
        let (status, _) = login(&svc, "felixsmith", PASSWORD, &key).await;
        assert_eq!(status, 201);
        let (status, _, body) = send(&svc, status_of("/obp/v3.1.0/users/felixsmith/lock-status")).await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        assert_eq!(
            body,
            json!({
                "username": "felixsmith",
                "bad_attempts_since_last_success_or_reset": 0,
                "last_failure_date": "2026-12-03T00:01:01Z",
            })
        );
        // Unlocking resets the count, not the history.
        let (status, _, body) = send(
            &svc,
            authed(TestRequest::put().uri("/obp/v5.1.0/users/felixsmith/lock-status"), &admin_token),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["last_failure_date"], "2026-12-03T00:01:01Z");
    }
}

backend_test! {
    #[actix_web::test]
    async fn the_references_consent_and_apiture_examples_get_the_documented_answers(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        app.add_bank("gh.29.uk");
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "eveline").await;
        app.verify_contacts("eveline");
        let token = token(&svc, "eveline", &key).await;
        // The reference's Create Consent (EMAIL) example, as shown.
        let example = json!({
            "everything": false,
            "views": [{ "bank_id": "GENODEM1GLS",
                "account_id": "8ca8a7e4-6d02-40e3-a129-0b2bf89de9f0", "view_id": "owner" }],
            "entitlements": [{ "bank_id": "GENODEM1GLS", "role_name": "CanGetCustomer" }],
            "consumer_id": "7uy8a7e4-6d02-40e3-a129-0b2bf89de8uh",
            "email": "eveline@example.com",
            "valid_from": "2020-02-07T08:43:34Z",
            "time_to_live": 3600
        });
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v3.1.0/banks/gh.29.uk/my/consents/EMAIL"),
                &token,
            )
            .set_json(example.clone()),
        )
        .await;
        // Its consumer_id is one this server never issued: the reference's own OBP-30019.
        assert_eq!(status, 404, "{}: {body}", app.backend());
        assert_eq!(
            message(&body),
            "OBP-30019: Consumer not found. Please specify a valid value for CONSUMER_ID."
        );
        // Without it (the reference marks it optional), the valid_from in the past is refused.
        let mut example = example;
        example.as_object_mut().unwrap().remove("consumer_id");
        let (status, _, body) = send(
            &svc,
            authed(
                TestRequest::post().uri("/obp/v3.1.0/banks/gh.29.uk/my/consents/EMAIL"),
                &token,
            )
            .set_json(example),
        )
        .await;
        assert_eq!(status, 422, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-35043"), "{body}");
        assert!(app.messages().is_empty());

        // Apiture's resumeCustomerSession example: its customerId breaks the reference's own
        // schema (digits only), which is what is enforced.
        let system = system_key(&app);
        let (status, headers, problem) = send(
            &svc,
            system_call("/system/resumedCustomerSessions", &system, json!({
                "sessionId": "login#1#6cf93423ff5647ad#4062217d6f04337fd31a76cea23ab7aad8bce93e71a9f0756daaf3cd1ae8579fea1601beb0521b7dbdac0ff4e",
                "customerId": "9fa37c6c-2198",
                "institutionId": "BOOIL"
            })),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        assert_problem(status, &headers, &problem);
        assert!(problem["detail"].as_str().unwrap().contains("customerId"), "{problem}");
        // terminateCustomerSession's example: an unknown session, 204 as for any.
        let (status, _, _) = send(
            &svc,
            system_call("/system/terminatedCustomerSessions", &system, json!({
                "sessionId": "login#1#6cf93423ff5647ad#4062217d6f04337fd31a76cea23ab7aad8bce93e71a9f0756daaf3cd1ae8579fea1601beb0521b7dbdac0ff4e"
            })),
        )
        .await;
        assert_eq!(status, 204);
    }
}

backend_test! {
    #[actix_web::test]
    async fn the_references_implicit_consent_example_goes_to_the_registered_phone(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        app.add_bank("gh.29.uk");
        let svc = app.service().await;
        let key = app.consumer(true);
        let mut user = sign_up_body("eveline");
        user["phone_number"] = json!("+491701234567");
        let (status, _, _) =
            send(&svc, TestRequest::post().uri("/obp/v5.1.0/users").set_json(user)).await;
        assert_eq!(status, 201);
        app.verify_contacts("eveline");
        let token = token(&svc, "eveline", &key).await;
        let create = |method: &str, body: serde_json::Value| {
            authed(
                TestRequest::post().uri(&format!("/obp/v3.1.0/banks/gh.29.uk/my/consents/{method}")),
                &token,
            )
            .set_json(body)
        };
        // The reference's Example 2, as shown: its phone number, written with spaces, is the
        // registered one.
        let (status, _, body) = send(&svc, create("IMPLICIT", json!({
            "everything": true,
            "views": [],
            "entitlements": [],
            "phone_number": "+49 170 1234567"
        }))).await;
        assert_eq!(status, 201, "{}: {body}", app.backend());
        assert_eq!(body["status"], "INITIATED");
        let messages = app.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["destination"], "+491701234567");

        // Another contact is refused whatever the method, and nothing is sent.
        for (method, body) in [
            ("IMPLICIT", json!({ "everything": true, "phone_number": "+49 170 7654321" })),
            ("SMS", json!({ "everything": true, "email": "mallory@example.com" })),
            ("EMAIL", json!({ "everything": true, "phone_number": "+49 170 7654321" })),
        ] {
            let (status, _, reply) = send(&svc, create(method, body)).await;
            assert_eq!(status, 409, "{method}: {reply}");
            assert!(message(&reply).starts_with("OBP-35046"), "{reply}");
        }
        assert_eq!(app.messages().len(), 1);
    }
}
