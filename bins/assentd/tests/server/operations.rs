//! What operators and clients rely on: health probes (`HEAD` too), readiness that notices a
//! SQLite file moved or replaced, `Retry-After` on every 429 and 503, and 503 in every dialect
//! while the database cannot be reached. SQLite and PostgreSQL.

use crate::common::*;
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use assent_repository::testing::TestDatabase;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Status, `Retry-After` (if any) and body length of a request.
async fn probe<S: TestService>(svc: &S, method: Method, uri: &str) -> (u16, Option<String>, usize) {
    let response = test::call_service(
        svc,
        TestRequest::default().method(method).uri(uri).to_request(),
    )
    .await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::read_body(response).await;
    (status, retry_after, body.len())
}

backend_test! {
    #[actix_web::test]
    async fn head_answers_on_the_health_endpoints_as_get_does_without_a_body(db) {
        let app = TestApp::new(db);
        let svc = app.service().await;
        for uri in ["/health/live", "/health/ready"] {
            let (status, _, length) = probe(&svc, Method::GET, uri).await;
            assert_eq!(status, 200, "{}: GET {uri}", app.backend());
            assert!(length > 0);
            let (status, _, length) = probe(&svc, Method::HEAD, uri).await;
            assert_eq!((status, length), (200, 0), "HEAD {uri}");
        }
        // Other methods are still refused.
        assert_eq!(probe(&svc, Method::POST, "/health/ready").await.0, 405);
    }
}

/// Moves `path` to `to`, as an operator or a stray script might while the server runs.
fn rename(path: &std::path::Path, to: &std::path::Path) {
    std::fs::rename(path, to).unwrap();
}

#[actix_web::test]
async fn readiness_on_sqlite_answers_503_once_the_database_file_is_moved_or_replaced() {
    let db = TestDatabase::sqlite();
    let path = std::path::PathBuf::from(db.url().strip_prefix("sqlite://").unwrap());
    let app = TestApp::new(db);
    let svc = app.service().await;
    let ready = |method| probe(&svc, method, "/health/ready");
    assert_eq!(
        ready(Method::GET).await,
        (200, None, ready(Method::GET).await.2)
    );

    // Moved away: the connections still work, on a file nobody will open again.
    let aside = path.with_extension("moved");
    rename(&path, &aside);
    let (status, retry_after, _) = ready(Method::GET).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("5")));
    let (status, retry_after, length) = ready(Method::HEAD).await;
    assert_eq!(
        (status, retry_after.as_deref(), length),
        (503, Some("5"), 0)
    );
    let (_, _, body) = send(&svc, TestRequest::get().uri("/health/ready")).await;
    assert_eq!(
        body,
        json!({ "status": "unavailable", "database": "sqlite" })
    );

    // Back where it was: the same file, ready again.
    rename(&aside, &path);
    assert_eq!(ready(Method::GET).await.0, 200);

    // Replaced by another file of the same name (a copy, a restored backup).
    let copy = path.with_extension("copy");
    std::fs::copy(&path, &copy).unwrap();
    rename(&copy, &path);
    assert_eq!(ready(Method::GET).await.0, 503);
    assert_eq!(ready(Method::HEAD).await.0, 503);
    // Liveness is another matter: the process runs.
    assert_eq!(probe(&svc, Method::HEAD, "/health/live").await.0, 200);
}

backend_test! {
    #[actix_web::test]
    async fn the_consumer_rate_limit_and_daily_allowances_answer_429_with_retry_after(db) {
        let app = TestApp::with_file_delivery(db, |_| {});
        let svc = app.service().await;
        let (consumer_id, key) = app.consumer_with_id(true);
        sign_up(&svc, "felix").await;
        let token = token(&svc, "felix", &key).await;
        {
            let mut conn = app.state.pool.get().unwrap();
            let limits =
                assent_identity::rate_limit::CallLimits::new([-1, 2, -1, -1, -1, -1]).unwrap();
            assert!(assent_repository::consumers::set_call_limits(&mut conn, &consumer_id, &limits).unwrap());
        }
        app.advance(time::Duration::seconds(20));
        for _ in 0..2 {
            assert_eq!(send(&svc, current(&token)).await.0, 200);
        }
        // OBP: the window (a minute) ends in 40 seconds.
        let (status, headers, body) = send(&svc, current(&token)).await;
        assert_eq!(status, 429, "{}: {body}", app.backend());
        assert!(message(&body).starts_with("OBP-10018"), "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "40");
        assert_eq!(headers.get("x-rate-limit-reset").unwrap(), "40");
        // Temenos, with the same session.
        let kony = TestRequest::post()
            .uri("/services/data/v1/RBObjects/operations/DbxUser/getSecurityQuestions")
            .insert_header(("X-Kony-Authorization", token.clone()))
            .set_json(json!({}));
        let (status, headers, body) = send(&svc, kony).await;
        assert_eq!((status, &body["errcode"]), (429, &json!(10819)), "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "40");

        // A daily allowance comes back at the next UTC midnight.
        app.advance(time::Duration::minutes(1));
        let other_key = app.consumer(true);
        let other = crate::common::token(&svc, "felix", &other_key).await;
        let verify_email = || {
            authed(TestRequest::post().uri("/obp/v5.1.0/users/current/contact-verifications"), &other)
                .set_json(json!({ "channel": "EMAIL" }))
        };
        let mut last = None;
        for _ in 0..=app.state.config.contact_verification_codes_per_day {
            last = Some(send(&svc, verify_email()).await);
        }
        let (status, headers, body) = last.unwrap();
        assert_eq!(status, 429, "{body}");
        let until_midnight = 24 * 3600 - 80;
        assert_eq!(headers.get("retry-after").unwrap(), &until_midnight.to_string());
    }
}

backend_test! {
    #[actix_web::test]
    async fn temenos_allowances_say_when_they_come_back(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.otp_codes_per_destination_per_day = 1;
            c.otp_prelogin_requests_per_client_per_hour = 3;
        });
        let svc = app.service().await;
        app.advance(time::Duration::seconds(3600 + 30 * 60 + 20));
        let pre_login = |phone: &str| {
            TestRequest::post()
                .uri("/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB")
                .set_json(json!({ "Phone": phone }))
        };
        assert_eq!(send(&svc, pre_login("+447700900123")).await.0, 200);
        // The destination's codes for the day: back at midnight, 22:29:40 away.
        let (status, headers, body) = send(&svc, pre_login("+447700900123")).await;
        assert_eq!((status, &body["errcode"]), (429, &json!(10806)), "{}: {body}", app.backend());
        assert_eq!(headers.get("retry-after").unwrap(), "80980");
        // The client's requests for the hour: back at 02:00, 29:40 away.
        let mut refused = None;
        for phone in ["+447700900124", "+447700900125", "+447700900126"] {
            let (status, headers, body) = send(&svc, pre_login(phone)).await;
            if status == 429 {
                refused = Some((headers, body));
                break;
            }
        }
        let (headers, body) = refused.expect("the client's allowance runs out");
        assert_eq!(body["errcode"], json!(10807), "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "1780");
    }
}

/// A TCP relay to PostgreSQL that a test can cut, as a database server going away would: its
/// port then refuses connections and every relayed connection is closed. Restoring it opens
/// the same port again.
struct Relay {
    address: SocketAddr,
    upstream: SocketAddr,
    up: Arc<Mutex<bool>>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            address: listener.local_addr().unwrap(),
            upstream,
            up: Arc::new(Mutex::new(true)),
            streams: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (up, streams, upstream) = (self.up.clone(), self.streams.clone(), self.upstream);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if !*up.lock().unwrap() {
                    // The wake-up call of `cut`: close the port.
                    break;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                streams
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
    }

    /// Closes the port and every relayed connection.
    fn cut(&self) {
        *self.up.lock().unwrap() = false;
        let _ = TcpStream::connect(self.address);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // The port is closed once the accepting thread has seen the wake-up call.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(self.address).is_ok() {
            assert!(Instant::now() < deadline, "the relay's port stays open");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Opens the port again.
    fn restore(&self) {
        *self.up.lock().unwrap() = true;
        self.serve(TcpListener::bind(self.address).unwrap());
    }
}

/// Copies bytes from `from` to `to` until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(read) = from.read(&mut buffer) {
            if read == 0 || to.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Status and `Retry-After` of a request.
async fn answer<S: TestService>(
    svc: &S,
    req: TestRequest,
) -> (u16, Option<String>, serde_json::Value) {
    let (status, headers, body) = send(svc, req).await;
    let retry_after = headers
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, body)
}

#[actix_web::test]
#[cfg_attr(
    not(assent_postgres_tests),
    ignore = "set ASSENT_TEST_POSTGRES_URL to run"
)]
async fn every_dialect_answers_503_with_retry_after_while_the_database_cannot_be_reached() {
    let db = TestDatabase::postgres_configured();
    let mut url = reqwest::Url::parse(db.url()).unwrap();
    let upstream = url.socket_addrs(|| Some(5432)).unwrap()[0];
    let relay = Relay::start(upstream);
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.address.port())).unwrap();
    let app = TestApp::with_config(db, |c| {
        c.database_url = url.to_string();
        c.db_pool_size = 2;
    });
    let svc = app.service().await;
    let key = app.consumer(true);
    sign_up(&svc, "felix").await;
    let token = token(&svc, "felix", &key).await;
    let system = system_key(&app);

    let sign_up_request = || {
        TestRequest::post()
            .uri("/obp/v5.1.0/users")
            .set_json(sign_up_body("sowmya"))
    };
    let login = || {
        TestRequest::post().uri("/my/logins/direct").insert_header((
            "DirectLogin",
            format!("username=felix, password=\"{PASSWORD}\", consumer_key={key}"),
        ))
    };
    let resume = || {
        system_call(
            "/system/resumedCustomerSessions",
            &system,
            json!({ "sessionId": "0".repeat(32) }),
        )
    };
    let pre_login = || {
        TestRequest::post()
            .uri("/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB")
            .set_json(json!({ "Phone": "+447700900123" }))
    };

    relay.cut();
    // Each pooled connection is found dead once, then no new one can be opened: both answer
    // the same.
    for _ in 0..2 {
        for (name, request) in [
            ("sign-up", sign_up_request()),
            ("login", login()),
            ("users/current", current(&token)),
        ] {
            let (status, retry_after, body) = answer(&svc, request).await;
            assert_eq!(
                (status, retry_after.as_deref()),
                (503, Some("5")),
                "OBP {name}: {body}"
            );
            assert_eq!(
                message(&body),
                "OBP-10503: The service is busy. Try again shortly."
            );
        }
        let (status, retry_after, body) = answer(&svc, resume()).await;
        assert_eq!(
            (status, retry_after.as_deref()),
            (503, Some("5")),
            "Apiture: {body}"
        );
        assert!(
            body["type"].as_str().unwrap().ends_with("/serviceBusy"),
            "{body}"
        );
        let (status, retry_after, body) = answer(&svc, pre_login()).await;
        assert_eq!(
            (status, retry_after.as_deref()),
            (503, Some("5")),
            "Temenos: {body}"
        );
        assert_eq!(body["errcode"], json!(10503), "{body}");
    }
    let (status, retry_after, _) = probe(&svc, Method::GET, "/health/ready").await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("5")));

    // Back: the pool opens new connections and the dead ones are gone.
    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = answer(&svc, login()).await;
        if status == 201 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            Instant::now() < deadline,
            "the server did not recover: {body}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer(&svc, current(&token)).await.0, 200);
    assert_eq!(answer(&svc, sign_up_request()).await.0, 201);
    assert_eq!(answer(&svc, pre_login()).await.0, 200);
    assert_eq!(
        answer(&svc, resume()).await.0,
        422,
        "an unknown session, as ever"
    );
    assert_eq!(probe(&svc, Method::GET, "/health/ready").await.0, 200);
}
