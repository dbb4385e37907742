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
    App::new()
        .app_data(state)
        .app_data(api::json_config(limit))
        .app_data(api::query_config())
        .app_data(web::PayloadConfig::new(limit))
        .configure(api::configure)
        .default_service(web::to(api::not_found))
        .wrap(middleware::from_fn(api::edge))
        .wrap(tracing_actix_web::TracingLogger::default())
}

/// Runs the server until SIGINT or SIGTERM, then drains in-flight requests (up to the
/// configured shutdown timeout).
pub fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.listen_addr()?;
    if config.otp_delivery_is_cleartext() {
        tracing::warn!(
            delivery = %config.otp_delivery,
            "OTP delivery {:?} writes one-time codes in CLEAR TEXT: for development and tests only, never in production",
            config.otp_delivery
        );
    }
    let workers = config.workers;
    let blocking_threads = config.blocking_threads_per_worker();
    let shutdown = config.shutdown_timeout_secs;
    let state = web::Data::new(AppState::build(config)?);
    tracing::info!(%addr, database = state.pool.backend_name(), "assentd listening");
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(move || build_app(state.clone()))
            .shutdown_timeout(shutdown)
            .bind(addr)
            .map_err(|e| StartError::Other(format!("cannot listen on {addr}: {e}")))?;
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
