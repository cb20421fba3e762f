//! `[backup]`: the backups `csvgate serve` makes on a schedule.

use super::{Config, Key};
use crate::backup::schedule::Job;
use crate::backup::{Backups, Format, Retention};
use crate::report::Engines;

/// Snapshots of each table kept after a scheduled backup, unless configured.
pub const DEFAULT_RETENTION: Retention = Retention {
    keep_last: 4,
    keep_weekly: 8,
};

impl Config {
    /// The job `[backup]` describes, into `backups`, of the target `engines` reach.
    pub fn backup_job(&self, backups: Backups, engines: Engines) -> Job {
        Job {
            backups,
            engines,
            format: self.backup_format(),
            retention: self.retention(),
        }
    }

    /// A cron expression in UTC, or `off`.
    pub fn backup_schedule(&self) -> &str {
        self.value(Key::BackupSchedule)
    }

    pub fn backup_format(&self) -> Format {
        let name = self.value(Key::BackupFormat);
        clap::ValueEnum::from_str(name, true).expect("checked against the choices")
    }

    pub fn retention(&self) -> Retention {
        Retention {
            keep_last: self.count(Key::KeepLast),
            keep_weekly: self.count(Key::KeepWeekly),
        }
    }
}
