//! Load driver for the HTTP benchmarks (`scripts/otp-load.sh`, `scripts/session-load.sh`).
//!
//! `load_driver commits DIR N`: the database's own single-row commit rate: N autocommitted
//! single-row inserts (an audit event) into a fresh SQLite database in DIR, opened with
//! `assentd`'s settings (WAL, `synchronous=FULL`).
//!
//! `load_driver pairs URL CODES_FILE SECONDS CONCURRENCY`: Temenos pre-login challenge pairs over
//! HTTP: `requestOTPPreLoginMB`, the code read from the `file` delivery, then
//! `verifyOTPPreLoginMB`; prints pairs per second and pair latency percentiles.
//!
//! `load_driver resumes URL SYSTEM_KEY SECONDS TOKEN...`: Apiture `resumedCustomerSessions`,
//! one task per session token (each resuming its own session); prints resumes per second and
//! latency percentiles.
//!
//! `load_driver grants URL ACCOUNT_PATH HOLDER_TOKEN SECONDS USER_ID...`: OBP account-access
//! grant + revoke pairs of the `auditor` view on one account, one task per user; prints pairs
//! per second and pair latency percentiles.
#![expect(
    clippy::print_stdout,
    reason = "a benchmark driver: its results are its output"
)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Codes = Arc<Mutex<HashMap<String, String>>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("commits") => commits(&args[1], args[2].parse().expect("N")),
        Some("pairs") => pairs(
            &args[1],
            &args[2],
            args[3].parse().expect("SECONDS"),
            args[4].parse().expect("CONCURRENCY"),
        ),
        Some("resumes") => resumes(
            &args[1],
            &args[2],
            args[3].parse().expect("SECONDS"),
            &args[4..],
        ),
        Some("grants") => grants(
            &args[1],
            &args[2],
            &args[3],
            args[4].parse().expect("SECONDS"),
            &args[5..],
        ),
        _ => eprintln!(
            "usage: load_driver commits DIR N | pairs URL CODES_FILE SECONDS CONCURRENCY | resumes URL KEY SECONDS TOKEN... | grants URL ACCOUNT_PATH TOKEN SECONDS USER_ID..."
        ),
    }
}

fn commits(dir: &str, n: u32) {
    let config = assentd::config::Config {
        database_url: format!("sqlite://{dir}/commits.db"),
        data_dir: dir.into(),
        ..Default::default()
    };
    let pool = assentd::state::open_database(
        &config,
        &assentd::state::load_secret_hasher(&config).expect("pepper"),
        None,
    )
    .expect("database");
    let mut conn = pool.get().expect("connection");
    let detail = json!({ "bench": true });
    let started = Instant::now();
    for _ in 0..n {
        assent_repository::audit::append(
            &mut conn,
            uuid::Uuid::new_v4(),
            assentd::clock::Clock::system().now(),
            "bench.commit",
            None,
            &detail,
        )
        .expect("insert");
    }
    let rate = f64::from(n) / started.elapsed().as_secs_f64();
    println!("{rate:.0}");
}

/// Follows the codes file as the server appends to it.
fn follow(path: String, codes: Codes, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let file = loop {
            match std::fs::File::open(&path) {
                Ok(file) => break file,
                Err(_) if !stop.load(Ordering::Relaxed) => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(_) => return,
            }
        };
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut position = 0u64;
        while !stop.load(Ordering::Relaxed) {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    position += n as u64;
                    if let Ok(message) = serde_json::from_str::<Value>(&line) {
                        let id = message["challenge_id"].as_str().unwrap_or("").to_owned();
                        let code = message["code"].as_str().unwrap_or("").to_owned();
                        codes.lock().expect("codes").insert(id, code);
                    }
                }
                _ => {
                    // A partial line or none yet: go back and wait for the rest.
                    reader.seek(SeekFrom::Start(position)).expect("seek");
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    });
}

fn pairs(url: &str, codes_file: &str, seconds: u64, concurrency: usize) {
    let codes: Codes = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    follow(codes_file.to_owned(), codes.clone(), stop.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    runtime.block_on(async {
        let tasks = (0..concurrency).map(|task| {
            let (client, codes, done, failed, latencies) = (
                client.clone(),
                codes.clone(),
                done.clone(),
                failed.clone(),
                latencies.clone(),
            );
            let base = format!("{url}/services/data/v1/RBObjects/operations/DbxUser");
            async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let phone = format!("+4477{:02}{:07}", task % 100, n % 10_000_000);
                    let began = Instant::now();
                    let ok = pair(&client, &base, &phone, &codes).await;
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                        latencies.lock().expect("latencies").push(began.elapsed());
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        futures_util::future::join_all(tasks).await;
    });
    stop.store(true, Ordering::Relaxed);
    report(&done, &failed, &latencies, started.elapsed().as_secs_f64());
}

async fn pair(client: &reqwest::Client, base: &str, phone: &str, codes: &Codes) -> bool {
    let Ok(response) = client
        .post(format!("{base}/requestOTPPreLoginMB"))
        .json(&json!({ "Phone": phone }))
        .send()
        .await
    else {
        eprintln!("request failed");
        return false;
    };
    let Ok(body) = response.json::<Value>().await else {
        eprintln!("request answered no JSON");
        return false;
    };
    let service_key = body["MFAAttributes"]["serviceKey"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let security_key = body["MFAAttributes"]["OTP"]["securityKey"].clone();
    // The code is in the file before the response leaves the server; the follower may need
    // a moment to read it.
    let mut code = None;
    for _ in 0..1_000_000 {
        if let Some(c) = codes.lock().expect("codes").remove(&service_key) {
            code = Some(c);
            break;
        }
        tokio::task::yield_now().await;
    }
    let Some(code) = code else {
        eprintln!("no code seen for {service_key:?}: {body}");
        return false;
    };
    let verified = client
        .post(format!("{base}/verifyOTPPreLoginMB"))
        .json(&json!({ "MFAAttributes": { "serviceKey": service_key,
            "OTP": { "securityKey": security_key, "otp": code } } }))
        .send()
        .await;
    match verified {
        Ok(response) => match response.json::<Value>().await {
            Ok(b) if b["isOtpVerified"] == "true" => true,
            other => {
                eprintln!("verify failed: {other:?}");
                false
            }
        },
        Err(e) => {
            eprintln!("verify failed: {e}");
            false
        }
    }
}

/// The `sid` claim of a session token.
fn session_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims["sid"].as_str().expect("sid").to_owned()
}

fn resumes(url: &str, key: &str, seconds: u64, tokens: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    runtime.block_on(async {
        let tasks = tokens.iter().map(|token| {
            let (client, done, failed, latencies) = (
                client.clone(),
                done.clone(),
                failed.clone(),
                latencies.clone(),
            );
            let body = json!({ "sessionId": session_of(token) });
            let target = format!("{url}/system/resumedCustomerSessions");
            async move {
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let answered = client
                        .post(&target)
                        .bearer_auth(key)
                        .json(&body)
                        .send()
                        .await;
                    match answered {
                        Ok(response) if response.status() == reqwest::StatusCode::OK => {
                            done.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().expect("latencies").push(began.elapsed());
                        }
                        other => {
                            eprintln!("resume failed: {other:?}");
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        });
        futures_util::future::join_all(tasks).await;
    });
    report(&done, &failed, &latencies, started.elapsed().as_secs_f64());
}

fn report(done: &AtomicU64, failed: &AtomicU64, latencies: &Mutex<Vec<Duration>>, elapsed: f64) {
    let mut latencies = latencies.lock().expect("latencies").clone();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{:.0} {:.2} {:.2} {}",
        done.load(Ordering::Relaxed) as f64 / elapsed,
        at(0.5),
        at(0.99),
        failed.load(Ordering::Relaxed)
    );
}

fn grants(url: &str, account: &str, token: &str, seconds: u64, users: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let auth = format!("token={token}");
    runtime.block_on(async {
        let tasks = users.iter().map(|user| {
            let (client, done, failed, latencies, auth) = (
                client.clone(),
                done.clone(),
                failed.clone(),
                latencies.clone(),
                auth.clone(),
            );
            let body =
                json!({ "user_id": user, "view": { "view_id": "auditor", "is_system": true } });
            let grant = format!("{url}{account}/account-access/grant");
            let revoke = format!("{url}{account}/account-access/revoke");
            async move {
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let mut ok = true;
                    for target in [&grant, &revoke] {
                        let answered = client
                            .post(target)
                            .header("DirectLogin", &auth)
                            .json(&body)
                            .send()
                            .await;
                        if !matches!(&answered, Ok(r) if r.status() == reqwest::StatusCode::CREATED)
                        {
                            eprintln!("grant/revoke failed: {answered:?}");
                            ok = false;
                        }
                    }
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                        latencies.lock().expect("latencies").push(began.elapsed());
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        futures_util::future::join_all(tasks).await;
    });
    report(&done, &failed, &latencies, started.elapsed().as_secs_f64());
}
