//! Liveness, readiness and metrics.

use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};

pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![
        (Method::GET, "/health/live", || web::route().to(live)),
        (Method::GET, "/health/ready", || web::route().to(ready)),
        (Method::GET, "/metrics", || web::route().to(metrics)),
    ]
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "Alive", body = Object)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "live" }))
}

/// The process can serve: the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Ready", body = Object),
              (status = 503, description = "Database unreachable", body = Object)))]
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
                .json(serde_json::json!({ "status": "unavailable", "database": backend }))
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
