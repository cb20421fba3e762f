//! A rollup's groups written in place of the stored ones, in one commit that records the
//! version of its table they reflect.
//!
//! The groups are written as the rollup table's file and committed with the old ones removed,
//! as a restore commits ([`commit_staged`]): no query plans the write. The first store, or one
//! whose columns changed (a declaration that changed its output), goes through delta-rs's
//! overwrite, which sets the table's schema too.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::{DeltaTarget, app_ids, folder};
use crate::rollup::Rollup;
use crate::sink::SinkError;
use crate::sink::delta::commit::{
    commit_properties, commit_staged, remove_files, retry, writer_properties,
};
use crate::sink::delta::tables::TABLE_PROPERTIES;

impl DeltaTarget {
    /// Writes `groups` in place of the stored ones, recording that they reflect `version` of
    /// the table whose id is `table_id`.
    pub(super) async fn store_rollup(
        &self,
        rollup: &Rollup,
        stored: DeltaTable,
        groups: Vec<RecordBatch>,
        (table_id, version): (&str, u64),
    ) -> Result<(), SinkError> {
        let name = folder(rollup);
        let before = stored.version();
        let carried = app_ids(rollup, table_id).map(|app_id| (app_id, version as i64));
        let markers = (carried.iter())
            .map(|(app_id, version)| Transaction::new(app_id, *version))
            .collect();
        // No retry inside delta-rs: on top of another process's newer rollup this would put
        // back an older one; the conflict goes to [`DeltaTarget::catch_up`], which reads again.
        let commit = commit_properties()
            .with_max_retries(0)
            .with_application_transactions(markers);
        let groups_stored = groups.clone();
        let written = match holds_columns_of(&stored, rollup) {
            true => self.overwrite_files(&name, stored, groups, commit).await?,
            false => {
                self.overwrite_table(&name, rollup, stored, groups, commit)
                    .await?
            }
        };
        if let Some(after) = written.version() {
            let mut kept = self.kept();
            kept.markers.committed(&name, before, after, &carried);
            kept.rollup_groups.keep(&name, after, groups_stored);
        }
        self.keep(&name, &written);
        Ok(())
    }

    /// `groups` written as new files of the rollup table in `name`, committed with its old files
    /// removed. A commit that surely did not happen (another process stored first) removes
    /// the new files.
    async fn overwrite_files(
        &self,
        name: &str,
        stored: DeltaTable,
        groups: Vec<RecordBatch>,
        commit: CommitProperties,
    ) -> Result<DeltaTable, SinkError> {
        let error = self.error(name);
        let mut writer = RecordBatchWriter::for_table(&stored)
            .map_err(&error)?
            .with_writer_properties(writer_properties());
        for batch in groups.into_iter().filter(|batch| batch.num_rows() > 0) {
            writer.write(batch).await.map_err(&error)?;
        }
        let added = writer.flush().await.map_err(&error)?;
        let committed = commit_staged(self, name, stored, &added, commit, SaveMode::Overwrite);
        let committed = committed.await;
        if let Err(conflict) = &committed
            && retry::is_conflict(conflict)
        {
            remove_files(self, name, &added).await;
        }
        committed
    }

    /// `groups` written by delta-rs's overwrite, which also gives the rollup table in `name` the
    /// rollup's columns (created, with csvgate's table properties, if it does not exist; a
    /// rollup table an older csvgate created keeps Delta's checkpoint every 100 commits).
    async fn overwrite_table(
        &self,
        name: &str,
        rollup: &Rollup,
        stored: DeltaTable,
        groups: Vec<RecordBatch>,
        commit: CommitProperties,
    ) -> Result<DeltaTable, SinkError> {
        let empty = RecordBatch::new_empty(Arc::clone(&rollup.schema));
        stored
            .write(groups.into_iter().chain([empty]))
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_configuration(TABLE_PROPERTIES)
            .with_commit_properties(commit)
            .await
            .map_err(self.error(name))
    }
}

/// Whether the stored rollup table exists with exactly the rollup's columns (names, types,
/// nullability, in order).
fn holds_columns_of(stored: &DeltaTable, rollup: &Rollup) -> bool {
    let (Some(_), Ok(snapshot)) = (stored.version(), stored.snapshot()) else {
        return false;
    };
    let held = snapshot.snapshot().arrow_schema();
    let holds = held.fields() == rollup.schema.fields();
    if !holds {
        tracing::debug!(rollup = rollup.name, stored = ?held, "the stored rollup's columns differ: overwriting its table");
    }
    holds
}
