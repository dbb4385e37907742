//! Logs: `tracing` to stderr, as text or JSON lines, with each request's id in its span.

use crate::config::{Config, LogFormat};
use actix_web::HttpMessage;
use std::fmt::{self, Write as _};
use tracing::field::Field;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // JSON needs nothing more: serde_json escapes line breaks and the other C0 controls, so
    // one event stays one line.
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.fmt_fields(text_fields()).try_init(),
    };
}

/// How the text log writes fields: as the default format does (`name=value`, the message bare),
/// except that every control character in a value is escaped. Values carry what clients sent
/// (a role name in an error message, a user agent), and the default format writes a newline or
/// a terminal escape sequence raw, which would let a client forge log lines or rewrite an
/// operator's terminal.
pub fn text_fields() -> impl for<'writer> FormatFields<'writer> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(
        |writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
            if field.name() != "message" {
                write!(writer, "{}=", field.name())?;
            }
            let mut escaping = ControlEscaping(writer);
            write!(escaping, "{value:?}")
        },
    )
    .delimited(" ")
}

/// Writes through to the log with control characters (C0, DEL, C1) and Unicode line and
/// paragraph separators spelled as `\u{..}`, so one event stays one line.
struct ControlEscaping<'a, 'writer>(&'a mut Writer<'writer>);

impl fmt::Write for ControlEscaping<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for ch in text.chars() {
            if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}') {
                write!(self.0, "\\u{{{:x}}}", u32::from(ch))?;
            } else {
                self.0.write_char(ch)?;
            }
        }
        Ok(())
    }
}

/// Each request's span: like `tracing-actix-web`'s default, but the client address is the one
/// `trusted_proxies` establishes (the default believes any `X-Forwarded-For`, so a client
/// could write another's address into our logs), and the route pattern stands for the path:
/// raw paths carry session ids, usernames and email addresses, which stay out of the log.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        // The fields are computed only when the span is enabled (at `info` or finer).
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "(no route)".into()),
            http.client_ip = %request
                .app_data::<actix_web::web::Data<crate::state::AppState>>()
                .and_then(|state| state.client_ip(request.request()))
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            http.user_agent = %request
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request
                .extensions()
                .get::<tracing_actix_web::RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};

    /// A log destination the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn text_log(emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .fmt_fields(text_fields())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    const FORGED: &str =
        "x\r\n2026-12-07T00:00:00.000000Z  INFO forged=\"yes\"\u{1b}[2J\u{85}\u{2028}";

    #[test]
    fn a_value_with_line_breaks_and_escape_sequences_stays_on_its_event_line() {
        let log = text_log(|| {
            let span = tracing::info_span!("HTTP request", http.user_agent = %FORGED);
            let _entered = span.enter();
            tracing::warn!(role = %FORGED, error = ?FORGED, "refused {}", FORGED);
        });
        assert_eq!(log.matches('\n').count(), 1, "{log}");
        assert!(log.ends_with('\n'));
        assert!(
            !log.contains(['\r', '\u{1b}', '\u{85}', '\u{2028}']),
            "{log}"
        );
        // Each value is still there, readable, in escaped form.
        assert_eq!(log.matches("x\\u{d}\\u{a}2026-12-07").count(), 3, "{log}");
        assert!(log.contains("role=x\\u{d}"), "{log}");
        assert!(log.contains("\\u{1b}[2J"), "{log}");
        assert!(log.contains("refused x"), "{log}");
    }

    #[test]
    fn ordinary_fields_read_as_in_the_default_format() {
        let log =
            text_log(|| tracing::info!(addr = %"127.0.0.1:8080", workers = 2, "assentd listening"));
        assert!(
            log.trim_end()
                .ends_with("assentd listening addr=127.0.0.1:8080 workers=2"),
            "{log}"
        );
    }
}
