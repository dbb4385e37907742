//! The API explorer: Swagger UI at `/docs` over the document served at `/openapi.json`, so an
//! integrator can read every operation and try it against this server from a browser. Its files
//! are built into the binary (Swagger UI as `utoipa-swagger-ui` vendors it): the page loads
//! nothing from anywhere but this server. `api_explorer = false` leaves `/docs` unrouted.

use crate::api::{Dialect, GenericError, RouteSpec};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::{Arc, LazyLock};
use utoipa_swagger_ui::Config;

/// Where the explorer lives; its files are under `/docs/`.
pub const PATH: &str = "/docs";

/// What the page may load and do, and nothing more. Swagger UI's scripts and styles are files
/// of its own; the one inline style is the `<style>` element inside its logo's SVG
/// (`.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`), allowed by its
/// hash alone. Its icons are `data:` images inside its stylesheet, and it fetches the
/// document and the operations a user tries from this origin. No other page may frame it (a
/// framed "Execute" button could be clicked by a visitor unawares), and it submits no form.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Swagger UI's settings, written into its `swagger-initializer.js`.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["/openapi.json"])
            // Swagger UI would otherwise send the document's address to validator.swagger.io.
            .validator_url("none")
            // Over two hundred operations: a filter by tag is the quickest way to one.
            .filter(true)
            // Credentials typed into Authorize live as long as the page: kept in the browser's
            // storage, they would outlive it and be readable by any script of this origin.
            .persist_authorization(false),
    )
});

pub fn endpoints() -> Vec<RouteSpec> {
    vec![
        (Method::GET, PATH, || web::route().to(to_index)),
        (Method::GET, "/docs/{file:.*}", || web::route().to(file)),
    ]
}

/// `/docs` itself: the page's files are named relative to `/docs/`.
async fn to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// One of Swagger UI's files (`/docs/` is its page); anything else answers as an unknown path.
async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match utoipa_swagger_ui::serve(&name, CONFIG.clone()) {
        Ok(Some(file)) => HttpResponse::Ok()
            .content_type(file.content_type)
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .body(file.bytes.into_owned()),
        Ok(None) => crate::api::not_found(req).await,
        Err(error) => {
            tracing::error!(%error, file = %name, "API explorer file not rendered");
            Dialect::for_path(req.path()).error(GenericError::Internal, req.path())
        }
    }
}

/// Registers the explorer's routes (405 in the OBP dialect for other methods, as at any path
/// outside the Apiture and Temenos prefixes).
pub fn configure(cfg: &mut web::ServiceConfig) {
    super::register(cfg, endpoints());
}
