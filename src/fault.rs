//! Named points where a process can be told to stop and wait, so that a crash test can kill
//! it at the moment it chooses (`CSVGATE_PAUSE_AT=<point>`), instead of guessing with timers.
//! Unset, a point costs one environment lookup.

use std::time::Duration;

/// A restore with the table's new contents staged but not committed: Delta files written,
/// or MySQL rows deleted and inserted inside the open transaction.
pub const RESTORE_BEFORE_COMMIT: &str = "restore-before-commit";

/// How long a paused process waits before going on, should nobody kill it.
const PAUSED_FOR: Duration = Duration::from_secs(600);

/// Stops here when `CSVGATE_PAUSE_AT` names `point`, after saying so on standard error.
pub async fn point(point: &str) {
    if std::env::var("CSVGATE_PAUSE_AT").is_ok_and(|at| at == point) {
        eprintln!("csvgate: paused at {point} (CSVGATE_PAUSE_AT)");
        tokio::time::sleep(PAUSED_FOR).await;
    }
}
