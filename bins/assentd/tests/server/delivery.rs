//! Code delivery through real receivers the tests start: an SMTP server (mailin) that gets
//! whole messages, and an HTTP receiver whose webhook requests are checked with the Standard
//! Webhooks reference library. SQLite and PostgreSQL.

use crate::common::*;
use actix_web::test::TestRequest;
use assent_repository::testing::TestDatabase;
use mailin_embedded::{Handler, Response, SslConfig, response};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

const PHONE: &str = "+447700900123";

/// One message as an SMTP server received it: the envelope and the DATA.
#[derive(Clone, Debug, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

/// A mailin handler that keeps every message (one clone per SMTP session).
#[derive(Clone, Default)]
struct Recorder {
    received: Arc<Mutex<Vec<Received>>>,
    current: Received,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = std::mem::take(&mut self.current);
        self.received.lock().unwrap().push(message);
        response::OK
    }
}

/// An SMTP server on a free local port (it runs until the test process ends): its
/// `smtp://` URL and the messages it received.
fn smtp_server() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let recorder = Recorder::default();
    let received = recorder.received.clone();
    let mut server = mailin_embedded::Server::new(recorder);
    server
        .with_name("relay.test")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_num_threads(2)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (url, received)
}

/// A message's header fields (unfolded, in order) and its body.
fn parse_mail(data: &[u8]) -> (Vec<(String, String)>, String) {
    let text = String::from_utf8(data.to_vec()).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a blank line ends the header");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            fields.last_mut().expect("a continuation follows a field").1 += line;
        } else {
            let (name, value) = line.split_once(':').expect("name: value");
            fields.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    (fields, body.to_owned())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    let found: Vec<&str> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(found.len(), 1, "one {name} field in {fields:?}");
    found[0]
}

fn start_email_verification(token: &str) -> TestRequest {
    authed(
        TestRequest::post().uri("/obp/v5.1.0/users/current/contact-verifications"),
        token,
    )
    .set_json(json!({ "channel": "EMAIL" }))
}

backend_test! {
    #[actix_web::test]
    async fn a_code_email_arrives_whole_through_an_smtp_server(db) {
        let (smtp, received) = smtp_server();
        let app = TestApp::with_config(db, |c| {
            c.otp_delivery = smtp.clone();
            c.otp_email_from = "Example Bank <codes@bank.example>".into();
        });
        let svc = app.service().await;
        let key = app.consumer(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        let (status, _, started) = send(&svc, start_email_verification(&token)).await;
        assert_eq!(status, 201, "{}: {started}", app.backend());

        let mails = received.lock().unwrap().clone();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].from, "codes@bank.example");
        assert_eq!(mails[0].to, ["felix@example.com"]);
        let (fields, body) = parse_mail(&mails[0].data);
        assert_eq!(field(&fields, "From"), "\"Example Bank\" <codes@bank.example>");
        assert_eq!(field(&fields, "To"), "felix@example.com");
        assert_eq!(field(&fields, "Subject"), "Your security code");
        assert_eq!(field(&fields, "MIME-Version"), "1.0");
        assert_eq!(field(&fields, "Content-Type"), "text/plain; charset=utf-8");
        let message_id = field(&fields, "Message-ID");
        let local = message_id
            .strip_prefix('<')
            .and_then(|id| id.strip_suffix("@bank.example>"))
            .unwrap_or_else(|| panic!("{message_id}"));
        assert!(local.len() == 32 && local.bytes().all(|b| b.is_ascii_hexdigit()), "{message_id}");
        // The date is the server's clock's, not the machine's.
        let date = OffsetDateTime::parse(field(&fields, "Date"), &Rfc2822).unwrap();
        assert_eq!(date, app.now());

        // The code in the message is the one the server expects.
        let code: String = body
            .split("Your security code is ")
            .nth(1)
            .unwrap_or_else(|| panic!("{body}"))
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(code.len(), 6, "{body}");
        let id = started["verification_id"].as_str().unwrap();
        let (status, _, verified) = send(
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
        assert_eq!((status, &verified["status"]), (200, &json!("VERIFIED")), "{verified}");

        // Every message has an id of its own.
        sign_up(&svc, "sowmya").await;
        let other = crate::common::token(&svc, "sowmya", &key).await;
        let (status, _, _) = send(&svc, start_email_verification(&other)).await;
        assert_eq!(status, 201);
        let mails = received.lock().unwrap().clone();
        assert_eq!(mails.len(), 2);
        let (fields, _) = parse_mail(&mails[1].data);
        assert_ne!(field(&fields, "Message-ID"), message_id);
        assert_eq!(mails[1].to, ["sowmya@example.com"]);
    }
}

/// One request a webhook receiver got.
#[derive(Clone, Debug)]
struct Hook {
    request_line: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

/// An HTTP receiver on a free local port that answers its requests with `statuses` in turn
/// (the last one again once they run out): its address and the requests it got.
fn webhook_receiver(statuses: &[u16]) -> (String, Arc<Mutex<Vec<Hook>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let seen = hooks.clone();
    let statuses = statuses.to_vec();
    std::thread::spawn(move || {
        for (turn, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = http::HeaderMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.append(
                    http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                    http::HeaderValue::from_str(value.trim()).unwrap(),
                );
            }
            let length = headers
                .get("content-length")
                .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push(Hook {
                request_line: request_line.trim_end().to_owned(),
                headers,
                body,
            });
            let status = statuses[turn.min(statuses.len() - 1)];
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
    });
    (address, hooks)
}

/// A pre-login code by SMS (Temenos), which goes to the phone delivery.
fn request_sms_code() -> TestRequest {
    TestRequest::post()
        .uri("/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB")
        .set_json(json!({ "Phone": PHONE }))
}

fn app_with_webhook(db: TestDatabase, url: String) -> TestApp {
    TestApp::with_config(db, |c| {
        c.otp_phone_delivery = Some(format!("webhook:{url}"))
    })
}

fn header<'a>(hook: &'a Hook, name: &str) -> &'a str {
    hook.headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from {:?}", hook.headers))
        .to_str()
        .unwrap()
}

/// The receiver's own check of a request: the signature the Standard Webhooks reference
/// library computes from the secret, id, timestamp and body the request carries.
fn expected_signature(hook: &Hook) -> String {
    let timestamp: i64 = header(hook, "webhook-timestamp").parse().unwrap();
    standardwebhooks::Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .sign(header(hook, "webhook-id"), timestamp, &hook.body)
        .unwrap()
}

#[expect(
    clippy::disallowed_methods,
    reason = "the reference verifier judges a timestamp by the system clock; the test sets the app's clock to it"
)]
fn system_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

backend_test! {
    #[actix_web::test]
    async fn a_webhook_request_is_signed_as_standard_webhooks_say(db) {
        let (address, hooks) = webhook_receiver(&[200]);
        // Credentials in the URL, percent-encoded as URLs need them.
        let app = app_with_webhook(db, format!("http://sms-gw:p%40ss%3Aword@{address}/sms?route=eu"));
        let svc = app.service().await;
        let (status, _, reply) = send(&svc, request_sms_code()).await;
        assert_eq!(status, 200, "{}: {reply}", app.backend());

        let hook = hooks.lock().unwrap()[0].clone();
        assert_eq!(hook.request_line, "POST /sms?route=eu HTTP/1.1", "no credentials in the request line");
        assert_eq!(header(&hook, "authorization"), "Basic c21zLWd3OnBAc3M6d29yZA==");
        assert_eq!(header(&hook, "user-agent"), format!("assentd/{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(header(&hook, "content-type"), "application/json");
        let id = header(&hook, "webhook-id");
        assert!(id.starts_with("msg_") && !id.contains('.'), "{id}");
        // The attempt's time by the server's clock.
        assert_eq!(header(&hook, "webhook-timestamp"), app.now().unix_timestamp().to_string());
        let signature = header(&hook, "webhook-signature");
        assert!(signature.starts_with("v1,"), "{signature}");
        assert_eq!(signature, expected_signature(&hook));
        let body: Value = serde_json::from_slice(&hook.body).unwrap();
        assert_eq!((&body["channel"], &body["destination"]), (&json!("sms"), &json!(PHONE)));
        let code = body["code"].as_str().unwrap();
        assert!(body["text"].as_str().unwrap().contains(code));

        // The reference library's whole check, timestamp tolerance included, passes on a
        // request sent at the current time; a changed body or another key fails it.
        app.state.clock.set(system_now());
        let (status, _, _) = send(&svc, request_sms_code()).await;
        assert_eq!(status, 200);
        let hook = hooks.lock().unwrap()[1].clone();
        assert_ne!(header(&hook, "webhook-id"), id, "a new message has a new id");
        let verifier = standardwebhooks::Webhook::new(WEBHOOK_SECRET).unwrap();
        verifier.verify(&hook.body, &hook.headers).unwrap();
        let mut altered = hook.body.clone();
        let last = altered.len() - 2;
        altered[last] ^= 1;
        assert!(verifier.verify(&altered, &hook.headers).is_err());
        let stranger = standardwebhooks::Webhook::new("whsec_c3RyYW5nZXItc3RyYW5nZXItc3RyYW5nZXI=").unwrap();
        assert!(stranger.verify(&hook.body, &hook.headers).is_err());
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_webhook_answering_500_twice_then_200_gets_the_code_on_the_third_attempt(db) {
        let (address, hooks) = webhook_receiver(&[500, 503, 200]);
        let app = app_with_webhook(db, format!("http://{address}/sms"));
        let svc = app.service().await;
        let (status, _, reply) = send(&svc, request_sms_code()).await;
        assert_eq!(status, 200, "{}: {reply}", app.backend());
        let hooks = hooks.lock().unwrap().clone();
        assert_eq!(hooks.len(), 3);
        for hook in &hooks {
            // One message: the same id and body every time, each attempt signed afresh.
            assert_eq!(header(hook, "webhook-id"), header(&hooks[0], "webhook-id"));
            assert_eq!(hook.body, hooks[0].body);
            assert_eq!(header(hook, "webhook-signature"), expected_signature(hook));
        }
        // The code that arrived on the third attempt is the one the flow expects.
        let body: Value = serde_json::from_slice(&hooks[2].body).unwrap();
        let verify = TestRequest::post()
            .uri("/services/data/v1/RBObjects/operations/DbxUser/verifyOTPPreLoginMB")
            .set_json(json!({
                "MFAAttributes": {
                    "serviceKey": reply["MFAAttributes"]["serviceKey"],
                    "OTP": {
                        "securityKey": reply["MFAAttributes"]["OTP"]["securityKey"],
                        "otp": body["code"],
                    },
                },
            }));
        let (status, _, verified) = send(&svc, verify).await;
        assert_eq!((status, &verified["isOtpVerified"]), (200, &json!("true")), "{verified}");
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_webhook_that_keeps_failing_ends_in_503_with_retry_after_after_three_attempts(db) {
        let (address, hooks) = webhook_receiver(&[500]);
        let app = app_with_webhook(db, format!("http://{address}/sms"));
        let svc = app.service().await;
        let (status, headers, reply) = send(&svc, request_sms_code()).await;
        assert_eq!((status, &reply["errcode"]), (503, &json!(10812)), "{}: {reply}", app.backend());
        assert_eq!(headers.get("retry-after").unwrap(), "30");
        assert_eq!(hooks.lock().unwrap().len(), 3, "bounded attempts");
        let metrics = actix_web::test::call_and_read_body(
            &svc,
            TestRequest::get().uri("/metrics").to_request(),
        )
        .await;
        let metrics = String::from_utf8(metrics.to_vec()).unwrap();
        assert!(
            metrics.contains(r#"assent_otp_delivery_failures_total{channel="sms"} 1"#)
                && metrics.contains(r#"assent_otp_codes_sent_total{channel="sms"} 0"#),
            "the failure is counted by channel:\n{metrics}"
        );
    }
}

backend_test! {
    #[actix_web::test]
    async fn a_webhook_refusing_the_request_is_not_asked_again(db) {
        let (address, hooks) = webhook_receiver(&[401, 200]);
        let app = app_with_webhook(db, format!("http://{address}/sms"));
        let svc = app.service().await;
        let (status, headers, reply) = send(&svc, request_sms_code()).await;
        assert_eq!((status, &reply["errcode"]), (503, &json!(10812)), "{}: {reply}", app.backend());
        assert!(headers.contains_key("retry-after"));
        assert_eq!(hooks.lock().unwrap().len(), 1, "a 4xx is final");
    }
}

#[actix_web::test]
async fn a_webhook_with_a_malformed_or_missing_secret_does_not_start() {
    for secret in [
        None,
        Some("whsec_dG9vIHNob3J0"),
        Some("not-a-webhook-secret"),
    ] {
        let data_dir = std::env::temp_dir().join(format!("assent-http-{}", uuid::Uuid::new_v4()));
        let db = TestDatabase::sqlite();
        let config = assentd::config::Config {
            database_url: db.url().to_owned(),
            data_dir: data_dir.clone(),
            otp_phone_delivery: Some("webhook:https://sms.example/send".into()),
            otp_webhook_secret: secret.map(Into::into),
            ..assentd::config::Config::default()
        };
        let error = assentd::state::AppState::build(config)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("otp_webhook_secret"), "{secret:?}: {error}");
        let _ = std::fs::remove_dir_all(data_dir);
    }
}
