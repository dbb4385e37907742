//! schemathesis against the real server: every operation of `/openapi.json`, every check, as a
//! signed-in administrator (DirectLogin), a system key (Apiture) and a signed-in customer
//! (Temenos), with the credentials of `scripts/contract/schemathesis_hooks.py`. Any finding
//! fails the test with schemathesis' report.

use crate::common::process::{BIN, PASSWORD, Server, Workdir, assentd, run_json};
use crate::contract::python;
use std::path::Path;

const ROLES_PAGE: &str = include_str!("../../../../docs/roles.md");

/// Every system role the catalogue lists (bank roles need a bank the run has not made).
fn system_roles() -> Vec<&'static str> {
    ROLES_PAGE
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let role = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            (cells.next()? == "system").then_some(role)
        })
        .collect()
}

fn create_user(dir: &Path, username: &str, extra: &[&str]) {
    run_json(
        assentd(dir)
            .args([
                "admin",
                "create-user",
                "--username",
                username,
                "--password",
                PASSWORD,
            ])
            .args(["--email", &format!("{username}@example.com")])
            .args(extra),
    );
}

#[test]
#[cfg_attr(
    not(assent_contract_tests),
    ignore = "set ASSENT_TEST_PYTHON to a python with scripts/contract/requirements.txt"
)]
fn schemathesis_finds_nothing() {
    let dir = Workdir::new();
    // The per-client allowances of the public flows would answer 429 after a few dozen of the
    // thousands of requests a run makes from one address, and leave those flows untested.
    let server = Server::start_with(
        &dir.0,
        &[
            ("ASSENT_SIGNUPS_PER_CLIENT_PER_HOUR", "1000000"),
            (
                "ASSENT_OTP_PRELOGIN_REQUESTS_PER_CLIENT_PER_HOUR",
                "1000000",
            ),
            ("ASSENT_OTP_DELIVERY", "file:otp.jsonl"),
        ],
    );
    create_user(&dir.0, "st-admin", &[]);
    let roles = system_roles();
    assert!(roles.len() > 20, "{roles:?}");
    for role in roles {
        run_json(assentd(&dir.0).args([
            "admin",
            "grant-role",
            "--username",
            "st-admin",
            "--role",
            role,
        ]));
    }
    create_user(
        &dir.0,
        "st-customer",
        &[
            "--email-verified",
            "--phone-number",
            "+447700900123",
            "--phone-verified",
        ],
    );
    let consumer =
        run_json(assentd(&dir.0).args(["admin", "create-consumer", "--name", "schemathesis"]));
    let system_key =
        run_json(assentd(&dir.0).args(["admin", "create-system-key", "--name", "schemathesis"]));

    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/contract");
    let report = dir.0.join("report");
    // Bounded for a 2-core machine: a few examples per operation and phase.
    let output = python()
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(contract.join("schemathesis.toml"))
        .args(["run", &server.url("/openapi.json")])
        .args(["--checks", "all", "--max-examples", "5", "--workers", "2"])
        .args(["--seed", "1", "--no-color"])
        .arg("--report-dir")
        .arg(&report)
        .current_dir(&dir.0)
        .env("PYTHONPATH", &contract)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("ASSENT_ST_BASE", &server.base)
        .env("ASSENT_ST_ASSENTD", BIN)
        .env("ASSENT_ST_CONSUMER_KEY", consumer["key"].as_str().unwrap())
        .env("ASSENT_ST_ADMIN_USERNAME", "st-admin")
        .env("ASSENT_ST_ADMIN_PASSWORD", PASSWORD)
        .env("ASSENT_ST_CUSTOMER_USERNAME", "st-customer")
        .env("ASSENT_ST_CUSTOMER_PASSWORD", PASSWORD)
        .env("ASSENT_ST_SYSTEM_KEY", system_key["key"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    drop(server);
}
