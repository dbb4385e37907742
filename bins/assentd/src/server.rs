//! Assembling and running the HTTP server.

use crate::api;
use crate::config::Config;
use crate::state::{AppState, StartError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, middleware, web};

/// The application with every route, limit and middleware; used by the server and the tests.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    let explorer = state.config.api_explorer;
    App::new()
        .app_data(state)
        .app_data(api::json_config(limit))
        .app_data(api::query_config())
        .app_data(web::PayloadConfig::new(limit))
        .configure(api::configure)
        .configure(|cfg| {
            if explorer {
                api::explorer::configure(cfg);
            }
        })
        .default_service(web::to(api::not_found))
        .wrap(middleware::from_fn(api::edge))
        .wrap(tracing_actix_web::TracingLogger::<
            crate::telemetry::RequestSpan,
        >::new())
}

/// Runs the server until SIGINT or SIGTERM, then drains in-flight requests (up to the
/// configured shutdown timeout).
pub fn serve(config: Config) -> Result<(), StartError> {
    // First, so that every thread started below inherits the policy.
    if let Err(reason) = crate::scheduling::apply_to_current_thread(config.cpu_scheduling) {
        tracing::warn!(%reason, "cpu_scheduling not applied; running under the default policy");
    }
    let addr = config.listen_addr()?;
    for warning in delivery_warnings(&config) {
        tracing::warn!("{warning}");
    }
    let workers = config.workers;
    let blocking_threads = config.blocking_threads_per_worker();
    let shutdown = config.shutdown_timeout_secs;
    let state = web::Data::new(AppState::build(config)?);
    let database = state.pool.backend_name();
    start_housekeeping(state.clone().into_inner());
    start_signing_key_refresh(state.clone().into_inner());
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(move || build_app(state.clone()))
            .shutdown_timeout(shutdown)
            .bind(addr)
            .map_err(|e| StartError::Other(format!("cannot listen on {addr}: {e}")))?;
        // The bound address, not the configured one: with port 0 the system picks the port.
        for bound in server.addrs() {
            tracing::info!(addr = %bound, database, "assentd listening");
        }
        if workers > 0 {
            server = server.workers(workers);
        }
        server = server.worker_max_blocking_threads(blocking_threads);
        server
            .run()
            .await
            .map_err(|e| StartError::Other(format!("server: {e}")))
    })
}

/// Reads the signing-key ring again every `signing_key_refresh_secs`, on a thread of its own, so
/// a rotation made anywhere (another replica, `assentd admin`) reaches this process without a
/// restart. A failed read keeps the keys in use and is retried on the next round.
fn start_signing_key_refresh(state: std::sync::Arc<AppState>) {
    let interval = std::time::Duration::from_secs(state.config.signing_key_refresh_secs);
    let spawned = std::thread::Builder::new()
        .name("signing-keys".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                if let Err(error) = crate::services::signing_keys::refresh(&state) {
                    tracing::error!(error = %error.chain(), "signing key ring not read");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "signing key refresh thread not started");
    }
}

/// What an operator must hear at start about where one-time codes go: codes written in clear
/// text, codes crossing a network unencrypted, channels nothing can deliver. Only kinds and
/// hosts are named: a spec can hold credentials (`smtps://user:password@...`).
pub fn delivery_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if config.otp_delivery_is_cleartext() {
        warnings.push(
            "OTP delivery writes one-time codes in CLEAR TEXT (file, or log in dev_mode): for development and tests only, never in production"
                .to_owned(),
        );
    }
    let specs = std::iter::once(&config.otp_delivery).chain(config.otp_phone_delivery.as_ref());
    warnings.extend(specs.filter_map(|spec| crate::delivery::unencrypted_transport(spec)));
    let phone_by_smtp = config.otp_phone_delivery.is_none()
        && (config.otp_delivery.starts_with("smtp://")
            || config.otp_delivery.starts_with("smtps://"));
    if phone_by_smtp {
        warnings.push(
            "otp_delivery is an SMTP relay and otp_phone_delivery is not set: no SMS or voice codes can be sent (pre-login flows will fail; sms and voice factors are not offered)"
                .to_owned(),
        );
    }
    warnings
}

/// Runs a round of housekeeping (see [`crate::services::housekeeping`]) every
/// `housekeeping_interval_secs`, with up to 10 % jitter so replicas spread out, on a thread of
/// its own.
fn start_housekeeping(state: std::sync::Arc<AppState>) {
    let interval = state.config.housekeeping_interval_secs;
    let spawned = std::thread::Builder::new()
        .name("housekeeping".into())
        .spawn(move || {
            loop {
                let jitter = rand::random_range(0..=interval / 10);
                std::thread::sleep(std::time::Duration::from_secs(interval + jitter));
                let crate::services::housekeeping::Round {
                    rows: swept,
                    signing_keys: ring,
                } = crate::services::housekeeping::round(&state);
                match ring {
                    Ok(ring) if ring.wiped + ring.deleted > 0 => tracing::info!(
                        wiped = ring.wiped,
                        deleted = ring.deleted,
                        "signing keys swept"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "signing key sweep failed"),
                }
                match swept {
                    Ok(None) => tracing::info!("housekeeping: another replica is sweeping"),
                    Ok(Some(swept)) => tracing::info!(
                        sessions = swept.sessions,
                        challenges = swept.challenges,
                        quota_windows = swept.quota_windows,
                        consents_expired = swept.consents_expired,
                        "housekeeping"
                    ),
                    Err(error) => tracing::error!(%error, "housekeeping failed"),
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "housekeeping thread not started");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_to_another_host_is_warned_about_at_start() {
        let config = |delivery: &str| Config {
            otp_delivery: delivery.to_owned(),
            otp_phone_delivery: Some("log".into()),
            ..Config::default()
        };
        let warnings = delivery_warnings(&config("smtp://relay.example.com:25"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("relay.example.com"), "{warnings:?}");
        assert!(warnings[0].contains("no TLS"), "{warnings:?}");
        for quiet in [
            "smtp://127.0.0.1:25",
            "smtps://relay.example.com",
            "smtp://relay.example.com?tls=required",
        ] {
            assert_eq!(
                delivery_warnings(&config(quiet)),
                Vec::<String>::new(),
                "{quiet}"
            );
        }
        let phone = Config {
            otp_phone_delivery: Some("smtp://10.1.2.3:25".into()),
            ..config("smtps://relay.example.com")
        };
        assert!(delivery_warnings(&phone)[0].contains("10.1.2.3"));
    }
}
