//! A client generated from the OpenAPI document with openapi-python-client, used as an
//! integrator would on their first day: `scripts/contract/generated_client.py` signs up, logs
//! in with DirectLogin, reads the current user, verifies its email, creates and answers a
//! consent and reads with it, all through the generated package, against the real `assentd`.

use crate::common::process::{PASSWORD, Server, Workdir, assentd, run_json};
use crate::contract::{document_file, python};
use std::path::Path;

const CONTRACT_SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/contract");

/// Generates the client package `assent_client` under `dir/client`. A warning fails the
/// generator (`--fail-on-warning`), as it means part of the document was left out.
fn generate_client(dir: &Workdir) -> std::path::PathBuf {
    let document = document_file(dir);
    let root = dir.0.join("client");
    let mut generator = python();
    // The generator formats its output with ruff, installed next to the python.
    let bin = Path::new(&std::env::var("ASSENT_TEST_PYTHON").unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var("PATH").unwrap())),
    )
    .unwrap();
    let output = generator
        .env("PATH", path)
        .args(["-m", "openapi_python_client", "generate", "--meta", "none"])
        .arg("--fail-on-warning")
        .arg("--config")
        .arg(format!("{CONTRACT_SCRIPTS}/openapi-python-client.yaml"))
        .arg("--path")
        .arg(&document)
        .arg("--output-path")
        .arg(root.join("assent_client"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "openapi-python-client did not take the document whole:\n{said}"
    );
    root
}

/// Runs the script against a server on `database_url` (the default SQLite file when `None`).
fn integrator_day_one(database_url: Option<&str>) {
    let dir = Workdir::new();
    let codes = dir.0.join("codes.jsonl");
    let delivery = format!("file:{}", codes.display());
    let mut settings = vec![("ASSENT_OTP_DELIVERY", delivery.as_str())];
    if let Some(url) = database_url {
        settings.push(("ASSENT_DATABASE_URL", url));
    }
    let server = Server::start_with(&dir.0, &settings);
    let admin = |args: &[&str]| {
        let mut command = assentd(&dir.0);
        command.envs(settings.iter().copied()).args(args);
        run_json(&mut command)
    };
    let consumer = admin(&["admin", "create-consumer", "--name", "Generated client"]);
    let consumer_key = consumer["key"].as_str().unwrap().to_owned();
    // The bank the consent is given at is created by an operator, through the client too.
    admin(&[
        "admin",
        "create-user",
        "--username",
        "operator",
        "--password",
        PASSWORD,
        "--email",
        "operator@example.com",
    ]);
    admin(&[
        "admin",
        "grant-role",
        "--username",
        "operator",
        "--role",
        "CanCreateBank",
    ]);

    let client = generate_client(&dir);
    let output = python()
        .arg(format!("{CONTRACT_SCRIPTS}/generated_client.py"))
        .env("PYTHONPATH", &client)
        .env("ASSENT_BASE_URL", &server.base)
        .env("ASSENT_CONSUMER_KEY", &consumer_key)
        .env("ASSENT_OPERATOR", format!("operator:{PASSWORD}"))
        .env("ASSENT_CODES_FILE", &codes)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the generated client's script failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop();
}

#[test]
#[cfg_attr(
    not(assent_contract_tests),
    ignore = "set ASSENT_TEST_PYTHON to a python with scripts/contract/requirements.txt"
)]
fn a_generated_python_client_signs_up_logs_in_and_reads_with_a_consent_on_sqlite() {
    integrator_day_one(None);
}

#[test]
#[cfg_attr(
    not(all(assent_contract_tests, assent_postgres_tests)),
    ignore = "set ASSENT_TEST_PYTHON and ASSENT_TEST_POSTGRES_URL to run"
)]
fn a_generated_python_client_signs_up_logs_in_and_reads_with_a_consent_on_postgres() {
    let db = assent_repository::testing::TestDatabase::postgres_configured();
    integrator_day_one(Some(db.url()));
}
