//! End to end: the real `assentd` binary, started as the README starts it, driven with curl as
//! the README's walk-through does. Also checks that no secret reaches the logs.

use crate::common::process::{
    PASSWORD, Server, Workdir, all_at_once, assentd, curl, curl_json, run_json,
};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Linux's number for the `SCHED_BATCH` policy, as `/proc` reports it.
#[cfg(target_os = "linux")]
const SCHED_BATCH: u32 = 3;

/// The scheduling policy of every thread of a process (`/proc/PID/task/*/stat`, field 41).
#[cfg(target_os = "linux")]
fn thread_policies(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
        .map(|stat| {
            // Fields after the command name (which may hold spaces) start at field 3.
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            after_name.split(' ').nth(41 - 3).unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn readme_walk_through_with_curl_and_no_secrets_in_logs() {
    let dir = Workdir::new();
    let server = Server::start(&dir.0);
    let consumer =
        run_json(assentd(&dir.0).args(["admin", "create-consumer", "--name", "Demo app"]));
    let key = consumer["key"].as_str().unwrap().to_owned();
    assert!(consumer["consumer_id"].is_string());

    #[cfg(target_os = "linux")]
    {
        let policies = thread_policies(server.child.id());
        assert!(policies.len() > 1, "{policies:?}");
        assert!(
            policies.iter().all(|p| *p == SCHED_BATCH),
            "by default every thread runs under SCHED_BATCH: {policies:?}"
        );
    }
    assert!(
        dir.0.join("data/assent.db").is_file(),
        "default SQLite file not created"
    );

    let (status, user) = curl(&[
        "-X",
        "POST",
        &server.url("/obp/v5.1.0/users"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &format!(
            r#"{{"username":"felix","password":"{PASSWORD}","email":"felix@example.com","first_name":"Felix","last_name":"Smith"}}"#
        ),
    ]);
    assert_eq!(status, 201, "{user}");

    let (status, login) = curl(&[
        "-X",
        "POST",
        &server.url("/my/logins/direct"),
        "-H",
        &format!(r#"DirectLogin: username=felix, password="{PASSWORD}", consumer_key={key}"#),
    ]);
    assert_eq!(status, 201, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();

    let (status, me) = curl(&[
        &server.url("/obp/v3.1.0/users/current"),
        "-H",
        &format!("DirectLogin: token={token}"),
        // No proxy is trusted: a client cannot put another address into our logs.
        "-H",
        "X-Forwarded-For: 203.0.113.99",
    ]);
    assert_eq!(status, 200);
    assert_eq!(me, user);

    let (status, _) = curl(&[
        "-X",
        "DELETE",
        &server.url("/my/logins/current"),
        "-H",
        &format!("DirectLogin: token={token}"),
    ]);
    assert_eq!(status, 204);
    let (status, body) = curl(&[
        &server.url("/obp/v3.1.0/users/current"),
        "-H",
        &format!("DirectLogin: token={token}"),
    ]);
    assert_eq!(status, 401, "{body}");

    // A password of the wrong type is refused without its value reaching the log.
    let (status, body) = curl(&[
        "-X",
        "POST",
        &server.url("/obp/v5.1.0/users"),
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"username":"eve","password":98765432123,"email":"eve@example.com","first_name":"E","last_name":"V"}"#,
    ]);
    assert_eq!(status, 400, "{body}");

    let (status, jwks) = curl(&[&server.url("/obp/v3.1.0/certs")]);
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    let log = server.stop();
    assert!(log.contains("request_id"), "logs carry request ids");
    assert!(
        log.contains("\"http.client_ip\":\"127.0.0.1\""),
        "requests are logged with the client's address"
    );
    assert!(
        !log.contains("203.0.113.99"),
        "a forged X-Forwarded-For is not logged"
    );
    assert!(
        log.contains("\"http.route\":\"/obp/v3.1.0/users/current\""),
        "requests are logged by route pattern: {log}"
    );
    assert!(
        !log.contains("\"level\":\"ERROR\""),
        "errors logged during a clean run: {log}"
    );
    assert!(log.contains("graceful shutdown"), "{log}");
    for secret in [
        PASSWORD,
        &token,
        &key,
        &token[token.len() - 20..],
        "98765432123",
    ] {
        assert!(!log.contains(secret), "a secret reached the logs: {secret}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn cpu_scheduling_normal_leaves_every_server_thread_to_the_system() {
    let dir = Workdir::new();
    let server = Server::start_with(&dir.0, &[("ASSENT_CPU_SCHEDULING", "normal")]);
    // A request, so that the worker has started its blocking threads too.
    assert_eq!(curl(&[&server.url("/health/ready")]).0, 200);
    let policies = thread_policies(server.child.id());
    assert!(policies.len() > 1, "{policies:?}");
    assert!(
        policies.iter().all(|p| *p != SCHED_BATCH),
        "no thread runs under SCHED_BATCH: {policies:?}"
    );
    server.stop();
}

#[test]
fn admin_commands_print_json_and_fail_clearly() {
    let dir = Workdir::new();
    run_json(assentd(&dir.0).arg("migrate"));
    let user = run_json(assentd(&dir.0).args([
        "admin",
        "create-user",
        "--username",
        "admin",
        "--password",
        PASSWORD,
        "--email",
        "admin@example.com",
        "--phone-number",
        "+447700900123",
        "--email-verified",
    ]));
    assert_eq!(user["username"], "admin");
    // Contacts from the bank's own records are verified from the start; others are not.
    assert_eq!(
        (&user["email_verified"], &user["phone_number_verified"]),
        (&json!(true), &json!(false)),
        "{user}"
    );
    let second = run_json(assentd(&dir.0).args([
        "admin",
        "create-user",
        "--username",
        "second",
        "--password",
        PASSWORD,
        "--email",
        "second@example.com",
        "--phone-number",
        "+447700900124",
        "--phone-verified",
    ]));
    assert_eq!(
        (&second["email_verified"], &second["phone_number_verified"]),
        (&json!(false), &json!(true)),
        "{second}"
    );
    // On SQLite one process serves the file, so a round always sweeps (nothing ended yet).
    let round = run_json(assentd(&dir.0).args(["admin", "housekeeping"]));
    assert_eq!(
        round,
        json!({
            "rows": { "sessions": 0, "challenges": 0, "quota_windows": 0, "consents_expired": 0 },
            "signing_keys": { "wiped": 0, "deleted": 0 },
        })
    );
    // The audit trail, oldest first, a JSON object a line.
    let output = assentd(&dir.0)
        .args(["admin", "export-audit"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let created: Vec<&str> = exported
        .iter()
        .filter(|e| e["kind"] == "user.created")
        .map(|e| e["detail"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["admin", "second"], "{exported:?}");
    let system = run_json(assentd(&dir.0).args(["admin", "create-system-key", "--name", "web"]));
    let system_key = system["key"].as_str().unwrap();
    assert_eq!(system_key.len(), 40, "{system}");
    assert_eq!(
        system.as_object().unwrap().len(),
        2,
        "the key and its id: {system}"
    );
    let key_id = system["key_id"].as_str().unwrap();
    let listed = run_json(assentd(&dir.0).args(["admin", "list-system-keys"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["key_id"], key_id);
    assert_eq!(listed[0]["name"], "web");
    assert!(
        !listed.to_string().contains(system_key),
        "a listing never shows a key"
    );
    let revoked =
        run_json(assentd(&dir.0).args(["admin", "revoke-system-key", "--key-id", key_id]));
    assert_eq!(revoked["revoked"], true);
    let listed = run_json(assentd(&dir.0).args(["admin", "list-system-keys"]));
    assert_eq!(listed, serde_json::json!([]));
    let grant = run_json(assentd(&dir.0).args([
        "admin",
        "grant-role",
        "--username",
        "admin",
        "--role",
        "CanGetAnyUser",
    ]));
    assert_eq!(grant["role_name"], "CanGetAnyUser");
    assert_eq!(grant["bank_id"], "");
    let migrated = run_json(assentd(&dir.0).arg("migrate"));
    assert_eq!(migrated["database"], "sqlite");
    let openapi = run_json(assentd(&dir.0).arg("openapi"));
    assert!(openapi["paths"]["/my/logins/direct"]["post"].is_object());

    for (args, expected) in [
        (
            vec![
                "admin",
                "grant-role",
                "--username",
                "admin",
                "--role",
                "CanFly",
            ],
            "unknown role",
        ),
        (
            vec![
                "admin",
                "grant-role",
                "--username",
                "ghost",
                "--role",
                "CanGetAnyUser",
            ],
            "no user named",
        ),
        (
            vec![
                "admin",
                "grant-role",
                "--username",
                "admin",
                "--role",
                "CanCreateAccount",
            ],
            "--bank-id",
        ),
        (
            vec![
                "admin",
                "grant-role",
                "--username",
                "admin",
                "--role",
                "CanGetAnyUser",
            ],
            "already has",
        ),
        (
            vec![
                "admin",
                "create-user",
                "--username",
                "admin",
                "--password",
                PASSWORD,
                "--email",
                "a@example.com",
            ],
            "OBP-30274",
        ),
        (
            vec![
                "admin",
                "create-user",
                "--username",
                "x",
                "--password",
                "short",
                "--email",
                "a@example.com",
            ],
            "OBP-30207",
        ),
        (
            vec!["admin", "create-consumer", "--name", ""],
            "consumer name",
        ),
        (
            vec!["admin", "create-system-key", "--name", ""],
            "system key name",
        ),
        (
            vec!["admin", "revoke-system-key", "--key-id", "no-such-key"],
            "no system key",
        ),
        (
            vec![
                "admin",
                "create-user",
                "--username",
                "phoneless",
                "--password",
                PASSWORD,
                "--email",
                "p@example.com",
                "--phone-number",
                "07700 900123",
            ],
            "OBP-30282",
        ),
    ] {
        let output = assentd(&dir.0).args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed to stdout on failure"
        );
    }
}

#[test]
fn admin_unlock_user_lets_a_locked_out_user_sign_in_again_and_is_audited() {
    let dir = Workdir::new();
    let server = Server::start(&dir.0);
    let consumer = run_json(assentd(&dir.0).args(["admin", "create-consumer", "--name", "app"]));
    let key = consumer["key"].as_str().unwrap().to_owned();
    run_json(assentd(&dir.0).args([
        "admin",
        "create-user",
        "--username",
        "felix",
        "--password",
        PASSWORD,
        "--email",
        "felix@example.com",
    ]));
    let login = |password: &str| {
        curl(&[
            "-X",
            "POST",
            &server.url("/my/logins/direct"),
            "-H",
            &format!(r#"DirectLogin: username=felix, password="{password}", consumer_key={key}"#),
        ])
    };
    // The default limit is 5 failed logins; then even the right password is refused.
    for _ in 0..5 {
        assert_eq!(login("not the password").0, 401);
    }
    let (status, refused) = login(PASSWORD);
    assert_eq!(status, 401, "locked: {refused}");

    let unlocked = run_json(assentd(&dir.0).args(["admin", "unlock-user", "--username", "felix"]));
    assert_eq!(unlocked["username"], "felix", "{unlocked}");
    assert_eq!(
        unlocked["bad_attempts_since_last_success_or_reset"], 0,
        "{unlocked}"
    );
    let (status, body) = login(PASSWORD);
    assert_eq!(status, 201, "unlocked: {body}");

    let output = assentd(&dir.0)
        .args(["admin", "export-audit"])
        .output()
        .unwrap();
    let unlocks: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["kind"] == "user.unlocked")
        .collect();
    assert_eq!(unlocks.len(), 1, "{unlocks:?}");
    assert_eq!(unlocks[0]["detail"]["by"], "cli", "{unlocks:?}");

    for (args, expected) in [
        (vec!["--username", "ghost"], "OBP-20027"),
        (
            vec!["--username", "felix", "--provider", "dauth.elsewhere"],
            "OBP-20027",
        ),
    ] {
        let output = assentd(&dir.0)
            .args(["admin", "unlock-user"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    }
    server.stop();
}

#[test]
fn invalid_configuration_fails_at_start_with_a_clear_message() {
    let dir = Workdir::new();
    let output = assentd(&dir.0)
        .arg("serve")
        .env("ASSENT_SESSION_IDLE_TIMEOUT_SECS", "five")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("session_idle_timeout_secs"), "{stderr}");
    assert!(!stderr.contains(".rs:"), "no source paths: {stderr}");
    let output = assentd(&dir.0)
        .arg("serve")
        .env("ASSENT_LISTNE", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did you mean ASSENT_LISTEN?"), "{stderr}");
    assert!(
        !dir.0.join("data").exists(),
        "nothing is created on a refused start"
    );
}

assent_repository::backend_test! {
    #[test]
    fn verify_audit_passes_an_intact_trail_and_names_the_first_altered_event(db) {
        use diesel::connection::SimpleConnection;
        let dir = Workdir::new();
        let admin = || {
            let mut command = assentd(&dir.0);
            command.env("ASSENT_DATABASE_URL", db.url());
            command
        };
        run_json(admin().arg("migrate"));
        for name in ["ada", "grace", "edsger"] {
            run_json(admin().args([
                "admin", "create-user", "--username", name, "--password", PASSWORD,
                "--email", &format!("{name}@example.com"),
            ]));
        }
        let intact = run_json(admin().args(["admin", "verify-audit"]));
        assert_eq!(intact["intact"], true, "{intact}");
        assert_eq!(intact["events"], 3, "{intact}");

        let exported = admin().args(["admin", "export-audit"]).output().unwrap();
        let events: Vec<Value> = String::from_utf8(exported.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            events.iter().map(|e| e["sequence"].clone()).collect::<Vec<_>>(),
            [json!(1), json!(2), json!(3)]
        );
        let grace = events
            .iter()
            .find(|e| e["detail"]["username"] == "grace")
            .unwrap()["event_id"]
            .as_str()
            .unwrap()
            .to_owned();
        db.connection()
            .unwrap()
            .batch_execute(&format!(
                "UPDATE audit_events SET detail = '{{\"username\":\"mallory\"}}' WHERE event_id = '{grace}'"
            ))
            .unwrap();
        let output = admin().args(["admin", "verify-audit"]).output().unwrap();
        assert!(!output.status.success(), "an altered trail fails the check");
        let verdict: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(verdict["intact"], false, "{verdict}");
        assert_eq!(verdict["first_bad_event"], grace, "{verdict}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("altered"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_running_server_publishes_a_key_rotated_from_the_command_line_without_a_restart() {
    let dir = Workdir::new();
    let server = Server::start_with(&dir.0, &[("ASSENT_SIGNING_KEY_REFRESH_SECS", "1")]);
    let kids = || -> Vec<String> {
        let (status, jwks) = curl(&[&server.url("/obp/v5.1.0/certs")]);
        assert_eq!(status, 200);
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = kids();
    assert_eq!(first.len(), 1, "{first:?}");
    let rotated = run_json(assentd(&dir.0).args(["admin", "rotate-signing-key"]));
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert!(rotated["signs_from"].as_str().is_some(), "{rotated}");
    // The server reads the ring again every second: wait for it, within a bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kids().contains(&new_kid) {
        assert!(
            Instant::now() < deadline,
            "the server never published {new_kid}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        kids().contains(&first[0]),
        "the earlier key stays published"
    );
    let log = server.stop();
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
}

#[test]
fn admin_commands_take_the_servers_secrets_and_provider_or_fail_clearly() {
    let dir = Workdir::new();
    // Before any server or migration: nothing to take, and nothing is created.
    let output = assentd(&dir.0)
        .args(["admin", "create-consumer", "--name", "early"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no pepper here"), "{stderr}");
    assert!(!dir.0.join("data/pepper.hex").exists());
    assert!(!dir.0.join("data/signing-key.pem").exists());

    // The server's provider reaches the users admin creates, whatever admin's environment.
    const PROVIDER: &str = "https://bank.example";
    let server = Server::start_with(&dir.0, &[("ASSENT_PROVIDER", PROVIDER)]);
    let consumer = run_json(assentd(&dir.0).args(["admin", "create-consumer", "--name", "app"]));
    let key = consumer["key"].as_str().unwrap();
    let mut create = assentd(&dir.0)
        .args([
            "admin",
            "create-user",
            "--username",
            "felix",
            "--password-stdin",
            "--email",
            "felix@example.com",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD}").unwrap();
    }
    let created = create.wait_with_output().unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let user: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(user["provider"], PROVIDER, "{user}");
    assert!(
        String::from_utf8_lossy(&created.stderr).contains("using the server's"),
        "the difference is reported"
    );
    let (status, login) = curl(&[
        "-X",
        "POST",
        &server.url("/my/logins/direct"),
        "-H",
        &format!(r#"DirectLogin: username=felix, password="{PASSWORD}", consumer_key={key}"#),
    ]);
    assert_eq!(status, 201, "the user admin created logs in: {login}");

    let empty = assentd(&dir.0)
        .args([
            "admin",
            "create-user",
            "--username",
            "grace",
            "--password-stdin",
            "--email",
            "grace@example.com",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("held no password"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    server.stop();
}

#[test]
#[cfg_attr(
    not(all(assent_postgres_tests, assent_redis_tests)),
    ignore = "set ASSENT_TEST_POSTGRES_URL and ASSENT_TEST_REDIS_URL to run"
)]
fn replicas_on_one_postgres_keep_every_limit_and_state_change() {
    let db = assent_repository::testing::TestDatabase::postgres_configured();
    let redis = std::env::var("ASSENT_TEST_REDIS_URL").unwrap();
    let dir = Workdir::new();
    let codes = dir.0.join("codes.jsonl");
    let delivery = format!("file:{}", codes.display());
    let settings = [
        ("ASSENT_DATABASE_URL", db.url()),
        ("ASSENT_RATE_LIMIT_URL", redis.as_str()),
        ("ASSENT_OTP_DELIVERY", delivery.as_str()),
    ];
    let replicas = [
        Server::start_with(&dir.0, &settings),
        Server::start_with(&dir.0, &settings),
    ];
    let at = |n: usize, path: &str| replicas[n % 2].url(path);
    let admin = |args: &[&str]| {
        let mut command = assentd(&dir.0);
        command.envs(settings).args(args);
        run_json(&mut command)
    };
    let ops_key = admin(&["admin", "create-consumer", "--name", "ops"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = admin(&["admin", "create-consumer", "--name", "app"]);
    let (app_id, app_key) = (
        app["consumer_id"].as_str().unwrap(),
        app["key"].as_str().unwrap(),
    );
    admin(&[
        "admin",
        "create-user",
        "--username",
        "ops",
        "--password",
        PASSWORD,
        "--email",
        "ops@example.com",
    ]);
    for role in ["CanSetCallLimits", "CanDisableConsumers"] {
        admin(&["admin", "grant-role", "--username", "ops", "--role", role]);
    }
    let login = |n: usize, username: &str, password: &str, key: &str| {
        curl(&[
            "-X",
            "POST",
            &at(n, "/my/logins/direct"),
            "-H",
            &format!(
                r#"DirectLogin: username={username}, password="{password}", consumer_key={key}"#
            ),
        ])
    };
    let token_of = |n: usize, username: &str, key: &str| {
        let (status, body) = login(n, username, PASSWORD, key);
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    };
    let current = |n: usize, token: &str| {
        curl(&[
            &at(n, "/obp/v3.1.0/users/current"),
            "-H",
            &format!("DirectLogin: token={token}"),
        ])
        .0
    };
    for name in ["felix", "grace"] {
        let (status, body) = curl_json(
            "POST",
            &at(0, "/obp/v5.1.0/users"),
            &[],
            &json!({
                "username": name, "password": PASSWORD, "email": format!("{name}@example.com"),
                "first_name": "Felix", "last_name": "Smith",
            }),
        );
        assert_eq!(status, 201, "{body}");
    }

    // Wrong passwords from both replicas at once lock the account on both.
    let wrong = all_at_once(12, |n| login(n, "felix", "not the password", app_key).0);
    assert!(wrong.iter().all(|s| *s == 401), "{wrong:?}");
    for n in 0..2 {
        let (status, body) = login(n, "felix", PASSWORD, app_key);
        assert_eq!(status, 401, "{body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("OBP-20013"),
            "{body}"
        );
    }

    // Thirty wrong answers to one code, spread over both: the right code is refused after.
    let (status, started) = curl_json(
        "POST",
        &at(
            0,
            "/services/data/v1/RBObjects/operations/DbxUser/requestOTPPreLoginMB",
        ),
        &[],
        &json!({ "Phone": "+447700900123" }),
    );
    assert_eq!(status, 200, "{started}");
    let service_key = started["MFAAttributes"]["serviceKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let security_key = started["MFAAttributes"]["OTP"]["securityKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = std::fs::read_to_string(&codes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|m| m["challenge_id"] == service_key.as_str())
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong_code = crate::common::wrong_code(&code);
    let verify = |n: usize, otp: &str| {
        curl_json(
            "POST",
            &at(
                n,
                "/services/data/v1/RBObjects/operations/DbxUser/verifyOTPPreLoginMB",
            ),
            &[],
            &json!({ "MFAAttributes": { "serviceKey": service_key, "OTP": { "securityKey": security_key, "otp": otp } } }),
        )
    };
    let answers = all_at_once(30, |n| verify(n, &wrong_code).0);
    assert!(answers.iter().all(|s| *s != 200), "{answers:?}");
    let (status, body) = verify(1, &code);
    assert_ne!(status, 200, "the right code after the limit: {body}");

    // A limit of ten calls a day holds across both replicas together.
    let ops = token_of(0, "ops", &ops_key);
    let (status, body) = curl_json(
        "PUT",
        &at(
            1,
            &format!("/obp/v5.1.0/management/consumers/{app_id}/consumer/call-limits"),
        ),
        &[format!("DirectLogin: token={ops}")],
        &json!({ "per_second_call_limit": "-1", "per_minute_call_limit": "-1",
            "per_hour_call_limit": "-1", "per_day_call_limit": "10",
            "per_week_call_limit": "-1", "per_month_call_limit": "-1" }),
    );
    assert_eq!(status, 200, "{body}");
    let grace = token_of(1, "grace", app_key);
    let calls = all_at_once(30, |n| current(n, &grace));
    let admitted = calls.iter().filter(|s| **s == 200).count();
    let limited = calls.iter().filter(|s| **s == 429).count();
    assert_eq!((admitted, limited), (10, 20), "{calls:?}");

    // Disabled on one replica, the consumer's sessions are refused on the other at once.
    let (status, body) = curl_json(
        "PUT",
        &at(0, &format!("/obp/v5.1.0/management/consumers/{app_id}")),
        &[format!("DirectLogin: token={ops}")],
        &json!({ "enabled": false }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(current(1, &grace), 401);

    // A consent revoked on one replica is refused on the other at once.
    admin(&[
        "admin",
        "create-user",
        "--username",
        "ada",
        "--password",
        PASSWORD,
        "--email",
        "ada@example.com",
        "--email-verified",
    ]);
    admin(&[
        "admin",
        "grant-role",
        "--username",
        "ada",
        "--role",
        "CanCreateBank",
    ]);
    let ada = token_of(0, "ada", &ops_key);
    let as_ada = [format!("DirectLogin: token={ada}")];
    let (status, body) = curl_json(
        "POST",
        &at(0, "/obp/v5.1.0/banks"),
        &as_ada,
        &json!({
            "id": "bank.replicas", "short_name": "replicas", "full_name": "Replicas bank",
            "logo": "", "website": "",
        }),
    );
    assert_eq!(status, 201, "{body}");
    let (status, consent) = curl_json(
        "POST",
        &at(1, "/obp/v5.1.0/banks/bank.replicas/my/consents/EMAIL"),
        &as_ada,
        &json!({ "everything": true }),
    );
    assert_eq!(status, 201, "{consent}");
    let consent_id = consent["consent_id"].as_str().unwrap().to_owned();
    let consent_code = std::fs::read_to_string(&codes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .rfind(|m| m["destination"] == "ada@example.com")
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, accepted) = curl_json(
        "POST",
        &at(
            0,
            &format!("/obp/v5.1.0/banks/bank.replicas/consents/{consent_id}/challenge"),
        ),
        &as_ada,
        &json!({ "answer": consent_code }),
    );
    assert_eq!(status, 201, "{accepted}");
    let jwt = accepted["jwt"].as_str().unwrap().to_owned();
    let with_consent = |n: usize| {
        curl(&[
            &at(n, "/obp/v3.1.0/users/current"),
            "-H",
            &format!("Consent-JWT: {jwt}"),
            "-H",
            &format!("Consumer-Key: {ops_key}"),
        ])
        .0
    };
    assert_eq!(with_consent(1), 200);
    let (status, _) = curl(&[
        &at(
            0,
            &format!("/obp/v3.1.0/banks/bank.replicas/my/consents/{consent_id}/revoke"),
        ),
        "-H",
        &as_ada[0],
    ]);
    assert!(status < 300, "{status}");
    assert_eq!(with_consent(1), 401);

    // Ended by the bank's front end (Apiture) on one replica, refused on the other.
    let system = admin(&["admin", "create-system-key", "--name", "web"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let ops_again = token_of(1, "ops", &ops_key);
    let claims = crate::common::claims(&ops_again);
    assert_eq!(current(0, &ops_again), 200);
    let (status, body) = curl_json(
        "POST",
        &at(1, "/system/terminatedCustomerSessions"),
        &[format!("Authorization: Bearer {system}")],
        &json!({ "sessionId": claims["sid"] }),
    );
    assert!(status < 300, "{status} {body}");
    assert_eq!(current(0, &ops_again), 401);

    // Logged out on one replica, refused on the other.
    assert_eq!(current(1, &ops), 200);
    let (status, _) = curl(&[
        "-X",
        "DELETE",
        &at(0, "/my/logins/current"),
        "-H",
        &format!("DirectLogin: token={ops}"),
    ]);
    assert!(status < 300, "{status}");
    assert_eq!(current(1, &ops), 401);

    // Counted exactly once over both: one lockout, five answers that counted (four wrong, the
    // fifth locking), twelve refused logins.
    let total = |series: &str| -> u64 {
        replicas
            .iter()
            .map(|replica| {
                let output = Command::new("curl")
                    .args(["-s", &replica.url("/metrics")])
                    .output()
                    .unwrap();
                String::from_utf8(output.stdout)
                    .unwrap()
                    .lines()
                    .find_map(|line| {
                        line.strip_prefix(series)?
                            .strip_prefix(' ')?
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or_else(|| panic!("no {series}"))
            })
            .sum()
    };
    assert_eq!(total(r#"assent_lockouts_total{cause="failures"}"#), 1);
    assert_eq!(total(r#"assent_otp_answers_total{outcome="wrong"}"#), 4);
    assert_eq!(total(r#"assent_otp_answers_total{outcome="locked"}"#), 1);
    assert_eq!(
        total(r#"assent_logins_total{outcome="wrong_password"}"#)
            + total(r#"assent_logins_total{outcome="locked"}"#),
        12 + 2
    );

    for replica in replicas {
        let log = replica.stop();
        assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    }
}

/// Two `assentd` processes on one PostgreSQL database, their time read from one file the test
/// rewrites: session activity recorded by either replica keeps a session alive on the other,
/// including when many sessions are used on both at once; and housekeeping run by every
/// process at once (both servers' own rounds and four `admin housekeeping` commands) deletes
/// each ended session exactly once while the servers keep answering.
///
/// The clock file is a test build's clock (`ASSENT_TEST_CLOCK_FILE`): processes cannot share
/// a manual clock in memory, and a test that waited for real time to pass would be slow and
/// flaky.
#[test]
#[cfg_attr(
    not(assent_postgres_tests),
    ignore = "set ASSENT_TEST_POSTGRES_URL to run"
)]
fn replicas_on_one_postgres_share_session_activity_and_sweep_each_row_once() {
    use crate::common::START;
    use assentd::clock::{SHARED_CLOCK_VARIABLE, set_shared};
    use time::Duration as Span;

    let db = assent_repository::testing::TestDatabase::postgres_configured();
    let dir = Workdir::new();
    let clock = dir.0.join("clock");
    set_shared(&clock, START);
    let clock_file = clock.display().to_string();
    let settings = [
        ("ASSENT_DATABASE_URL", db.url()),
        (SHARED_CLOCK_VARIABLE, clock_file.as_str()),
        ("ASSENT_SESSION_IDLE_TIMEOUT_SECS", "300"),
        // The servers' own rounds join the commands' race below whenever their timer falls in.
        ("ASSENT_HOUSEKEEPING_INTERVAL_SECS", "10"),
    ];
    let replicas = [
        Server::start_with(&dir.0, &settings),
        Server::start_with(&dir.0, &settings),
    ];
    let admin = |args: &[&str]| {
        let mut command = assentd(&dir.0);
        command.envs(settings).args(args);
        run_json(&mut command)
    };
    let key = admin(&["admin", "create-consumer", "--name", "app"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    const USERS: usize = 6;
    for n in 0..USERS {
        admin(&[
            "admin",
            "create-user",
            "--username",
            &format!("user{n}"),
            "--password",
            PASSWORD,
            "--email",
            &format!("user{n}@example.com"),
        ]);
    }
    let login = |replica: usize, n: usize| {
        let (status, body) = curl(&[
            "-X",
            "POST",
            &replicas[replica].url("/my/logins/direct"),
            "-H",
            &format!(r#"DirectLogin: username=user{n}, password="{PASSWORD}", consumer_key={key}"#),
        ]);
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    };
    let current = |replica: usize, token: &str| {
        curl(&[
            &replicas[replica].url("/obp/v3.1.0/users/current"),
            "-H",
            &format!("DirectLogin: token={token}"),
        ])
        .0
    };
    let at = |offset: Span| set_shared(&clock, START + offset);

    // One session, used on alternate replicas four minutes apart: each use keeps it alive for
    // the other replica's next one, past the five-minute idle timeout many times over.
    let token = login(0, 0);
    for step in 1..=4_i64 {
        at(Span::minutes(4 * step));
        let replica = usize::try_from(step).unwrap() % 2;
        assert_eq!(
            current(replica, &token),
            200,
            "use {step} on replica {replica}"
        );
    }

    // Every user's session used on both replicas at once, then, four minutes later, alive
    // on both: no activity written by one replica was lost to the other's.
    let tokens: Vec<String> = (1..USERS).map(|n| login(n % 2, n)).collect();
    at(Span::minutes(20));
    let answers = all_at_once(tokens.len() * 4, |n| {
        current(n % 2, &tokens[n / 4 % tokens.len()])
    });
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
    at(Span::minutes(24));
    for (n, token) in tokens.iter().enumerate() {
        assert_eq!(
            current(n % 2, token),
            200,
            "session {n} on replica {}",
            n % 2
        );
        assert_eq!(current((n + 1) % 2, token), 200);
    }
    // Idle past the timeout: ended on both.
    at(Span::minutes(24 + 5) + Span::seconds(1));
    for token in tokens.iter().chain([&token]) {
        assert_eq!(current(0, token), 401);
        assert_eq!(current(1, token), 401);
    }

    // A month on, every session made above has ended longer ago than the retention period.
    // Every process sweeps at once, while both servers take logins and reads.
    let ended = USERS;
    at(Span::days(31));
    let (rounds, served) = std::thread::scope(|scope| {
        let rounds: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| admin(&["admin", "housekeeping"])))
            .collect();
        let served = scope.spawn(|| {
            (0..8)
                .map(|n| {
                    let token = login(n % 2, n % USERS);
                    current((n + 1) % 2, &token)
                })
                .collect::<Vec<_>>()
        });
        (
            rounds
                .into_iter()
                .map(|round| round.join().unwrap())
                .collect::<Vec<_>>(),
            served.join().unwrap(),
        )
    });
    assert!(served.iter().all(|status| *status == 200), "{served:?}");
    // The servers' own rounds may have taken some of the rows first: what the commands swept
    // plus what the servers logged adds up to every ended session, each deleted once.
    let by_commands: u64 = rounds
        .iter()
        .filter_map(|round| round["rows"]["sessions"].as_u64())
        .sum();
    assert!(
        rounds.iter().any(|round| !round["rows"].is_null()),
        "no command swept: {rounds:?}"
    );
    // Stopped first, so that every round the servers began has been logged.
    let logs: Vec<String> = replicas.into_iter().map(Server::stop).collect();
    for log in &logs {
        assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    }
    let by_servers: u64 = logs
        .iter()
        .flat_map(|log| log.lines())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["message"] == "housekeeping")
        .filter_map(|entry| entry["sessions"].as_u64())
        .sum();
    assert_eq!(
        by_commands + by_servers,
        u64::try_from(ended).unwrap(),
        "{rounds:?}"
    );
    let after = admin(&["admin", "housekeeping"]);
    assert_eq!(after["rows"]["sessions"], 0, "{after}");
}
