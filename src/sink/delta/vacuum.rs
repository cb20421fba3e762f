//! Removing the data files no version within a table's retention reads: files of rows that a
//! later load replaced (upserts rewrite files, restores drop them all) and orphans that a
//! failed or interrupted commit left behind.
//!
//! Delta never deletes a data file when it stops using it, so time travel (`restore --as-of`)
//! works; vacuum is what bounds the disk that costs. It keeps every file a version younger than
//! the retention needs, and, counting by file age, every file a load in progress is staging.
//! A table's rollups are vacuumed with it: each load rewrites a rollup whole, leaving its old
//! file behind. So is the ledger, when every table is: its compaction leaves the small files
//! of its appends.

use std::time::Duration;

use deltalake::operations::vacuum::VacuumMode;

use super::commit::commit_properties;
use super::rollups::folder;
use super::{DeltaTarget, LEDGER_TABLE};
use crate::dictionary::Table;
use crate::rollup::Rollup;
use crate::sink::SinkError;

/// What one vacuum did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacuumed {
    /// Files deleted (or that would be, on a dry run), relative to the table's folder.
    pub files: Vec<String>,
    pub dry_run: bool,
}

impl DeltaTarget {
    /// Deletes the files of `table` that neither its current version nor any version younger
    /// than `retention` needs (default: the table's `delta.deletedFileRetentionDuration`,
    /// 7 days), orphans included. A retention shorter than the table's is refused unless
    /// `force`: it takes time travel, and a load staging files right now, below the table's
    /// promise. `None` for a table not created yet.
    pub async fn vacuum(
        &self,
        table: &Table,
        retention: Option<Duration>,
        force: bool,
        dry_run: bool,
    ) -> Result<Option<Vacuumed>, SinkError> {
        (self.vacuum_existing(&table.name, retention, force, dry_run)).await
    }

    /// [`DeltaTarget::vacuum`] for each stored rollup of `table`, by folder.
    pub async fn vacuum_rollups(
        &self,
        table: &Table,
        retention: Option<Duration>,
        force: bool,
        dry_run: bool,
    ) -> Result<Vec<(String, Vacuumed)>, SinkError> {
        let mut vacuumed = Vec::new();
        for rollup in Rollup::of_table(&self.rollups, &table.name) {
            let name = folder(rollup);
            if let Some(done) = self
                .vacuum_existing(&name, retention, force, dry_run)
                .await?
            {
                vacuumed.push((name, done));
            }
        }
        Ok(vacuumed)
    }

    /// [`DeltaTarget::vacuum`] for the ledger, whose compaction leaves its small files behind
    /// (`None` when there is no ledger yet).
    pub async fn vacuum_ledger(
        &self,
        retention: Option<Duration>,
        force: bool,
        dry_run: bool,
    ) -> Result<Option<Vacuumed>, SinkError> {
        (self.vacuum_existing(LEDGER_TABLE, retention, force, dry_run)).await
    }

    /// [`DeltaTarget::vacuum`] of the table in `name`, if it exists.
    async fn vacuum_existing(
        &self,
        name: &str,
        retention: Option<Duration>,
        force: bool,
        dry_run: bool,
    ) -> Result<Option<Vacuumed>, SinkError> {
        let delta = self.open(name).await?;
        if delta.version().is_none() {
            return Ok(None);
        }
        self.ensure_writable().await?;
        // The ledger's appends are blind and run at any time: a full vacuum told to keep
        // nothing old would take a file an append wrote and is about to commit. Its compaction
        // leaves removed files only, which a lite vacuum finds from the log.
        let mode = match name {
            LEDGER_TABLE => VacuumMode::Lite,
            _ => VacuumMode::Full,
        };
        let mut vacuum = (delta.vacuum())
            .with_mode(mode)
            .with_dry_run(dry_run)
            .with_enforce_retention_duration(!force)
            .with_commit_properties(commit_properties());
        if let Some(retention) = retention {
            let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
            vacuum = vacuum.with_retention_period(retention);
        }
        let (vacuumed, metrics) = vacuum.await.map_err(|source| SinkError::Config {
            target: format!("{}{name}", self.warehouse.url),
            reason: format!("vacuum refused: {source}"),
        })?;
        if !dry_run {
            self.keep(name, &vacuumed);
        }
        Ok(Some(Vacuumed {
            files: metrics.files_deleted,
            dry_run,
        }))
    }
}
