//! A parked entry: a commit's ledger entry, written where a crash cannot lose it before the
//! commit, and settled into the ledger after it.
//!
//! The warehouse's ledger is a Delta table of its own, so a load's `done` entry (a restore's
//! `restored`) is appended after the data commit (a load's behind its answer,
//! [`super::trailing`]), not in it. A process killed between
//! the two would leave rows the ledger does not speak of: the object counts as loaded (rule 1),
//! but the run that loaded it has no ending. So before the commit the entry is written as a
//! parked file, named after the commit's *marker* (an application transaction of the data
//! commit whose version comes from the entry's finish time and its run, [`version_of`]) and
//! the run, so workers loading one object at once write a file each. After the append the file
//! is removed.
//!
//! A parked file whose marker the table carries at that version was committed, and is
//! *settled*: appended to the ledger unless the ledger already holds it, then removed. That
//! happens when the ledger is read (`runs`), when [`super::DeltaTarget`]'s `is_loaded` finds
//! the object loaded, and after another commit of the same marker. A file whose commit did not
//! happen may belong to a commit in progress: it is removed only when its own commit failed,
//! or when another commit of its marker happened (a load that meets such a commit drops its
//! rows, so this one can no longer come).
//!
//! Within a process, appends and settlements take turns, so an entry is appended once. Two
//! processes (a `csvgate runs` beside a server) may both append one: the ledger's readers show
//! an entry once ([`super::DeltaTarget`]'s `runs`).

use deltalake::kernel::Transaction;
use futures::future::join_all;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::waiting::WaitingEntries;
use super::{DeltaTarget, app_id};
use crate::ledger::{Entry, Selection, Status};
use crate::sink::{SinkError, sha256_hex};
use crate::store::ObjectVersion;

/// The application transaction a commit carries, which tells whether it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marker {
    app_id: String,
    version: i64,
    /// The run committing: workers loading one object at once hold a file each.
    run_id: String,
}

impl Marker {
    /// A load's marker is its object's (so `is_loaded` reads it); a restore's is its run's.
    pub(super) fn of(entry: &Entry) -> Marker {
        let app_id = match entry.status {
            Status::Restored => format!("csvgate-restore:{}", entry.run_id),
            _ => app_id(&entry.object),
        };
        Marker {
            app_id,
            version: version_of(entry),
            run_id: entry.run_id.clone(),
        }
    }

    /// The marker as a Delta application transaction, stamped with its commit's time (the
    /// entry's finish, in milliseconds) so that it expires with the table's marker retention.
    pub(super) fn transaction(&self) -> Transaction {
        let stamped_ms = self.version / 1_000_000;
        Transaction::new_with_last_update(&self.app_id, self.version, Some(stamped_ms))
    }

    /// The parked file's name: the marker's id and the run's, hashed into a safe file name
    /// that starts with the marker's ([`prefix`]).
    fn file_name(&self) -> String {
        format!(
            "{}-{}",
            prefix(&self.app_id),
            &sha256_hex(&self.run_id)[..16]
        )
    }
}

/// A marker's version: the entry's finish time in microseconds, times 1,000, plus a number
/// drawn from its run id. Settling takes the marker's version in the table for its commit, so
/// workers loading one object in lockstep must not share one: with milliseconds alone, a
/// worker whose commit lost the race had its parked entry taken for the winner's (its run then
/// showed the object `done` too).
fn version_of(entry: &Entry) -> i64 {
    let digest = Sha256::digest(entry.run_id.as_bytes());
    let drawn = i64::from(u16::from_be_bytes([digest[0], digest[1]]) % 1000);
    entry.finished_at.timestamp_micros() * 1000 + drawn
}

/// The start of the names of every parked file of one marker.
fn prefix(app_id: &str) -> String {
    sha256_hex(app_id)
}

/// What to do with a parked file whose commit did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uncommitted {
    /// Leave it: its commit may be in progress.
    Keep,
    /// Remove it if another commit of its marker happened since: a load that meets such a
    /// commit drops its own rows (`LoadedMeanwhile`), so this one can no longer come.
    DropSuperseded,
}

impl DeltaTarget {
    /// Parks `entry` before its commit; returns the marker the commit must carry.
    pub(super) async fn park(&self, entry: &Entry) -> Result<Marker, SinkError> {
        let marker = Marker::of(entry);
        self.parked()?.add(&marker.file_name(), entry).await?;
        Ok(marker)
    }

    /// Parks each of a group's entries ([`DeltaTarget::park`]), all at once; none stays
    /// parked on failure.
    pub(super) async fn park_each(&self, entries: &[Entry]) -> Result<Vec<Marker>, SinkError> {
        let parked = join_all(entries.iter().map(|entry| self.park(entry))).await;
        let (mut markers, mut failed) = (Vec::with_capacity(entries.len()), None);
        for outcome in parked {
            match outcome {
                Ok(marker) => markers.push(marker),
                Err(error) => failed = failed.or(Some(error)),
            }
        }
        match failed {
            None => Ok(markers),
            Some(error) => {
                self.unpark_each(&markers).await;
                Err(error)
            }
        }
    }

    /// [`DeltaTarget::unpark`] for each marker.
    pub(super) async fn unpark_each(&self, markers: &[Marker]) {
        for marker in markers {
            self.unpark(marker).await;
        }
    }

    /// After the commit: the entries enter the ledger, in one append (but those a reader
    /// settled meanwhile), and their files go, and files of the same markers that can no
    /// longer commit are settled. A failed append leaves the entries parked, to be settled
    /// later: the rows are in, so the load succeeded.
    pub(super) async fn append_parked(&self, entries: &[Entry], markers: &[Marker]) {
        crate::fault::pause(crate::fault::LEDGER_BEFORE_APPEND).await;
        let _one_at_a_time = self.parked_entries.lock().await;
        let appended = async {
            let parked = self.parked()?;
            let names: Vec<String> = markers.iter().map(Marker::file_name).collect();
            let still_parked = join_all(names.iter().map(|name| parked.get(name))).await;
            let mut unsettled = Vec::with_capacity(entries.len());
            for (entry, still_parked) in entries.iter().zip(still_parked) {
                if still_parked?.is_some() || !self.in_ledger(entry).await? {
                    unsettled.push(entry.clone());
                }
            }
            let recorded = self.record_entries(&unsettled);
            recorded
                .instrument(tracing::debug_span!("record_entries"))
                .await?;
            join_all(names.iter().map(|name| parked.remove(name))).await;
            // Every marker's older files are settled, whichever fails first.
            let mut settled = Ok(());
            for marker in markers {
                let outcome =
                    (self.settle_marker(&marker.app_id, Uncommitted::DropSuperseded)).await;
                settled = settled.and(outcome);
            }
            settled
        };
        if let Err(error) = appended.await {
            let runs: Vec<&str> = entries.iter().map(|entry| entry.run_id.as_str()).collect();
            tracing::error!(
                run_ids = runs.join(","),
                %error,
                "rows committed, but their ledger entries could not be appended: they stay \
                 parked and enter the ledger when the ledger is next read"
            );
        }
    }

    /// After a failed commit: the entry enters the ledger if the commit happened after all;
    /// its file goes either way.
    pub(super) async fn unpark(&self, marker: &Marker) {
        let _one_at_a_time = self.parked_entries.lock().await;
        let settled = async {
            let parked = self.parked()?;
            let name = marker.file_name();
            if let Some(entry) = parked.get(&name).await? {
                self.settle(&entry, Uncommitted::DropSuperseded).await?;
            }
            parked.remove(&name).await;
            Ok::<_, SinkError>(())
        };
        if let Err(error) = settled.await {
            tracing::warn!(%error, "could not settle the ledger entry of a failed commit");
        }
    }

    /// Settles the entries parked for loads of `object`, which its table holds.
    pub(super) async fn settle_loaded(&self, object: &ObjectVersion) -> Result<(), SinkError> {
        let _one_at_a_time = self.parked_entries.lock().await;
        self.settle_marker(&app_id(object), Uncommitted::DropSuperseded)
            .await
    }

    /// Settles, once per process and before its first load, the entries that earlier ones
    /// parked and did not append (they crashed between a commit and its append): no later
    /// run may meet the object, and its marker expires with the table's retention. A failure
    /// is logged and settling is tried again at the next load.
    pub(super) async fn settle_at_first_load(&self) {
        let settled = self.settled.get_or_try_init(|| self.settle_committed());
        if let Err(error) = settled.await {
            tracing::warn!(%error, "could not settle the entries earlier processes parked");
        }
    }

    /// Settles every parked entry whose commit happened (before the ledger is read).
    pub(super) async fn settle_committed(&self) -> Result<(), SinkError> {
        let _one_at_a_time = self.parked_entries.lock().await;
        for entry in self.parked()?.all().await? {
            self.settle(&entry, Uncommitted::Keep).await?;
        }
        Ok(())
    }

    /// Settles the parked entries of the marker `app_id`.
    async fn settle_marker(&self, app_id: &str, uncommitted: Uncommitted) -> Result<(), SinkError> {
        // Named after the marker first: on a load's path this lists the folder and reads
        // only the marker's files (usually none), not every load's in flight.
        for entry in self.parked()?.named_from(&prefix(app_id)).await? {
            self.settle(&entry, uncommitted).await?;
        }
        Ok(())
    }

    /// Appends `entry`, parked, if its commit happened and the ledger lacks it, and removes its
    /// file; leaves or removes the file of a commit that did not happen, as `uncommitted` says.
    async fn settle(&self, entry: &Entry, uncommitted: Uncommitted) -> Result<(), SinkError> {
        let marker = Marker::of(entry);
        let version = self.marker_version(&entry.table, &marker.app_id).await?;
        if version == Some(marker.version) {
            if !self.in_ledger(entry).await? {
                tracing::warn!(
                    run_id = entry.run_id,
                    "a ledger entry parked since its commit enters the ledger now"
                );
                self.record_entry(entry).await?;
            }
        } else if uncommitted == Uncommitted::Keep || version.is_none() {
            return Ok(());
        }
        self.parked()?.remove(&marker.file_name()).await;
        Ok(())
    }

    /// Whether the ledger holds `entry` already (a run of the command line covers many
    /// objects: the object tells its entries apart).
    async fn in_ledger(&self, entry: &Entry) -> Result<bool, SinkError> {
        let ledger = self.ledger_entries(&Selection::run(&entry.run_id)).await?;
        Ok(ledger.iter().any(|logged| {
            (&logged.run_id, logged.status, &logged.object)
                == (&entry.run_id, entry.status, &entry.object)
        }))
    }

    fn parked(&self) -> Result<WaitingEntries, SinkError> {
        WaitingEntries::parked(&self.warehouse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_committing_one_object_in_the_same_instant_carry_different_markers() {
        let object = ObjectVersion {
            location: "file:///landing/".into(),
            key: "jobs.csv".into(),
            version: "1-2".into(),
            size: 1,
            modified: None,
        };
        let now = chrono::Utc::now();
        let entry = |run_id: String| Entry {
            status: Status::Done,
            finished_at: now,
            ..Entry::queued(run_id, object.clone(), "jobs", Default::default())
        };
        let first = Marker::of(&entry("20261126T101500Z-3f9a1c".into()));
        let second = Marker::of(&entry("20261126T101500Z-b27e04".into()));
        assert_eq!(first.app_id, second.app_id);
        assert_ne!(first.version, second.version);
        assert_eq!(first.version / 1000, now.timestamp_micros());
    }
}
