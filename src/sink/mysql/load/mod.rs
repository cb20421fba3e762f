//! One object's rows on their way into MySQL, on one connection: streamed batch by batch with
//! `LOAD DATA LOCAL INFILE` (each batch's bytes handed to the driver from memory, no file is
//! written), or with multi-row `INSERT`s when the server refuses it, then committed together
//! with the ledger row. A restore stages its rows the same way and swaps them in for the
//! table's contents in one transaction.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::ddl::quoted;
use super::meanwhile::Meanwhile;
use super::rollups::StoredKeys;
use super::{MysqlTarget, ledger};
use crate::dictionary::TableRef;
use crate::ledger::Entry;
use crate::rollup::tally::{Side, Tally};
use crate::sink::{Load, SinkError};
use crate::store::ObjectVersion;

/// Rows per statement of the `INSERT` fallback.
const INSERT_CHUNK_ROWS: usize = 1000;
/// Server errors that mean "`LOCAL INFILE` is disabled": MariaDB 4166, MySQL 1148 and 3948.
const LOCAL_INFILE_REFUSED: [u16; 3] = [4166, 1148, 3948];

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

mod write;

/// How a load's commit ended.
enum Finished {
    Committed,
    /// Rolled back: another run claimed or loaded this object meanwhile.
    LoadedElsewhere(String),
}

/// Where rows go as they come, and what the commit does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Into the table, in an open transaction (`LOAD DATA … REPLACE` is the upsert).
    Direct,
    /// Into a temporary staging table, upserted in place at commit.
    Staged,
    /// Into a temporary staging table that becomes the table's contents at commit (a
    /// restore); `force` lets rows of other tables point at ids that go.
    Replace { force: bool },
}

/// One or more objects' rows (or a restore's) on one connection, invisible to others until the
/// commit: in an open transaction on the table itself, or in a temporary staging table.
pub(super) struct MysqlLoad {
    target: MysqlTarget,
    conn: Conn,
    table: TableRef,
    /// Where rows go as they come: the table or its staging table.
    into: String,
    mode: Mode,
    /// A load of object versions (not a restore) checks before its commit that no other run
    /// took any of them meanwhile: one check per object, in the order they were added.
    meanwhile: Vec<Meanwhile>,
    /// What the rows change in the table's rollups, when it has any.
    tally: Option<Tally>,
    /// Holds the table's lock, taken with a tally, given back at the end.
    locked: bool,
    /// Which keys the table may hold, read when a direct load with a tally began and widened
    /// by each batch: only those are looked up as replaced.
    stored_keys: StoredKeys,
}

impl MysqlLoad {
    /// Starts a load into `table`: straight into the table in an open transaction when nothing
    /// references its rows, else into a staging table upserted in place at commit, so rows
    /// others point at are updated, not replaced.
    pub(super) async fn begin(
        target: &MysqlTarget,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<MysqlLoad, SinkError> {
        let mode = match table.is_referenced() {
            true => Mode::Staged,
            false => Mode::Direct,
        };
        let meanwhile = Meanwhile::begin(target, object).await?;
        let mut load = Self::start(target, table, mode).await?;
        load.meanwhile.push(meanwhile);
        Ok(load)
    }

    /// Starts replacing the contents of `table` with the rows written.
    pub(super) async fn begin_replace(
        target: &MysqlTarget,
        table: &TableRef,
        force: bool,
    ) -> Result<MysqlLoad, SinkError> {
        Self::start(target, table, Mode::Replace { force }).await
    }

    async fn start(
        target: &MysqlTarget,
        table: &TableRef,
        mode: Mode,
    ) -> Result<MysqlLoad, SinkError> {
        let mut conn = target.conn().await?;
        // Before the transaction: the table's lock, when it has rollups ([`super::rollups`]).
        let tally = target.tally_for(&mut conn, table).await?;
        let opened = async {
            // Read outside the transaction, so it holds no read view for the load's length;
            // the lock keeps the range as read until the commit.
            let stored_keys = match (mode, &tally) {
                (Mode::Direct, Some(_)) => target.stored_keys(&mut conn, table).await?,
                _ => StoredKeys::Any,
            };
            Ok((
                Self::open(target, &mut conn, table, mode).await?,
                stored_keys,
            ))
        };
        let opened: Result<_, SinkError> = opened.await;
        if opened.is_err() && tally.is_some() {
            let _ = MysqlTarget::unlock_table(&mut conn, &table.name).await;
        }
        let (into, stored_keys) = opened?;
        Ok(MysqlLoad {
            target: target.clone(),
            conn,
            table: TableRef::clone(table),
            into,
            mode,
            meanwhile: Vec::new(),
            locked: tally.is_some(),
            tally,
            stored_keys,
        })
    }

    /// Opens the transaction (a direct load) or the staging table: where rows go.
    async fn open(
        target: &MysqlTarget,
        conn: &mut Conn,
        table: &TableRef,
        mode: Mode,
    ) -> Result<String, SinkError> {
        Ok(if mode == Mode::Direct {
            conn.query_drop("START TRANSACTION")
                .await
                .map_err(target.error())?;
            quoted(&table.name)
        } else {
            let stage = quoted(&format!("csvgate_stage_{}", table.name));
            // A pooled connection may still hold the staging table of an aborted load.
            conn.query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {stage}"))
                .await
                .map_err(target.error())?;
            let create = format!(
                "CREATE TEMPORARY TABLE {stage} LIKE {}",
                quoted(&table.name)
            );
            conn.query_drop(create).await.map_err(target.error())?;
            stage
        })
    }

    fn columns(&self) -> String {
        let names: Vec<String> = self.table.column_names().map(quoted).collect();
        names.join(", ")
    }

    /// `ON DUPLICATE KEY UPDATE` of every column: a row with a known id replaces the old one.
    fn on_duplicate_update(&self) -> String {
        let updates: Vec<String> = self
            .table
            .column_names()
            .map(|name| format!("{0} = VALUES({0})", quoted(name)))
            .collect();
        format!("ON DUPLICATE KEY UPDATE {}", updates.join(", "))
    }

    /// Upsert (after deleting the rows a restore drops), the rollups' change, the check that
    /// no other run took an object meanwhile, ledger rows and `COMMIT`; on failure the caller
    /// rolls back.
    async fn finish(&mut self, entries: &[Entry]) -> Result<Finished, SinkError> {
        let error = self.target.error();
        if !matches!(self.mode, Mode::Replace { .. }) {
            let loaded: Vec<&str> = (self.meanwhile.iter())
                .map(Meanwhile::fingerprint)
                .collect();
            SinkError::unless_entries_match(self.target.display.clone(), &loaded, entries)?;
        }
        self.put_rows_in_place().await?;
        let replace = matches!(self.mode, Mode::Replace { .. });
        (self.target)
            .change_rollups(&mut self.conn, &self.table.name, self.tally.take(), replace)
            .await?;
        for (meanwhile, entry) in self.meanwhile.iter().zip(entries) {
            if meanwhile
                .loaded_elsewhere(&self.target, &mut self.conn, entry)
                .await?
            {
                return Ok(Finished::LoadedElsewhere(entry.object.key.clone()));
            }
        }
        for entry in entries {
            ledger::insert(&self.target, &mut self.conn, entry).await?;
        }
        self.conn.query_drop("COMMIT").await.map_err(&error)?;
        Ok(Finished::Committed)
    }

    /// Inside the transaction: the rows where they go, as the mode says.
    async fn put_rows_in_place(&mut self) -> Result<(), SinkError> {
        let error = self.target.error();
        match self.mode {
            // The rows are in the table already, inside the open transaction.
            Mode::Direct => crate::fault::pause(crate::fault::LOAD_BEFORE_COMMIT).await,
            Mode::Staged => {
                self.conn
                    .query_drop("START TRANSACTION")
                    .await
                    .map_err(&error)?;
                self.count_replaced_staged().await?;
                self.upsert_staged().await.map_err(&error)?;
                crate::fault::pause(crate::fault::LOAD_BEFORE_COMMIT).await;
            }
            Mode::Replace { force } => {
                if force {
                    // Checked per statement by InnoDB, so it cannot wait for the commit: the
                    // caller has said what would dangle, and the user accepted it.
                    let unchecked = self.conn.query_drop("SET FOREIGN_KEY_CHECKS = 0").await;
                    unchecked.map_err(&error)?;
                }
                self.conn
                    .query_drop("START TRANSACTION")
                    .await
                    .map_err(&error)?;
                self.delete_rows_not_staged().await.map_err(&error)?;
                crate::fault::pause(crate::fault::RESTORE_BEFORE_COMMIT).await;
                self.upsert_staged().await.map_err(error)?;
            }
        }
        Ok(())
    }

    /// Counts out of the rollups the stored rows the staged ones replace, locking them.
    async fn count_replaced_staged(&mut self) -> Result<(), SinkError> {
        let Some(tally) = self.tally.as_mut() else {
            return Ok(());
        };
        (self.target)
            .count_replaced_by_stage(&mut self.conn, &self.table, &self.into, tally)
            .await
    }

    /// Counts `rows` into the rollups, and out of them the stored rows with their keys, which
    /// a direct load is about to replace (locking them until the commit).
    async fn count(&mut self, rows: &RecordBatch) -> Result<(), SinkError> {
        let Some(tally) = self.tally.as_mut() else {
            return Ok(());
        };
        if self.mode == Mode::Direct {
            let stored = &mut self.stored_keys;
            (self.target)
                .count_replaced_by_keys(&mut self.conn, &self.table, rows, stored, tally)
                .await?;
        }
        let counted = tally.count(Side::Added, rows.clone()).await;
        counted.map_err(self.target.query_error())
    }

    /// Inserts the staged rows into the table, updating those whose id it holds.
    async fn upsert_staged(&mut self) -> Result<(), mysql_async::Error> {
        let upsert = format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {update}",
            table = quoted(&self.table.name),
            columns = self.columns(),
            stage = self.into,
            update = self.on_duplicate_update()
        );
        self.conn.query_drop(upsert).await
    }

    /// Deletes the table's rows whose id the staging table lacks. Rows it keeps are updated in
    /// place by the upsert rather than deleted and inserted, so foreign keys stay checked: with
    /// them on, a restore that would orphan rows of another table fails here.
    async fn delete_rows_not_staged(&mut self) -> Result<(), mysql_async::Error> {
        let key = quoted(&self.table.key_column().name);
        let delete = format!(
            "DELETE t FROM {table} AS t LEFT JOIN {stage} AS s ON t.{key} = s.{key} WHERE s.{key} IS NULL",
            table = quoted(&self.table.name),
            stage = self.into,
        );
        self.conn.query_drop(delete).await
    }

    /// Leaves the connection clean for the pool: no open transaction, no staging table, foreign
    /// keys checked.
    /// Every step is tried; the first error is returned.
    async fn clean_up(&mut self) -> Result<(), mysql_async::Error> {
        let mut steps = vec![self.conn.query_drop("ROLLBACK").await];
        if self.mode != Mode::Direct {
            let drop = format!("DROP TEMPORARY TABLE IF EXISTS {}", self.into);
            steps.push(self.conn.query_drop(drop).await);
        }
        if let Mode::Replace { force: true } = self.mode {
            steps.push(self.conn.query_drop("SET FOREIGN_KEY_CHECKS = 1").await);
        }
        if self.locked {
            steps.push(MysqlTarget::unlock_table(&mut self.conn, &self.table.name).await);
        }
        steps.into_iter().collect()
    }

    /// Gives the connection back to the pool clean, or closes it when it cannot be cleaned:
    /// a table's lock or an open transaction must never stay with a pooled connection.
    async fn end(mut self: Box<Self>) {
        if let Err(error) = self.clean_up().await {
            tracing::warn!(target = %self.target.display, %error, "could not clean the load's connection up: closing it");
            let _ = self.conn.disconnect().await;
        }
    }
}

#[async_trait]
impl Load for MysqlLoad {
    async fn write(&mut self, rows: RecordBatch) -> Result<(), SinkError> {
        if rows.num_rows() == 0 {
            return Ok(());
        }
        self.count(&rows).await?;
        if self.target.local_infile.load(Ordering::Relaxed) {
            if self.load_data(&rows).await? {
                return Ok(());
            }
            self.target.local_infile.store(false, Ordering::Relaxed);
            if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::warn!(target = %self.target.display, "the server refuses LOAD DATA LOCAL INFILE; loading with multi-row INSERT instead (slower)");
            }
        }
        self.insert(&rows).await
    }

    async fn add_object(&mut self, object: &ObjectVersion) -> Result<(), SinkError> {
        if self.meanwhile.is_empty() {
            let target = self.target.display.clone();
            return Err(SinkError::restore_takes_no_object(target, &self.table.name));
        }
        let meanwhile = Meanwhile::begin(&self.target, object).await?;
        self.meanwhile.push(meanwhile);
        Ok(())
    }

    async fn commit(mut self: Box<Self>, entries: &[Entry]) -> Result<(), SinkError> {
        let finished = self.finish(entries).await;
        let target = self.target.display.clone();
        // Once committed, a connection that cannot be cleaned is closed, not a failed load.
        self.end().await;
        match finished? {
            Finished::Committed => Ok(()),
            Finished::LoadedElsewhere(object) => Err(SinkError::LoadedMeanwhile { target, object }),
        }
    }

    async fn abort(self: Box<Self>) {
        self.end().await
    }
}
