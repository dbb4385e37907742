//! Liveness, readiness and metrics.

use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};

pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::GET, "/health/live", || web::route().to(live)),
        (Method::HEAD, "/health/live", || web::route().to(live_head)),
        (Method::GET, "/health/ready", || web::route().to(ready)),
        (Method::HEAD, "/health/ready", || {
            web::route().to(ready_head)
        }),
        (Method::GET, "/metrics", || web::route().to(metrics)),
    ]
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "Alive", body = Object)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "live" }))
}

/// The process is up (the status of `GET`, without a body).
#[utoipa::path(head, path = "/health/live", tag = "operations",
    responses((status = 200, description = "Alive")))]
pub async fn live_head() -> HttpResponse {
    without_body(live().await)
}

/// The process can serve: the database answers and, on SQLite, the database's path still
/// names the file opened at start.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Ready", body = Object),
              (status = 503, description = "Database unreachable, or its file moved or replaced; with Retry-After", body = Object)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.pool.backend_name();
    let checked = crate::services::on_connection(state.into_inner(), crate::services::ping)
        .await
        .and_then(|answered| answered);
    match checked {
        Ok(()) => {
            HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": backend }))
        }
        Err(error) => {
            tracing::warn!(error = %error.chain(), "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(crate::api::retry_after(
                    crate::failure::UNREACHABLE_RETRY_AFTER_SECS,
                ))
                .json(serde_json::json!({ "status": "unavailable", "database": backend }))
        }
    }
}

/// Whether the process can serve (the status and headers of `GET`, without a body).
#[utoipa::path(head, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Ready"),
              (status = 503, description = "Not ready; with Retry-After")))]
pub async fn ready_head(state: web::Data<AppState>) -> HttpResponse {
    without_body(ready(state).await)
}

/// `response` without its body: what `HEAD` answers (RFC 9110 section 9.3.2), so a probe or
/// load balancer that asks with `HEAD` gets the status of `GET`.
fn without_body(response: HttpResponse) -> HttpResponse {
    response.set_body(()).map_into_boxed_body()
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body({
            let pool = state.pool.state();
            state
                .metrics
                .render(pool.connections, pool.idle_connections)
        })
}
