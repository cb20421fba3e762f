//! One object's rows on their way into a Delta table: staged as Parquet files, then committed
//! through [`super::commit`] with the object's marker: appended, or, when ids repeat, replacing
//! the old rows ([`super::replace`]). A restore stages its rows the same way and commits them
//! in place of the whole table.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::Add;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use tracing::Instrument;

use super::cleanup::clean_up_log;
use super::commit::{
    commit_properties, commit_staged, made_by, remove_files, retry, writer_properties,
};
use super::parked::Marker;
use super::rollups::{self, Landed};
use super::{DeltaTarget, app_id, replace};
use crate::dictionary::{Keys, Table, TableRef};
use crate::ledger::Entry;
use crate::rollup::tally::{Side, Tally};
use crate::sink::{Load, SinkError};
use crate::store::ObjectVersion;

/// What the commit does with the staged rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Add them, replacing rows with the same ids.
    Upsert,
    /// Put them in place of everything the table holds.
    Overwrite,
}

/// One object's load, or a restore, in progress.
pub(super) struct DeltaLoad {
    target: DeltaTarget,
    table: TableRef,
    delta: DeltaTable,
    writer: RecordBatchWriter,
    /// The table's columns in its schema's order, which a column the contract added later
    /// (appended by schema evolution) may make differ from the contract's.
    stored_order: Vec<String>,
    ids: Keys,
    commit: CommitProperties,
    mode: Mode,
    /// The version of the loaded object's marker when the load began (`None`: not loaded,
    /// or a restore): another version at commit time means another worker loaded it.
    loaded_before: Option<i64>,
    /// The change the load makes to the table's rollups, counted as rows go by (`None`: no
    /// rollup, or a restore, after which they are caught up from the commit's files).
    tally: Option<Tally>,
}

/// A load's commit: the table as committed, its ids before, and whether it held no row then.
struct Committed {
    table: DeltaTable,
    ids_before: Arc<Keys>,
    on_empty: bool,
}

impl DeltaLoad {
    /// Starts a load into `table`, created if it does not exist yet. The commit will carry
    /// the loaded object's marker ([`super::parked`]).
    pub(super) async fn begin(
        target: &DeltaTarget,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<DeltaLoad, SinkError> {
        let mut load = Self::start(target, table, commit_properties(), Mode::Upsert).await?;
        load.loaded_before = target.marker_version(&table.name, &app_id(object)).await?;
        load.tally = Tally::for_table(&target.rollups, table);
        Ok(load)
    }

    /// Starts replacing the contents of `table` (created if it does not exist yet).
    pub(super) async fn begin_overwrite(
        target: &DeltaTarget,
        table: &TableRef,
    ) -> Result<DeltaLoad, SinkError> {
        Self::start(target, table, commit_properties(), Mode::Overwrite).await
    }

    async fn start(
        target: &DeltaTarget,
        table: &TableRef,
        commit: CommitProperties,
        mode: Mode,
    ) -> Result<DeltaLoad, SinkError> {
        let delta = target.open_or_create(table).await?;
        let snapshot = delta.snapshot().map_err(target.error(&table.name))?;
        let stored_order = (snapshot.schema().fields())
            .map(|field| field.name().clone())
            .collect();
        let writer = RecordBatchWriter::for_table(&delta)
            .map_err(target.error(&table.name))?
            .with_writer_properties(writer_properties())
            .with_commit_properties(commit.clone());
        Ok(DeltaLoad {
            target: target.clone(),
            table: TableRef::clone(table),
            delta,
            writer,
            stored_order,
            ids: Keys::of(&table.key_column().kind),
            commit,
            mode,
            loaded_before: None,
            tally: None,
        })
    }

    /// Commits the written files, with `marker`: appended when no loaded id is in the table
    /// yet, else replacing the rows they hold, counted out of `tally`. Returns the commit
    /// ([`Committed`]). A commit another worker's commit conflicted with is tried again on
    /// the newer version, unless that commit loaded this very object: then this load is
    /// dropped ([`SinkError::LoadedMeanwhile`]). On failure the written files are removed.
    async fn commit_rows(
        self,
        loaded_ids: &Keys,
        entry: &Entry,
        marker: &Marker,
        tally: &mut Option<Tally>,
    ) -> Result<Committed, SinkError> {
        let DeltaLoad {
            target,
            table,
            mut delta,
            mut writer,
            commit,
            mode,
            loaded_before,
            ..
        } = self;
        let commit = commit
            .with_metadata(made_by(entry))
            .with_application_transaction(marker.transaction());
        if mode == Mode::Upsert {
            loaded_meanwhile(&target, &table, marker, loaded_before, entry).await?;
        }
        let staged = writer.flush().await.map_err(target.error(&table.name))?;
        let mut attempt = 1;
        loop {
            let committed = match mode {
                Mode::Overwrite => overwrite(&target, &table, delta, &staged, commit.clone()).await,
                Mode::Upsert => {
                    let commit = commit.clone();
                    upsert(&target, &table, delta, &staged, loaded_ids, commit, tally).await
                }
            };
            let retry = match committed {
                Err(error) if retry::is_conflict(&error) && attempt < retry::ATTEMPTS => {
                    newer_version(&target, &table, mode, marker, loaded_before, entry).await
                }
                done => done.map(Retry::No),
            };
            match retry {
                Ok(Retry::No(committed)) => return Ok(committed),
                Ok(Retry::On(newer)) => delta = newer,
                Err(error) => {
                    remove_files(&target, &table.name, &staged).await;
                    return Err(error);
                }
            }
            tokio::time::sleep(retry::pause(attempt)).await;
            attempt += 1;
            tracing::info!(
                table = table.name,
                attempt,
                "commit conflicted with another writer's: trying again"
            );
        }
    }
}

/// After a conflict: commit again, or not.
enum Retry {
    /// Committed.
    No(Committed),
    /// Try again on this newer version.
    On(DeltaTable),
}

/// The table's newest version to commit on again, unless the commit that conflicted loaded
/// this very object (its marker changed): then this load is dropped.
async fn newer_version(
    target: &DeltaTarget,
    table: &Table,
    mode: Mode,
    marker: &Marker,
    loaded_before: Option<i64>,
    entry: &Entry,
) -> Result<Retry, SinkError> {
    let newer = target.open(&table.name).await?;
    if mode == Mode::Upsert {
        loaded_meanwhile(target, table, marker, loaded_before, entry).await?;
    }
    Ok(Retry::On(newer))
}

/// Refuses to commit an object another worker loaded since this load began.
async fn loaded_meanwhile(
    target: &DeltaTarget,
    table: &Table,
    marker: &Marker,
    loaded_before: Option<i64>,
    entry: &Entry,
) -> Result<(), SinkError> {
    let loaded_now = target.marker_version(&table.name, marker.app_id()).await?;
    if loaded_now == loaded_before {
        return Ok(());
    }
    Err(SinkError::LoadedMeanwhile {
        target: format!("{}{}", target.warehouse.url, table.name),
        object: entry.object.key.clone(),
    })
}

/// Commits `staged` to `delta` in place of all it holds.
async fn overwrite(
    target: &DeltaTarget,
    table: &Table,
    delta: DeltaTable,
    staged: &[Add],
    commit: CommitProperties,
) -> Result<Committed, SinkError> {
    let committed = commit_staged(target, table, delta, staged, commit, SaveMode::Overwrite);
    Ok(Committed {
        table: committed.await?,
        ids_before: Arc::default(),
        on_empty: false,
    })
}

/// Commits `staged` to `delta`: a plain append when no loaded id is in the table yet, else a
/// replace of the rows those ids name, counted out of `tally` as they are rewritten (anew
/// at each attempt: a conflict means a newer version to replace them in).
async fn upsert(
    target: &DeltaTarget,
    table: &Table,
    delta: DeltaTable,
    staged: &[Add],
    loaded_ids: &Keys,
    commit: CommitProperties,
    tally: &mut Option<Tally>,
) -> Result<Committed, SinkError> {
    if let Some(tally) = tally.as_mut() {
        tally.forget(Side::Replaced);
    }
    let existing = target.id_set(table, &delta);
    let existing = existing.instrument(tracing::debug_span!("id_set")).await?;
    let base = delta.version();
    let committed = match existing.is_disjoint(loaded_ids) {
        true => commit_staged(target, table, delta, staged, commit, SaveMode::Append).await?,
        false => {
            let replaced =
                replace::replace_rows(target, table, delta, staged, loaded_ids, commit, tally);
            replaced.await?
        }
    };
    let on_empty = existing.is_empty() && base.map(|base| base + 1) == committed.version();
    Ok(Committed {
        table: committed,
        ids_before: existing,
        on_empty,
    })
}

impl DeltaLoad {
    /// `rows` with their columns in the table's order.
    fn in_stored_order(&self, rows: RecordBatch) -> Result<RecordBatch, SinkError> {
        let schema = rows.schema();
        let names = schema.fields().iter().map(|field| field.name());
        if names.eq(self.stored_order.iter()) {
            return Ok(rows);
        }
        let indices = (self.stored_order.iter())
            .map(|name| schema.index_of(name))
            .collect::<Result<Vec<_>, _>>();
        let arrow_error = |source| self.target.arrow_error(source);
        rows.project(&indices.map_err(arrow_error)?)
            .map_err(arrow_error)
    }
}

#[async_trait]
impl Load for DeltaLoad {
    async fn write(&mut self, rows: RecordBatch) -> Result<(), SinkError> {
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let key = rows
            .schema()
            .index_of(&self.table.key_column().name)
            .map_err(|source| self.target.arrow_error(source))?;
        self.ids.insert_column(rows.column(key));
        rollups::count(&mut self.tally, Side::Added, rows.clone()).await;
        let rows = self.in_stored_order(rows)?;
        self.writer
            .write(rows)
            .await
            .map_err(self.target.error(&self.table.name))
    }

    async fn commit(mut self: Box<Self>, entry: &Entry) -> Result<(), SinkError> {
        let (target, table) = (self.target.clone(), TableRef::clone(&self.table));
        let before = self.delta.version();
        let loaded_ids = std::mem::take(&mut self.ids);
        let marker = target.park(entry).await?;
        let mut tally = self.tally.take();
        let committed = self.commit_rows(&loaded_ids, entry, &marker, &mut tally);
        let Committed {
            table: committed,
            ids_before: existing,
            on_empty,
        } = match committed.await {
            Ok(committed) => committed,
            Err(error) => {
                target.unpark(&marker).await;
                return Err(error);
            }
        };
        target.keep(&table.name, &committed);
        clean_up_log(&committed).await;
        // The ids after this commit are the ids before it plus the loaded ones (an overwrite
        // leaves none before), unless another writer committed in between: then the next load
        // reads the files added since (or scans the table, when files went).
        if let (Some(before), Some(after)) = (before, committed.version())
            && after == before + 1
        {
            let ids = Arc::new(existing.union(&loaded_ids));
            if let Err(error) = target.keep_ids(&table, &committed, &ids) {
                tracing::debug!(%error, "ids not kept: the next load reads them");
            }
        }
        let appended = target.append_parked(entry, &marker);
        appended
            .instrument(tracing::debug_span!("ledger_append"))
            .await;
        let landed = (committed.version()).map(|version| Landed { version, on_empty });
        target.after_commit(&table.name, tally.zip(landed)).await;
        Ok(())
    }

    async fn abort(mut self: Box<Self>) {
        match self.writer.flush().await {
            Ok(files) => remove_files(&self.target, &self.table.name, &files).await,
            Err(error) => {
                tracing::warn!(table = self.table.name, %error, "could not list uncommitted data files")
            }
        }
    }
}

impl std::fmt::Debug for DeltaLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaLoad")
            .field("table", &self.table.name)
            .finish()
    }
}
