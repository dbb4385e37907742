//! Logs: `tracing` to stderr, as text or JSON lines, with each request's id in its span.

use crate::config::{Config, LogFormat};
use actix_web::HttpMessage;
use tracing_subscriber::EnvFilter;

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
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
