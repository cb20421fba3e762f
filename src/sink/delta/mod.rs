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
//! The parts, in the order a load meets them:
//! - [`claims`]: which worker loads an object version now ([`crate::sink::claim`]);
//! - [`tables`]: tables opened once and kept between loads, brought up to date when needed;
//!   [`markers`]: the application transactions each table version holds, looked up once,
//!   and kept for the table's [`retention`];
//! - [`ids`]: each table's `id` set, for foreign keys and to tell appends from replaces;
//! - [`load`]: staging Parquet files and committing them ([`commit`]: appended, or in place
//!   of the whole table for a restore; [`replace`] when ids repeat), again on the newer
//!   version when another writer committed first;
//! - [`cleanup`]: a load's checkpoint, and the expired log files it covers, behind its answer;
//! - [`ledger`]: the ledger table `_csvgate_runs`, one append per run ([`waiting`] holds an
//!   upload's first entry until then, and [`parked`] a commit's entry until it is appended;
//!   [`ledger_upkeep`] its checkpoints and compaction);
//! - [`session`]: DataFusion over the tables, for reports and ad-hoc SQL;
//! - [`history`]: the commits a table's log holds, and a table put back to one of them;
//! - [`files`]: a version's data files as stored, for copies that need no decoding;
//! - [`vacuum`]: data files past the table's retention removed;
//! - [`rollups`]: each rollup a table of its own, brought up to date after the commits of its
//!   table;
//! - [`trailing`]: loads' ledger appends, rollup commits and checkpoints, run behind their
//!   answers, once for the commits of a table that came while the previous ones ran.

mod claims;
mod cleanup;
mod commit;
mod evolve;
mod files;
mod history;
mod ids;
mod ledger;
mod ledger_upkeep;
mod load;
mod markers;
mod parked;
mod replace;
mod retention;
pub mod rollups;
mod session;
mod tables;
mod trailing;
mod vacuum;
mod waiting;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;

use crate::dictionary::{Dictionary, Keys, Table, TableRef};
use crate::rollup::Rollup;

use crate::sink::{Health, Load, Rows, SinkError};
use crate::store::{Location, ObjectVersion, StoreError};
pub use files::{LiveFile, LiveFiles};
pub use history::{AsOf, Commit};
use load::{DeltaLoad, Trail};
pub use session::set_report_options;
use tables::Kept;
pub use vacuum::Vacuumed;

/// Folder of the ledger table inside the warehouse.
pub const LEDGER_TABLE: &str = "_csvgate_runs";
/// Folder of a Delta table's commit log.
const DELTA_LOG: &str = "_delta_log";
/// Name a table is registered under for the one-table queries of this module.
const SCANNED: &str = "scanned";

/// A Delta Lake warehouse rooted at one location.
#[derive(Debug, Clone)]
pub struct DeltaTarget {
    warehouse: Location,
    /// The tables it holds, one folder each.
    dictionary: Arc<Dictionary>,
    /// Ledger appends of this process go one at a time: Delta resolves concurrent appends by
    /// retrying, and a burst of them (an API server accepting many uploads) runs out of
    /// retries. Clones share the lock.
    ledger_appends: Arc<tokio::sync::Mutex<()>>,
    /// Parked entries are appended by their commit or settled by a reader, one at a time, so
    /// this process appends each once ([`parked`]). Clones share the lock.
    parked_entries: Arc<tokio::sync::Mutex<()>>,
    /// Tables opened before, shared by clones.
    kept: Arc<Mutex<Kept>>,
    /// Set once the warehouse's store was seen to refuse a second create of one object.
    writable: Arc<tokio::sync::OnceCell<()>>,
    /// Set once this process settled the entries parked by earlier ones ([`parked`]).
    settled: Arc<tokio::sync::OnceCell<()>>,
    /// The rollups kept in step with the tables.
    rollups: Arc<[Rollup]>,
    /// How they were kept after this process's commits; shared by clones.
    upkeep: Arc<rollups::Upkeep>,
    /// What loads' commits left running behind them; shared by clones.
    trailing: Arc<trailing::Trailing<Trail>>,
    /// How long data tables keep each loaded object's marker ([`retention`]).
    marker_retention: Duration,
}

/// Markers stay a week unless configured otherwise: far longer than any load, and than the
/// outages after which parked entries are settled.
pub const DEFAULT_MARKER_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Below this, csvgate warns: the retention must outlast the longest load and outage.
const SHORTEST_SAFE_MARKER_RETENTION: Duration = Duration::from_secs(3600);

impl DeltaTarget {
    pub fn new(warehouse: Location, dictionary: Arc<Dictionary>) -> Self {
        if warehouse.is_s3() {
            crate::store::s3::register_delta_handlers();
        }
        DeltaTarget {
            warehouse,
            dictionary,
            ledger_appends: Arc::default(),
            parked_entries: Arc::default(),
            kept: Arc::default(),
            writable: Arc::default(),
            settled: Arc::default(),
            rollups: Arc::new([]),
            upkeep: Arc::default(),
            trailing: Arc::default(),
            marker_retention: DEFAULT_MARKER_RETENTION,
        }
    }

    /// Keeps each loaded object's marker in its table for `retention` from now on.
    pub fn with_marker_retention(mut self, retention: Duration) -> Self {
        if retention < SHORTEST_SAFE_MARKER_RETENTION {
            tracing::warn!(
                retention_secs = retention.as_secs(),
                "a marker retention under an hour can expire a marker before a load or an outage ends: an object may then load twice"
            );
        }
        self.marker_retention = retention;
        self
    }

    /// Keeps `rollups` in step with their tables from now on.
    pub fn with_rollups(mut self, rollups: Arc<[Rollup]>) -> Self {
        self.rollups = rollups;
        self
    }

    /// The rollups it keeps.
    pub fn rollups(&self) -> &[Rollup] {
        &self.rollups
    }

    /// How its rollups were kept after its commits.
    pub fn upkeep(&self) -> &rollups::Upkeep {
        &self.upkeep
    }

    /// Where the warehouse is.
    pub fn location(&self) -> &Location {
        &self.warehouse
    }

    /// Refuses to write where concurrent commits could both succeed (see
    /// [`Location::check_conditional_writes`]); checked once per target.
    async fn ensure_writable(&self) -> Result<(), SinkError> {
        let check = || self.warehouse.check_conditional_writes();
        self.writable.get_or_try_init(check).await?;
        Ok(())
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
}

/// What an object's application-transaction id starts with, before its fingerprint.
const APP_ID_PREFIX: &str = "csvgate:";

/// The application-transaction id that marks an object version as loaded.
fn app_id(object: &ObjectVersion) -> String {
    format!("{APP_ID_PREFIX}{}", object.fingerprint())
}

#[async_trait]
impl Rows for DeltaTarget {
    fn dictionary(&self) -> &Arc<Dictionary> {
        &self.dictionary
    }

    async fn ids(&self, table: &Table) -> Result<Keys, SinkError> {
        let delta = self.open(&table.name).await?;
        Ok(self.id_set(table, &delta).await?.as_ref().clone())
    }

    async fn begin(
        &self,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError> {
        self.ensure_writable().await?;
        Ok(Box::new(DeltaLoad::begin(self, table, object).await?))
    }

    async fn begin_replace(
        &self,
        table: &TableRef,
        _force: bool,
    ) -> Result<Box<dyn Load>, SinkError> {
        self.ensure_writable().await?;
        Ok(Box::new(DeltaLoad::begin_overwrite(self, table).await?))
    }

    async fn references(&self, table: &Table, column: &str) -> Result<Keys, SinkError> {
        let delta = self.open(&table.name).await?;
        self.scan_values(table, &delta, column).await
    }
}

#[async_trait]
impl Health for DeltaTarget {
    fn describe(&self) -> String {
        format!("delta warehouse {}", self.warehouse.url)
    }

    async fn reachable(&self) -> Result<(), SinkError> {
        let warehouse = &self.warehouse;
        match warehouse.store.list_with_delimiter(None).await {
            Ok(_) => Ok(()),
            Err(source) => Err(SinkError::Store(StoreError::Object {
                location: warehouse.url.to_string(),
                source,
            })),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};

    /// One row of `jobs`, typed.
    pub(crate) fn one_job(jobs: &Table) -> RecordBatch {
        let (ids, names) = (
            Int64Array::from(vec![1]),
            StringArray::from(vec!["Analyst"]),
        );
        RecordBatch::try_new(jobs.typed_schema(), vec![Arc::new(ids), Arc::new(names)]).unwrap()
    }
}
