//! Temenos Infinity MFA flows over HTTP, with codes read from the `file` delivery, plus the
//! SMTP and webhook adapters against servers the tests start; SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_identity::password::PasswordCheck;
use assent_identity::secret::SecretString;
use assent_otp::challenge::ChallengeState;
use assent_repository::challenges::{self, ChallengeRow};
use assent_repository::security_answers;
use assent_repository::testing::TestDatabase;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const BASE: &str = "/services/data/v1/RBObjects/operations/DbxUser";
const PHONE: &str = "+44 7700 900123";

fn post(op: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("{BASE}/{op}"))
        .set_json(body)
}

fn mfa(body: &Value) -> (String, String) {
    let attributes = &body["MFAAttributes"];
    (
        attributes["serviceKey"].as_str().unwrap().to_owned(),
        attributes["OTP"]["securityKey"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn verify_body(service_key: &str, security_key: &str, otp: &str) -> Value {
    json!({ "MFAAttributes": { "serviceKey": service_key,
        "OTP": { "securityKey": security_key, "otp": otp } } })
}

/// A success says `"0"` in both `opstatus` and `httpStatusCode`, as the reference's examples do.
fn assert_success(body: &Value) {
    assert_eq!(body["opstatus"], "0", "{body}");
    assert_eq!(body["httpStatusCode"], "0", "{body}");
    assert!(body.get("errcode").is_none(), "{body}");
}

fn errcode(body: &Value) -> u64 {
    body["errcode"].as_u64().unwrap_or(0)
}

backend_test! {
    #[actix_web::test]
    async fn pre_login_flow_end_to_end(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (status, _, body) = send(
            &svc,
            post(
                "requestOTPPreLoginMB",
                json!({ "Phone": PHONE, "Email": "sowmya@example.com" }),
            ),
        )
        .await;
        assert_eq!(status, 200, "{}: {body}", app.backend());
        assert_success(&body);
        let attributes = &body["MFAAttributes"];
        assert_eq!(attributes["MFAType"], "SECURE_ACCESS_CODE");
        assert_eq!(attributes["isMFARequired"], "true");
        assert_eq!(attributes["sacCodeLength"], "6");
        assert_eq!(attributes["remainingResendAttempts"], "3");
        assert_eq!(
            attributes["customerCommunication"]["phone"][0]["masked"],
            "+44XXXXXXXX23"
        );
        assert_eq!(
            attributes["customerCommunication"]["email"],
            json!([]),
            "the flow proves the phone: no code goes to the email"
        );
        let (service_key, security_key) = mfa(&body);

        let sent = app.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["channel"], "sms");
        assert_eq!(sent[0]["destination"], "+447700900123");
        for message in &sent {
            assert_eq!(message["challenge_id"], service_key.as_str());
            assert_eq!(message["purpose"], "temenos:pre-login");
            assert!(message["created_at"].as_str().unwrap().ends_with('Z'));
        }
        let code = app.code_of(&service_key);
        assert_eq!(code.len(), 6);
        let text = body.to_string();
        for secret in [code.as_str(), "447700900123", "sowmya@example.com"] {
            assert!(!text.contains(secret), "the response reveals {secret}");
        }

        // The database holds neither the code nor anything that reveals it.
        let mut conn = app.state.pool.get().unwrap();
        let id = uuid::Uuid::parse_str(&service_key).unwrap();
        let (stored, owner) = challenges::find(&mut conn, &id).unwrap().unwrap();
        let row = ChallengeRow::new(&stored, owner.as_deref());
        // A keyed hash of the code (64 hex digits), not the code; Debug leaves even that out.
        // (Looking for the code in the whole row would find it in a timestamp now and then.)
        assert!(row.code_hash.len() == 64 && row.code_hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(format!("{row:?}").contains("code_hash: [redacted]"));

        let (status, _, body) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &wrong_code(&code)),
            ),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(errcode(&body), 10808);
        assert_eq!(body["opstatus"], "10808");
        assert_eq!(body["httpStatusCode"], "401", "an error says the real status");
        assert_eq!(body["MFAAttributes"]["remainingFailedAttempts"], "4");
        assert!(!body.to_string().contains(&code));

        let (status, _, body) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_success(&body);
        assert_eq!(body["isOtpVerified"], "true");

        let (status, _, body) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!((status, errcode(&body)), (400, 10811), "single use");
        assert_eq!(app.audit_count("otp.verified"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn bad_requests_change_nothing(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        for body in [
            json!({}),
            json!({ "Phone": "07700 900123" }),
            json!({ "Phone": "+44abc" }),
        ] {
            let (status, _, reply) = send(&svc, post("requestOTPPreLoginMB", body)).await;
            assert_eq!((status, errcode(&reply)), (400, 10800), "{reply}");
        }
        let (status, _, reply) = send(
            &svc,
            post(
                "requestOTPPreLoginMB",
                json!({ "Phone": PHONE, "Email": "no" }),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (400, 10801));
        let (status, _, reply) = send(
            &svc,
            TestRequest::post()
                .uri(&format!("{BASE}/requestOTPPreLoginMB"))
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"Phone\": 44"),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (400, 10400));
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body("not-a-key", "x", "123456"),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (404, 10802));
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&uuid::Uuid::new_v4().to_string(), "x", "123456"),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (404, 10802));
        assert!(app.messages().is_empty());

        let (_, _, body) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        let (service_key, security_key) = mfa(&body);
        let code = app.code_of(&service_key);
        for (key, otp, expected) in [
            ("stale", code.as_str(), (400, 10803)),
            (security_key.as_str(), "12345", (400, 10813)),
            (security_key.as_str(), "12345a", (400, 10813)),
        ] {
            let (status, _, reply) = send(
                &svc,
                post("verifyOTPPreLoginMB", verify_body(&service_key, key, otp)),
            )
            .await;
            assert_eq!((status, errcode(&reply)), expected, "{reply}");
        }
        // None of those counted: the right code still verifies.
        let (status, _, _) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn resends_rotate_the_code_keep_the_count_and_are_limited(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_resend_cooldown_secs = 0);
        let svc = app.service().await;
        let (_, _, body) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        let (service_key, first_key) = mfa(&body);
        let first = app.code_of(&service_key);
        let (status, _, _) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &first_key, &wrong_code(&first)),
            ),
        )
        .await;
        assert_eq!(status, 401);

        let resend = |key: &str| {
            post(
                "requestOTPPreLoginMB",
                json!({ "Phone": PHONE, "MFAAttributes": { "serviceKey": service_key,
                    "OTP": { "securityKey": key } } }),
            )
        };
        let (status, _, body) = send(&svc, resend(&first_key)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["MFAAttributes"]["remainingResendAttempts"], "2");
        assert_eq!(body["MFAAttributes"]["remainingFailedAttempts"], "4");
        let (_, second_key) = mfa(&body);
        assert_ne!(first_key, second_key);
        let second = app.code_of(&service_key);

        // The old security key names an old code.
        let (status, _, reply) = send(&svc, resend(&first_key)).await;
        assert_eq!((status, errcode(&reply)), (400, 10803));
        // The old code no longer works, and counts as a wrong answer.
        if first != second {
            let (status, _, reply) = send(
                &svc,
                post(
                    "verifyOTPPreLoginMB",
                    verify_body(&service_key, &second_key, &first),
                ),
            )
            .await;
            assert_eq!(status, 401);
            assert_eq!(reply["MFAAttributes"]["remainingFailedAttempts"], "3");
        }
        let mut key = second_key;
        for left in ["1", "0"] {
            let (status, _, body) = send(&svc, resend(&key)).await;
            assert_eq!(status, 200);
            assert_eq!(body["MFAAttributes"]["remainingResendAttempts"], left);
            key = mfa(&body).1;
        }
        let (status, _, reply) = send(&svc, resend(&key)).await;
        assert_eq!((status, errcode(&reply)), (400, 10804));
        let last = app.code_of(&service_key);
        let (status, _, _) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &key, &last),
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_code_only_answers_its_own_flow(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let mut flows = Vec::new();
        for phone in [PHONE, "+4915112345678"] {
            let (_, _, body) = send(
                &svc,
                post("requestOTPPreLoginMB", json!({ "Phone": phone })),
            )
            .await;
            flows.push(mfa(&body));
        }
        let (first, first_key) = &flows[0];
        let (second, second_key) = &flows[1];
        let first_code = app.code_of(first);
        let second_code = app.code_of(second);
        if first_code != second_code {
            let (status, _, reply) = send(
                &svc,
                post(
                    "verifyOTPPreLoginMB",
                    verify_body(second, second_key, &first_code),
                ),
            )
            .await;
            assert_eq!((status, errcode(&reply)), (401, 10808), "{reply}");
        }
        // Nor does one flow's security key open another.
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(second, first_key, &second_code),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (400, 10803));
        let (status, _, _) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(first, first_key, &first_code),
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn resends_wait_for_the_cooldown(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (_, _, body) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        let (service_key, security_key) = mfa(&body);
        let (status, headers, reply) = send(
            &svc,
            post(
                "requestOTPPreLoginMB",
                json!({ "Phone": PHONE, "MFAAttributes": { "serviceKey": service_key,
                    "OTP": { "securityKey": security_key } } }),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (429, 10805));
        let wait: i64 = headers
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&wait));
        assert_eq!(app.messages().len(), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn parallel_wrong_answers_lock_the_flow_after_five(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_prelogin_requests_per_client_per_hour = 1000);
        let svc = app.service().await;
        let (_, _, body) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        let (service_key, security_key) = mfa(&body);
        let code = app.code_of(&service_key);
        let attempts = (0..30).map(|_| {
            send(
                &svc,
                post(
                    "verifyOTPPreLoginMB",
                    verify_body(&service_key, &security_key, &wrong_code(&code)),
                ),
            )
        });
        let results = futures_util::future::join_all(attempts).await;
        let counted = results
            .iter()
            .filter(|(_, _, b)| errcode(b) == 10808)
            .count();
        let locked = results
            .iter()
            .filter(|(_, _, b)| errcode(b) == 10810)
            .count();
        assert_eq!(
            (counted, locked),
            (4, 26),
            "{}: four wrong answers counted, the fifth locks, the rest find it locked",
            app.backend()
        );
        // The guessing is in the audit trail: five wrong answers, one lock, never the answers.
        {
            let mut conn = app.state.pool.get().unwrap();
            let wrong =
                assent_repository::audit::list_by_kind(&mut conn, "otp.wrong_answer").unwrap();
            let locks = assent_repository::audit::list_by_kind(&mut conn, "otp.locked").unwrap();
            assert_eq!((wrong.len(), locks.len()), (5, 1), "{}", app.backend());
            assert!(
                locks[0].detail.contains(&service_key),
                "{}",
                locks[0].detail
            );
            assert!(wrong.iter().all(|e| !e.detail.contains(&wrong_code(&code))));
        }
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (403, 10810));
    }
}

backend_test! {
    #[actix_web::test]
    async fn expired_codes_are_refused(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_validity_secs = 1);
        let svc = app.service().await;
        let (_, _, body) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        let (service_key, security_key) = mfa(&body);
        let code = app.code_of(&service_key);
        // Open to the last instant of its validity: a wrong code there is only wrong.
        app.advance(time::Duration::seconds(1) - time::Duration::MICROSECOND);
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &wrong_code(&code)),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (401, 10808), "{reply}");
        app.advance(time::Duration::MICROSECOND);
        let (status, _, reply) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (400, 10809));
    }
}

backend_test! {
    #[actix_web::test]
    async fn abuse_limits_per_destination_and_per_client(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.otp_codes_per_destination_per_day = 2;
            c.otp_prelogin_requests_per_client_per_hour = 4;
        });
        let svc = app.service().await;
        let from = |ip: &str| {
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE }))
                .peer_addr(format!("{ip}:40000").parse().unwrap())
        };
        for _ in 0..2 {
            let (status, _, _) = send(&svc, from("192.0.2.1")).await;
            assert_eq!(status, 200);
        }
        let (status, headers, reply) = send(&svc, from("192.0.2.1")).await;
        assert_eq!((status, errcode(&reply)), (429, 10806), "{reply}");
        assert!(headers.contains_key("retry-after"));
        assert_eq!(app.messages().len(), 2, "nothing sent over the limit");

        // Another destination is fine until the client's own allowance is spent.
        let other = post("requestOTPPreLoginMB", json!({ "Phone": "+4915112345678" }))
            .peer_addr("192.0.2.1:40000".parse().unwrap());
        let (status, _, _) = send(&svc, other).await;
        assert_eq!(status, 200);
        let again = post("requestOTPPreLoginMB", json!({ "Phone": "+4915112345679" }))
            .peer_addr("192.0.2.1:40000".parse().unwrap());
        let (status, _, reply) = send(&svc, again).await;
        assert_eq!((status, errcode(&reply)), (429, 10807));
        let elsewhere = post("requestOTPPreLoginMB", json!({ "Phone": "+4915112345679" }))
            .peer_addr("192.0.2.2:40000".parse().unwrap());
        let (status, _, _) = send(&svc, elsewhere).await;
        assert_eq!(status, 200);
    }
}

backend_test! {
    #[actix_web::test]
    async fn behind_a_trusted_proxy_each_client_has_its_own_allowance(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.otp_prelogin_requests_per_client_per_hour = 1;
            c.trusted_proxies = vec!["10.0.0.0/8".into()];
        });
        let svc = app.service().await;
        let via = |peer: &str, forwarded: &str, phone: &str| {
            post("requestOTPPreLoginMB", json!({ "Phone": phone }))
                .peer_addr(format!("{peer}:40000").parse().unwrap())
                .insert_header(("X-Forwarded-For", forwarded.to_owned()))
        };
        // Two customers behind the same proxy: one request each.
        let (status, _, reply) = send(&svc, via("10.0.0.1", "203.0.113.5", PHONE)).await;
        assert_eq!(status, 200, "{reply}");
        let (status, _, reply) = send(&svc, via("10.0.0.1", "203.0.113.6", "+4915112345678")).await;
        assert_eq!(status, 200, "{}: {reply}", app.backend());
        // The first one again, with a forged entry in front: still the first one.
        let (status, _, reply) = send(
            &svc,
            via("10.0.0.1", "198.51.100.1, 203.0.113.5", "+4915112345679"),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (429, 10807), "{reply}");
        // A caller that is not a proxy cannot pick its address with the header.
        let (status, _, _) = send(&svc, via("192.0.2.9", "203.0.113.7", "+4915112345670")).await;
        assert_eq!(status, 200);
        let (status, _, reply) =
            send(&svc, via("192.0.2.9", "203.0.113.8", "+4915112345671")).await;
        assert_eq!((status, errcode(&reply)), (429, 10807), "{reply}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_delivery_failure_leaves_no_usable_flow(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_delivery = "webhook:http://127.0.0.1:9/unreachable".into());
        let svc = app.service().await;
        let (status, _, reply) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (503, 10812), "{reply}");
        let mut conn = app.state.pool.get().unwrap();
        let ended = assent_repository::audit::list_by_kind(&mut conn, "otp.verified").unwrap();
        assert!(ended.is_empty());
        assert_eq!(pending_and_failed(&app), (0, 1), "{}", app.backend());
    }
}

/// How many stored challenges are (pending, failed).
fn pending_and_failed(app: &TestApp) -> (i64, i64) {
    let mut conn = app.state.pool.get().unwrap();
    let count = |conn: &mut _, state| challenges::count_in_state(conn, state).unwrap();
    (
        count(&mut conn, ChallengeState::Pending),
        count(&mut conn, ChallengeState::Failed),
    )
}

/// A one-shot HTTP server: answers every request 200 and keeps the bodies.
fn webhook_server() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

/// A minimal SMTP server: accepts every message and keeps its DATA.
fn smtp_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let mails = Arc::new(Mutex::new(Vec::new()));
    let seen = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            stream.write_all(b"220 localhost test SMTP\r\n").unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let command = line.to_ascii_uppercase();
                let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                    b"250-localhost\r\n250 8BITMIME\r\n"
                } else if command.starts_with("DATA") {
                    stream.write_all(b"354 go ahead\r\n").unwrap();
                    let mut data = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                            break;
                        }
                        data.push_str(&line);
                    }
                    seen.lock().unwrap().push(data);
                    b"250 queued\r\n"
                } else if command.starts_with("QUIT") {
                    let _ = stream.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                stream.write_all(reply).unwrap();
            }
        }
    });
    (url, mails)
}

#[actix_web::test]
async fn smtp_for_email_and_a_webhook_for_text_messages() {
    let (smtp, mails) = smtp_server();
    let (webhook, posts) = webhook_server();
    let app = TestApp::with_config(TestDatabase::sqlite(), |c| {
        c.otp_delivery = smtp.clone();
        c.otp_phone_delivery = Some(format!("webhook:{webhook}"));
    });
    let svc = app.service().await;
    let (_, token) = signed_up_with_phone(&app, &svc, "sowmya").await;
    let (status, _, body) = send(
        &svc,
        kony(&token, "requestUpdateSecurityQuestionsOTP", json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (service_key, security_key) = mfa(&body);

    let posts = posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["channel"], "sms");
    assert_eq!(posts[0]["destination"], "+447700900123");
    assert_eq!(posts[0]["challenge_id"], service_key.as_str());
    let code = posts[0]["code"].as_str().unwrap().to_owned();
    assert!(posts[0]["text"].as_str().unwrap().contains(&code));

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: sowmya@example.com"), "{}", mails[0]);
    assert!(mails[0].contains(&code), "one code for the whole flow");

    let (status, _, _) = send(
        &svc,
        kony(
            &token,
            "verifyUpdateSecurityQuestionsOTP",
            verify_body(&service_key, &security_key, &code),
        ),
    )
    .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn smtp_refuses_text_messages_clearly() {
    let (smtp, _) = smtp_server();
    let app = TestApp::with_config(TestDatabase::sqlite(), |c| c.otp_delivery = smtp.clone());
    let svc = app.service().await;
    let (status, _, reply) = send(
        &svc,
        post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
    )
    .await;
    assert_eq!((status, errcode(&reply)), (503, 10812));
    assert_eq!(pending_and_failed(&app), (0, 1));
}

fn kony(token: &str, op: &str, body: Value) -> TestRequest {
    post(op, body).insert_header(("X-Kony-Authorization", token.to_owned()))
}

async fn signed_up_with_phone<S: TestService>(
    app: &TestApp,
    svc: &S,
    username: &str,
) -> (String, String) {
    let mut body = sign_up_body(username);
    body["phone_number"] = json!("+447700900123");
    let (status, _, user) = send(
        svc,
        TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    app.verify_contacts(username);
    let key = app.consumer(true);
    let token = token(svc, username, &key).await;
    (user["user_id"].as_str().unwrap().to_owned(), token)
}

backend_test! {
    #[actix_web::test]
    async fn security_questions_update_needs_a_fresh_verified_flow(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (user_id, token) = signed_up_with_phone(&app, &svc, "sowmya").await;
        let (_, other_token) = signed_up_with_phone(&app, &svc, "mallory").await;

        let (status, _, reply) = send(&svc, post("getSecurityQuestions", json!({}))).await;
        assert_eq!((status, errcode(&reply)), (401, 10814));
        let (status, _, catalogue) =
            send(&svc, kony(&token, "getSecurityQuestions", json!({}))).await;
        assert_eq!(status, 200);
        assert_success(&catalogue);
        let ids: Vec<String> = catalogue["securityQuestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["questionId"].as_str().unwrap().to_owned())
            .collect();
        assert!(ids.len() >= 5);
        let answers = json!([
            { "questionId": ids[0], "answer": "  Rex " },
            { "questionId": ids[1], "answer": "Oslo" },
            { "questionId": ids[2], "answer": "Saab 900" },
        ]);

        let (status, _, reply) = send(
            &svc,
            kony(
                &token,
                "updateSecurityQuestions",
                json!({
                "serviceKey": uuid::Uuid::new_v4().to_string(), "securityQuestions": answers }),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (404, 10802));

        let (status, _, body) = send(
            &svc,
            kony(&token, "requestUpdateSecurityQuestionsOTP", json!({})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_success(&body);
        let communication = &body["MFAAttributes"]["customerCommunication"];
        assert_eq!(communication["phone"][0]["masked"], "+44XXXXXXXX23");
        assert_eq!(communication["email"][0]["masked"], "sowXXX@example.com");
        let (service_key, security_key) = mfa(&body);
        let code = app.code_of(&service_key);

        // Not verified yet.
        let update = json!({ "serviceKey": service_key, "securityQuestions": answers });
        let (status, _, reply) = send(
            &svc,
            kony(&token, "updateSecurityQuestions", update.clone()),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (403, 10816));

        // Another user can neither verify nor use this flow; the public endpoint cannot either.
        let (status, _, reply) = send(
            &svc,
            kony(
                &other_token,
                "verifyUpdateSecurityQuestionsOTP",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (404, 10802));
        let (status, _, _) = send(
            &svc,
            post(
                "verifyOTPPreLoginMB",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!(status, 404);

        let (status, _, body) = send(
            &svc,
            kony(
                &token,
                "verifyUpdateSecurityQuestionsOTP",
                verify_body(&service_key, &security_key, &code),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_success(&body);
        assert_eq!(body["isOtpVerified"], "true");
        let (status, _, reply) = send(
            &svc,
            kony(&other_token, "updateSecurityQuestions", update.clone()),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (404, 10802));
        let (status, _, reply) = send(
            &svc,
            kony(
                &token,
                "updateSecurityQuestions",
                json!({
                "serviceKey": service_key, "securityQuestions": [answers[0]] }),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (400, 10817));

        let (status, _, body) = send(
            &svc,
            kony(&token, "updateSecurityQuestions", update.clone()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_success(&body);
        let (status, _, reply) = send(&svc, kony(&token, "updateSecurityQuestions", update)).await;
        assert_eq!((status, errcode(&reply)), (400, 10811), "used once");

        let mut conn = app.state.pool.get().unwrap();
        let stored = security_answers::list(&mut conn, &user_id).unwrap();
        assert_eq!(stored.len(), 3);
        // Stored as Argon2id of the normalised answer. (Looking for the answer's letters
        // inside the hash proves nothing: base64 holds "rex" by chance now and then.)
        let expected = [(&ids[0], "rex"), (&ids[1], "oslo"), (&ids[2], "saab 900")];
        for (question, hash) in &stored {
            assert!(hash.starts_with("$argon2id$"), "{hash}");
            let (_, normalised) = expected
                .iter()
                .find(|(id, _)| *id == question)
                .expect("only the enrolled questions are stored");
            let check = app
                .state
                .password_hasher
                .verify(&SecretString::new((*normalised).to_owned()), hash);
            assert!(matches!(check, PasswordCheck::Match { .. }), "{question}");
        }
        assert_eq!(app.audit_count("security_questions.updated"), 1);
    }
}

backend_test! {
    #[actix_web::test]
    async fn without_a_phone_the_code_goes_to_the_email_alone(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "nophone").await;
        app.verify_contacts("nophone");
        let token = token(&svc, "nophone", &key).await;
        let (status, _, body) = send(
            &svc,
            kony(&token, "requestUpdateSecurityQuestionsOTP", json!({})),
        )
        .await;
        assert_eq!(status, 200, "email only: {body}");
        assert!(
            body["MFAAttributes"]["customerCommunication"]["phone"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let (status, _, reply) = send(
            &svc,
            kony(
                "not-a-token",
                "requestUpdateSecurityQuestionsOTP",
                json!({}),
            ),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (401, 10814));
    }
}

backend_test! {
    #[actix_web::test]
    async fn sign_up_takes_an_optional_e164_phone_number(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let mut body = sign_up_body("felix");
        body["phone_number"] = json!("0770 0900 123");
        let (status, _, reply) = send(
            &svc,
            TestRequest::post().uri("/obp/v5.1.0/users").set_json(body),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message(&reply).starts_with("OBP-30282"), "{reply}");
        assert_eq!(app.audit_count("user.created"), 0);
    }
}

backend_test! {
    #[actix_web::test]
    async fn strangers_cannot_spend_a_customers_own_allowance(db) {
        let app = TestApp::with_file_delivery(db, |c| c.otp_codes_per_destination_per_day = 2);
        let svc = app.service().await;
        let (_, token) = signed_up_with_phone(&app, &svc, "sowmya").await;
        for _ in 0..2 {
            let (status, _, _) = send(
                &svc,
                post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
            )
            .await;
            assert_eq!(status, 200);
        }
        let (status, _, reply) = send(
            &svc,
            post("requestOTPPreLoginMB", json!({ "Phone": PHONE })),
        )
        .await;
        assert_eq!((status, errcode(&reply)), (429, 10806));
        let (status, _, body) = send(
            &svc,
            kony(&token, "requestUpdateSecurityQuestionsOTP", json!({})),
        )
        .await;
        assert_eq!(
            status,
            200,
            "{}: the customer's own flows are counted apart: {body}",
            app.backend()
        );
    }
}

backend_test! {
    /// serde reads a struct from an array of its fields as well; a flow's attributes (or the
    /// whole body) sent as an array must be refused, not read as an empty request.
    #[actix_web::test]
    async fn attributes_sent_as_an_array_are_refused_and_send_nothing(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (_, token) = signed_up_with_phone(&app, &svc, "sowmya").await;
        for body in [
            json!({ "MFAAttributes": [null, null] }),
            json!({ "MFAAttributes": { "OTP": [null, null] } }),
            json!([]),
            json!([null]),
        ] {
            let (status, _, reply) = send(
                &svc,
                kony(&token, "requestUpdateSecurityQuestionsOTP", body.clone()),
            )
            .await;
            assert_eq!((status, errcode(&reply)), (400, 10400), "{body}: {reply}");
            let (status, _, reply) = send(&svc, post("requestOTPPreLoginMB", body.clone())).await;
            assert_eq!((status, errcode(&reply)), (400, 10400), "{body}: {reply}");
        }
        assert_eq!(pending_and_failed(&app), (0, 0), "no flow started, no code sent");
    }
}
