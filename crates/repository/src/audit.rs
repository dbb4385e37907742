//! The audit trail: security-relevant events, appended in the same transaction as the change
//! they describe, each linked to the one before it by a keyed hash.
//!
//! Every event carries the next sequence number and
//! `chain_hash = HMAC-SHA256(key, previous chain_hash || the event's content)`; the last
//! sequence number and hash (the head) sit in the one-row table `audit_chain`. Editing,
//! deleting, inserting or reordering a row breaks a link that [`verify`] finds; with the key
//! kept outside the database (the server derives it from its pepper), someone who can write to
//! the database cannot compute the links again to hide the change.
//!
//! Events appended inside a [`transaction`](crate::transaction) are held until its work is done
//! and linked in one step just before the commit, under the head row's lock (`FOR UPDATE` on
//! PostgreSQL; on SQLite every transaction already holds the write lock). Concurrent writers,
//! in this process or in other replicas, so link in the order they commit, and the head's lock
//! is always the last one a transaction takes, so it cannot close a deadlock with the locks its
//! work took. A transaction that is run again links its events again from the head it reads
//! then.

use crate::schema::{audit_chain, audit_events};
use crate::{DbConnection, RepoError, to_micros};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;
use time::OffsetDateTime;
use uuid::Uuid;

/// An `audit_events` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    /// UUID text.
    pub event_id: String,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// What happened, e.g. `login.success`.
    pub kind: String,
    /// The user concerned, if any.
    pub user_id: Option<String>,
    /// JSON object with details. Never holds secrets.
    pub detail: String,
    /// The event's place in the chain, from 1 (none only for a row written outside it).
    pub chain_seq: Option<i64>,
    /// Hex of the event's link in the chain.
    pub chain_hash: Option<String>,
}

/// The secret the chain's links are computed under. Its bytes never appear in `Debug`.
pub struct AuditChainKey([u8; 32]);

impl AuditChainKey {
    /// A key of 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for AuditChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditChainKey([redacted])")
    }
}

/// Shown each audit event after its transaction has committed, in the thread that committed
/// it (so it must be quick: counting, not I/O).
#[derive(Clone)]
pub struct AuditObserver(std::sync::Arc<dyn Fn(&AuditRow) + Send + Sync>);

impl AuditObserver {
    /// An observer calling `observe`.
    pub fn new(observe: impl Fn(&AuditRow) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(observe))
    }
}

impl std::fmt::Debug for AuditObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditObserver")
    }
}

/// The link before the first event.
const GENESIS: [u8; 32] = [0; 32];

type Link = [u8; 32];

/// The link of `row` at `seq` after `previous`: HMAC-SHA256 over the previous link, the
/// sequence number and every column, each text preceded by its length so no two different
/// rows encode alike.
fn link(key: &[u8], previous: &Link, seq: i64, row: &AuditRow) -> Link {
    fn text(mac: &mut Hmac<Sha256>, value: &str) {
        mac.update(&(value.len() as u64).to_be_bytes());
        mac.update(value.as_bytes());
    }
    // HMAC takes a key of any length; an empty one is the keyless chain.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return GENESIS;
    };
    mac.update(previous);
    mac.update(&seq.to_be_bytes());
    text(&mut mac, &row.event_id);
    mac.update(&row.occurred_at.to_be_bytes());
    text(&mut mac, &row.kind);
    match &row.user_id {
        None => mac.update(&[0]),
        Some(user_id) => {
            mac.update(&[1]);
            text(&mut mac, user_id);
        }
    }
    text(&mut mac, &row.detail);
    mac.finalize().into_bytes().into()
}

fn decode_link(hex_text: &str) -> Option<Link> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

/// The chain's key as the connection carries it (empty: the keyless chain).
fn key_bytes(conn: &mut DbConnection) -> Vec<u8> {
    crate::write_queue::audit_key_of(conn)
        .map(|key| key.0.to_vec())
        .unwrap_or_default()
}

/// Events appended in this thread's open transactions, not yet linked.
#[derive(Default)]
struct Pending {
    /// How many of [`crate::transaction`]'s levels are open on this thread.
    depth: usize,
    events: Vec<AuditRow>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
    /// Events linked at the end of the transaction being committed, shown to the observer
    /// once the commit has succeeded.
    static LINKED: RefCell<Vec<AuditRow>> = const { RefCell::new(Vec::new()) };
}

/// Called by [`crate::transaction`] after each attempt at its outermost level: shows the
/// events the attempt linked to the connection's observer if it committed, and forgets them
/// either way.
pub(crate) fn after_transaction(conn: &mut DbConnection, committed: bool) {
    if PENDING.with(|pending| pending.borrow().depth > 0) {
        return;
    }
    let linked = LINKED.with(|linked| std::mem::take(&mut *linked.borrow_mut()));
    if !committed || linked.is_empty() {
        return;
    }
    if let Some(observer) = crate::write_queue::audit_observer_of(conn) {
        for row in &linked {
            (observer.0)(row);
        }
    }
}

/// One open transaction level; dropped without [`Level::keep`], it forgets the events its
/// work appended (the work failed, so they were rolled back with it).
struct Level {
    mark: usize,
    outermost: bool,
    kept: bool,
}

impl Level {
    fn enter() -> Self {
        PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            pending.depth += 1;
            Level {
                mark: pending.events.len(),
                outermost: pending.depth == 1,
                kept: false,
            }
        })
    }

    fn take_events(&self) -> Vec<AuditRow> {
        PENDING.with(|pending| std::mem::take(&mut pending.borrow_mut().events))
    }

    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            pending.depth = pending.depth.saturating_sub(1);
            if !self.kept {
                pending.events.truncate(self.mark);
            }
        });
    }
}

/// Runs one level of a transaction's work; when it succeeds at the outermost level, links the
/// events appended in it into the chain, in the same transaction.
pub(crate) fn sealed_on_success<T, E>(
    conn: &mut DbConnection,
    work: &mut impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<RepoError>,
{
    let level = Level::enter();
    let value = work(conn)?;
    if level.outermost {
        link_and_insert(conn, level.take_events())?;
    }
    level.keep();
    Ok(value)
}

/// Appends an event. Inside a transaction it is written at the transaction's end, linked into
/// the chain; outside one it is written and linked at once in a transaction of its own.
pub fn append(
    conn: &mut DbConnection,
    event_id: Uuid,
    now: OffsetDateTime,
    kind: &str,
    user_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), RepoError> {
    let row = AuditRow {
        event_id: event_id.to_string(),
        occurred_at: to_micros(now),
        kind: kind.to_owned(),
        user_id: user_id.map(str::to_owned),
        detail: detail.to_string(),
        chain_seq: None,
        chain_hash: None,
    };
    let push = |row: AuditRow| PENDING.with(|pending| pending.borrow_mut().events.push(row));
    if PENDING.with(|pending| pending.borrow().depth > 0) {
        push(row);
        return Ok(());
    }
    crate::transaction(conn, |_| {
        push(row.clone());
        Ok::<_, RepoError>(())
    })
}

/// The head of the chain, locked until the transaction ends.
fn lock_head(conn: &mut DbConnection) -> Result<(i64, String), RepoError> {
    let head = audit_chain::table
        .find(1)
        .select((audit_chain::last_seq, audit_chain::last_hash));
    Ok(match conn {
        DbConnection::Postgres(pg) => head.for_update().get_result(pg)?,
        // Every transaction on SQLite holds the database's write lock already.
        DbConnection::Sqlite(sqlite) => head.get_result(sqlite)?,
    })
}

fn head_link(head_hash: &str) -> Result<Link, RepoError> {
    decode_link(head_hash).ok_or_else(|| RepoError::CorruptRow {
        table: "audit_chain",
        reason: "the head's hash is not 32 bytes of hex".into(),
    })
}

/// Writes `events`, linked after the chain's head, and moves the head.
fn link_and_insert(conn: &mut DbConnection, events: Vec<AuditRow>) -> Result<(), RepoError> {
    if events.is_empty() {
        return Ok(());
    }
    let key = key_bytes(conn);
    crate::connection::write(conn, |conn| {
        let (mut seq, head_hash) = lock_head(conn)?;
        let mut previous = head_link(&head_hash)?;
        for mut row in events {
            seq += 1;
            previous = link(&key, &previous, seq, &row);
            row.chain_seq = Some(seq);
            row.chain_hash = Some(hex::encode(previous));
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(conn)?;
            LINKED.with(|linked| linked.borrow_mut().push(row));
        }
        move_head(conn, seq, &previous)
    })
}

fn move_head(conn: &mut DbConnection, seq: i64, link: &Link) -> Result<(), RepoError> {
    diesel::update(audit_chain::table.find(1))
        .set((
            audit_chain::last_seq.eq(seq),
            audit_chain::last_hash.eq(hex::encode(link)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Links the events written before the trail was chained (oldest first), in pages; answers
/// how many. Run once after the migration that added the chain; later runs find none.
pub fn link_unlinked(conn: &mut DbConnection) -> Result<usize, RepoError> {
    const PAGE: i64 = 1_000;
    let key = key_bytes(conn);
    let mut linked = 0;
    loop {
        let done = crate::transaction(conn, |conn| {
            let (mut seq, head_hash) = lock_head(conn)?;
            let mut previous = head_link(&head_hash)?;
            let rows: Vec<AuditRow> = audit_events::table
                .filter(audit_events::chain_seq.is_null())
                .order((
                    audit_events::occurred_at.asc(),
                    audit_events::event_id.asc(),
                ))
                .limit(PAGE)
                .select(AuditRow::as_select())
                .load(conn)?;
            if rows.is_empty() {
                return Ok(0);
            }
            for row in &rows {
                seq += 1;
                previous = link(&key, &previous, seq, row);
                diesel::update(audit_events::table.find(&row.event_id))
                    .set((
                        audit_events::chain_seq.eq(seq),
                        audit_events::chain_hash.eq(hex::encode(previous)),
                    ))
                    .execute(conn)?;
            }
            move_head(conn, seq, &previous)?;
            Ok::<_, RepoError>(rows.len())
        })?;
        linked += done;
        if done < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            return Ok(linked);
        }
    }
}

/// An intact trail, as [`verify`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntactChain {
    /// How many events the chain holds.
    pub events: i64,
    /// Hex of the last link: recorded elsewhere, it shows later that nothing was cut from the
    /// end and the whole chain rewritten.
    pub head_hash: String,
}

/// Where the trail stops being what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A row that was never linked: written past the chain.
    #[error("event {event_id} is not in the chain (written outside the audit trail)")]
    Unlinked {
        /// The row's id.
        event_id: String,
    },
    /// Sequence numbers skip: events were deleted.
    #[error("events {expected} to {} are missing (deleted) before event {event_id}", found - 1)]
    Missing {
        /// The number the next event should carry.
        expected: i64,
        /// The number it carries.
        found: i64,
        /// The event after the gap.
        event_id: String,
    },
    /// The link does not match the row: it was edited, or rows were swapped or reordered.
    #[error("event {event_id} (number {seq}) was altered, or moved from its place")]
    Altered {
        /// The row's sequence number.
        seq: i64,
        /// The row's id.
        event_id: String,
    },
    /// The head names more events than the table holds: the newest were deleted.
    #[error(
        "the chain's head names {head_seq} events but the trail ends at {last_seq}: the newest were deleted"
    )]
    Truncated {
        /// The head's last sequence number.
        head_seq: i64,
        /// The last sequence number found.
        last_seq: i64,
    },
    /// The head's hash is not the last event's link.
    #[error("the chain's head does not match its last event")]
    HeadAltered,
}

/// Reads the whole trail in chain order and checks every link, the numbering and the head.
/// Events written while it runs are beyond the head it read first and are left for next time.
pub fn verify(conn: &mut DbConnection) -> Result<Result<IntactChain, ChainBreak>, RepoError> {
    const PAGE: i64 = 1_000;
    let key = key_bytes(conn);
    let (head_seq, head_hash): (i64, String) = audit_chain::table
        .find(1)
        .select((audit_chain::last_seq, audit_chain::last_hash))
        .get_result(conn)?;
    if let Some(event_id) = audit_events::table
        .filter(audit_events::chain_seq.is_null())
        .select(audit_events::event_id)
        .first::<String>(conn)
        .optional()?
    {
        return Ok(Err(ChainBreak::Unlinked { event_id }));
    }
    let mut previous = GENESIS;
    let mut last_seq = 0;
    loop {
        let rows: Vec<AuditRow> = audit_events::table
            .filter(audit_events::chain_seq.gt(last_seq))
            .filter(audit_events::chain_seq.le(head_seq))
            .order(audit_events::chain_seq.asc())
            .limit(PAGE)
            .select(AuditRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let seq = row.chain_seq.unwrap_or_default();
            if seq != last_seq + 1 {
                return Ok(Err(ChainBreak::Missing {
                    expected: last_seq + 1,
                    found: seq,
                    event_id: row.event_id.clone(),
                }));
            }
            let expected = link(&key, &previous, seq, row);
            if row.chain_hash.as_deref().and_then(decode_link) != Some(expected) {
                return Ok(Err(ChainBreak::Altered {
                    seq,
                    event_id: row.event_id.clone(),
                }));
            }
            previous = expected;
            last_seq = seq;
        }
    }
    if last_seq != head_seq {
        return Ok(Err(ChainBreak::Truncated { head_seq, last_seq }));
    }
    if head_link(&head_hash)? != previous {
        return Ok(Err(ChainBreak::HeadAltered));
    }
    Ok(Ok(IntactChain {
        events: last_seq,
        head_hash,
    }))
}

/// Events of one kind, oldest first (for tests and operators).
pub fn list_by_kind(conn: &mut DbConnection, kind: &str) -> Result<Vec<AuditRow>, RepoError> {
    Ok(audit_events::table
        .filter(audit_events::kind.eq(kind))
        .order(audit_events::occurred_at.asc())
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events of this kind.
    pub kind: Option<String>,
    /// Only events concerning this user.
    pub user_id: Option<String>,
    /// Only events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only events at or before this time.
    pub to: Option<OffsetDateTime>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// Events matching `query`, newest first (ties by id, so pages never overlap).
pub fn query(conn: &mut DbConnection, query: &AuditQuery) -> Result<Vec<AuditRow>, RepoError> {
    let mut select = audit_events::table
        .select(AuditRow::as_select())
        .order((
            audit_events::occurred_at.desc(),
            audit_events::event_id.desc(),
        ))
        .limit(query.limit)
        .offset(query.offset)
        .into_boxed();
    if let Some(kind) = &query.kind {
        select = select.filter(audit_events::kind.eq(kind));
    }
    if let Some(user_id) = &query.user_id {
        select = select.filter(audit_events::user_id.eq(user_id));
    }
    if let Some(from) = query.from {
        select = select.filter(audit_events::occurred_at.ge(to_micros(from)));
    }
    if let Some(to) = query.to {
        select = select.filter(audit_events::occurred_at.le(to_micros(to)));
    }
    Ok(select.load(conn)?)
}

/// Every event, oldest first, in pages of `page` after the event `after` (none: from the
/// start), for exports that must not hold the whole trail in memory.
pub fn page_after(
    conn: &mut DbConnection,
    after: Option<(i64, &str)>,
    page: i64,
) -> Result<Vec<AuditRow>, RepoError> {
    let mut select = audit_events::table
        .select(AuditRow::as_select())
        .order((
            audit_events::occurred_at.asc(),
            audit_events::event_id.asc(),
        ))
        .limit(page)
        .into_boxed();
    if let Some((occurred_at, event_id)) = after {
        select = select.filter(
            audit_events::occurred_at
                .gt(occurred_at)
                .or(audit_events::occurred_at
                    .eq(occurred_at)
                    .and(audit_events::event_id.gt(event_id.to_owned()))),
        );
    }
    Ok(select.load(conn)?)
}
