//! `[backup]` of `csvgate.toml`: the backups `csvgate serve` makes on a schedule.

use serde::Deserialize;

use crate::backup::{Format, Retention};

/// Snapshots of each table kept after a scheduled backup, unless configured.
pub const DEFAULT_RETENTION: Retention = Retention {
    keep_last: 4,
    keep_weekly: 8,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// A cron expression in UTC (five fields, or six with seconds first), or `off`
    /// [default: `0 3 * * SUN`].
    pub schedule: Option<String>,
    /// The scheduled snapshots' format [default: avro].
    pub format: Option<Format>,
    /// After each scheduled backup, keep each table's last N snapshots [default: 4]…
    pub keep_last: Option<usize>,
    /// …and the newest of each of its W most recent ISO weeks [default: 8].
    pub keep_weekly: Option<usize>,
}

impl BackupConfig {
    pub fn schedule(&self) -> &str {
        (self.schedule.as_deref()).unwrap_or(crate::backup::schedule::DEFAULT_SCHEDULE)
    }

    pub fn retention(&self) -> Retention {
        Retention {
            keep_last: self.keep_last.unwrap_or(DEFAULT_RETENTION.keep_last),
            keep_weekly: self.keep_weekly.unwrap_or(DEFAULT_RETENTION.keep_weekly),
        }
    }
}
