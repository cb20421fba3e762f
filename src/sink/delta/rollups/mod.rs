//! Rollups in the warehouse ([`crate::rollup`]): each a Delta table of its own,
//! `_csvgate_rollup_<name>`, rewritten whole (it holds groups, not rows) by a commit whose
//! application transaction records the version of its table it reflects.
//!
//! A rollup is brought up to date right after the data commits of its table (once for the
//! commits of a batch, [`super::trailing`]): by the changes the loads counted as their rows
//! went by ([`counted`]) when it reflects the version before the first;
//! else from the files the commits since the version it reflects added and removed (a replace
//! shows as a removed file and its rewritten copy, so the replaced rows count once,
//! negatively). When a commit's
//! log or a removed file is gone (cleaned up, vacuumed), or the rollup was never stored, it is
//! recomputed from the table. The rollup's commit trails the load's answer
//! ([`super::trailing`]), so a report right after a load, or after a crash between the two
//! commits, may find the rollup reflecting an older version: readers see that and catch it up
//! first, so a rollup is never read for a version it does not reflect.

mod counted;
mod kept;
mod read;
mod store;

pub use counted::Upkeep;
pub(super) use counted::{Landed, count};
pub(super) use kept::KeptGroups;
pub use read::RollupCheck;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::Action;
use futures::TryStreamExt;

use super::DeltaTarget;
use super::commit::retry;
use crate::rollup::tally::Tally;
use crate::rollup::{Rollup, merge};
use crate::sink::SinkError;

/// The folder of a rollup's table in the warehouse.
pub fn folder(rollup: &Rollup) -> String {
    format!("_csvgate_rollup_{}", rollup.name)
}

/// The two application transactions of a rollup's commits, both set to the version of its
/// table it reflects, which it is taken to reflect only when they agree. Both name a hash of
/// the declaration and of the columns it makes, so a changed declaration, or a column type the
/// contract changed, finds no version and is recomputed. The second also names the id of its
/// table (`table_id`), so a table deleted and loaded anew, whose versions count from 0 again,
/// finds none. The first is the one csvgate wrote before: a commit by an older csvgate sharing
/// the warehouse moves only that one, and the disagreement makes this one recompute.
fn app_ids(rollup: &Rollup, table_id: &str) -> [String; 2] {
    let shared = format!("csvgate-rollup:{}", &rollup.fingerprint()[..16]);
    let of_table = format!("{shared}:{table_id}");
    [shared, of_table]
}

/// The id Delta gave `table` when it was created.
pub(super) fn table_id(table: &DeltaTable) -> Result<String, deltalake::DeltaTableError> {
    Ok(table.snapshot()?.metadata().id().to_owned())
}

/// What a catch-up came to: the table version the rollup now reflects, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaughtUp {
    pub version: u64,
    pub how: How,
}

/// How a rollup was brought to its table's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// It already reflected it.
    UpToDate,
    /// From the files the commits since added and removed.
    Incremental,
    /// From every row of the table.
    Recomputed,
}

/// The data files a range of commits added and removed, each counted once: a file added and
/// removed within the range is in neither.
#[derive(Default)]
struct Changes {
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
}

impl DeltaTarget {
    /// The version of its table (the one whose id is `table_id`) the rollup reflects in the
    /// snapshot `stored` is at ([`app_ids`]), so the groups read from that snapshot and the
    /// version go together.
    async fn reflected(
        &self,
        rollup: &Rollup,
        stored: &DeltaTable,
        table_id: &str,
    ) -> Result<Option<u64>, SinkError> {
        let [shared, of_table] = app_ids(rollup, table_id);
        let folder = folder(rollup);
        let shared = self.marker_in(&folder, stored, &shared).await?;
        let of_table = self.marker_in(&folder, stored, &of_table).await?;
        Ok(of_table
            .filter(|version| shared == Some(*version))
            .map(|version| version as u64))
    }

    /// [`table_id`], as this target's error.
    fn id_of(&self, rollup: &Rollup, table: &DeltaTable) -> Result<String, SinkError> {
        table_id(table).map_err(self.error(&rollup.table))
    }

    /// Brings `rollup` to the current version of its table, or says why not: `None` when the
    /// table was never loaded. Another process bringing it up at the same time makes one of
    /// the two commits conflict, and that one tries again on what the other stored.
    pub async fn catch_up(&self, rollup: &Rollup) -> Result<Option<CaughtUp>, SinkError> {
        let mut attempt = 1;
        loop {
            match self.catch_up_once(rollup).await {
                Err(error) if retry::is_conflict(&error) && attempt < retry::ATTEMPTS => {
                    tokio::time::sleep(retry::pause(attempt)).await;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// Brings every rollup of `table` up to date after commits of it: by the changes the
    /// loads counted when each has one ([`counted`]), else from the commits' files. A failure
    /// is logged, not returned: the rows are committed, and a reader catches the rollup up or
    /// scans.
    pub(super) async fn after_commits(&self, table: &str, counted: Vec<Option<(Tally, Landed)>>) {
        crate::fault::pause(crate::fault::ROLLUP_BEFORE_COMMIT).await;
        let behind = match counted.into_iter().collect::<Option<Vec<_>>>() {
            Some(counted) => self.advance(counted).await,
            None => self.rollup_names(),
        };
        let of_table = Rollup::of_table(&self.rollups, table);
        for rollup in of_table.filter(|rollup| behind.contains(&rollup.name)) {
            match self.catch_up(rollup).await {
                Ok(_) => self.upkeep.count_caught_up(),
                Err(error) => {
                    tracing::warn!(rollup = rollup.name, %error, "the rollup was not brought up to date: a reader will")
                }
            }
        }
    }

    async fn catch_up_once(&self, rollup: &Rollup) -> Result<Option<CaughtUp>, SinkError> {
        let table = self.open(&rollup.table).await?;
        let Some(version) = table.version() else {
            return Ok(None);
        };
        let stored = self.open(&folder(rollup)).await?;
        let id = self.id_of(rollup, &table)?;
        let (how, groups) = match self.reflected(rollup, &stored, &id).await? {
            Some(reflected) if reflected == version => {
                return Ok(Some(CaughtUp {
                    version,
                    how: How::UpToDate,
                }));
            }
            Some(reflected) if reflected < version => {
                self.from(rollup, &table, &stored, reflected).await?
            }
            _ => (How::Recomputed, self.recomputed(rollup, &table).await?),
        };
        self.store_rollup(rollup, stored, groups, (&id, version))
            .await?;
        Ok(Some(CaughtUp { version, how }))
    }

    /// The groups at `table`'s version from those stored for `reflected`: incrementally, else
    /// recomputed (a log or a removed file gone, or the changes unreadable: logged, since the
    /// rows are still there to recompute from).
    async fn from(
        &self,
        rollup: &Rollup,
        table: &DeltaTable,
        stored: &DeltaTable,
        reflected: u64,
    ) -> Result<(How, Vec<RecordBatch>), SinkError> {
        match self.incrementally(rollup, table, stored, reflected).await {
            Ok(Some(groups)) => return Ok((How::Incremental, groups)),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(rollup = rollup.name, %error, "the changes since the rollup's version could not be applied: recomputing it")
            }
        }
        Ok((How::Recomputed, self.recomputed(rollup, table).await?))
    }

    /// The rollup's groups from the rows of the version `table` is at.
    pub(super) async fn recomputed(
        &self,
        rollup: &Rollup,
        table: &DeltaTable,
    ) -> Result<Vec<RecordBatch>, SinkError> {
        let ctx = self.rollup_session(rollup, table)?;
        let provider = table
            .table_provider()
            .await
            .map_err(self.query_error(&rollup.table))?;
        let groups = merge::groups_of(&ctx, rollup, provider).await;
        groups.map_err(self.query_error(&rollup.table))
    }

    /// The stored groups with the changes since `reflected` applied; `None` when a commit's
    /// log or a removed file is gone, or a file is not plain Parquet.
    async fn incrementally(
        &self,
        rollup: &Rollup,
        table: &DeltaTable,
        stored: &DeltaTable,
        reflected: u64,
    ) -> Result<Option<Vec<RecordBatch>>, SinkError> {
        let version = table.version().unwrap_or_default();
        let Some(changes) = self.changes(rollup, table, reflected, version).await? else {
            return Ok(None);
        };
        if !self.all_stored(rollup, &changes.removed).await? {
            return Ok(None);
        }
        let ctx = self.rollup_session(rollup, table)?;
        let error = self.query_error(&rollup.table);
        let plus = self
            .groups_in_files(&ctx, rollup, table, &changes.added)
            .await
            .map_err(&error)?;
        let minus = self
            .groups_in_files(&ctx, rollup, table, &changes.removed)
            .await
            .map_err(&error)?;
        let current = self.current_groups(rollup, stored).await?;
        let applied = merge::apply(rollup, current, plus, minus).await;
        Ok(Some(applied.map_err(error)?))
    }

    /// The files the commits after `from` up to `to` added and removed, as changes of data;
    /// `None` when one commit's log is gone, changes the schema or protocol, or adds or
    /// removes a file with a deletion vector.
    async fn changes(
        &self,
        rollup: &Rollup,
        table: &DeltaTable,
        from: u64,
        to: u64,
    ) -> Result<Option<Changes>, SinkError> {
        let error = self.error(&rollup.table);
        let mut changes = Changes::default();
        for version in from + 1..=to {
            let log = table.log_store().read_commit_entry(version).await;
            let Some(log) = log.map_err(&error)? else {
                return Ok(None);
            };
            let actions = deltalake::logstore::get_actions(version, &log).map_err(&error)?;
            for action in actions {
                match action {
                    // Files read as plain Parquet by the table's current schema would be
                    // misread past a schema or protocol change, or with a deletion vector.
                    Action::Metadata(_) | Action::Protocol(_) => return Ok(None),
                    Action::Add(add) if add.deletion_vector.is_some() => return Ok(None),
                    Action::Remove(remove) if remove.deletion_vector.is_some() => return Ok(None),
                    Action::Add(add) if add.data_change => {
                        changes.added.insert(add.path);
                    }
                    // A file added and removed within the range counts in neither.
                    Action::Remove(remove)
                        if remove.data_change && !changes.added.remove(&remove.path) =>
                    {
                        changes.removed.insert(remove.path);
                    }
                    _ => {}
                }
            }
        }
        Ok(Some(changes))
    }

    /// Whether every file of `files` (paths in the table's folder) is still stored: a vacuum
    /// deletes removed files once they are past the table's retention.
    async fn all_stored(
        &self,
        rollup: &Rollup,
        files: &BTreeSet<String>,
    ) -> Result<bool, SinkError> {
        let location = self.warehouse.child(&rollup.table)?;
        for file in files {
            let path = ObjectPath::from_url_path(file).map_err(|source| {
                SinkError::Store(crate::store::StoreError::Invalid {
                    location: file.clone(),
                    reason: source.to_string(),
                })
            })?;
            match location.store.head(&path).await {
                Ok(_) => {}
                Err(datafusion::object_store::Error::NotFound { .. }) => return Ok(false),
                Err(source) => return Err(location.object_error(file, source).into()),
            }
        }
        Ok(true)
    }

    /// The groups of the rows of `files` (paths in `table`'s folder), read with the table's
    /// current schema.
    async fn groups_in_files(
        &self,
        ctx: &SessionContext,
        rollup: &Rollup,
        table: &DeltaTable,
        files: &BTreeSet<String>,
    ) -> Result<Vec<RecordBatch>, DataFusionError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let root = table.table_url();
        let urls = (files.iter())
            .map(|path| {
                let url = root
                    .join(path)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                ListingTableUrl::parse(url.as_str())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = (table.snapshot())
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .snapshot()
            .arrow_schema();
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(ListingOptions::new(Arc::new(ParquetFormat::default())))
            .with_schema(schema);
        merge::groups_of(ctx, rollup, Arc::new(ListingTable::try_new(config)?)).await
    }

    /// The groups as stored at the version `stored` is at (none when never stored).
    pub(super) async fn stored_groups(
        &self,
        rollup: &Rollup,
        stored: &DeltaTable,
    ) -> Result<Vec<RecordBatch>, SinkError> {
        let name = folder(rollup);
        if stored.version().is_none() {
            return Ok(Vec::new());
        }
        let rows = self.query(&name, stored, "SELECT * FROM scanned").await?;
        let rows: Vec<RecordBatch> = rows.try_collect().await.map_err(self.query_error(&name))?;
        (rows.iter())
            .map(|batch| crate::shape::to_schema_by_name(batch, &rollup.schema))
            .collect::<Result<_, _>>()
            .map_err(|source| self.arrow_error(source))
    }

    /// A session that reaches `table`'s files.
    fn rollup_session(
        &self,
        rollup: &Rollup,
        table: &DeltaTable,
    ) -> Result<SessionContext, SinkError> {
        let ctx: SessionContext = deltalake::delta_datafusion::create_session().into();
        table
            .update_datafusion_session(&ctx.state())
            .map_err(self.error(&rollup.table))?;
        Ok(ctx)
    }
}
