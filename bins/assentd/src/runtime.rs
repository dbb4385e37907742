//! Running blocking work (database, password hashing) off the async workers.

use crate::failure::Internal;

/// Runs `work` on actix's blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Internal> {
    actix_web::web::block(work)
        .await
        .map_err(|_| Internal::Worker("the blocking pool dropped the task"))
}
