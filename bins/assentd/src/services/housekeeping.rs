//! One round of housekeeping, as every replica runs it on a timer and `assentd admin
//! housekeeping` runs it on demand: ended sessions, old challenges and allowance windows
//! deleted, consents past their end marked expired, retired signing keys wiped and deleted.
//! On PostgreSQL one process at a time sweeps the rows (an advisory lock; the others skip);
//! every statement is idempotent besides, so an overlap would only share the work.

use crate::services::customer_sessions::{self, Swept};
use crate::services::signing_keys::{self, RingSweep};
use crate::state::AppState;

/// What one round did. The two parts fail independently: a failed row sweep does not keep
/// retired keys from being wiped.
#[derive(Debug)]
pub struct Round {
    /// `None` when another process was sweeping the rows at that moment.
    pub rows: Result<Option<Swept>, String>,
    pub signing_keys: Result<RingSweep, String>,
}

/// Runs one round at the state's current time.
pub fn round(state: &AppState) -> Round {
    let rows = state
        .pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            customer_sessions::housekeeping(state, &mut conn, state.clock.now())
                .map_err(|e| e.to_string())
        });
    let signing_keys = state
        .pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            signing_keys::sweep(state, &mut conn, state.clock.now())
                .map_err(|e| e.chain().to_string())
        });
    Round { rows, signing_keys }
}
