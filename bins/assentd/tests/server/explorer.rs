//! The API explorer at `/docs`: Swagger UI over the served document, every file of it from this
//! server under a policy that lets it load nothing else, gone when the setting is off; and the
//! page itself driven in headless Chromium, as an integrator uses it.

use crate::common::TestApp;
use crate::common::process::{Server, Workdir, curl};
use actix_web::test::{self, TestRequest};
use assent_repository::testing::TestDatabase;
use assentd::api::explorer::CONTENT_SECURITY_POLICY;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// (status, headers, body) of a GET.
async fn get<S, B>(svc: &S, path: &str) -> (u16, actix_web::http::header::HeaderMap, Vec<u8>)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(svc, TestRequest::get().uri(path).to_request()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, test::read_body(response).await.to_vec())
}

/// The files a page names in `src="…"` and `href="…"`.
fn linked_files(html: &str) -> Vec<String> {
    let mut files = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            files.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    files
}

#[actix_web::test]
async fn docs_serves_swagger_ui_and_every_file_it_loads_from_this_server() {
    let app = TestApp::new(TestDatabase::sqlite());
    let svc = app.service().await;

    let (status, headers, _) = get(&svc, "/docs").await;
    assert_eq!(status, 308);
    assert_eq!(headers.get("location").unwrap(), "/docs/");

    let (status, headers, page) = get(&svc, "/docs/").await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").unwrap(), "text/html");
    assert_eq!(
        headers.get("content-security-policy").unwrap(),
        CONTENT_SECURITY_POLICY
    );
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<div id=\"swagger-ui\">"), "{page}");

    let files = linked_files(&page);
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        // Relative to /docs/: nothing from another host, nothing elsewhere on this one.
        assert!(!file.contains(':') && !file.starts_with('/'), "{file}");
        let path = format!("/docs/{}", file.trim_start_matches("./"));
        let (status, headers, body) = get(&svc, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path}");
        let content_type = headers.get("content-type").unwrap().to_str().unwrap();
        let expected = match path.rsplit_once('.').unwrap().1 {
            "js" => "javascript",
            "css" => "text/css",
            "png" => "image/png",
            other => panic!("{path}: unexpected file type {other}"),
        };
        assert!(content_type.contains(expected), "{path}: {content_type}");
        assert_eq!(
            headers.get("content-security-policy").unwrap(),
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    }

    // The explorer reads the document this server serves, sends it to no validator, and keeps
    // no credentials in the browser's storage.
    let (_, _, initializer) = get(&svc, "/docs/swagger-initializer.js").await;
    let initializer = String::from_utf8(initializer).unwrap();
    for setting in [
        "\"url\": \"/openapi.json\"",
        "\"validatorUrl\": \"none\"",
        "\"persistAuthorization\": false",
    ] {
        assert!(initializer.contains(setting), "{setting} in {initializer}");
    }

    // The API's own answers keep their headers: the explorer's policy is its own.
    let (status, headers, _) = get(&svc, "/openapi.json").await;
    assert_eq!(status, 200);
    assert!(headers.get("content-security-policy").is_none());

    // Anything else under /docs/ is an unknown path; other methods are refused as anywhere.
    let (_, _, unknown) = get(&svc, "/elsewhere").await;
    let (status, headers, body) = get(&svc, "/docs/nothing.js").await;
    assert_eq!((status, body), (404, unknown));
    assert!(headers.get("content-security-policy").is_none());
    let response = test::call_service(&svc, TestRequest::post().uri("/docs/").to_request()).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "GET");
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["code"], 405);
}

#[actix_web::test]
async fn with_the_explorer_turned_off_docs_is_an_unknown_path() {
    let app = TestApp::with_config(TestDatabase::sqlite(), |c| c.api_explorer = false);
    let svc = app.service().await;
    let (_, _, unknown) = get(&svc, "/elsewhere").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&unknown).unwrap(),
        json!({"code": 404, "message": "OBP-10404: 404 Not Found. The requested URL does not exist."})
    );
    for path in [
        "/docs",
        "/docs/",
        "/docs/index.html",
        "/docs/swagger-ui-bundle.js",
    ] {
        let (status, headers, body) = get(&svc, path).await;
        assert_eq!((status, &body), (404, &unknown), "{path}");
        assert!(headers.get("content-security-policy").is_none(), "{path}");
    }
    let (status, _, _) = get(&svc, "/openapi.json").await;
    assert_eq!(status, 200, "the document itself is still served");
}

/// How long one wait for the page may take at most; every wait is bounded, none forever.
const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` until it answers, for at most `PATIENCE`.
fn wait_for<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    crate::common::process::wait_until(what, Instant::now() + PATIENCE, check)
}

/// A free local port, for chromedriver (it takes no port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port()
}

/// Headless Chromium through chromedriver, spoken to with plain WebDriver calls (W3C JSON over
/// HTTP). chromedriver runs in a process group of its own, with Chromium under it, so that
/// ending the group ends both, whatever state the test left them in.
struct Browser {
    driver: Child,
    endpoint: String,
    session: String,
}

impl Browser {
    fn start(dir: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let chromedriver = std::env::var("ASSENT_TEST_CHROMEDRIVER")
            .expect("ASSENT_TEST_CHROMEDRIVER names chromedriver");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("chromedriver.log")).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut browser = Self {
            driver,
            endpoint: format!("http://127.0.0.1:{port}"),
            session: String::new(),
        };
        wait_for("chromedriver to be ready", || {
            browser
                .call("GET", "/status", None)
                .ok()
                .filter(|status| status["ready"] == true)
        });
        let profile: PathBuf = dir.join("chromium-profile");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // Without the background-networking flags Chromium calls home, which a
                // closed network refuses; a fresh profile keeps the developer's own out.
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1024",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 30_000},
        }}});
        let session = browser
            .call("POST", "/session", Some(&capabilities))
            .expect("a Chromium session");
        browser.session = session["sessionId"].as_str().unwrap().to_owned();
        browser
    }

    /// One WebDriver call; its `value`, or the error it answered.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Value> {
        let mut command = Command::new("curl");
        command
            .args(["-s", "--max-time", "60", "-X", method])
            .arg(format!("{}{path}", self.endpoint));
        if let Some(body) = body {
            command
                .args(["-H", "Content-Type: application/json", "-d"])
                .arg(body.to_string());
        }
        let output = command.output().expect("curl runs");
        let answer: Value = serde_json::from_slice(&output.stdout).map_err(
            |_| json!({"error": "no answer", "stderr": String::from_utf8_lossy(&output.stderr)}),
        )?;
        let value = answer["value"].clone();
        match value.get("error") {
            Some(_) => Err(value),
            None => Ok(value),
        }
    }

    /// A call within the session, which must succeed.
    fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = (method == "POST").then_some(&body);
        self.call(method, &path, body)
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    fn navigate(&self, url: &str) {
        self.session_call("POST", "/url", json!({"url": url}));
    }

    fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    /// The element `selector` (`using` is "css selector" or "xpath") finds, within `scope` if
    /// given, once there is one.
    fn find(&self, scope: Option<&str>, using: &str, selector: &str) -> String {
        let path = match scope {
            Some(element) => format!("/session/{}/element/{element}/element", self.session),
            None => format!("/session/{}/element", self.session),
        };
        let query = json!({"using": using, "value": selector});
        wait_for(selector, || {
            let found = self.call("POST", &path, Some(&query)).ok()?;
            let id = found.as_object()?.values().next()?.as_str()?.to_owned();
            Some(id)
        })
    }

    fn click(&self, element: &str) {
        self.session_call("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn text(&self, element: &str) -> String {
        let text = self.session_call("GET", &format!("/element/{element}/text"), Value::Null);
        text.as_str().unwrap().to_owned()
    }

    /// What the page wrote to the console, CSP violations included.
    fn console(&self) -> Vec<Value> {
        let log = self.session_call("POST", "/se/log", json!({"type": "browser"}));
        log.as_array().unwrap().clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Every tag the document's operations carry.
fn tags_of(document: &Value) -> BTreeSet<String> {
    let operations = document["paths"].as_object().unwrap().values();
    operations
        .flat_map(|item| item.as_object().unwrap().values())
        .flat_map(|operation| operation["tags"].as_array().cloned().unwrap_or_default())
        .map(|tag| tag.as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[cfg_attr(
    not(assent_browser_tests),
    ignore = "set ASSENT_TEST_CHROMEDRIVER to chromedriver (with Chromium at /usr/bin/chromium)"
)]
fn in_chromium_the_explorer_lists_the_three_families_and_tries_an_endpoint_on_this_server() {
    let dir = Workdir::new();
    // Something only this server says, to recognise its answer in the page.
    let organisation = format!("Explorer test {}", uuid::Uuid::new_v4());
    let server = Server::start_as_provider(
        &dir.0,
        &[("ASSENT_HOSTED_BY_ORGANISATION", organisation.as_str())],
    );
    let (status, document) = curl(&[&server.url("/openapi.json")]);
    assert_eq!(status, 200);
    let tags = tags_of(&document);
    for family in ["OBP: ", "Apiture: ", "Temenos: "] {
        assert!(tags.iter().any(|tag| tag.starts_with(family)), "{tags:?}");
    }

    let browser = Browser::start(&dir.0);
    browser.navigate(&server.url("/docs"));
    let shown: BTreeSet<String> = wait_for("the operations, grouped by tag", || {
        let shown = browser.script(
            "return Array.from(document.querySelectorAll('.opblock-tag')).map(e => e.dataset.tag)",
        );
        let shown: BTreeSet<String> = serde_json::from_value(shown).ok()?;
        (!shown.is_empty()).then_some(shown)
    });
    assert_eq!(shown, tags, "every tag of the document, and only those");

    // Try it out: the Get API Info operation, then Execute, as an integrator would.
    let operation = browser.find(
        None,
        "xpath",
        "//div[contains(@class, 'opblock-get')][.//*[@data-path='/obp/v5.1.0/root']]",
    );
    browser.click(&browser.find(Some(&operation), "css selector", ".opblock-summary-control"));
    browser.click(&browser.find(Some(&operation), "css selector", ".try-out__btn"));
    browser.click(&browser.find(Some(&operation), "css selector", ".execute"));
    let status = browser.find(
        Some(&operation),
        "css selector",
        ".live-responses-table .response .response-col_status",
    );
    assert_eq!(browser.text(&status), "200");
    let request_url = browser.find(Some(&operation), "css selector", ".request-url pre");
    assert_eq!(browser.text(&request_url), server.url("/obp/v5.1.0/root"));
    let shown_body = browser.find(
        Some(&operation),
        "css selector",
        ".live-responses-table .response .response-col_description pre",
    );
    let shown_body: Value = serde_json::from_str(&browser.text(&shown_body)).unwrap();
    let (_, answer) = curl(&[&server.url("/obp/v5.1.0/root")]);
    assert_eq!(shown_body, answer, "the page shows the server's own answer");
    assert_eq!(shown_body["hosted_by"]["organisation"], organisation);

    // Nothing was refused by the page's policy, and nothing failed in it.
    let console = browser.console();
    let problems: Vec<&Value> = console
        .iter()
        .filter(|entry| entry["level"] == "SEVERE" || entry["source"] == "security")
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    drop(browser);
    server.stop();
}
