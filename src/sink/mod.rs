//! Targets: where valid rows are loaded, behind one trait of small roles (rows, ledger,
//! claims, health) so the pipeline does not care which.
//!
//! - [`delta`]: the embedded default, a Delta Lake warehouse of Parquet files.
//! - [`mysql`]: MySQL or MariaDB, loaded with `LOAD DATA LOCAL INFILE` and one transaction.
//! - [`mirror`]: a primary target with a Delta warehouse kept beside it.
//! - [`claim`]: what workers take an object version with before they read it.
//! - [`invalid`]: not a target but the other output of a split: rejected rows as CSV.

pub mod claim;
pub mod delta;
pub mod invalid;
pub mod mirror;
pub mod mysql;

use std::sync::Arc;

use async_trait::async_trait;
pub use claim::Claims;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;

use crate::dictionary::{Dictionary, Keys, Table, TableRef};
use crate::ledger;
use crate::store::{ObjectVersion, StoreError};
use crate::validate::ReferenceIds;

/// Why a target could not be read or written; always names the target.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{target}: {source}")]
    Delta {
        target: String,
        source: Box<DeltaTableError>,
    },
    #[error("{target}: query failed: {source}")]
    Query {
        target: String,
        source: Box<DataFusionError>,
    },
    #[error("{target}: {source}")]
    Arrow {
        target: String,
        source: Box<ArrowError>,
    },
    #[error("{target}: {source}")]
    Mysql {
        target: String,
        source: Box<mysql_async::Error>,
    },
    #[error("{target}: {reason}")]
    Config { target: String, reason: String },
    /// The contract changed a stored table in a way its rows cannot follow; refused before
    /// anything was written.
    #[error("table {table}: {reason}; nothing was changed")]
    SchemaChange { table: String, reason: String },
    /// Another worker committed the same object version while this load was staging it: this
    /// load's rows were dropped, the object is loaded once.
    #[error("{target}: {object} was loaded by another run meanwhile")]
    LoadedMeanwhile { target: String, object: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SinkError {
    /// A restore's load was asked to take an object's rows too.
    pub(crate) fn restore_takes_no_object(target: String, table: &str) -> SinkError {
        let reason = format!("a restore of {table} loads no object");
        SinkError::Config { target, reason }
    }

    /// Refuses a commit whose entries are not for the load's objects, one each, in the order
    /// they were added (`loaded` and `given`: the objects' fingerprints).
    pub(crate) fn unless_entries_match(
        target: String,
        loaded: &[&str],
        entries: &[ledger::Entry],
    ) -> Result<(), SinkError> {
        let given = entries.iter().map(|entry| entry.object.fingerprint());
        if loaded.len() == entries.len() && loaded.iter().zip(given).all(|(a, b)| *a == b) {
            return Ok(());
        }
        let reason = format!(
            "a load of {} objects was given ledger entries of other objects ({})",
            loaded.len(),
            entries.len()
        );
        Err(SinkError::Config { target, reason })
    }
}

/// A place valid rows are loaded into, with the ledger and the claims that sit beside them:
/// every role, as the pipeline, the queue and the API use a target. Each role is a trait of its
/// own, implemented in the target's file for that role, and its contract is tested once for
/// every target in `tests/conformance.rs`.
pub trait Target: Rows + Ledger + Claims + Health {}

impl<T: Rows + Ledger + Claims + Health + ?Sized> Target for T {}

/// The rows: what loads and restores write, and what the foreign-key rules read.
#[async_trait]
pub trait Rows: Send + Sync {
    /// The tables this target holds, as declared: what its schema, loads and sessions follow.
    fn dictionary(&self) -> &Arc<Dictionary>;

    /// The keys already loaded in `table`, which the foreign-key rules of other tables accept.
    async fn ids(&self, table: &Table) -> Result<Keys, SinkError>;

    /// Starts loading one object version's valid rows into `table`.
    async fn begin(
        &self,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError>;

    /// Starts replacing the whole contents of `table` with the rows written (a restore):
    /// [`Load::commit`] swaps them in at once, in one transaction or commit, with
    /// its `restored` entry; until then, and if anything fails, the table is as it was. Rows
    /// of other tables may be left pointing at ids the new contents lack only with `force`
    /// (the caller checks first; a target that enforces foreign keys refuses without it).
    async fn begin_replace(
        &self,
        table: &TableRef,
        force: bool,
    ) -> Result<Box<dyn Load>, SinkError>;

    /// The distinct values of the foreign key `column` of `table`: the keys its rows point at.
    async fn references(&self, table: &Table, column: &str) -> Result<Keys, SinkError>;
}

/// The ledger beside the rows, keeping the contract stated in [`crate::ledger`] (with the
/// entry [`Load::commit`] writes).
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Whether the rows of this object version were committed by an earlier run, read from
    /// the same commit as the rows, or past the warehouse's marker retention from its `done`
    /// entry (ledger contract, rule 1).
    async fn is_loaded(&self, table: &Table, object: &ObjectVersion) -> Result<bool, SinkError>;

    /// Records an entry that loaded nothing in the ledger: `queued` (durable when this
    /// returns), `skipped` or `failed`.
    async fn record(&self, entry: &ledger::Entry) -> Result<(), SinkError>;

    /// The ledger entries `selection` names, oldest first.
    async fn select_runs(
        &self,
        selection: &ledger::Selection,
    ) -> Result<Vec<ledger::Entry>, SinkError>;

    /// Every ledger entry, oldest first.
    async fn runs(&self) -> Result<Vec<ledger::Entry>, SinkError> {
        self.select_runs(&ledger::Selection::default()).await
    }

    /// Waits for what this process's commits left running after they returned: the warehouse
    /// appends a load's entry (parked before its commit, rule 3) and commits its rollups
    /// behind the load's answer, and its own ledger reads wait for them. A process waits
    /// before it exits or answers for a whole run; nothing is lost if it dies first, only done
    /// later. A target that does it all in its commit has nothing to wait for.
    async fn flush(&self) {}
}

/// What a health check and messages need of a target.
#[async_trait]
pub trait Health: Send + Sync {
    /// Names the target in messages; never includes a secret.
    fn describe(&self) -> String;

    /// Whether the target answers at all, for a health check: cheap, and reads no table.
    async fn reachable(&self) -> Result<(), SinkError>;
}

/// One object's load in progress: nothing written is visible until [`Load::commit`].
#[async_trait]
pub trait Load: Send {
    /// Adds typed rows shaped like [`Table::typed_schema`].
    async fn write(&mut self, rows: RecordBatch) -> Result<(), SinkError>;

    /// Adds another object version of the same table to this load (group commit): the commit
    /// marks it loaded too. Rows of the load's objects come in any order, and no key twice
    /// (the pipeline leaves out the rows of an earlier object whose key a later one holds). A
    /// restore loads no object and refuses.
    async fn add_object(&mut self, object: &ObjectVersion) -> Result<(), SinkError>;

    /// Makes every written row visible at once, replacing rows with the same `id`, and marks
    /// every object version of the load as loaded; records `entries` (`done`, one per object,
    /// in the order they were added; a restore's one `restored`) with or right after that
    /// commit, never before (ledger contract, rules 2 and 3): possibly after it returns, as
    /// [`Ledger::flush`] says. When another run loaded one of the objects meanwhile, nothing
    /// is committed ([`SinkError::LoadedMeanwhile`]).
    async fn commit(self: Box<Self>, entries: &[ledger::Entry]) -> Result<(), SinkError>;

    /// Drops whatever was written; the target stays as it was.
    async fn abort(self: Box<Self>);
}

/// The keys each foreign key of `table` may point at, as `target` holds them right now.
pub async fn reference_ids(
    target: &(impl Target + ?Sized),
    table: &Table,
) -> Result<ReferenceIds, SinkError> {
    let mut references = ReferenceIds::new();
    for (_, name) in table.references() {
        let referenced = (target.dictionary().table(name))
            .expect("the dictionary checks references name declared tables");
        references.insert(name.to_owned(), Arc::new(target.ids(referenced).await?));
    }
    Ok(references)
}

/// The hex SHA-256 of `text`: a safe, fixed-length object name for a key of any length
/// (claims, held ledger entries).
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}
