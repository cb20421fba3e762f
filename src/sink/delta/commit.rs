//! Committing staged files: in place of a table's whole contents (a restore), in one Delta
//! commit that adds them and removes every file the table held, so a reader sees the old
//! contents or the new, never a mix, and the old version stays reachable by time travel until
//! vacuumed; or added to them (a load whose ids are all new).

use std::future::IntoFuture;

use deltalake::DeltaTable;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use tracing::Instrument;

use super::DeltaTarget;
use crate::dictionary::Table;
use crate::sink::SinkError;

/// Commits `staged` to `delta`, added to its files (`Append`) or in place of every one of them
/// (`Overwrite`); returns the table as committed. On failure nothing is committed (the caller
/// removes `staged`).
pub(super) async fn commit_staged(
    target: &DeltaTarget,
    table: &'static Table,
    delta: DeltaTable,
    staged: &[Add],
    commit: CommitProperties,
    mode: SaveMode,
) -> Result<DeltaTable, SinkError> {
    let error = target.error(table.name);
    let mut actions: Vec<Action> = staged.iter().cloned().map(Action::Add).collect();
    if mode == SaveMode::Overwrite {
        crate::fault::pause(crate::fault::RESTORE_BEFORE_COMMIT).await;
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
    commit_actions(target, table, delta, actions, operation, commit).await
}

async fn commit_actions(
    target: &DeltaTarget,
    table: &'static Table,
    mut delta: DeltaTable,
    actions: Vec<Action>,
    operation: DeltaOperation,
    commit: CommitProperties,
) -> Result<DeltaTable, SinkError> {
    let error = target.error(table.name);
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
