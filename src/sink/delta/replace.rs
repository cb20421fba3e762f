//! Replacing rows by `id` in one Delta commit, copy-on-write: the table's files that hold any
//! of the loaded ids are rewritten without those rows, and a single commit removes them and adds
//! both the rewritten files and the new rows' files.
//!
//! This is the result of a MERGE on `id` (update when matched, insert when not) without the join
//! a MERGE plans: the loaded ids are known exactly (a bitmap), and each file's min/max `id`
//! statistics in the Delta log skip, unread, the files that cannot hold any of them.

use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::{filter_record_batch, not};
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStream;
use datafusion::parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use datafusion::parquet::errors::ParquetError;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{Action, Add, LogicalFileView};
use deltalake::protocol::DeltaOperation;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use futures::TryStreamExt;
use tracing::Instrument;

use super::DeltaTarget;
use super::commit::{commit_actions, remove_files, writer_properties};
use crate::dictionary::{Keys, Table};
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use crate::store::Location;
use crate::store::StoredParquet;

/// Commits `staged` (files holding the rows of `loaded_ids`) to `delta`, replacing the rows the
/// table held with those ids, which are counted out of `tally` as they are left out; returns
/// the table as committed. On failure nothing is committed and the files this function wrote
/// are removed (the caller removes `staged`).
pub(super) async fn replace_rows(
    target: &DeltaTarget,
    table: &Table,
    delta: DeltaTable,
    staged: &[Add],
    loaded_ids: &Keys,
    commit: CommitProperties,
    tally: &mut Option<Tally>,
) -> Result<DeltaTable, SinkError> {
    let error = target.error(&table.name);
    let key = table.key_column().name.as_str();
    let candidates: Vec<LogicalFileView> = delta
        .snapshot()
        .map_err(&error)?
        .log_data()
        .iter()
        .filter(|file| may_hold_any(file, key, loaded_ids))
        .collect();
    let location = target.warehouse.child(&table.name)?;
    let mut writer = RecordBatchWriter::for_table(&delta)
        .map_err(&error)?
        .with_writer_properties(writer_properties());
    let mut removes = Vec::new();
    for file in &candidates {
        let rewritten = rewrite_without(
            target,
            table,
            &location,
            file,
            loaded_ids,
            &mut writer,
            tally,
        )
        .instrument(tracing::debug_span!("rewrite"));
        if rewritten.await? {
            removes.push(Action::Remove(file.remove_action(true)));
        }
    }
    let rewritten = writer.flush().await.map_err(&error)?;
    let actions = staged
        .iter()
        .chain(&rewritten)
        .cloned()
        .map(Action::Add)
        .chain(removes)
        .collect();
    let operation = DeltaOperation::Merge {
        // No predicate: the table as a whole was read, so any concurrent commit is a conflict
        // (it might have added one of these ids) and this commit fails rather than duplicate.
        predicate: None,
        merge_predicate: Some(format!("target.{key} = source.{key}")),
        matched_predicates: Vec::new(),
        not_matched_predicates: Vec::new(),
        not_matched_by_source_predicates: Vec::new(),
    };
    let committed = commit_actions(target, &table.name, delta, actions, operation, commit).await;
    if committed.is_err() {
        remove_files(target, &table.name, &rewritten).await;
    }
    committed
}

/// Whether the file's key range, from its statistics, holds a loaded key; a file without
/// statistics may hold anything.
fn may_hold_any(file: &LogicalFileView, key: &str, loaded_ids: &Keys) -> bool {
    let Some(stats) = file.stats() else {
        return true;
    };
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap_or_default();
    let bound = |which: &str| stats.get(which).and_then(|values| values.get(key)).cloned();
    match (bound("minValues"), bound("maxValues")) {
        (Some(min), Some(max)) => loaded_ids.any_between(&min, &max),
        _ => true,
    }
}

/// Writes the rows of `file` whose id is not loaded to `writer`, if it holds any loaded id;
/// returns whether it did (only then is the file replaced). A first pass reads the id column
/// alone, by ranges, so files that merely straddle a loaded id are neither rewritten nor read
/// whole; a file that is rewritten is read whole when small
/// ([`StoredParquet::whole_if_small`]). The rows left out are counted out of `tally`.
async fn rewrite_without(
    target: &DeltaTarget,
    table: &Table,
    location: &Location,
    file: &LogicalFileView,
    loaded_ids: &Keys,
    writer: &mut RecordBatchWriter,
    tally: &mut Option<Tally>,
) -> Result<bool, SinkError> {
    let key = table.key_column().name.as_str();
    let path = file.object_store_path();
    let size = u64::try_from(file.size()).unwrap_or_default();
    let stored = StoredParquet::new(Arc::clone(&location.store), path, size);
    let mut ids = read(target, table, stored.clone(), Some(key)).await?;
    let mut holds_loaded_id = false;
    while let Some(batch) = ids.try_next().await.map_err(parquet_error(target, table))? {
        holds_loaded_id |= not_loaded(&batch, key, loaded_ids).false_count() > 0;
    }
    if !holds_loaded_id {
        return Ok(false);
    }
    // Read all through now: a small file in one request rather than one per column chunk.
    let stored = stored.whole_if_small().await;
    let stored = stored.map_err(parquet_error(target, table))?;
    let mut rows = read(target, table, stored, None).await?;
    while let Some(batch) = rows
        .try_next()
        .await
        .map_err(parquet_error(target, table))?
    {
        let kept = not_loaded(&batch, key, loaded_ids);
        if tally.is_some() {
            let replaced = (not(&kept).and_then(|replaced| filter_record_batch(&batch, &replaced)))
                .map_err(|source| target.arrow_error(source))?;
            super::rollups::count(tally, Side::Replaced, replaced).await;
        }
        let kept =
            filter_record_batch(&batch, &kept).map_err(|source| target.arrow_error(source))?;
        if kept.num_rows() > 0 {
            (writer.write(kept).await).map_err(target.error(&table.name))?;
        }
    }
    Ok(true)
}

/// A stream of the file's rows, of one column or all.
async fn read(
    target: &DeltaTarget,
    table: &Table,
    reader: StoredParquet,
    only: Option<&str>,
) -> Result<ParquetRecordBatchStream<StoredParquet>, SinkError> {
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(parquet_error(target, table))?;
    let builder = match only {
        Some(column) => {
            let mask = ProjectionMask::columns(builder.parquet_schema(), [column]);
            builder.with_projection(mask)
        }
        None => builder,
    };
    builder.build().map_err(parquet_error(target, table))
}

fn parquet_error(
    target: &DeltaTarget,
    table: &Table,
) -> impl Fn(ParquetError) -> SinkError + use<> {
    let error = target.error(&table.name);
    move |source| error(deltalake::DeltaTableError::Parquet { source })
}

/// A mask keeping the rows whose key is not among the loaded ones.
fn not_loaded(batch: &RecordBatch, key: &str, loaded_ids: &Keys) -> BooleanArray {
    let keys = batch
        .column_by_name(key)
        .expect("table files hold the key column");
    not(&loaded_ids.contains_each(keys)).expect("a mask without nulls")
}
