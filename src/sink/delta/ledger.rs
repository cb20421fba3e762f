//! The warehouse's ledger: the Delta table `_csvgate_runs` beside the data tables, written
//! append-only, one commit per run (an upload's `queued` entry waits in [`super::waiting`]
//! and enters with the run's ending entry; a commit's entry is parked in [`super::parked`] until
//! it is appended).
//!
//! Appends are blind: they need no list of the table's files, which grows with every run, so
//! an append costs the same however long the ledger is. Checkpoints and compaction keep what a
//! reader opens short ([`super::ledger_upkeep`]).

use std::collections::HashSet;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::{StructField, StructType};
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{BlindDeltaTable, DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use futures::future::join_all;

use super::commit::{remove_files, retry};
use super::retention::missing_marker_may_hide_a_load;
use super::tables::TABLE_PROPERTIES;
use super::waiting::WaitingEntries;
use super::{DeltaTarget, LEDGER_TABLE, SCANNED, app_id};
use crate::dictionary::Table;
use crate::ledger::{self, Entry, Selection, Status};
use crate::sink::{Ledger, SinkError};
use crate::store::ObjectVersion;

/// Delta's checkpoint interval for tables that do not set one.
const DELTA_CHECKPOINT_INTERVAL: u64 = 100;

impl DeltaTarget {
    /// Writes `entry`: a `queued` one waits outside the log; any other enters the ledger
    /// together with its run's waiting `queued` entry, in one commit.
    pub(super) async fn record_entry(&self, entry: &Entry) -> Result<(), SinkError> {
        if entry.status == Status::Queued {
            let queue = WaitingEntries::queued(&self.warehouse)?;
            return queue.add(&entry.run_id, entry).await;
        }
        self.record_entries(std::slice::from_ref(entry)).await
    }

    /// Appends ending entries (not `queued`) in one commit, each after its run's waiting
    /// `queued` entry, which then goes.
    pub(super) async fn record_entries(&self, entries: &[Entry]) -> Result<(), SinkError> {
        if entries.is_empty() {
            return Ok(());
        }
        let queue = WaitingEntries::queued(&self.warehouse)?;
        let waiting = join_all(entries.iter().map(|entry| queue.get(&entry.run_id))).await;
        let mut appended = Vec::with_capacity(2 * entries.len());
        let mut ended = Vec::new();
        for (entry, waiting) in entries.iter().zip(waiting) {
            if let Some(waiting) = waiting? {
                appended.push(waiting);
                ended.push(entry.run_id.as_str());
            }
            appended.push(entry.clone());
        }
        self.append_to_ledger(&appended).await?;
        join_all(ended.into_iter().map(|run_id| queue.remove(run_id))).await;
        Ok(())
    }

    /// The entries `selection` names, of the ledger and the waiting `queued` ones, oldest
    /// first. The appends trailing this process's commits are waited for, so it reads its own
    /// commits' entries from the ledger (one append per group, not one per entry settled);
    /// then parked entries whose commit happened (another process's, or one that crashed) are
    /// settled.
    pub(super) async fn select_entries(
        &self,
        selection: &Selection,
    ) -> Result<Vec<Entry>, SinkError> {
        self.trailing.finished().await;
        self.settle_committed().await?;
        let mut entries = self.ledger_entries(selection).await?;
        entries.extend(self.waiting_entries(selection).await?);
        entries.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
        // Two processes settling one parked entry may both have appended it.
        let mut seen = HashSet::new();
        entries.retain(|entry| {
            seen.insert((
                entry.run_id.clone(),
                entry.status,
                entry.object.fingerprint(),
            ))
        });
        Ok(selection.window(entries))
    }

    /// The waiting `queued` entries `selection` names whose run has not ended. A file whose
    /// run ended (the process stopped before removing it) is removed.
    async fn waiting_entries(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        if selection
            .status
            .is_some_and(|status| status != Status::Queued)
        {
            return Ok(Vec::new());
        }
        let queue = WaitingEntries::queued(&self.warehouse)?;
        let waiting: Vec<Entry> = (queue.all().await?.into_iter())
            .filter(|entry| selection.matches(entry))
            .collect();
        let ended = self.ended_runs(&waiting).await?;
        let mut unended = Vec::with_capacity(waiting.len());
        for entry in waiting {
            match ended.contains(&entry.run_id) {
                true => queue.remove(&entry.run_id).await,
                false => unended.push(entry),
            }
        }
        Ok(unended)
    }

    /// Which runs of `entries` have an ending entry in the ledger.
    async fn ended_runs(&self, entries: &[Entry]) -> Result<HashSet<String>, SinkError> {
        if entries.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<String> = entries.iter().map(|entry| quoted(&entry.run_id)).collect();
        let sql = format!(
            "SELECT * FROM {SCANNED} WHERE status <> 'queued' AND run_id IN ({})",
            ids.join(", ")
        );
        let ended = self.ledger_query(&sql).await?;
        Ok(ended.into_iter().map(|entry| entry.run_id).collect())
    }

    /// The ledger as an append-only table (`None` when it does not exist yet), with every
    /// column of [`ledger::schema`]: a ledger an older csvgate created gains the new ones.
    async fn open_ledger_for_appends(&self) -> Result<Option<BlindDeltaTable>, SinkError> {
        let delta = self.open(LEDGER_TABLE).await?;
        if delta.version().is_none() {
            return Ok(None);
        }
        self.add_ledger_columns(delta).await?;
        Ok(Some(self.blind_ledger().await?))
    }

    /// Adds to the ledger `delta` the columns of [`ledger::schema`] it lacks (all optional:
    /// its older entries read them as NULL).
    async fn add_ledger_columns(&self, delta: DeltaTable) -> Result<(), SinkError> {
        let missing = |delta: &DeltaTable| -> Result<Vec<StructField>, SinkError> {
            let snapshot = delta.snapshot().map_err(self.error(LEDGER_TABLE))?;
            let wanted: StructType = (ledger::schema().as_ref().try_into_kernel())
                .map_err(|source| self.arrow_error(source))?;
            let held = snapshot.schema();
            let missing = wanted
                .fields()
                .filter(|field| held.field(field.name()).is_none());
            Ok(missing.cloned().collect())
        };
        let added = missing(&delta)?;
        if added.is_empty() {
            return Ok(());
        }
        tracing::info!(columns = ?added.iter().map(StructField::name).collect::<Vec<_>>(), "adding columns to the ledger");
        if let Err(error) = delta.add_columns().with_fields(added).await {
            // Another process may have added them first: then the ledger is as wanted.
            if !missing(&self.open(LEDGER_TABLE).await?)?.is_empty() {
                return Err(self.error(LEDGER_TABLE)(error));
            }
        }
        Ok(())
    }

    /// The ledger, existing, at its latest version, without its list of files.
    async fn blind_ledger(&self) -> Result<BlindDeltaTable, SinkError> {
        let url = self.warehouse.child(LEDGER_TABLE)?.url;
        BlindDeltaTable::try_new(url.as_str())
            .await
            .map_err(self.error(LEDGER_TABLE))
    }

    /// Creates the ledger table, empty. Two processes creating it at once write the same
    /// version 0, so whichever wins, no entry rides on the create (a store whose conditional
    /// write is not atomic would otherwise keep one process's first entry and drop the other's).
    async fn create_ledger(&self, empty: RecordBatch) -> Result<(), SinkError> {
        let ledger = self.open(LEDGER_TABLE).await?;
        let created = ledger
            .write(vec![empty])
            .with_configuration(TABLE_PROPERTIES)
            .with_save_mode(SaveMode::Append)
            .await
            .map_err(self.error(LEDGER_TABLE))?;
        self.keep(LEDGER_TABLE, &created);
        Ok(())
    }

    /// Appends `entries` to the ledger in one commit.
    pub(super) async fn append_to_ledger(&self, entries: &[Entry]) -> Result<(), SinkError> {
        let batch = ledger::to_batch(entries).map_err(|source| self.arrow_error(source))?;
        let one_at_a_time = self.ledger_appends.lock().await;
        // Taken out while in use, so an append cut short leaves none kept: the next one opens
        // the ledger afresh instead of trusting a version that may be gone by.
        let kept = self.kept().ledger.take();
        let mut ledger = match kept {
            Some(ledger) => ledger,
            None => match self.open_ledger_for_appends().await? {
                Some(ledger) => ledger,
                None => {
                    // Another process may create it first: either way, append after.
                    let created = self.create_ledger(batch.slice(0, 0)).await;
                    let opened = self.open_ledger_for_appends().await?;
                    opened.ok_or_else(|| created.err().unwrap_or_else(|| self.ledger_missing()))?
                }
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
                Err(DeltaTableError::VersionAlreadyExists(_)) if attempts < retry::ATTEMPTS => {
                    tokio::time::sleep(retry::pause(attempts)).await;
                    attempts += 1;
                    ledger = self.blind_ledger().await?;
                }
                Ok(version) => break version,
                // Surely not committed: the written file would be an orphan, so it goes. (Any
                // other failure may hide a commit that happened: the file stays.)
                Err(failed @ DeltaTableError::VersionAlreadyExists(_)) => {
                    remove_files(self, LEDGER_TABLE, &files).await;
                    return Err(error(failed));
                }
                Err(failed) => return Err(error(failed)),
            }
        };
        let every = (ledger.table_properties().checkpoint_interval)
            .map_or(DELTA_CHECKPOINT_INTERVAL, std::num::NonZero::get);
        self.kept().ledger = Some(ledger);
        drop(one_at_a_time);
        self.ledger_upkeep(version, every).await;
        Ok(())
    }

    fn ledger_missing(&self) -> SinkError {
        SinkError::Config {
            target: format!("{}{LEDGER_TABLE}", self.warehouse.url),
            reason: "the ledger table was created but cannot be opened".into(),
        }
    }

    /// The entries of the ledger table `selection` names, oldest first: all those up to the
    /// end of its window (the waiting entries are merged in after).
    pub(super) async fn ledger_entries(
        &self,
        selection: &Selection,
    ) -> Result<Vec<Entry>, SinkError> {
        let mut conditions = vec!["true".to_owned()];
        if let Some(status) = selection.status {
            conditions.push(format!("status = {}", quoted(status.as_str())));
        }
        if let Some(run_id) = &selection.run_id {
            conditions.push(format!("run_id = {}", quoted(run_id)));
        }
        let limit = selection
            .reach()
            .map_or(String::new(), |reach| format!(" LIMIT {reach}"));
        let sql = format!(
            "SELECT * FROM {SCANNED} WHERE {} ORDER BY started_at, run_id, key{limit}",
            conditions.join(" AND ")
        );
        self.ledger_query(&sql).await
    }

    /// Whether the ledger holds a `done` entry of `object` in `table`: what is left of a load
    /// once its marker expired ([`super::retention`]). A load asks before and after its claim;
    /// a `done` seen is kept, since the ledger never takes one back.
    async fn done_in_ledger(
        &self,
        table: &Table,
        object: &ObjectVersion,
    ) -> Result<bool, SinkError> {
        let seen = format!("{}\n{}", table.name, object.fingerprint());
        if self.kept().done_seen.contains(&seen) {
            return Ok(true);
        }
        let sql = format!(
            "SELECT * FROM {SCANNED} WHERE status = 'done' AND table_name = {} AND location = {} \
             AND key = {} AND object_version = {} LIMIT 1",
            quoted(&table.name),
            quoted(&object.location),
            quoted(&object.key),
            quoted(&object.version)
        );
        let done = !self.ledger_query(&sql).await?.is_empty();
        if done {
            self.kept().done_seen.insert(seen);
        }
        Ok(done)
    }

    /// The entries a query over the ledger table (as [`SCANNED`]) returns.
    async fn ledger_query(&self, sql: &str) -> Result<Vec<Entry>, SinkError> {
        let delta = self.open(LEDGER_TABLE).await?;
        if delta.version().is_none() {
            return Ok(Vec::new());
        }
        let batches: Vec<RecordBatch> = self
            .query(LEDGER_TABLE, &delta, sql)
            .await?
            .try_collect()
            .await
            .map_err(self.query_error(LEDGER_TABLE))?;
        ledger::from_batches(&batches).map_err(|source| self.arrow_error(source))
    }
}

/// `text` as an SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[async_trait]
impl Ledger for DeltaTarget {
    async fn is_loaded(&self, table: &Table, object: &ObjectVersion) -> Result<bool, SinkError> {
        let delta = self.open(&table.name).await?;
        if (self.marker_in(&table.name, &delta, &app_id(object)).await?).is_some() {
            self.settle_loaded(object).await?;
            return Ok(true);
        }
        if missing_marker_may_hide_a_load(&delta, object, chrono::Utc::now().timestamp_millis()) {
            return self.done_in_ledger(table, object).await;
        }
        Ok(false)
    }

    async fn record(&self, entry: &Entry) -> Result<(), SinkError> {
        self.ensure_writable().await?;
        self.record_entry(entry).await
    }

    async fn select_runs(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        self.select_entries(selection).await
    }

    async fn flush(&self) {
        self.trailing.finished().await;
    }
}
