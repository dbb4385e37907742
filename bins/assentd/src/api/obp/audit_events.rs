//! The audit trail, for operators with `CanReadAuditEvents`.

use super::auth::Authenticated;
use super::errors::*;
use super::users::ErrorJson;
use crate::services::audit_events::{self, AuditEvent};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashMap;

/// An event as the API and `admin export-audit` show it: `detail` as the JSON it is.
pub fn event_json(row: &AuditEvent) -> Value {
    json!({
        "event_id": row.event_id,
        "occurred_at": super::timestamp_micros(row.occurred_at),
        "kind": row.kind,
        "user_id": row.user_id,
        "detail": serde_json::from_str::<Value>(&row.detail).unwrap_or(Value::Null),
        "sequence": row.chain_seq,
        "chain_hash": row.chain_hash,
    })
}

/// Get Audit Events: newest first, filtered and paged.
#[utoipa::path(
    get, path = "/obp/v5.1.0/management/audit-events", tag = "OBP: audit",
    security(("directLogin" = []), ("dAuth" = []), ("consentJwt" = [], "consumerKey" = [])),
    params(
        ("kind" = Option<String>, Query, max_length = 64, description = "only events of this kind, e.g. user.locked"),
        ("user_id" = Option<uuid::Uuid>, Query, description = "only events concerning this user"),
        ("from_date" = Option<time::OffsetDateTime>, Query, description = "RFC 3339; events at or after"),
        ("to_date" = Option<time::OffsetDateTime>, Query, description = "RFC 3339; events at or before"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 50"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "default 0"),
    ),
    responses(
        (status = 200, description = "`{audit_events: [{event_id, occurred_at, kind, user_id, detail, sequence, chain_hash}]}`", body = Object),
        (status = 400, description = "OBP-10040 limit, OBP-10041 offset, OBP-10044 unknown parameter, OBP-10045 date, OBP-10046 user_id", body = ErrorJson),
        (status = 401, description = "OBP-20001 / OBP-20003", body = ErrorJson),
        (status = 403, description = "OBP-20006: needs CanReadAuditEvents", body = ErrorJson),
    )
)]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ObpError> {
    let params = params.into_inner();
    let rows = caller
        .run(&state, move |ctx, caller| {
            Ok(audit_events::list(ctx, &caller, &params)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "audit_events": rows.iter().map(event_json).collect::<Vec<_>>() })))
}
