//! The backups `csvgate serve` makes on its own: at each time a cron expression names (UTC),
//! weekly by default like the first AWS version's RDS snapshots, every table is snapshotted and then old
//! snapshots are pruned.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

use super::{BackupError, Backups, Format, Manifest, Retention};
use crate::report::Engines;

/// Sundays at 03:00 UTC.
pub const DEFAULT_SCHEDULE: &str = "0 3 * * SUN";

/// When scheduled backups run.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    /// A cron expression (five fields, or six with seconds first); `off` means none.
    pub fn parse(pattern: &str) -> Result<Option<Schedule>, BackupError> {
        if pattern.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let cron = Cron::from_str(pattern)
            .map_err(|error| BackupError::Usage(format!("backup schedule {pattern:?}: {error}")))?;
        Ok(Some(Schedule { cron }))
    }

    /// The first time after `time` the schedule names.
    pub fn next_after(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&time, false).ok()
    }
}

/// What one scheduled run does.
#[derive(Clone)]
pub struct Job {
    pub backups: Backups,
    pub engines: Engines,
    pub format: Format,
    pub retention: Retention,
}

impl Job {
    /// Snapshots every table, then prunes: the snapshots made and those removed.
    pub async fn run(&self) -> Result<(Vec<Manifest>, Vec<Manifest>), BackupError> {
        let tables = self.backups.dictionary.tables();
        let made = (self.backups)
            .backup_target(&self.engines, tables, self.format)
            .await?;
        let removed = self.backups.prune(None, self.retention, false).await?;
        Ok((made, removed))
    }

    /// Runs at each time of `schedule`, for as long as the task lives (abort it to stop; a
    /// snapshot cut short has no manifest and is never listed). A failed run is logged and
    /// the next one still comes; times missed while a run lasts are skipped.
    pub async fn run_on(self, schedule: Schedule) {
        while let Some(next) = schedule.next_after(Utc::now()) {
            tracing::info!(next = %next.to_rfc3339(), "next scheduled backup");
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            match self.run().await {
                Ok((made, removed)) => tracing::info!(
                    snapshots = made.len(),
                    pruned = removed.len(),
                    "scheduled backup done"
                ),
                Err(error) => tracing::error!(%error, "scheduled backup failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_sunday_three_o_clock_utc_and_off_is_none() {
        let schedule = Schedule::parse(DEFAULT_SCHEDULE).unwrap().unwrap();
        let thursday = DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z").unwrap();
        let next = schedule.next_after(thursday.with_timezone(&Utc)).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-29T03:00:00+00:00");
        assert!(Schedule::parse("off").unwrap().is_none());
        let error = Schedule::parse("0 3 * * FUNDAY").unwrap_err().to_string();
        assert!(
            error.starts_with("backup schedule \"0 3 * * FUNDAY\": "),
            "{error}"
        );
    }
}
