//! Test fixtures: an app over a fresh database per test, with builders for users and consumers.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web};
use assent_identity::consumer::{CONSUMER_KEY_LABEL, Consumer, generate_consumer_key};
pub mod process;

pub use assent_repository::backend_test;
use assent_repository::consumers;
use assent_repository::testing::TestDatabase;
use assentd::clock::Clock;
use assentd::config::Config;
use assentd::server::build_app;
use assentd::state::AppState;
use serde_json::{Value, json};
use std::path::PathBuf;
use time::OffsetDateTime;
use time::macros::datetime;

pub const PASSWORD: &str = "Tr0ub4dour&3x";

/// Where every test app's clock starts: the start of a UTC day, so of an hour, a minute, a
/// second and a TOTP step too. Codes and allowances that belong to one such window stay in it
/// until a test moves the clock.
pub const START: OffsetDateTime = datetime!(2026-12-03 00:00 UTC);

/// The key test apps sign webhook deliveries with (32 bytes, `whsec_` and base64).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/lk8s6X8XkE=";

pub struct TestApp {
    pub db: TestDatabase,
    pub state: web::Data<AppState>,
    pub data_dir: PathBuf,
}

impl TestApp {
    pub fn new(db: TestDatabase) -> Self {
        Self::with_config(db, |_| {})
    }

    pub fn with_config(db: TestDatabase, adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = std::env::temp_dir().join(format!("assent-http-{}", uuid::Uuid::new_v4()));
        let mut config = Config {
            database_url: db.url().to_owned(),
            data_dir: data_dir.clone(),
            // Tests sign many users up from one (unnamed) address; the allowance itself is
            // tested with its default.
            signups_per_client_per_hour: 10_000,
            otp_webhook_secret: Some(WEBHOOK_SECRET.into()),
            ..Config::default()
        };
        adjust(&mut config);
        let mut state = AppState::build(config).expect("app state");
        state.clock = Clock::manual(START);
        Self {
            db,
            state: web::Data::new(state),
            data_dir,
        }
    }

    /// An app whose one-time codes go to `<data_dir>/codes.jsonl` (see [`TestApp::messages`]).
    pub fn with_file_delivery(db: TestDatabase, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::with_config(db, |config| {
            config.otp_delivery = format!("file:{}", config.data_dir.join("codes.jsonl").display());
            adjust(config);
        })
    }

    /// Every message the file delivery wrote.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.join("codes.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The last code the file delivery wrote for a challenge.
    pub fn code_of(&self, challenge_id: &str) -> String {
        self.messages()
            .iter()
            .rev()
            .find(|m| m["challenge_id"] == challenge_id)
            .map(|m| m["code"].as_str().unwrap().to_owned())
            .expect("a code was written")
    }

    /// The time by the app's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.state.clock.now()
    }

    /// An app whose pool holds one connection and waits 300 ms for it, so that a request made
    /// while a test holds that connection finds the database busy.
    pub fn with_one_impatient_connection(db: TestDatabase) -> Self {
        let mut app = Self::new(db);
        let options = assent_repository::PoolOptions {
            max_size: 1,
            connection_timeout: std::time::Duration::from_millis(300),
            ..assent_repository::PoolOptions::default()
        };
        let mut state = AppState::clone(&app.state);
        state.pool = assent_repository::Pool::connect(app.db.url(), &options).unwrap();
        app.state = web::Data::new(state);
        app
    }

    /// Adds a bank (country `uk`, named "UK bank") straight to the database.
    pub fn add_bank(&self, bank_id: &str) {
        let mut conn = self.state.pool.get().unwrap();
        let row = assent_repository::banks::row(bank_id, "uk", "UK bank", "", "", self.now());
        assert!(assent_repository::banks::insert(&mut conn, &row).unwrap());
    }

    /// Moves the app's clock forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        self.state.clock.advance(by);
    }

    pub fn backend(&self) -> &'static str {
        self.db.backend_name()
    }

    /// Another replica: an application state of its own (caches, counters, keys as read) on
    /// the same database, configuration and clock.
    pub fn replica(&self) -> web::Data<AppState> {
        let mut state = AppState::build((*self.state.config).clone()).expect("replica state");
        state.clock = self.state.clock.clone();
        web::Data::new(state)
    }

    pub async fn service(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(build_app(self.state.clone())).await
    }

    /// Grants `role` (at `bank`, if given) to the user with this id directly in the database,
    /// as `admin grant-role` does.
    pub fn grant_role(&self, user_id: &str, role: &str, bank: Option<&str>) {
        let mut conn = self.state.pool.get().unwrap();
        assent_repository::entitlements::insert(
            &mut conn,
            uuid::Uuid::new_v4(),
            user_id,
            role,
            bank,
            self.now(),
        )
        .unwrap();
    }

    /// Marks the user's email address and phone number (if any) verified, as `admin
    /// create-user --email-verified --phone-verified` does for contacts from the bank's own
    /// records: for tests whose subject is not the verification itself.
    pub fn verify_contacts(&self, username: &str) {
        use assent_repository::users::{self, ContactKind};
        let mut conn = self.state.pool.get().unwrap();
        let key = assent_identity::registration::username_key(username);
        let user = users::find_by_username(&mut conn, &self.state.config.provider, &key)
            .unwrap()
            .unwrap();
        let (user_id, now) = (user.user_id.as_str(), self.now());
        assert!(
            users::mark_contact_verified(&mut conn, user_id, ContactKind::Email, &user.email, now)
                .unwrap()
        );
        if let Some(phone) = user.phone_number.filter(|p| !p.is_empty()) {
            assert!(
                users::mark_contact_verified(&mut conn, user_id, ContactKind::Phone, &phone, now)
                    .unwrap()
            );
        }
    }

    /// The ids of the views the user holds on the account, in order.
    pub fn views_held(&self, bank_id: &str, account_id: &str, user_id: &str) -> Vec<String> {
        let mut conn = self.state.pool.get().unwrap();
        assent_repository::accounts::views_held(&mut conn, bank_id, account_id, user_id)
            .unwrap()
            .into_iter()
            .map(|v| v.view_id().to_owned())
            .collect()
    }

    /// How many audit events of this kind were recorded.
    pub fn audit_count(&self, kind: &str) -> usize {
        let mut conn = self.state.pool.get().unwrap();
        assent_repository::audit::list_by_kind(&mut conn, kind)
            .unwrap()
            .len()
    }

    /// A consumer's plaintext key (stored hashed).
    pub fn consumer(&self, enabled: bool) -> String {
        self.consumer_with_id(enabled).1
    }

    /// A new consumer's id and plaintext key (stored hashed).
    pub fn consumer_with_id(&self, enabled: bool) -> (uuid::Uuid, String) {
        let key = generate_consumer_key(&mut rand::rng());
        let consumer = Consumer {
            enabled,
            ..Consumer::new(uuid::Uuid::new_v4(), "Test app".into())
        };
        let hash = self.state.secret_hasher.hash(CONSUMER_KEY_LABEL, &key);
        let mut conn = self.state.pool.get().unwrap();
        consumers::insert(&mut conn, &consumer, &hash, self.state.clock.now()).unwrap();
        (consumer.consumer_id, key.expose().to_owned())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The app under test as helpers take it: an actix service of test requests.
pub trait TestService:
    Service<actix_http::Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B> TestService for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Body = B;
}

pub fn sign_up_body(username: &str) -> Value {
    json!({
        "username": username,
        "password": PASSWORD,
        "email": format!("{username}@example.com"),
        "first_name": "Felix",
        "last_name": "Smith",
    })
}

/// Sends a request and returns (status, headers, JSON body or Null).
pub async fn send<S, B>(
    app: &S,
    req: test::TestRequest,
) -> (u16, actix_web::http::header::HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, req.to_request()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

pub async fn sign_up<S, B>(app: &S, username: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, _, body) = send(
        app,
        test::TestRequest::post()
            .uri("/obp/v5.1.0/users")
            .set_json(sign_up_body(username)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub async fn login<S, B>(
    app: &S,
    username: &str,
    password: &str,
    consumer_key: &str,
) -> (u16, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let header =
        format!("username={username}, password=\"{password}\", consumer_key={consumer_key}");
    let (status, _, body) = send(
        app,
        test::TestRequest::post()
            .uri("/my/logins/direct")
            .insert_header(("DirectLogin", header)),
    )
    .await;
    (status, body)
}

pub async fn token<S, B>(app: &S, username: &str, consumer_key: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, body) = login(app, username, PASSWORD, consumer_key).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The request, signed in with a DirectLogin session token.
pub fn authed(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("DirectLogin", format!("token={token}")))
}

pub fn current(token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri("/obp/v5.1.0/users/current")
        .insert_header(("DirectLogin", format!("token={token}")))
}

/// The claims a JWT carries, read without checking its signature.
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("a JWT's payload is base64url");
    serde_json::from_slice(&json).expect("a JWT's payload is JSON")
}

/// A code of the same length that is certainly not `code`: every digit moved by one.
pub fn wrong_code(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

pub fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or("")
}

/// Every problem response meets the reference's constraints.
pub fn assert_problem(status: u16, headers: &actix_web::http::header::HeaderMap, body: &Value) {
    assert_eq!(
        headers.get("content-type").unwrap().to_str().unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{body}");
    let id = body["id"].as_str().unwrap();
    assert!(
        (6..=48).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:.~$".contains(c)),
        "{id}"
    );
    let at = body["occurredAt"].as_str().unwrap();
    assert_eq!(at.len(), 24, "RFC 3339 UTC with milliseconds: {at}");
    assert!(at.ends_with('Z') && at.as_bytes()[19] == b'.', "{at}");
    assert!(body["type"].as_str().unwrap().starts_with("https://"));
    let title = body["title"].as_str().unwrap();
    assert!(!title.is_empty() && title.chars().count() <= 120, "{title}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.chars().count() <= 256, "{detail}");
    assert!(body["instance"].as_str().unwrap().chars().count() <= 2048);
}

/// A system key for the Apiture endpoints, stored as `admin create-system-key` stores it.
pub fn system_key(app: &TestApp) -> String {
    let key = generate_consumer_key(&mut rand::rng());
    let hash = app
        .state
        .secret_hasher
        .hash(assent_identity::consumer::SYSTEM_KEY_LABEL, &key);
    let mut conn = app.state.pool.get().unwrap();
    assent_repository::system_keys::insert(
        &mut conn,
        &uuid::Uuid::new_v4().to_string(),
        "web",
        &hash,
        app.now(),
    )
    .unwrap();
    key.expose().to_owned()
}

/// A POST of `body` to an Apiture system endpoint, authenticated with a system key.
pub fn system_call(path: &str, key: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {key}")))
        .set_json(body)
}
