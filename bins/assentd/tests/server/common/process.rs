//! The real `assentd` binary as a process: a scratch working directory, the admin CLI, a
//! server started on a free port, and curl to talk to it, as the README does.

pub use super::PASSWORD;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_assentd");

/// A scratch folder used as the working directory, so the defaults (./data/assent.db) apply.
pub struct Workdir(pub PathBuf);

impl Workdir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("assent-e2e-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `assentd` with a clean ASSENT_* environment (the developer's own settings must not leak in).
pub fn assentd(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSENT_") {
            command.env_remove(name);
        }
    }
    command
}

pub fn run_json(command: &mut Command) -> Value {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// curl, returning (status, JSON body or Null).
pub fn curl(args: &[&str]) -> (u16, Value) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is needed for the end-to-end test");
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, settings: &[(&str, &str)]) -> Self {
        // Port 0: the system picks a free port as the server binds, and the log names it (a
        // port picked beforehand could be taken by someone else in between).
        Self::start_listening(dir, settings, "127.0.0.1:0")
    }

    /// A server whose public base URL (`provider`, the document's one `servers` entry) is the
    /// address it listens on, for a test that follows the document to the server (a browser
    /// in the API explorer). The provider must be known at start, so the port is picked
    /// beforehand: the one exception to letting the server pick it.
    pub fn start_as_provider(dir: &Path, settings: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let provider = format!("http://{listen}");
        let mut settings = settings.to_vec();
        settings.push(("ASSENT_PROVIDER", &provider));
        Self::start_listening(dir, &settings, &listen)
    }

    fn start_listening(dir: &Path, settings: &[(&str, &str)], listen: &str) -> Self {
        // One log per server: several may share a working directory (replicas).
        let log = dir.join(format!("server-{}.log", uuid::Uuid::new_v4()));
        let child = assentd(dir)
            .envs(settings.iter().copied())
            .arg("serve")
            .env("ASSENT_LISTEN", listen)
            .env("ASSENT_LOG_LEVEL", "debug")
            .env("ASSENT_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = wait_until("the server to listen", deadline, || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|entry| entry["message"] == "assentd listening")
                .map(|entry| entry["addr"].as_str().unwrap().to_owned())
        });
        let base = format!("http://{addr}");
        wait_until("the server to be ready", deadline, || {
            (curl(&[&format!("{base}/health/ready")]).0 == 200).then_some(())
        });
        Self { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then wait: a graceful shutdown exits with success.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "assentd exited with {exit:?} after SIGTERM");
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `curl` with a JSON body, returning (status, JSON body or Null).
/// Asks `check` every tenth of a second until it answers, failing the test at `deadline`:
/// how a test waits for another process, whose progress no test clock can move.
pub fn wait_until<T>(what: &str, deadline: Instant, mut check: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn curl_json(method: &str, url: &str, headers: &[String], body: &Value) -> (u16, Value) {
    let mut args: Vec<String> = vec!["-X".into(), method.into(), url.into()];
    for header in headers {
        args.extend(["-H".into(), header.clone()]);
    }
    args.extend([
        "-H".into(),
        "Content-Type: application/json".into(),
        "-d".into(),
        body.to_string(),
    ]);
    curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Runs `call(n)` for n in 0..count, all at once, each on its own thread; their answers.
pub fn all_at_once<T: Send>(count: usize, call: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|n| {
                scope.spawn({
                    let call = &call;
                    move || call(n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
