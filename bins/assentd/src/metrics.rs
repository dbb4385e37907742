//! Prometheus metrics: requests by method, route and status; security events (logins,
//! lockouts, codes, answers, consents, session ends) counted from the audit trail once their
//! transaction has committed; the database pool; the process; the build.
//!
//! Every label takes a bounded set of values: methods outside the standard ones count as
//! `other`, routes are matched patterns (`unmatched` for the rest), and event labels map
//! unknown values to `other`, so no request can create new series.

use assent_repository::audit::AuditRow;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    logins: IntCounterVec,
    lockouts: IntCounterVec,
    codes_sent: IntCounterVec,
    delivery_failures: IntCounterVec,
    answers: IntCounterVec,
    consent_status_changes: IntCounterVec,
    session_terminations: IntCounterVec,
}

/// The request methods counted by name; any other is `other`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Why sessions end, as the audit trail says it.
const TERMINATION_REASONS: [&str; 8] = [
    "logout",
    "system",
    "customer",
    "administrator",
    "administrator_lock",
    "consumer_disabled",
    "replaced",
    "other",
];

/// `value` if it is one of `known`, else `other`.
fn bounded<'a>(value: &'a str, known: &[&'a str]) -> &'a str {
    known
        .iter()
        .copied()
        .find(|k| *k == value)
        .unwrap_or("other")
}

/// The method label of a request.
pub fn method_label(method: &str) -> &str {
    bounded(method, &METHODS)
}

/// How a login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    WrongPassword,
    Locked,
    UnknownConsumer,
}

impl LoginOutcome {
    fn label(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::WrongPassword => "wrong_password",
            LoginOutcome::Locked => "locked",
            LoginOutcome::UnknownConsumer => "unknown_consumer",
        }
    }
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, prometheus::Error> {
    let counter = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(counter.clone()))?;
    Ok(counter)
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("assent".into()), None)?;
        let requests = counter(
            &registry,
            "http_requests_total",
            "HTTP requests by method, route and status",
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["method", "route"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections")?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        let logins = counter(
            &registry,
            "logins_total",
            "DirectLogin attempts by outcome",
            &["outcome"],
        )?;
        let lockouts = counter(
            &registry,
            "lockouts_total",
            "Usernames locked, by failed logins or by an administrator",
            &["cause"],
        )?;
        let codes_sent = counter(
            &registry,
            "otp_codes_sent_total",
            "One-time codes handed to a delivery channel",
            &["channel"],
        )?;
        let delivery_failures = counter(
            &registry,
            "otp_delivery_failures_total",
            "One-time codes a delivery channel failed to take",
            &["channel"],
        )?;
        let answers = counter(
            &registry,
            "otp_answers_total",
            "Answers to challenges by outcome",
            &["outcome"],
        )?;
        let consent_status_changes = counter(
            &registry,
            "consent_status_changes_total",
            "Consents entering a status",
            &["status"],
        )?;
        let session_terminations = counter(
            &registry,
            "session_terminations_total",
            "Sessions ended before their time, by reason",
            &["reason"],
        )?;
        let build = IntGaugeVec::new(
            Opts::new("build_info", "The running build (always 1)"),
            &["version"],
        )?;
        registry.register(Box::new(build.clone()))?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        // Every series exists from the start, so a rate is defined before the first event.
        for outcome in ["success", "wrong_password", "locked", "unknown_consumer"] {
            logins.with_label_values(&[outcome]);
        }
        for cause in ["failures", "administrator"] {
            lockouts.with_label_values(&[cause]);
        }
        for channel in ["email", "sms", "voice"] {
            codes_sent.with_label_values(&[channel]);
            delivery_failures.with_label_values(&[channel]);
        }
        for outcome in ["right", "wrong", "locked", "expired"] {
            answers.with_label_values(&[outcome]);
        }
        for status in ["ACCEPTED", "REJECTED", "REVOKED", "EXPIRED"] {
            consent_status_changes.with_label_values(&[status]);
        }
        for reason in TERMINATION_REASONS {
            session_terminations.with_label_values(&[reason]);
        }
        Ok(Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            logins,
            lockouts,
            codes_sent,
            delivery_failures,
            answers,
            consent_status_changes,
            session_terminations,
        })
    }

    /// Records one request. `route` is the matched pattern (bounded cardinality), never the
    /// raw path; `method` is bounded here.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// A login refused before anything was written (an unknown or disabled consumer); the
    /// others are counted from the audit trail.
    pub fn login_refused_early(&self, outcome: LoginOutcome) {
        self.logins.with_label_values(&[outcome.label()]).inc();
    }

    fn channel(channel: &str) -> &str {
        bounded(channel, &["email", "sms", "voice"])
    }

    /// A code handed to its channel.
    pub fn code_sent(&self, channel: &str) {
        self.codes_sent
            .with_label_values(&[Self::channel(channel)])
            .inc();
    }

    /// A code its channel did not take.
    pub fn delivery_failed(&self, channel: &str) {
        self.delivery_failures
            .with_label_values(&[Self::channel(channel)])
            .inc();
    }

    /// An answer to a challenge that had expired (nothing is written for it).
    pub fn answer_too_late(&self) {
        self.answers.with_label_values(&["expired"]).inc();
    }

    /// Consents marked expired by housekeeping.
    pub fn consents_expired(&self, count: usize) {
        self.consent_status_changes
            .with_label_values(&["EXPIRED"])
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    fn sessions_ended(&self, reason: &str, count: u64) {
        if count > 0 {
            self.session_terminations
                .with_label_values(&[bounded(reason, &TERMINATION_REASONS)])
                .inc_by(count);
        }
    }

    /// Counts a committed audit event (see [`assent_repository::audit::AuditObserver`]).
    pub fn count_event(&self, event: &AuditRow) {
        let detail: serde_json::Value =
            serde_json::from_str(&event.detail).unwrap_or(serde_json::Value::Null);
        let number = |name: &str| detail[name].as_u64().unwrap_or(0);
        let locked_now = detail["locked_now"].as_bool() == Some(true);
        match event.kind.as_str() {
            "login.success" => self.logins.with_label_values(&["success"]).inc(),
            "login.failure" => {
                let outcome = if detail["reason"] == "locked" {
                    LoginOutcome::Locked
                } else {
                    LoginOutcome::WrongPassword
                };
                self.logins.with_label_values(&[outcome.label()]).inc();
            }
            "user.locked" => {
                self.lockouts.with_label_values(&["administrator"]).inc();
                self.sessions_ended("administrator_lock", number("sessions_terminated"));
            }
            "otp.verified" => self.answers.with_label_values(&["right"]).inc(),
            // The wrong answer that used the last attempt locked the challenge.
            "otp.wrong_answer" => {
                let outcome = if detail["attempts_left"].as_u64() == Some(0) {
                    "locked"
                } else {
                    "wrong"
                };
                self.answers.with_label_values(&[outcome]).inc();
            }
            "consent.accepted" => self.consent_status("ACCEPTED"),
            "consent.rejected" => self.consent_status("REJECTED"),
            "consent.revoked" => self.consent_status("REVOKED"),
            "session.terminated" => {
                let reason = detail["reason"].as_str().unwrap_or("other");
                self.sessions_ended(reason, number("sessions").max(1));
            }
            "session.replaced" => self.sessions_ended("replaced", 1),
            "consumer.disabled" => {
                self.sessions_ended("consumer_disabled", number("sessions_terminated"));
            }
            _ => {}
        }
        if locked_now {
            self.lockouts.with_label_values(&["failures"]).inc();
        }
    }

    fn consent_status(&self, status: &str) {
        self.consent_status_changes
            .with_label_values(&[status])
            .inc();
    }

    /// The text exposition, with the pool's open and idle connections as they are now.
    pub fn render(&self, pool_connections: u32, pool_idle: u32) -> String {
        self.pool_connections.set(i64::from(pool_connections));
        self.pool_idle.set(i64::from(pool_idle));
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}
