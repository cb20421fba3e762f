//! Faults on demand, for tests that must prove what happens at a moment they choose: a named
//! point where the process stops and waits to be killed (`CSVGATE_PAUSE_AT=<point>`, or
//! `<point>#2` for its second passage) or for a file to appear (`CSVGATE_RESUME_WHEN=<path>`),
//! or where it panics (`CSVGATE_PANIC_AT=<point>`), instead of guessing with timers. Unset, a
//! point costs one environment lookup.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A restore with the table's new contents staged but not committed: Delta files written,
/// or MySQL rows deleted and inserted inside the open transaction.
pub const RESTORE_BEFORE_COMMIT: &str = "restore-before-commit";

/// A load with all of an object's rows written into the target's open transaction or staging
/// table, before the commit that makes them and the ledger entry visible.
pub const LOAD_BEFORE_COMMIT: &str = "load-before-commit";

/// A load whose object this run has claimed (the claim renewed meanwhile), before it reads
/// a row.
pub const CLAIM_TAKEN: &str = "claim-taken";

/// A warehouse load with its rows committed, before the ledger entry is appended: once per
/// batch of loads whose appends run together.
pub const LEDGER_BEFORE_APPEND: &str = "ledger-before-append";

/// A warehouse load with its rows committed, before its table's rollups are brought up to
/// date: once per batch of loads whose rollup commits run together.
pub const ROLLUP_BEFORE_COMMIT: &str = "rollup-before-commit";

/// A warehouse load's commits passed a checkpoint version, before the checkpoint that trails
/// them is written.
pub const CHECKPOINT_BEFORE_WRITE: &str = "checkpoint-before-write";

/// How long a paused process waits before going on, should nobody kill or resume it.
const PAUSED_FOR: Duration = Duration::from_secs(600);

/// How often a paused process looks for the file that resumes it.
const RESUME_POLL: Duration = Duration::from_millis(10);

/// Passages through the point `CSVGATE_PAUSE_AT` names, so far.
static PASSAGES: AtomicUsize = AtomicUsize::new(0);

/// Stops here when `CSVGATE_PAUSE_AT` names `point` (and this passage), after saying so on
/// standard error.
pub async fn pause(point: &str) {
    let Ok(at) = std::env::var("CSVGATE_PAUSE_AT") else {
        return;
    };
    let (named, passage) = match at.split_once('#') {
        Some((named, passage)) => (named, passage.parse().unwrap_or(1)),
        None => (at.as_str(), 1),
    };
    if named == point && PASSAGES.fetch_add(1, Ordering::Relaxed) + 1 == passage {
        eprintln!("csvgate: paused at {at} (CSVGATE_PAUSE_AT)");
        let resumed = resumed_when(std::env::var_os("CSVGATE_RESUME_WHEN"));
        if tokio::time::timeout(PAUSED_FOR, resumed).await.is_ok() {
            eprintln!("csvgate: resumed at {at} (CSVGATE_RESUME_WHEN)");
        }
    }
}

/// Ends once the file at `path` exists; never without one.
async fn resumed_when(path: Option<std::ffi::OsString>) {
    let Some(path) = path else {
        return std::future::pending().await;
    };
    while !std::path::Path::new(&path).exists() {
        tokio::time::sleep(RESUME_POLL).await;
    }
}

/// Panics here when `CSVGATE_PANIC_AT` names `point`.
pub fn panic(point: &str) {
    if named("CSVGATE_PANIC_AT", point) {
        panic!("injected panic at {point} (CSVGATE_PANIC_AT)");
    }
}

fn named(variable: &str, point: &str) -> bool {
    std::env::var(variable).is_ok_and(|at| at == point)
}
