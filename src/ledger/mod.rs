//! The ledger: which object versions were processed, by which run, with what result.
//!
//! Each target keeps its ledger beside its data, in its own storage, because only there can an
//! entry be atomic with the rows it speaks of. This module states what every target's ledger
//! promises; the targets say how they keep it.
//!
//! # Contract
//! 1. **Loaded means committed.** [`Target::is_loaded`] is true exactly when an earlier
//!    [`Load::commit`] of that object version made its rows visible, and it is read from the
//!    same commit as the rows (the warehouse's markers expire: past their retention, from the
//!    `done` entry rule 3 guarantees). So a version is never loaded twice, and `--force` is the only
//!    way to load it again. It is asked of the table the version loads into; whether a version
//!    loaded into one table counts for another (`--table`) is not promised: the warehouse
//!    keeps its markers per table (no), MySQL one ledger (yes).
//! 2. **No `done` without the rows.** A `done` entry is written by [`Load::commit`], with or
//!    after the rows' commit, never before: the ledger never says loaded what is not.
//! 3. **No rows without their `done` entry.** A target that cannot commit the entry with the
//!    rows stores it durably before their commit, and appends it once the commit is seen, even
//!    after a crash or a failed append in between. Meanwhile rule 1 holds: the next run finds
//!    the object loaded, loads nothing and records it `skipped`.
//! 4. **Every accepted run ends once.** A `queued` entry (an accepted upload) is durable before
//!    the client is answered, and is followed by exactly one ending entry (`done`, `skipped`,
//!    `failed`) of the same run; [`pending`] is what has none, resumed after a restart.
//! 5. **A restore is an entry too.** Replacing a table's contents with a backup snapshot
//!    ([`Target::begin_replace`]) records a `restored` entry naming the snapshot, committed
//!    like a `done` entry (rule 2).
//! 6. **Append-only.** Entries are added, never changed or removed; [`Target::runs`] returns
//!    them oldest first.
//!
//! # What each target gives
//! | | Delta warehouse ([`sink::delta`]) | MySQL ([`sink::mysql`]) |
//! |---|---|---|
//! | entries | Delta table `_csvgate_runs` | table `csvgate_runs` |
//! | loaded (1) | application transaction `csvgate:<fingerprint>` in the data commit, kept for `ingest.marker_retention_secs`; then the `done` entry | a `done` row with the fingerprint, in the loading transaction |
//! | `done` (2, 3) | held in `_csvgate_held/` before the data commit, appended after it (behind a load's answer) | inserted in the data's transaction |
//! | `queued` (4) | a one-row file in `_csvgate_queue/`, entering the table with its run's ending entry in one commit | a row |
//! | other writers | appends retried when another process took the version | row inserts |
//! | a load meanwhile | the data commit meets the other's marker: rows dropped, `skipped` | the commit locks the claim row and counts `done` rows first: rolled back, `skipped` |
//!
//! A [`Mirrored`](crate::sink::mirror::Mirrored) target commits the mirror first and counts
//! an object as loaded only when both hold it, so a crash between the two is redone, not
//! doubled.
//!
//! [`Target::is_loaded`]: crate::sink::Target::is_loaded
//! [`Target::runs`]: crate::sink::Target::runs
//! [`Target::begin_replace`]: crate::sink::Target::begin_replace
//! [`Load::commit`]: crate::sink::Load::commit
//! [`sink::delta`]: crate::sink::delta
//! [`sink::mysql`]: crate::sink::mysql

mod columns;
mod selection;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::dictionary::ContractStamp;
use crate::store::ObjectVersion;
pub use columns::{from_batches, schema, to_batch};
pub use selection::Selection;

/// Where an object version is: accepted and waiting, or how processing it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted for processing (an upload stored it); a later entry of the same run ends it.
    Queued,
    /// Rows loaded and invalid rows written.
    Done,
    /// Already loaded by an earlier run; nothing was read.
    Skipped,
    /// Nothing was loaded; `error` says why.
    Failed,
    /// The table's contents were replaced by a backup snapshot (the entry's object).
    Restored,
}

impl Status {
    /// Every status, in the order a run meets them.
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Done,
        Status::Skipped,
        Status::Failed,
        Status::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Restored => "restored",
        }
    }

    /// The status a stored text stands for (anything unknown reads as failed).
    pub fn parse(text: &str) -> Status {
        let known = Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text);
        known.unwrap_or(Status::Failed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One processed object version.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub run_id: String,
    pub object: ObjectVersion,
    pub table: String,
    pub status: Status,
    pub rows_read: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    /// URL of the CSV holding the rejected rows, when there were any.
    pub invalid_object: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Why it failed; for a `skipped` version, which newer version of its key superseded it.
    pub error: Option<String>,
    /// The contract the rows were judged by (for a restore, the one in force, which its
    /// rows were checked against); `None` in entries an older csvgate wrote.
    pub contract: Option<ContractStamp>,
}

impl Entry {
    /// The first entry of a run that processes `object` later under the contract `contract`,
    /// written before work starts so that a restart finds it (see [`pending`]).
    pub fn queued(
        run_id: String,
        object: ObjectVersion,
        table: &str,
        contract: ContractStamp,
    ) -> Entry {
        let now = Utc::now();
        Entry {
            run_id,
            object,
            table: table.to_owned(),
            status: Status::Queued,
            rows_read: 0,
            rows_valid: 0,
            rows_invalid: 0,
            invalid_object: None,
            started_at: now,
            finished_at: now,
            error: None,
            contract: Some(contract),
        }
    }
}

/// Queued entries that no later entry of the same run and object has ended: work accepted
/// but not finished, e.g. because the process died. Oldest first.
pub fn pending(entries: &[Entry]) -> Vec<Entry> {
    let ended: std::collections::HashSet<(&str, &str)> = entries
        .iter()
        .filter(|entry| entry.status != Status::Queued)
        .map(|entry| (entry.run_id.as_str(), entry.object.key.as_str()))
        .collect();
    entries
        .iter()
        .filter(|entry| entry.status == Status::Queued)
        .filter(|entry| !ended.contains(&(entry.run_id.as_str(), entry.object.key.as_str())))
        .cloned()
        .collect()
}

/// A run id: sortable by start time, unique enough for concurrent runs.
pub fn new_run_id(started_at: DateTime<Utc>) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", started_at.format("%Y%m%dT%H%M%SZ"), &suffix[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_what_was_queued_and_never_ended() {
        let object = |key: &str| ObjectVersion {
            location: "file:///landing/".into(),
            key: key.into(),
            version: "v1".into(),
            size: 1,
            modified: None,
        };
        let finished = |queued: &Entry, status| Entry {
            status,
            ..queued.clone()
        };
        let a = Entry::queued(
            "run-a".into(),
            object("jobs.csv"),
            "jobs",
            Default::default(),
        );
        let b = Entry::queued(
            "run-b".into(),
            object("jobs.csv"),
            "jobs",
            Default::default(),
        );
        let c = Entry::queued(
            "run-c".into(),
            object("departments.csv"),
            "departments",
            Default::default(),
        );
        let ledger = [
            a.clone(),
            b.clone(),
            c.clone(),
            finished(&a, Status::Done),
            finished(&c, Status::Failed),
        ];
        assert_eq!(pending(&ledger), vec![b]);
        for status in [
            Status::Queued,
            Status::Done,
            Status::Skipped,
            Status::Restored,
        ] {
            assert_eq!(Status::parse(status.as_str()), status);
        }
    }
}
