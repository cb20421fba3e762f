//! The embedded target: a warehouse of Delta Lake tables, one folder per dictionary table.
//!
//! Data are plain Parquet files that Spark, Trino, Athena or DuckDB read as they are; every load
//! is one Delta commit, so readers see all of an object's rows or none. Idempotence:
//! - the commit carries the object's fingerprint as an application transaction
//!   (`csvgate:<location><key>@<version>`), so a version is never loaded twice;
//! - rows whose `id` is already in the table replace the old rows, as a MERGE on `id` would
//!   ([`replace`]: the files holding those ids are rewritten without them in the same commit);
//!   when no id overlaps, the staged files are simply appended.
//!
//! The ledger is the Delta table `_csvgate_runs` beside the data tables, written as
//! append-only; an upload's `queued` entry waits outside it until its run ends
//! (`delta/queued.rs`), so a run costs the ledger one commit.
//!
//! A long-lived process (the API server) keeps every table it opened, with its id set, between
//! loads: opening a table afresh replays its log since the last checkpoint, while bringing a
//! kept one up to date reads only the commits that came after it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{Add, DataType as DeltaType, StructField, Transaction, Version};
use deltalake::protocol::SaveMode;
use deltalake::table::config::TablePropertiesExt;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{BlindDeltaTable, DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::{StreamExt, TryStreamExt};
use roaring::RoaringTreemap;
use tracing::Instrument;

use crate::dictionary::{ColumnKind, TABLES, Table};
use crate::ledger;
use crate::sink::{Load, SinkError, Target};
use crate::store::{Location, ObjectVersion};

mod queued;
mod replace;

use queued::QueuedEntries;

/// Folder of the ledger table inside the warehouse.
pub const LEDGER_TABLE: &str = "_csvgate_runs";
/// Folder of a Delta table's commit log.
const DELTA_LOG: &str = "_delta_log";

/// Table properties of every table csvgate creates. A checkpoint every ten commits (Delta's
/// default is 100) bounds the log a reader replays: the ledger gets two commits per upload, and
/// every commit, lookup of a loaded version and update of a kept table replays the commits
/// since the last checkpoint.
const TABLE_PROPERTIES: [(&str, Option<&str>); 1] = [("delta.checkpointInterval", Some("10"))];

/// How many times a ledger append tries a version other processes keep taking.
const LEDGER_ATTEMPTS: usize = 5;

/// Delta's checkpoint interval for tables that do not set one.
const DELTA_CHECKPOINT_INTERVAL: u64 = 100;

/// A kept table is brought up to date from its log at least this often, even when no newer
/// commit file is seen (see [`DeltaTarget::may_be_behind`]).
const FULL_UPDATE_EVERY: Duration = Duration::from_secs(60);

/// Name a table is registered under for the queries of this module.
const SCANNED: &str = "scanned";

/// A Delta Lake warehouse rooted at one location.
#[derive(Debug, Clone)]
pub struct DeltaTarget {
    warehouse: Location,
    /// Ledger appends of this process go one at a time: Delta resolves concurrent appends by
    /// retrying, and a burst of them (an API server accepting many uploads) runs out of
    /// retries. Clones share the lock.
    ledger_appends: Arc<tokio::sync::Mutex<()>>,
    /// Tables opened before, shared by clones.
    kept: Arc<Mutex<Kept>>,
}

/// What a target keeps between loads. Everything here is tied to a table version, so a commit
/// by another process is picked up rather than overlooked.
#[derive(Debug, Default)]
struct Kept {
    /// Each opened table at the version it was last brought to, by folder.
    tables: HashMap<String, DeltaTable>,
    /// When each kept table was last loaded or brought up to date from its log.
    updated: HashMap<String, Instant>,
    /// Each table's `id` set at one version, by folder.
    ids: HashMap<String, (Version, Arc<RoaringTreemap>)>,
    /// The ledger, opened for appends.
    ledger: Option<BlindDeltaTable>,
}

impl DeltaTarget {
    pub fn new(warehouse: Location) -> Self {
        DeltaTarget {
            warehouse,
            ledger_appends: Arc::default(),
            kept: Arc::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves nothing half-updated: each field is replaced whole.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, table: &str) -> impl Fn(DeltaTableError) -> SinkError + use<> {
        let target = format!("{}{table}", self.warehouse.url);
        move |source| SinkError::Delta {
            target: target.clone(),
            source: Box::new(source),
        }
    }

    /// Arrow failures (building or reading ledger batches, finding a column) name the
    /// warehouse.
    fn arrow_error(&self, source: ArrowError) -> SinkError {
        SinkError::Arrow {
            target: self.describe(),
            source: Box::new(source),
        }
    }

    fn query_error(&self, table: &str) -> impl Fn(DataFusionError) -> SinkError + use<> {
        let target = format!("{}{table}", self.warehouse.url);
        move |source| SinkError::Query {
            target: target.clone(),
            source: Box::new(source),
        }
    }

    /// The table at `name` at its latest version, possibly not created yet (`version()` is
    /// then `None`).
    async fn open(&self, name: &str) -> Result<DeltaTable, SinkError> {
        let kept = self.kept().tables.get(name).cloned();
        let delta = match kept {
            Some(mut delta) => {
                if self.may_be_behind(name, &delta).await {
                    delta.update_state().await.map_err(self.error(name))?;
                    self.kept().updated.insert(name.to_owned(), Instant::now());
                }
                delta
            }
            None => {
                let loaded = self.load(name).await?;
                self.kept().updated.insert(name.to_owned(), Instant::now());
                loaded
            }
        };
        self.keep(name, &delta);
        Ok(delta)
    }

    /// Whether a kept table may have missed commits: its next commit's file exists, or its last
    /// full update is older than [`FULL_UPDATE_EVERY`]. (Old commit files are deleted once a
    /// checkpoint covers them and they are older than the log retention, days by default; the
    /// time bound keeps a long-idle table from missing commits whose files are gone.)
    async fn may_be_behind(&self, name: &str, delta: &DeltaTable) -> bool {
        let updated = self.kept().updated.get(name).copied();
        let recent = updated.is_some_and(|at| at.elapsed() < FULL_UPDATE_EVERY);
        !recent || has_commit_after(delta).await
    }

    /// Keeps `delta` for the next [`DeltaTarget::open`] unless a newer version is kept already.
    fn keep(&self, name: &str, delta: &DeltaTable) {
        let Some(version) = delta.version() else {
            return;
        };
        let mut kept = self.kept();
        let newer_kept = kept
            .tables
            .get(name)
            .and_then(DeltaTable::version)
            .is_some_and(|kept| kept > version);
        if !newer_kept {
            kept.tables.insert(name.to_owned(), delta.clone());
        }
    }

    /// Loads the table at `name` from its log.
    async fn load(&self, name: &str) -> Result<DeltaTable, SinkError> {
        let location = self.warehouse.child(name)?;
        // Loading a folder without a log works too, but the kernel logs that as an error.
        let log = Path::from(DELTA_LOG);
        let has_log = location.store.list(Some(&log)).next().await.is_some();
        let error = self.error(name);
        let mut table = DeltaTableBuilder::from_url(location.url)
            .map_err(&error)?
            .build()
            .map_err(&error)?;
        if has_log {
            table.load().await.map_err(error)?;
        }
        Ok(table)
    }

    async fn open_or_create(&self, table: &Table) -> Result<DeltaTable, SinkError> {
        let delta = self.open(table.name).await?;
        if delta.version().is_some() {
            return Ok(delta);
        }
        delta
            .create()
            .with_table_name(table.name)
            .with_columns(delta_columns(table))
            .with_configuration(TABLE_PROPERTIES)
            .with_save_mode(SaveMode::Ignore)
            .await
            .map_err(self.error(table.name))
    }

    /// The ledger as an append-only table (`None` when it does not exist yet). Appends need no
    /// list of the table's files, which grows by two with every upload: loading that list made
    /// each ledger append slower than the one before.
    async fn open_ledger_for_appends(&self) -> Result<Option<BlindDeltaTable>, SinkError> {
        if self.open(LEDGER_TABLE).await?.version().is_none() {
            return Ok(None);
        }
        Ok(Some(self.blind_ledger().await?))
    }

    /// The ledger, existing, at its latest version, without its list of files.
    async fn blind_ledger(&self) -> Result<BlindDeltaTable, SinkError> {
        let url = self.warehouse.child(LEDGER_TABLE)?.url;
        BlindDeltaTable::try_new(url.as_str())
            .await
            .map_err(self.error(LEDGER_TABLE))
    }

    /// Creates the ledger table with its first entry.
    async fn create_ledger(&self, first: RecordBatch) -> Result<(), SinkError> {
        let ledger = self.open(LEDGER_TABLE).await?;
        let created = ledger
            .write(vec![first])
            .with_configuration(TABLE_PROPERTIES)
            .with_save_mode(SaveMode::Append)
            .await
            .map_err(self.error(LEDGER_TABLE))?;
        self.keep(LEDGER_TABLE, &created);
        Ok(())
    }

    /// Appends `entries` to the ledger in one commit.
    async fn append_to_ledger(&self, entries: &[ledger::Entry]) -> Result<(), SinkError> {
        let batch = ledger::to_batch(entries).map_err(|source| self.arrow_error(source))?;
        let _one_at_a_time = self.ledger_appends.lock().await;
        // Taken out while in use, so an append cut short leaves none kept: the next one opens
        // the ledger afresh instead of trusting a version that may be gone by.
        let kept = self.kept().ledger.take();
        let mut ledger = match kept {
            Some(ledger) => ledger,
            None => match self.open_ledger_for_appends().await? {
                Some(ledger) => ledger,
                None => return self.create_ledger(batch).await,
            },
        };
        let error = self.error(LEDGER_TABLE);
        let mut writer = RecordBatchWriter::for_blind_appends(&ledger).map_err(&error)?;
        writer.write(batch).await.map_err(&error)?;
        let files = writer.flush().await.map_err(&error)?;
        let mut attempts = 1;
        let version = loop {
            match ledger.commit(files.clone()).await {
                // Another process (say, a CLI ingest beside the server) appended since: appends
                // never conflict, so append again after its version.
                Err(DeltaTableError::VersionAlreadyExists(_)) if attempts < LEDGER_ATTEMPTS => {
                    attempts += 1;
                    ledger = self.blind_ledger().await?;
                }
                committed => break committed.map_err(&error)?,
            }
        };
        let every = (ledger.table_properties().checkpoint_interval)
            .map_or(DELTA_CHECKPOINT_INTERVAL, std::num::NonZero::get);
        self.kept().ledger = Some(ledger);
        if version % every == 0 {
            self.checkpoint_ledger(version).await;
        }
        Ok(())
    }

    /// The entries of the ledger table, oldest first.
    async fn ledger_entries(&self) -> Result<Vec<ledger::Entry>, SinkError> {
        let delta = self.open(LEDGER_TABLE).await?;
        if delta.version().is_none() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT * FROM {SCANNED} ORDER BY started_at, run_id, key");
        let batches: Vec<RecordBatch> = self
            .query(LEDGER_TABLE, &delta, &sql)
            .await?
            .try_collect()
            .await
            .map_err(self.query_error(LEDGER_TABLE))?;
        ledger::from_batches(&batches).map_err(|source| self.arrow_error(source))
    }

    /// Writes a checkpoint of the ledger at `version`, as Delta writers do every
    /// `checkpointInterval` commits (append-only commits do not), so readers replay a short
    /// log, then cleans up the log it covers as [`clean_up_log`] does. A failure only costs
    /// speed: it is logged.
    async fn checkpoint_ledger(&self, version: u64) {
        let Ok(location) = self.warehouse.child(LEDGER_TABLE) else {
            return;
        };
        let written = deltalake::checkpoints::create_checkpoint_from_table_url_and_cleanup(
            location.url,
            version,
            None,
            None,
        );
        if let Err(error) = written.await {
            tracing::warn!(version, %error, "could not write a ledger checkpoint");
        }
    }

    /// A DataFusion session with every dictionary table that exists registered under its name
    /// (and the ledger as `runs`), for reports and ad-hoc SQL.
    pub async fn session(&self) -> Result<SessionContext, SinkError> {
        let ctx: SessionContext = deltalake::delta_datafusion::create_session().into();
        // Filtering rows while the Parquet pages are decoded (on by default) made the reports,
        // whose year filter keeps about a third of the rows, twice as slow as filtering the
        // decoded batches (10M rows: Q2 0.24 s against 0.12 s).
        ctx.state_ref()
            .write()
            .config_mut()
            .options_mut()
            .execution
            .parquet
            .pushdown_filters = false;
        let tables = TABLES.iter().map(|table| (table.name, table.name));
        // The tables' scans take their Parquet settings from this session.
        let settings = Arc::new(ctx.state());
        for (folder, name) in tables.chain([(LEDGER_TABLE, "runs")]) {
            let delta = self.open(folder).await?;
            if delta.version().is_none() {
                continue;
            }
            delta
                .update_datafusion_session(&ctx.state())
                .map_err(self.error(folder))?;
            let provider = delta
                .table_provider()
                .with_session(Arc::clone(&settings))
                .await
                .map_err(self.query_error(folder))?;
            ctx.register_table(name, provider)
                .map_err(self.query_error(folder))?;
        }
        Ok(ctx)
    }

    /// Runs `sql` with the table registered as [`SCANNED`].
    async fn query(
        &self,
        name: &str,
        delta: &DeltaTable,
        sql: &str,
    ) -> Result<datafusion::physical_plan::SendableRecordBatchStream, SinkError> {
        let error = self.query_error(name);
        let ctx: SessionContext = deltalake::delta_datafusion::create_session().into();
        delta
            .update_datafusion_session(&ctx.state())
            .map_err(self.error(name))?;
        let provider = delta.table_provider().await.map_err(&error)?;
        ctx.register_table(SCANNED, provider).map_err(&error)?;
        let frame = ctx.sql(sql).await.map_err(&error)?;
        frame.execute_stream().await.map_err(error)
    }

    /// Every `id` in the table, as a compact bitmap; kept per table version.
    async fn id_set(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<Arc<RoaringTreemap>, SinkError> {
        let Some(version) = delta.version() else {
            return Ok(Arc::default());
        };
        if let Some((kept_version, ids)) = self.kept().ids.get(table.name)
            && *kept_version == version
        {
            return Ok(Arc::clone(ids));
        }
        let ids = Arc::new(self.scan_ids(table, delta).await?);
        self.keep_ids(table, version, &ids);
        Ok(ids)
    }

    fn keep_ids(&self, table: &Table, version: Version, ids: &Arc<RoaringTreemap>) {
        self.kept()
            .ids
            .insert(table.name.to_owned(), (version, Arc::clone(ids)));
    }

    async fn scan_ids(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<RoaringTreemap, SinkError> {
        let mut ids = RoaringTreemap::new();
        let key = table.key_column().name;
        let mut batches = self
            .query(
                table.name,
                delta,
                &format!("SELECT \"{key}\" FROM {SCANNED}"),
            )
            .await?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(self.query_error(table.name))?
        {
            insert_ids(&mut ids, &batch, 0);
        }
        Ok(ids)
    }
}

/// Deletes the log files older than the table's log retention (30 days unless the table sets
/// `delta.logRetentionDuration`) that a checkpoint at the table's version made unneeded, as
/// Delta writers do. Run only at checkpoint versions: it lists the whole log. A failure only
/// costs disk space: it is logged.
async fn clean_up_log(delta: &DeltaTable) {
    let (Some(version), Ok(state)) = (delta.version(), delta.snapshot()) else {
        return;
    };
    let config = state.table_config();
    let at_checkpoint = version % config.checkpoint_interval().get() == 0;
    if !at_checkpoint || !config.enable_expired_log_cleanup() {
        return;
    }
    let retention = i64::try_from(config.log_retention_duration().as_millis()).unwrap_or(i64::MAX);
    let cutoff = Utc::now().timestamp_millis().saturating_sub(retention);
    let log_store = delta.log_store();
    let cleaned =
        deltalake::checkpoints::cleanup_expired_logs_for(version, log_store.as_ref(), cutoff, None);
    if let Err(error) = cleaned.await {
        tracing::warn!(version, %error, "could not clean up a table's expired log files");
    }
}

/// Whether the table has a commit after the version `delta` is at. Delta commits are numbered
/// without gaps, so one lookup of the next commit's file answers it; bringing a table up to
/// date lists its log and reads its checkpoint even when nothing changed. Anything but a clear
/// "not found" counts as yes, so the full update decides.
async fn has_commit_after(delta: &DeltaTable) -> bool {
    let Some(version) = delta.version() else {
        return true;
    };
    let next = Path::from(format!("{DELTA_LOG}/{:020}.json", version + 1));
    let store = delta.log_store().object_store(None);
    !matches!(
        store.head(&next).await,
        Err(datafusion::object_store::Error::NotFound { .. })
    )
}

fn insert_ids(ids: &mut RoaringTreemap, batch: &RecordBatch, column: usize) {
    let values = batch.column(column).as_primitive::<Int64Type>();
    ids.extend(
        values
            .values()
            .iter()
            .filter_map(|&id| u64::try_from(id).ok()),
    );
}

/// Delta columns for a dictionary table: all `NOT NULL`, since every field is mandatory.
fn delta_columns(table: &Table) -> Vec<StructField> {
    table
        .columns
        .iter()
        .map(|column| {
            let data_type = match column.kind {
                ColumnKind::Id | ColumnKind::Reference(_) => DeltaType::LONG,
                ColumnKind::Text => DeltaType::STRING,
                ColumnKind::Timestamp => DeltaType::TIMESTAMP,
            };
            StructField::new(column.name, data_type, false)
        })
        .collect()
}

/// The application-transaction id that marks an object version as loaded.
fn app_id(object: &ObjectVersion) -> String {
    format!("csvgate:{}", object.fingerprint())
}

#[async_trait]
impl Target for DeltaTarget {
    fn describe(&self) -> String {
        format!("delta warehouse {}", self.warehouse.url)
    }

    async fn ids(&self, table: &'static Table) -> Result<Vec<i64>, SinkError> {
        let delta = self.open(table.name).await?;
        let ids = self.id_set(table, &delta).await?;
        Ok(ids.iter().filter_map(|id| i64::try_from(id).ok()).collect())
    }

    async fn is_loaded(
        &self,
        table: &'static Table,
        object: &ObjectVersion,
    ) -> Result<bool, SinkError> {
        let delta = self.open(table.name).await?;
        if delta.version().is_none() {
            return Ok(false);
        }
        let snapshot = delta.snapshot().map_err(self.error(table.name))?;
        let version = snapshot
            .transaction_version(delta.log_store().as_ref(), app_id(object))
            .await
            .map_err(self.error(table.name))?;
        Ok(version.is_some())
    }

    async fn begin(
        &self,
        table: &'static Table,
        object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError> {
        let delta = self.open_or_create(table).await?;
        let marker = Transaction::new(app_id(object), Utc::now().timestamp_millis());
        // Delta's writers clean up expired log files after every commit, listing the whole log
        // each time; csvgate does it after checkpoints only ([`clean_up_log`]).
        let commit = CommitProperties::default()
            .with_application_transaction(marker)
            .with_cleanup_expired_logs(Some(false));
        let writer = RecordBatchWriter::for_table(&delta)
            .map_err(self.error(table.name))?
            .with_writer_properties(writer_properties())
            .with_commit_properties(commit.clone());
        Ok(Box::new(DeltaLoad {
            target: self.clone(),
            table,
            delta,
            writer,
            ids: RoaringTreemap::new(),
            commit,
        }))
    }

    async fn record(&self, entry: &ledger::Entry) -> Result<(), SinkError> {
        let queue = QueuedEntries::of(&self.warehouse)?;
        if entry.status == ledger::Status::Queued {
            return queue.add(entry).await;
        }
        let waiting = queue.get(&entry.run_id).await?;
        let ended = waiting.is_some();
        let entries: Vec<_> = waiting.into_iter().chain([entry.clone()]).collect();
        self.append_to_ledger(&entries).await?;
        if ended {
            queue.remove(&entry.run_id).await;
        }
        Ok(())
    }

    async fn runs(&self) -> Result<Vec<ledger::Entry>, SinkError> {
        let mut entries = self.ledger_entries().await?;
        let queue = QueuedEntries::of(&self.warehouse)?;
        let ended: HashSet<String> = entries
            .iter()
            .filter(|entry| entry.status != ledger::Status::Queued)
            .map(|entry| entry.run_id.clone())
            .collect();
        for waiting in queue.all().await? {
            if ended.contains(&waiting.run_id) {
                // Its run ended, but the process stopped before removing it.
                queue.remove(&waiting.run_id).await;
            } else {
                entries.push(waiting);
            }
        }
        entries.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
        Ok(entries)
    }
}

/// One object's rows on their way into a Delta table: written as Parquet files next to the
/// table's data, invisible until the commit adds them.
struct DeltaLoad {
    target: DeltaTarget,
    table: &'static Table,
    delta: DeltaTable,
    writer: RecordBatchWriter,
    ids: RoaringTreemap,
    commit: CommitProperties,
}

/// Rows per Parquet row group: DuckDB's default. The writer holds one row group in memory, so
/// this caps a load's memory whatever the file's size (the parquet crate's default of 1M rows
/// would hold ~50 MB more).
const ROW_GROUP_ROWS: usize = 122_880;

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

/// Deletes files that were written but never committed.
async fn remove_files(target: &DeltaTarget, table: &Table, files: &[Add]) {
    let Ok(location) = target.warehouse.child(table.name) else {
        return;
    };
    for file in files {
        if let Err(error) = location.store.delete(&Path::from(file.path.as_str())).await {
            tracing::warn!(table = table.name, file = file.path, %error, "could not remove an uncommitted data file");
        }
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
            .index_of(self.table.key_column().name)
            .map_err(|source| self.target.arrow_error(source))?;
        insert_ids(&mut self.ids, &rows, key);
        self.writer
            .write(rows)
            .await
            .map_err(self.target.error(self.table.name))
    }

    async fn commit(mut self: Box<Self>, entry: &ledger::Entry) -> Result<(), SinkError> {
        let existing = self
            .target
            .id_set(self.table, &self.delta)
            .instrument(tracing::debug_span!("id_set"))
            .await?;
        let before = self.delta.version();
        let target = self.target.clone();
        let (table, loaded_ids) = (self.table, std::mem::take(&mut self.ids));
        let committed = if existing.is_disjoint(&loaded_ids) {
            let error = target.error(table.name);
            self.writer
                .flush_and_commit(&mut self.delta)
                .await
                .map_err(error)?;
            self.delta
        } else {
            let error = target.error(table.name);
            let staged = self.writer.flush().await.map_err(error)?;
            let replaced = replace::replace_rows(
                &target,
                table,
                self.delta,
                &staged,
                &loaded_ids,
                self.commit,
            );
            match replaced.await {
                Ok(committed) => committed,
                Err(error) => {
                    remove_files(&target, table, &staged).await;
                    return Err(error);
                }
            }
        };
        target.keep(table.name, &committed);
        clean_up_log(&committed).await;
        // The ids after this commit are the ids before it plus the loaded ones, unless another
        // writer committed in between: then the next load scans the table again.
        if let (Some(before), Some(after)) = (before, committed.version())
            && after == before + 1
        {
            target.keep_ids(table, after, &Arc::new(existing.as_ref() | &loaded_ids));
        }
        target
            .record(entry)
            .instrument(tracing::debug_span!("ledger_append"))
            .await
    }

    async fn abort(mut self: Box<Self>) {
        match self.writer.flush().await {
            Ok(files) => remove_files(&self.target, self.table, &files).await,
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

/// Keeps `Arc` in scope for callers that hold targets as trait objects.
pub fn boxed(warehouse: Location) -> Arc<dyn Target> {
    Arc::new(DeltaTarget::new(warehouse))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    #[tokio::test]
    async fn a_kept_table_is_told_apart_from_one_with_newer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let jobs = Table::named("jobs").unwrap();
        let (ours, theirs) = (
            DeltaTarget::new(warehouse.clone()),
            DeltaTarget::new(warehouse),
        );
        let kept = ours.open_or_create(jobs).await.unwrap();
        assert!(
            !has_commit_after(&kept).await,
            "nothing was committed since"
        );

        let rows = one_job(jobs);
        let other = theirs.open(jobs.name).await.unwrap();
        let committed = other.write(vec![rows]).await.unwrap();
        assert_eq!(committed.version(), kept.version().map(|v| v + 1));
        assert!(has_commit_after(&kept).await);
        assert_eq!(
            ours.open(jobs.name).await.unwrap().version(),
            committed.version()
        );
    }

    fn one_job(jobs: &Table) -> RecordBatch {
        let (ids, names) = (
            Int64Array::from(vec![1]),
            StringArray::from(vec!["Analyst"]),
        );
        RecordBatch::try_new(jobs.typed_schema(), vec![Arc::new(ids), Arc::new(names)]).unwrap()
    }

    fn commit_files(folder: &std::path::Path) -> Vec<String> {
        let log = std::fs::read_dir(folder.join(DELTA_LOG)).unwrap();
        let mut names: Vec<String> = log
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".json") && !name.starts_with('_'))
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn log_files_are_cleaned_up_at_checkpoints_only() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Table::named("jobs").unwrap();
        let properties = [
            ("delta.checkpointInterval", Some("2")),
            ("delta.logRetentionDuration", Some("interval 0 seconds")),
        ];
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let mut delta = DeltaTableBuilder::from_url(url).unwrap().build().unwrap();
        delta = delta
            .create()
            .with_columns(delta_columns(jobs))
            .with_configuration(properties)
            .await
            .unwrap();
        let rows = one_job(jobs);
        let no_cleanup = CommitProperties::default().with_cleanup_expired_logs(Some(false));
        for _ in 0..3 {
            delta = (delta.write(vec![rows.clone()]))
                .with_commit_properties(no_cleanup.clone())
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(delta.version(), Some(3));
        clean_up_log(&delta).await;
        assert_eq!(
            commit_files(dir.path()).len(),
            4,
            "version 3 is no checkpoint"
        );

        delta = (delta.write(vec![rows]))
            .with_commit_properties(no_cleanup)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        clean_up_log(&delta).await;
        // Versions 0 to 2 are gone; delta-rs keeps the commit just before the checkpoint.
        let kept = [3, 4].map(|version| format!("{version:020}.json"));
        assert_eq!(commit_files(dir.path()), kept);
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let reloaded = deltalake::open_table(url).await.unwrap();
        assert_eq!(reloaded.version(), Some(4));
        assert_eq!(reloaded.snapshot().unwrap().log_data().num_files(), 4);
    }
}
