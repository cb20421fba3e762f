//! A commit's ledger entry, held where a crash cannot lose it.
//!
//! The warehouse's ledger is a Delta table of its own, so a load's `done` entry (a restore's
//! `restored`) is appended right after the data commit, not in it. A process killed between
//! the two would leave rows the ledger does not speak of: the object counts as loaded (rule 1),
//! but the run that loaded it has no ending. So before the commit the entry is written as a
//! held file, named after the commit's *marker*: an application transaction of the data
//! commit whose version is the entry's finish time in milliseconds. After the append the file
//! is removed.
//!
//! A held file whose marker the table carries at that version was committed, and is
//! *settled*: appended to the ledger unless the ledger already holds it, then removed. That
//! happens when the ledger is read (`runs`), when [`super::DeltaTarget`]'s `is_loaded` finds
//! the object loaded, and before the same marker is committed again. A file whose marker the
//! table lacks may be a commit in progress: it is dropped only by the next commit of its marker,
//! or by its own commit failing.
//!
//! Within a process, appends and settlements take turns, so an entry is appended once. Two
//! processes (a `csvgate runs` beside a server) may both append one: the ledger's readers show
//! an entry once ([`super::DeltaTarget`]'s `runs`).

use chrono::{DateTime, Utc};
use deltalake::kernel::Transaction;
use sha2::{Digest, Sha256};

use super::waiting::WaitingEntries;
use super::{DeltaTarget, app_id};
use crate::ledger::{Entry, Selection, Status};
use crate::sink::SinkError;
use crate::store::ObjectVersion;

/// The application transaction a commit carries, which tells whether it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marker {
    app_id: String,
    version: i64,
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
            version: version_at(entry.finished_at),
        }
    }

    pub(super) fn app_id(&self) -> &str {
        &self.app_id
    }

    pub(super) fn transaction(&self) -> Transaction {
        Transaction::new(&self.app_id, self.version)
    }

    /// The held file's name: the marker's id, hashed into a safe file name.
    fn file_name(&self) -> String {
        file_name(&self.app_id)
    }
}

fn version_at(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn file_name(app_id: &str) -> String {
    let digest = Sha256::digest(app_id.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What to do with a held file whose commit did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uncommitted {
    /// Leave it: its commit may be in progress.
    Keep,
    /// Remove it: its commit failed, or another commit of its marker comes now.
    Drop,
}

impl DeltaTarget {
    /// Holds `entry` before its commit, settling first what an earlier commit of the same
    /// marker left; returns the marker the commit must carry.
    pub(super) async fn hold(&self, entry: &Entry) -> Result<Marker, SinkError> {
        let marker = Marker::of(entry);
        self.settle(&marker.file_name(), Uncommitted::Drop).await?;
        self.held()?.add(&marker.file_name(), entry).await?;
        Ok(marker)
    }

    /// After the commit: the entry enters the ledger and its file goes, unless a reader
    /// settled it meanwhile. A failed append leaves the entry held, to be settled later: the
    /// rows are in, so the load succeeded.
    pub(super) async fn release(&self, entry: &Entry, marker: &Marker) {
        crate::fault::pause(crate::fault::LEDGER_BEFORE_APPEND).await;
        let _one_at_a_time = self.held_entries.lock().await;
        let held = match self.held() {
            Ok(held) => held,
            Err(error) => return tracing::error!(%error, "cannot reach the held ledger entries"),
        };
        let name = marker.file_name();
        if let Ok(None) = held.get(&name).await {
            return;
        }
        match self.record_entry(entry).await {
            Ok(()) => held.remove(&name).await,
            Err(error) => tracing::error!(
                run_id = entry.run_id,
                %error,
                "rows committed, but their ledger entry could not be appended: it stays held \
                 and enters the ledger when the ledger is next read"
            ),
        }
    }

    /// After a failed commit: the entry enters the ledger if the commit happened after all,
    /// else it is dropped.
    pub(super) async fn release_failed(&self, marker: &Marker) {
        if let Err(error) = self.settle(&marker.file_name(), Uncommitted::Drop).await {
            tracing::warn!(%error, "could not settle the ledger entry of a failed commit");
        }
    }

    /// Settles the entry held for a load of `object`, which its table holds.
    pub(super) async fn settle_loaded(&self, object: &ObjectVersion) -> Result<(), SinkError> {
        self.settle(&file_name(&app_id(object)), Uncommitted::Keep)
            .await
    }

    /// Settles every held entry whose commit happened (before the ledger is read).
    pub(super) async fn settle_committed(&self) -> Result<(), SinkError> {
        for entry in self.held()?.all().await? {
            let name = Marker::of(&entry).file_name();
            self.settle(&name, Uncommitted::Keep).await?;
        }
        Ok(())
    }

    async fn settle(&self, name: &str, uncommitted: Uncommitted) -> Result<(), SinkError> {
        let _one_at_a_time = self.held_entries.lock().await;
        let held = self.held()?;
        let Some(entry) = held.get(name).await? else {
            return Ok(());
        };
        if self.committed(&entry).await? {
            if !self.in_ledger(&entry).await? {
                tracing::warn!(
                    run_id = entry.run_id,
                    "a ledger entry held since its commit enters the ledger now"
                );
                self.record_entry(&entry).await?;
            }
        } else if uncommitted == Uncommitted::Keep {
            return Ok(());
        }
        held.remove(name).await;
        Ok(())
    }

    /// Whether the entry's table carries its marker at its version.
    async fn committed(&self, entry: &Entry) -> Result<bool, SinkError> {
        let marker = Marker::of(entry);
        let version = self.marker_version(&entry.table, &marker.app_id).await?;
        Ok(version == Some(marker.version))
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

    fn held(&self) -> Result<WaitingEntries, SinkError> {
        WaitingEntries::held(&self.warehouse)
    }
}
