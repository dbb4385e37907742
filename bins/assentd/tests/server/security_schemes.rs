//! The OpenAPI document names exactly the credentials the server takes: each operation is
//! called with each kind of credential, and the server's answer is compared with the
//! operation's security requirements. SQLite and PostgreSQL.

use crate::common::*;
use crate::consents::{accepted, setup};
use actix_web::test::TestRequest;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use time::format_description::well_known::Rfc3339;

const DAUTH_PRIVATE: &[u8] = include_bytes!("fixtures/dauth-test-private.pem");
const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/server/fixtures");
/// The message of a consent used where a consent cannot act (403).
const CONSENT_CANNOT: &str = "OBP-35042";
/// The message of a logout with a credential that has no session (400).
const NO_SESSION: &str = "OBP-20074";

/// The kinds of OBP credential, each as the set of schemes one security requirement names.
#[derive(Debug, Clone, Copy)]
enum Kind {
    DirectLogin,
    DAuth,
    Consent,
}

impl Kind {
    fn schemes(self) -> BTreeSet<String> {
        let names: &[&str] = match self {
            Kind::DirectLogin => &["directLogin"],
            Kind::DAuth => &["dAuth"],
            Kind::Consent => &["consentJwt", "consumerKey"],
        };
        names.iter().map(|n| (*n).to_owned()).collect()
    }
}

/// An operation's security requirements, each as the set of schemes it names.
fn requirements(operation: &Value) -> Vec<BTreeSet<String>> {
    operation["security"]
        .as_array()
        .map(|alternatives| {
            alternatives
                .iter()
                .map(|r| r.as_object().unwrap().keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default()
}

/// A request for the operation with placeholders for its path parameters, its required query
/// parameters, and an empty JSON object for a body: enough to reach the credential check,
/// which comes before anything else an OBP operation reads.
fn request(method: &str, path: &str, operation: &Value) -> TestRequest {
    let mut uri = path.to_owned();
    let mut query = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap();
        match parameter["in"].as_str().unwrap() {
            "path" => uri = uri.replace(&format!("{{{name}}}"), "placeholder"),
            "query" if parameter["required"] == true => query.push(format!("{name}=placeholder")),
            _ => {}
        }
    }
    if !query.is_empty() {
        uri = format!("{uri}?{}", query.join("&"));
    }
    let req = TestRequest::default()
        .method(method.to_uppercase().parse().unwrap())
        .uri(&uri)
        .peer_addr(allowed_peer());
    if operation.get("requestBody").is_some() {
        req.set_json(json!({}))
    } else {
        req
    }
}

fn allowed_peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn dauth_token(app: &TestApp, consumer_key: &str, request_id: &str) -> String {
    let claims = json!({
        "smart_contract_address": "0xAbC123",
        "network_name": "ethereum",
        "consumer_key": consumer_key,
        "timestamp": app.now().format(&Rfc3339).unwrap(),
        "request_id": request_id,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(DAUTH_PRIVATE).unwrap(),
    )
    .unwrap()
}

backend_test! {
    #[actix_web::test]
    async fn every_obp_operation_names_exactly_the_credentials_it_takes(db) {
        let app = TestApp::with_file_delivery(db, |c| {
            c.dauth_enabled = true;
            c.dauth_public_key_file = Some(format!("{FIXTURE_DIR}/dauth-test-public.pem").into());
            c.dauth_allowed_hosts = vec!["127.0.0.1".into()];
        });
        let svc = app.service().await;
        let customer = setup(&app, &svc, "felix").await;
        let (_, jwt) = accepted(&app, &svc, &customer).await;
        let document = serde_json::to_value(assentd::api::openapi::document()).unwrap();
        let mut checked = 0;
        let mut wrong = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            let obp = path.starts_with("/obp/v5.1.0/") || path.starts_with("/my/");
            let copy_of = path
                .strip_prefix("/obp/")
                .and_then(|rest| rest.split_once('/'))
                .filter(|(version, _)| *version != "v5.1.0")
                .map(|(_, rest)| format!("/obp/v5.1.0/{rest}"));
            for (method, operation) in item.as_object().unwrap() {
                if !["get", "put", "post", "delete", "head", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let required = requirements(operation);
                if let Some(template) = &copy_of {
                    // Other OBP versions answer as v5.1.0 does.
                    let original = &document["paths"][template][method];
                    assert_eq!(required, requirements(original), "{method} {path}");
                    continue;
                }
                let (status, _, body) = send(&svc, request(method, path, operation)).await;
                if required.is_empty() {
                    assert_ne!(status, 401, "{method} {path} is public in the document: {body}");
                    continue;
                }
                if !obp {
                    // Apiture, Temenos and introspection read their body before their one
                    // credential, so an empty body cannot reach it: the document names that
                    // family's credential alone.
                    let family = if path.starts_with("/services/") {
                        "konyAuthorization"
                    } else {
                        "systemKey"
                    };
                    assert_eq!(
                        required,
                        vec![BTreeSet::from([family.to_owned()])],
                        "{method} {path}"
                    );
                    continue;
                }
                assert_eq!(status, 401, "{method} {path} without credentials: {body}");
                for kind in [Kind::DirectLogin, Kind::DAuth, Kind::Consent] {
                    let req = request(method, path, operation);
                    let req = match kind {
                        // A fresh session each time: some of these calls end the session.
                        Kind::DirectLogin => authed(req, &token(&svc, "felix", &customer.key).await),
                        Kind::DAuth => req.insert_header((
                            "DAuth",
                            dauth_token(&app, &customer.key, &uuid::Uuid::new_v4().to_string()),
                        )),
                        Kind::Consent => crate::consents::as_app(req, &jwt, &customer.key),
                    };
                    let (status, _, body) = send(&svc, req).await;
                    let text = body["message"].as_str().unwrap_or_default();
                    let taken = status != 401
                        && !text.starts_with(CONSENT_CANNOT)
                        && !text.starts_with(NO_SESSION);
                    let named = required.contains(&kind.schemes());
                    if taken != named {
                        wrong.push(format!(
                            "{method} {path} with {kind:?}: the server answered {status} {body}, the document names {required:?}"
                        ));
                    }
                }
                checked += 1;
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(checked > 60, "only {checked} secured OBP operations checked");
    }
}
