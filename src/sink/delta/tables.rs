//! The tables a [`DeltaTarget`] has opened, kept between loads.
//!
//! Opening a table afresh replays its log since the last checkpoint; bringing a kept one up to
//! date reads only the commits that came after it, and only when there are any: one `head` of
//! the next commit file tells. Everything kept is tied to a table version, so a commit by
//! another process is picked up rather than overlooked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;
use deltalake::kernel::{DataType as DeltaType, StructField};
use deltalake::protocol::SaveMode;
use deltalake::{BlindDeltaTable, DeltaTable, DeltaTableBuilder};
use futures::StreamExt;

use super::retention::retention_properties;
use super::{DELTA_LOG, DeltaTarget};
use crate::dictionary::{ColumnKind, Table};
use crate::sink::SinkError;

/// Table properties of every table csvgate creates. A checkpoint every ten commits (Delta's
/// default is 100) bounds the log a reader replays: every commit, lookup of a loaded version
/// and update of a kept table replays the commits since the last checkpoint.
pub(super) const TABLE_PROPERTIES: [(&str, Option<&str>); 1] =
    [("delta.checkpointInterval", Some("10"))];
/// The table property naming a data table's key column as its contract declared it when the
/// table was created: Delta has no primary keys, and a later contract keying the table by
/// another column must be refused, not followed ([`super::evolve`]).
pub(super) const KEY_PROPERTY: &str = "csvgate.primaryKey";

/// A kept table is brought up to date from its log at least this often, even when no newer
/// commit file is seen (see [`DeltaTarget::may_be_behind`]).
const FULL_UPDATE_EVERY: Duration = Duration::from_secs(60);

/// What a target keeps between loads, shared by its clones.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// Each opened table at the version it was last brought to, by folder.
    pub(super) tables: HashMap<String, DeltaTable>,
    /// When each kept table was last loaded or brought up to date from its log.
    pub(super) updated: HashMap<String, Instant>,
    /// Each table's `id` set at one version, by folder.
    pub(super) ids: HashMap<String, super::ids::KeptIds>,
    /// The ledger, opened for appends.
    pub(super) ledger: Option<BlindDeltaTable>,
    /// Markers looked up in each table's latest version.
    pub(super) markers: super::markers::Markers,
    /// Each rollup's groups as this process last stored them.
    pub(super) rollup_groups: super::rollups::KeptGroups,
    /// Object versions (by table) the ledger was seen to hold `done` for, past their markers.
    pub(super) done_seen: super::retention::DoneSeen,
}

impl DeltaTarget {
    pub(super) fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves nothing half-updated: each field is replaced whole.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The table at `name` at its latest version, possibly not created yet (`version()` is
    /// then `None`).
    pub(super) async fn open(&self, name: &str) -> Result<DeltaTable, SinkError> {
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
    pub(super) fn keep(&self, name: &str, delta: &DeltaTable) {
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

    /// The existing `delta` with the contract's columns and the configured marker retention.
    async fn as_configured(
        &self,
        table: &Table,
        delta: DeltaTable,
    ) -> Result<DeltaTable, SinkError> {
        let evolved = self.evolved(table, delta).await?;
        self.keeping_markers(&table.name, evolved).await
    }

    pub(super) async fn open_or_create(&self, table: &Table) -> Result<DeltaTable, SinkError> {
        let delta = self.open(&table.name).await?;
        if delta.version().is_some() {
            return self.as_configured(table, delta).await;
        }
        let retention = retention_properties(self.marker_retention, Utc::now().timestamp_millis());
        let created = delta
            .create()
            .with_table_name(&table.name)
            .with_columns(delta_columns(table))
            .with_configuration(TABLE_PROPERTIES)
            .with_configuration(retention.map(|(key, value)| (key, Some(value))))
            .with_configuration([(KEY_PROPERTY, Some(table.key_column().name.as_str()))])
            .with_raise_if_key_not_exists(false)
            .with_save_mode(SaveMode::Ignore)
            .await;
        match created {
            Ok(created) => Ok(created),
            // Another process created it at the same moment: use theirs.
            Err(error) => match self.load(&table.name).await? {
                theirs if theirs.version().is_some() => self.as_configured(table, theirs).await,
                _ => Err(self.error(&table.name)(error)),
            },
        }
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

/// Delta columns for a dictionary table, nullable where the column is optional.
pub(super) fn delta_columns(table: &Table) -> Vec<StructField> {
    table
        .columns
        .iter()
        .map(|column| StructField::new(&column.name, delta_type(&column.kind), !column.required))
        .collect()
}

/// The Delta type a column of `kind` is stored as.
fn delta_type(kind: &ColumnKind) -> DeltaType {
    match kind {
        ColumnKind::Integer(_) => DeltaType::LONG,
        ColumnKind::Number(_) => DeltaType::DOUBLE,
        ColumnKind::Decimal {
            precision, scale, ..
        } => DeltaType::decimal(*precision, *scale)
            .expect("the contract keeps precision within 1..=38 and scale within it"),
        ColumnKind::Text(_) => DeltaType::STRING,
        ColumnKind::Date => DeltaType::DATE,
        ColumnKind::Timestamp => DeltaType::TIMESTAMP,
        ColumnKind::Boolean => DeltaType::BOOLEAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use crate::sink::delta::tests::one_job;
    use crate::store::Location;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_kept_table_is_told_apart_from_one_with_newer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let jobs = &Dictionary::hr_table("jobs");
        let (ours, theirs) = (
            DeltaTarget::new(warehouse.clone(), Arc::new(Dictionary::hr())),
            DeltaTarget::new(warehouse, Arc::new(Dictionary::hr())),
        );
        let kept = ours.open_or_create(jobs).await.unwrap();
        assert!(
            !has_commit_after(&kept).await,
            "nothing was committed since"
        );

        let rows = one_job(jobs);
        let other = theirs.open(&jobs.name).await.unwrap();
        let committed = other.write(vec![rows]).await.unwrap();
        assert_eq!(committed.version(), kept.version().map(|v| v + 1));
        assert!(has_commit_after(&kept).await);
        assert_eq!(
            ours.open(&jobs.name).await.unwrap().version(),
            committed.version()
        );
    }
}
