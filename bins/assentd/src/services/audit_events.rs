//! Reading the audit trail: a page of events for an operator with `CanReadAuditEvents`, and
//! the whole trail for `assentd admin export-audit`.

use super::auth::SignedIn;
use super::paging::{InvalidPage, Page, page};
use super::roles::{MissingRoles, Need, require};
use super::{Context, Failure, Internal};
use assent_identity::roles;
/// An event of the trail, as stored.
pub use assent_repository::audit::AuditRow as AuditEvent;
use assent_repository::audit::{self, AuditQuery, ChainBreak, IntactChain};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why events were not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditRefusal {
    MissingRoles(MissingRoles),
    InvalidLimit,
    InvalidOffset,
    /// `from_date` or `to_date` is not an RFC 3339 time.
    InvalidDate,
    /// `user_id` is not a user id.
    InvalidUserId,
    /// A parameter this query does not take, or `kind` longer than any kind.
    InvalidParameter,
}

impl From<MissingRoles> for AuditRefusal {
    fn from(missing: MissingRoles) -> Self {
        AuditRefusal::MissingRoles(missing)
    }
}

/// Reads `kind`, `user_id`, `from_date`, `to_date` (RFC 3339), `limit` (1 to 1000, default
/// 50) and `offset` (default 0); any other parameter is refused.
pub fn parse_query(params: &HashMap<String, String>) -> Result<AuditQuery, AuditRefusal> {
    let known = ["kind", "user_id", "from_date", "to_date", "limit", "offset"];
    if params.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(AuditRefusal::InvalidParameter);
    }
    let Page { limit, offset } = page(params).map_err(|invalid| match invalid {
        InvalidPage::Limit => AuditRefusal::InvalidLimit,
        InvalidPage::Offset => AuditRefusal::InvalidOffset,
    })?;
    let date = |name: &str| {
        params
            .get(name)
            .map(|v| OffsetDateTime::parse(v.trim(), &Rfc3339))
            .transpose()
            .map_err(|_| AuditRefusal::InvalidDate)
    };
    let kind = params.get("kind").cloned();
    if kind.as_ref().is_some_and(|k| k.chars().count() > 64) {
        return Err(AuditRefusal::InvalidParameter);
    }
    let user_id = params
        .get("user_id")
        .map(|v| uuid::Uuid::parse_str(v).map(|id| id.to_string()))
        .transpose()
        .map_err(|_| AuditRefusal::InvalidUserId)?;
    Ok(AuditQuery {
        kind,
        user_id,
        from: date("from_date")?,
        to: date("to_date")?,
        limit,
        offset,
    })
}

/// A page of events, newest first; needs `CanReadAuditEvents`.
pub fn list(
    ctx: &mut Context<'_>,
    caller: &SignedIn,
    params: &HashMap<String, String>,
) -> Result<Vec<AuditEvent>, Failure<AuditRefusal>> {
    let query = parse_query(params).map_err(Failure::Refused)?;
    require(ctx, caller, &[Need::System(roles::CAN_READ_AUDIT_EVENTS)])?;
    Ok(audit::query(ctx.conn(), &query)?)
}

/// Hands every event, oldest first, to `write`, a page at a time; how many there were.
pub fn export(
    ctx: &mut Context<'_>,
    mut write: impl FnMut(&AuditEvent) -> Result<(), Internal>,
) -> Result<usize, Internal> {
    let mut after: Option<(i64, String)> = None;
    let mut written = 0;
    loop {
        let page = audit::page_after(
            ctx.conn(),
            after.as_ref().map(|(at, id)| (*at, id.as_str())),
            500,
        )?;
        let Some(last) = page.last() else {
            return Ok(written);
        };
        after = Some((last.occurred_at, last.event_id.clone()));
        for row in &page {
            write(row)?;
            written += 1;
        }
    }
}

/// Checks the whole trail's hash chain (see [`assent_repository::audit::verify`]).
pub fn verify(ctx: &mut Context<'_>) -> Result<Result<IntactChain, ChainBreak>, Internal> {
    Ok(audit::verify(ctx.conn())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<AuditQuery, AuditRefusal> {
        parse_query(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_query_reads_its_filters_and_refuses_anything_else() {
        let q = parse(&[]).unwrap();
        assert_eq!((q.limit, q.offset, q.kind, q.from), (50, 0, None, None));
        let q = parse(&[
            ("kind", "user.locked"),
            ("from_date", "2026-12-01T00:00:00Z"),
            ("limit", "1000"),
            ("offset", "10"),
        ])
        .unwrap();
        assert_eq!(q.kind.as_deref(), Some("user.locked"));
        assert_eq!(q.from, Some(time::macros::datetime!(2026-12-01 00:00 UTC)));
        assert_eq!((q.limit, q.offset), (1000, 10));
        for (pair, refusal) in [
            (("limit", "0"), AuditRefusal::InvalidLimit),
            (("limit", "1001"), AuditRefusal::InvalidLimit),
            (("offset", "-1"), AuditRefusal::InvalidOffset),
            (("from_date", "yesterday"), AuditRefusal::InvalidDate),
            (("user_id", "felix"), AuditRefusal::InvalidUserId),
            (("sort", "asc"), AuditRefusal::InvalidParameter),
        ] {
            assert_eq!(parse(&[pair]), Err(refusal), "{pair:?}");
        }
    }
}
