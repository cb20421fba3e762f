//! The one way rows enter a data table: files staged next to the table's data, invisible until
//! one commit adds them (with the object's marker and the run that made them), tried again on
//! a newer version under one [`retry`] policy, the staged files removed when the commit failed
//! (a failure that might hide a commit that happened keeps them: the caller decides). Loads,
//! restores, row replacements and rollups commit here; the ledger's blind appends (delta-rs's
//! `BlindDeltaTable`, which needs no list of files) follow the same [`retry`] policy; history's
//! RESTORE, vacuum and a rollup's first store use delta-rs's own builders (which commit by
//! themselves) with the same [`commit_properties`].
//!
//! A commit is atomic: a reader sees the table before it or after it, never a part.

use std::future::IntoFuture;

use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use tracing::Instrument;

use super::DeltaTarget;
use crate::ledger::Entry;
use crate::sink::SinkError;

/// Rows per Parquet row group: DuckDB's default. The writer holds one row group in memory, so
/// this caps a load's memory whatever the file's size (the parquet crate's default of 1M rows
/// would hold ~50 MB more).
const ROW_GROUP_ROWS: usize = 122_880;
/// Keys of the commit metadata ([`made_by`]).
pub(super) const RUN_KEY: &str = "csvgate.run";
pub(super) const OBJECT_KEY: &str = "csvgate.object";

/// Commits `staged` to `delta` (the table in `folder`), added to its files (`Append`) or in
/// place of every one of them (`Overwrite`: a restore, a rollup; the old version stays
/// reachable by time travel until vacuumed); returns the table as committed. On failure
/// nothing is committed (the caller removes `staged`).
pub(super) async fn commit_staged(
    target: &DeltaTarget,
    folder: &str,
    delta: DeltaTable,
    staged: &[Add],
    commit: CommitProperties,
    mode: SaveMode,
) -> Result<DeltaTable, SinkError> {
    let error = target.error(folder);
    let mut actions: Vec<Action> = staged.iter().cloned().map(Action::Add).collect();
    if mode == SaveMode::Overwrite {
        let files = delta.snapshot().map_err(&error)?.log_data();
        actions.extend(
            files
                .iter()
                .map(|file| Action::Remove(file.remove_action(true))),
        );
    }
    let operation = DeltaOperation::Write {
        mode,
        partition_by: None,
        predicate: None,
    };
    commit_actions(target, folder, delta, actions, operation, commit).await
}

/// Commits `actions` on the version `delta` was read at, or fails: a newer commit by another
/// writer is a conflict ([`retry::is_conflict`]) that goes back to the caller.
pub(super) async fn commit_actions(
    target: &DeltaTarget,
    folder: &str,
    mut delta: DeltaTable,
    actions: Vec<Action>,
    operation: DeltaOperation,
    commit: CommitProperties,
) -> Result<DeltaTable, SinkError> {
    let error = target.error(folder);
    let snapshot = delta.snapshot().map_err(&error)?;
    // delta-rs would put an append on top of another writer's newer commit by itself, since
    // an append reads no rows. But whether these files may be appended at all was decided on
    // the ids of the version they were staged on (two files repeating each other's ids, loaded
    // at once, were both appended), so a newer commit goes back to the caller, which decides
    // again on the newer version; a restore likewise removes what came meanwhile.
    let finalized = CommitBuilder::from(commit)
        .with_max_retries(0)
        .with_actions(actions)
        .build(Some(snapshot), delta.log_store(), operation)
        .into_future()
        .instrument(tracing::debug_span!("delta_commit"))
        .await
        .map_err(error)?;
    delta.state = Some(finalized.snapshot());
    Ok(delta)
}

/// What a commit's `commitInfo` says of its origin, for `csvgate history`: the run, and the
/// object whose rows it holds (a landing file, or a backup snapshot for a restore); for a
/// group, the runs comma-separated and the objects as a JSON array of URLs (a key may hold
/// any separator).
pub(super) fn made_by(entries: &[Entry]) -> [(String, serde_json::Value); 2] {
    let runs: Vec<&str> = entries.iter().map(|entry| entry.run_id.as_str()).collect();
    let objects: Vec<String> = (entries.iter())
        .map(|entry| format!("{}{}", entry.object.location, entry.object.key))
        .collect();
    let objects = match objects.as_slice() {
        [one] => one.clone(),
        _ => serde_json::to_string(&objects).expect("strings serialize"),
    };
    [
        (RUN_KEY.to_owned(), runs.join(",").into()),
        (OBJECT_KEY.to_owned(), objects.into()),
    ]
}

/// Delta's writers clean up expired log files after every commit, listing the whole log each
/// time; csvgate does it after checkpoints only ([`super::cleanup`]).
pub(super) fn commit_properties() -> CommitProperties {
    CommitProperties::default().with_cleanup_expired_logs(Some(false))
}

/// How staged files are written.
pub(super) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

/// Deletes staged files that were never committed.
pub(super) async fn remove_files(target: &DeltaTarget, table: &str, files: &[Add]) {
    let Ok(location) = target.warehouse.child(table) else {
        return;
    };
    for file in files {
        if let Err(error) = location.store.delete(&Path::from(file.path.as_str())).await {
            tracing::warn!(table, file = file.path, %error, "could not remove an uncommitted data file");
        }
    }
}

/// The one policy for a commit another writer got in ahead of: how often, and after what pause.
pub(super) mod retry {
    use crate::sink::SinkError;

    /// How many times a commit is tried while other writers' commits keep taking its version
    /// (each time on the newest version, after a pause at random that spreads the writers out).
    pub const ATTEMPTS: usize = 30;

    /// A pause of up to 10 ms per attempt so far, at random: writers that collided spread out
    /// instead of colliding again in step.
    pub fn pause(attempts: usize) -> std::time::Duration {
        let spread = 10 * attempts as u64;
        let random = u64::from(uuid::Uuid::new_v4().as_u128() as u32);
        std::time::Duration::from_millis(random % spread.max(1))
    }

    /// Whether a commit failed because another writer committed first (so trying again on the
    /// newer version may succeed).
    pub fn is_conflict(error: &SinkError) -> bool {
        use deltalake::DeltaTableError;
        use deltalake::kernel::transaction::TransactionError;
        let SinkError::Delta { source, .. } = error else {
            return false;
        };
        matches!(
            source.as_ref(),
            DeltaTableError::VersionAlreadyExists(_)
                | DeltaTableError::Transaction {
                    source: TransactionError::CommitConflict(_)
                        | TransactionError::MaxCommitAttempts(_)
                }
        )
    }
}
