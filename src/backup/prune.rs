//! Retention: which snapshots stay when old ones are removed, per table. The newest
//! `keep_last` stay, and the newest of each of the `keep_weekly` most recent ISO weeks that
//! have a snapshot (weeks without one are not counted, so a pause in backups does not age the
//! weekly ones out, as restic's `--keep-weekly` does). Times are UTC, weeks start on Monday.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Utc};
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;

use super::manifest::{MANIFEST, Manifest};
use super::{BackupError, Backups};

/// How many snapshots of each table a prune keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_last: usize,
    pub keep_weekly: usize,
}

impl Retention {
    /// The snapshots of one table this retention removes, from `snapshots` oldest first.
    pub fn removes<'a>(&self, snapshots: &'a [Manifest]) -> Vec<&'a Manifest> {
        let newest_first: Vec<&Manifest> = snapshots.iter().rev().collect();
        let mut kept: HashSet<&str> = (newest_first.iter().take(self.keep_last))
            .map(|snapshot| snapshot.id.as_str())
            .collect();
        let mut weeks = HashSet::new();
        for snapshot in &newest_first {
            if weeks.len() == self.keep_weekly {
                break;
            }
            if weeks.insert(iso_week(snapshot)) {
                kept.insert(&snapshot.id);
            }
        }
        (snapshots.iter())
            .filter(|snapshot| !kept.contains(snapshot.id.as_str()))
            .collect()
    }
}

/// The ISO year and week a snapshot was made in; an unreadable time sorts as week zero.
fn iso_week(snapshot: &Manifest) -> (i32, u32) {
    let made = DateTime::parse_from_rfc3339(&snapshot.created_at)
        .map(|time| time.with_timezone(&Utc).iso_week());
    made.map_or((0, 0), |week| (week.year(), week.week()))
}

impl Backups {
    /// Removes the snapshots `retention` does not keep (of every table, or of `table`) and
    /// returns them; with `dry_run`, only returns them. A snapshot's manifest goes first, so
    /// one interrupted halfway is no longer listed, like a snapshot cut short.
    pub async fn prune(
        &self,
        table: Option<&crate::dictionary::Table>,
        retention: Retention,
        dry_run: bool,
    ) -> Result<Vec<Manifest>, BackupError> {
        if retention.keep_last == 0 && retention.keep_weekly == 0 {
            return Err(BackupError::Usage(
                "a prune that keeps nothing is refused: give --keep-last or --keep-weekly at least 1".into(),
            ));
        }
        let snapshots = self.list(table).await?;
        let mut removed = Vec::new();
        let tables: BTreeSet<&str> = (snapshots.iter()).map(|s| s.table.as_str()).collect();
        for table in tables {
            let of_table: Vec<Manifest> = (snapshots.iter())
                .filter(|snapshot| snapshot.table == table)
                .cloned()
                .collect();
            removed.extend(retention.removes(&of_table).into_iter().cloned());
        }
        if !dry_run {
            for snapshot in &removed {
                self.remove(snapshot).await?;
            }
        }
        Ok(removed)
    }

    async fn remove(&self, snapshot: &Manifest) -> Result<(), BackupError> {
        let names =
            std::iter::once(MANIFEST).chain(snapshot.files.iter().map(|file| file.name.as_str()));
        for name in names {
            let key = snapshot.key(name);
            match self.location.store.delete(&Path::from(key.as_str())).await {
                Ok(()) | Err(datafusion::object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(self.location.object_error(&key, source).into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::Source;

    fn made_at(time: &str) -> Manifest {
        Manifest {
            id: time.to_owned(),
            table: "jobs".into(),
            format: crate::backup::Format::Avro,
            rows: 1,
            schema: Vec::new(),
            files: Vec::new(),
            source: Source {
                target: "delta".into(),
                version: 1,
            },
            created_at: time.to_owned(),
            csvgate_version: "0".into(),
        }
    }

    fn kept(snapshots: &[Manifest], keep_last: usize, keep_weekly: usize) -> Vec<&str> {
        let removed = Retention {
            keep_last,
            keep_weekly,
        }
        .removes(snapshots);
        (snapshots.iter())
            .filter(|snapshot| !removed.iter().any(|gone| gone.id == snapshot.id))
            .map(|snapshot| &snapshot.created_at[..16])
            .collect()
    }

    /// Around the turn of 2026 (a year of 53 ISO weeks): Sunday 2027-01-03 is still in
    /// 2026-W53, Monday 2027-01-04 starts 2027-W01, and Thursday 2026-12-31 is in 2026-W53
    /// like Friday 2027-01-01.
    fn around_new_year() -> Vec<Manifest> {
        [
            "2026-12-20T03:00:00Z", // Sunday, W51
            "2026-12-21T03:00:00Z", // Monday, W52
            "2026-12-27T23:59:00Z", // Sunday, W52
            "2026-12-31T03:00:00Z", // Thursday, W53
            "2027-01-01T03:00:00Z", // Friday, W53
            "2027-01-03T23:59:00Z", // Sunday, W53
            "2027-01-04T00:00:00Z", // Monday, 2027-W01
            "2027-01-04T03:00:00Z", // Monday, 2027-W01
        ]
        .map(made_at)
        .to_vec()
    }

    #[test]
    fn weekly_keeps_the_newest_of_each_iso_week_across_the_year_boundary() {
        let snapshots = around_new_year();
        assert_eq!(
            kept(&snapshots, 0, 3),
            ["2026-12-27T23:59", "2027-01-03T23:59", "2027-01-04T03:00"]
        );
        assert_eq!(
            kept(&snapshots, 0, 10),
            [
                "2026-12-20T03:00",
                "2026-12-27T23:59",
                "2027-01-03T23:59",
                "2027-01-04T03:00"
            ]
        );
    }

    #[test]
    fn last_and_weekly_add_up_and_weeks_without_snapshots_do_not_count() {
        let snapshots = around_new_year();
        assert_eq!(
            kept(&snapshots, 2, 2),
            ["2027-01-03T23:59", "2027-01-04T00:00", "2027-01-04T03:00"]
        );
        let with_a_gap: Vec<Manifest> = ["2026-10-05T03:00:00Z", "2026-12-27T03:00:00Z"]
            .map(made_at)
            .to_vec();
        assert_eq!(
            kept(&with_a_gap, 0, 2),
            ["2026-10-05T03:00", "2026-12-27T03:00"]
        );
        assert_eq!(kept(&with_a_gap, 1, 0), ["2026-12-27T03:00"]);
    }
}
