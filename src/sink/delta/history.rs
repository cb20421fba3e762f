//! A table's past, as Delta keeps it: the commits its log still holds (`csvgate history`),
//! and a table put back to one of its versions (`csvgate restore --as-of`).
//!
//! A version can be restored while its log entries and its data files exist: log entries
//! older than `delta.logRetentionDuration` (30 days) go once a later checkpoint covers them
//! ([`super::cleanup`]), and data files only go by an explicit vacuum ([`super::vacuum`]),
//! which keeps what the table's retention needs. Past that, a restore is refused by name
//! rather than half done.

use chrono::{DateTime, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::object_store::path::Path;
use deltalake::DeltaTableBuilder;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::commit::{OBJECT_KEY, RUN_KEY, commit_properties, made_by};
use super::session::select_all;
use super::{DELTA_LOG, DeltaTarget};
use crate::dictionary::Table;
use crate::ledger::Entry;
use crate::sink::SinkError;

/// One commit of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub version: u64,
    pub timestamp: Option<DateTime<Utc>>,
    /// Delta's name for it: `WRITE`, `MERGE`, `RESTORE`, `CREATE TABLE`…
    pub operation: String,
    /// The csvgate run that made it, and the object whose rows it holds.
    pub run: Option<String>,
    pub object: Option<String>,
}

/// A version, or the latest version at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    Version(u64),
    Time(DateTime<Utc>),
}

impl std::str::FromStr for AsOf {
    type Err = String;

    fn from_str(text: &str) -> Result<AsOf, String> {
        if let Ok(version) = text.parse() {
            return Ok(AsOf::Version(version));
        }
        let time = DateTime::parse_from_rfc3339(text).map_err(|_| {
            format!(
                "{text:?}: expected a version number or an RFC 3339 time (2026-11-26T03:00:00Z)"
            )
        })?;
        Ok(AsOf::Time(time.with_timezone(&Utc)))
    }
}

impl DeltaTarget {
    /// The commits of `table` its log still holds, newest first.
    pub async fn history(&self, table: &Table) -> Result<Vec<Commit>, SinkError> {
        let location = self.warehouse.child(&table.name)?;
        let log = Path::from(DELTA_LOG);
        let listed: Vec<_> = (location.store.list(Some(&log)).try_collect())
            .await
            .map_err(|source| location.object_error(DELTA_LOG, source))?;
        let mut versions: Vec<(u64, Path)> = (listed.into_iter())
            .filter_map(|meta| Some((commit_version(meta.location.filename()?)?, meta.location)))
            .collect();
        versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        let mut commits = Vec::with_capacity(versions.len());
        for (version, path) in versions {
            let bytes = location.read_small(path.as_ref()).await?;
            commits.push(commit_of(version, &bytes));
        }
        Ok(commits)
    }

    /// The version `as_of` names, refused by name when the log no longer holds it.
    pub async fn version_as_of(&self, table: &Table, as_of: AsOf) -> Result<u64, SinkError> {
        let history = self.history(table).await?;
        let refused = |reason: String| SinkError::Config {
            target: format!("{}{}", self.warehouse.url, table.name),
            reason,
        };
        let oldest = history.last().map(|commit| commit.version);
        let found = match as_of {
            AsOf::Version(version) => history.iter().find(|commit| commit.version == version),
            AsOf::Time(time) => {
                (history.iter()).find(|commit| commit.timestamp.is_some_and(|at| at <= time))
            }
        };
        match (found, oldest) {
            (Some(commit), _) => Ok(commit.version),
            (None, None) => Err(refused("the table has no versions".into())),
            (None, Some(oldest)) => Err(refused(format!(
                "{as_of:?} is not among the versions its log holds ({oldest} to {}): older ones are past the log retention",
                history[0].version
            ))),
        }
    }

    /// Every row of `table` at `version`, in the dictionary's column order.
    pub async fn scan_version(
        &self,
        table: &Table,
        version: u64,
    ) -> Result<BoxStream<'static, Result<RecordBatch, SinkError>>, SinkError> {
        let location = self.warehouse.child(&table.name)?;
        let error = self.error(&table.name);
        let mut delta = (DeltaTableBuilder::from_url(location.url).map_err(&error)?)
            .with_version(version)
            .build()
            .map_err(&error)?;
        delta.load().await.map_err(&error)?;
        let rows = self.query(&table.name, &delta, &select_all(table)).await?;
        Ok(rows.map_err(self.query_error(&table.name)).boxed())
    }

    /// Puts `table` back to `version` with one `RESTORE` commit that re-adds that version's
    /// files, then records `entry`. Refused, changing nothing, when any of those files is gone.
    pub async fn restore_version(
        &self,
        table: &Table,
        version: u64,
        entry: &Entry,
    ) -> Result<(), SinkError> {
        self.ensure_writable().await?;
        let delta = self.open(&table.name).await?;
        let marker = self.park(entry).await?;
        let commit = commit_properties()
            .with_metadata(made_by(std::slice::from_ref(entry)))
            .with_application_transaction(marker.transaction());
        let restored = delta
            .restore()
            .with_version_to_restore(version)
            .with_commit_properties(commit)
            .await;
        let restored = match restored {
            Ok(restored) => restored,
            Err(source) => {
                self.unpark(&marker).await;
                return Err(SinkError::Config {
                    target: format!("{}{}", self.warehouse.url, table.name),
                    reason: format!("version {version} cannot be restored: {source}"),
                });
            }
        };
        self.keep(&table.name, &restored.0);
        self.append_parked(std::slice::from_ref(entry), std::slice::from_ref(&marker))
            .await;
        self.after_commits(&table.name, vec![None]).await;
        Ok(())
    }
}

/// The version of a commit file's name (`00000000000000000012.json`).
fn commit_version(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

/// The commit's `commitInfo` action, read from its log file.
fn commit_of(version: u64, log: &[u8]) -> Commit {
    let info = (log.split(|&byte| byte == b'\n'))
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .find_map(|action| action.get("commitInfo").cloned())
        .unwrap_or(Value::Null);
    let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_owned);
    Commit {
        version,
        timestamp: (info.get("timestamp").and_then(Value::as_i64))
            .and_then(DateTime::from_timestamp_millis),
        operation: text("operation").unwrap_or_default(),
        run: text(RUN_KEY),
        object: text(OBJECT_KEY),
    }
}
