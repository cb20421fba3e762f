//! One object's rows (or a group's) on their way into a Delta table: staged as Parquet files,
//! then committed through [`super::commit`] with each object's marker ([`attempt`]): appended,
//! or, when ids repeat, replacing the old rows ([`super::replace`]). A restore stages its rows
//! the same way and commits them in place of the whole table. A load's ledger append and
//! rollup commits trail its answer ([`super::trailing`]); a restore's come before it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use futures::future::BoxFuture;
use tracing::Instrument;

use super::cleanup::checkpoint_due;
use super::commit::{commit_properties, remove_files, writer_properties};
use super::parked::Marker;
use super::rollups::{self, Landed};
use super::{APP_ID_PREFIX, DeltaTarget, app_id};
use crate::dictionary::{Keys, TableRef};
use crate::ledger::Entry;
use crate::rollup::tally::{Side, Tally};
use crate::sink::{Load, SinkError};
use crate::store::ObjectVersion;

mod attempt;

/// What the commit does with the staged rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Add them, replacing rows with the same ids.
    Upsert,
    /// Put them in place of everything the table holds.
    Overwrite,
}

/// A load of one object or a group's, or a restore, in progress.
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
    /// Each loaded object's marker, with its version when the object was added to the load
    /// (`None`: not loaded): another version at commit time means another worker loaded it.
    /// Empty for a restore.
    markers_before: Vec<(String, Option<i64>)>,
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
    /// Starts a load of `object` (and of those [`Load::add_object`] adds) into `table`,
    /// created if it does not exist yet. The commit will carry each object's marker
    /// ([`super::parked`]).
    pub(super) async fn begin(
        target: &DeltaTarget,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<DeltaLoad, SinkError> {
        let mut load = Self::start(target, table, Mode::Upsert).await?;
        load.note_marker(object).await?;
        load.tally = Tally::for_table(&target.rollups, table);
        Ok(load)
    }

    /// Starts replacing the contents of `table` (created if it does not exist yet).
    pub(super) async fn begin_overwrite(
        target: &DeltaTarget,
        table: &TableRef,
    ) -> Result<DeltaLoad, SinkError> {
        Self::start(target, table, Mode::Overwrite).await
    }

    /// Its commits write no checkpoint: the work that trails them does ([`super::cleanup`]).
    async fn start(
        target: &DeltaTarget,
        table: &TableRef,
        mode: Mode,
    ) -> Result<DeltaLoad, SinkError> {
        let commit = commit_properties().with_create_checkpoint(false);
        target.settle_at_first_load().await;
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
            markers_before: Vec::new(),
            tally: None,
        })
    }

    /// Remembers `object`'s marker as it is now, to be checked again at the commit.
    async fn note_marker(&mut self, object: &ObjectVersion) -> Result<(), SinkError> {
        let id = app_id(object);
        let version = self.target.marker_version(&self.table.name, &id).await?;
        self.markers_before.push((id, version));
        Ok(())
    }
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

    async fn add_object(&mut self, object: &ObjectVersion) -> Result<(), SinkError> {
        if self.mode == Mode::Overwrite {
            let target = format!("{}{}", self.target.warehouse.url, self.table.name);
            return Err(SinkError::restore_takes_no_object(target, &self.table.name));
        }
        self.note_marker(object).await
    }

    async fn commit(mut self: Box<Self>, entries: &[Entry]) -> Result<(), SinkError> {
        let (target, table) = (self.target.clone(), TableRef::clone(&self.table));
        if self.mode == Mode::Upsert {
            let loaded: Vec<&str> = (self.markers_before.iter())
                .map(|(app_id, _)| app_id.strip_prefix(APP_ID_PREFIX).unwrap_or(app_id))
                .collect();
            let target = format!("{}{}", target.warehouse.url, table.name);
            if let Err(error) = SinkError::unless_entries_match(target, &loaded, entries) {
                self.abort().await;
                return Err(error);
            }
        }
        let (before, mode) = (self.delta.version(), self.mode);
        let loaded_ids = std::mem::take(&mut self.ids);
        let parked = target
            .park_each(entries)
            .instrument(tracing::debug_span!("park"));
        let markers = match parked.await {
            Ok(markers) => markers,
            Err(error) => {
                self.abort().await;
                return Err(error);
            }
        };
        let mut tally = self.tally.take();
        let committed = self.commit_rows(&loaded_ids, entries, &markers, &mut tally);
        let Committed {
            table: committed,
            ids_before: existing,
            on_empty,
        } = match committed.await {
            Ok(committed) => committed,
            Err(error) => {
                target.unpark_each(&markers).await;
                return Err(error);
            }
        };
        target.keep(&table.name, &committed);
        keep_ids_after(&target, &table, &committed, before, &existing, &loaded_ids);
        let id = rollups::table_id(&committed).inspect_err(|error| {
            tracing::debug!(%error, "no table id: the rollups are caught up from the files")
        });
        let landed = (committed.version().zip(id.ok())).map(|(version, id)| Landed {
            table_id: id.into(),
            version,
            on_empty,
        });
        let trail = Trail {
            entries: entries.to_vec(),
            markers,
            checkpoint_due: checkpoint_due(&committed),
            counted: tally.zip(landed),
        };
        let work = trailing_work(&target, &table);
        match mode {
            Mode::Upsert => target.trailing.follow(&table.name, trail, work).await,
            // A restore is rare, and its caller reports the ledger it leaves: all before it ends.
            Mode::Overwrite => work(vec![trail]).await,
        }
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

/// Keeps `table`'s ids after `committed`: the ids before it plus the loaded ones (an overwrite
/// leaves none before), unless another writer committed in between (its version is not
/// `before`'s next): then the next load reads the files added since (or scans the table, when
/// files went).
fn keep_ids_after(
    target: &DeltaTarget,
    table: &TableRef,
    committed: &DeltaTable,
    before: Option<u64>,
    existing: &Keys,
    loaded_ids: &Keys,
) {
    if let (Some(before), Some(after)) = (before, committed.version())
        && after == before + 1
    {
        let ids = Arc::new(existing.union(loaded_ids));
        if let Err(error) = target.keep_ids(table, committed, &ids) {
            tracing::debug!(%error, "ids not kept: the next load reads them");
        }
    }
}

/// What a load's commit leaves to do behind its answer ([`super::trailing`]).
pub(super) struct Trail {
    entries: Vec<Entry>,
    markers: Vec<Marker>,
    /// Whether its commit's version is one delta-rs checkpoints at.
    checkpoint_due: bool,
    /// The change the load counted for its table's rollups, and where its commit landed.
    counted: Option<(Tally, Landed)>,
}

/// What follows data commits of `table`: their entries appended to the ledger, the table's
/// rollups brought up to date, and its checkpoint when one is due. Two other tables, each a
/// commit of its own (tens of milliseconds on S3), and the checkpoint: side by side, once for
/// all the commits of a batch.
fn trailing_work(
    target: &DeltaTarget,
    table: &TableRef,
) -> impl FnOnce(Vec<Trail>) -> BoxFuture<'static, ()> + Send + 'static {
    let (target, table) = (target.clone(), table.name.clone());
    move |trails| {
        Box::pin(async move {
            let checkpoint_due = trails.iter().any(|trail| trail.checkpoint_due);
            let (mut entries, mut markers, mut counted) = (Vec::new(), Vec::new(), Vec::new());
            for trail in trails {
                entries.extend(trail.entries);
                markers.extend(trail.markers);
                counted.push(trail.counted);
            }
            let appended = target.append_parked(&entries, &markers);
            let appended = appended.instrument(tracing::debug_span!("ledger_append"));
            let rollups = target.after_commits(&table, counted);
            let rollups = rollups.instrument(tracing::debug_span!("rollups"));
            let checkpoint = async {
                if checkpoint_due {
                    target.checkpoint(&table).await;
                }
            };
            let checkpoint = checkpoint.instrument(tracing::debug_span!("checkpoint"));
            tokio::join!(appended, rollups, checkpoint);
        })
    }
}

impl std::fmt::Debug for DeltaLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaLoad")
            .field("table", &self.table.name)
            .finish()
    }
}
