//! Claims: before a worker reads an object version it takes it for a while (a *lease*), so
//! workers over one landing prefix do not all read and validate the same file.
//!
//! A claim lives in the target, beside the ledger, and is taken through the target's own
//! atomic writes (the warehouse: an object created only if absent; MySQL: one upsert of a
//! row), never in a process: a worker that dies holds its objects only until its lease runs
//! out, then another takes them over. A worker renews its lease while it loads.
//!
//! Claims save work; they are not what keeps a load exactly-once. That stays the data commit
//! and its marker (rule 1 of [`crate::ledger`]): a worker whose lease ran out mid-load, and
//! whose object another took over, still meets the other's commit and drops its own rows.
//! Leases are measured by the workers' clocks on the warehouse (keep them within a fraction
//! of the lease, as NTP does) and by the database's clock on MySQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use async_trait::async_trait;

use super::{SinkError, Target};
use crate::store::ObjectVersion;

/// Claims, kept by a target beside its ledger.
#[async_trait]
pub trait Claims: Send + Sync {
    /// Claims `object` for `run_id` until `lease` from now, unless another run holds a claim
    /// on it whose lease has not run out. A run's own claim is taken again.
    async fn claim(
        &self,
        object: &ObjectVersion,
        run_id: &str,
        lease: Duration,
    ) -> Result<Claim, SinkError>;

    /// Extends the lease of `ticket` (which may change, see [`Ticket::generation`]); `false`
    /// when another run took the claim over, its lease having run out.
    async fn renew(&self, ticket: &mut Ticket, lease: Duration) -> Result<bool, SinkError>;

    /// Ends the claim of `ticket`, unless another run took it over.
    async fn release(&self, ticket: &Ticket) -> Result<(), SinkError>;
}

/// What an attempt to claim an object found.
#[derive(Debug)]
pub enum Claim {
    /// This run holds the object until its lease runs out.
    Taken(Ticket),
    /// Another run holds it until `until` (unless it ends its claim sooner).
    Held {
        run_id: String,
        until: DateTime<Utc>,
    },
}

/// A claim this run holds: what renewing and ending it name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The claimed object version, hashed ([`claim_key`]).
    pub key: String,
    pub run_id: String,
    /// Bumped by each take-over (and, on the warehouse, each renewal), so a worker whose
    /// claim was taken over cannot renew or end the new holder's.
    pub generation: u64,
}

/// The name of an object version's claims: the SHA-256 of its fingerprint.
pub fn claim_key(object: &ObjectVersion) -> String {
    super::sha256_hex(&object.fingerprint())
}

/// How long a claim lasts unless renewed, by default (`[ingest] claim_lease_secs`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// How often a holder renews its claim: three times a lease, so one late renewal does not
/// lose it.
pub fn renewal_interval(lease: Duration) -> Duration {
    lease / 3
}

/// A claim kept while its object loads: renewed in the background every
/// [`renewal_interval`] until [`Renewing::stop`].
pub struct Renewing {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Ticket>,
}

impl Renewing {
    pub fn start(target: Arc<dyn Target>, mut ticket: Ticket, lease: Duration) -> Renewing {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let renewing = async move {
            loop {
                // Stopping waits for a renewal under way, so the ticket returned is the one
                // in force (on the warehouse, each renewal is a generation of its own).
                tokio::select! {
                    _ = &mut stopped => return ticket,
                    () = tokio::time::sleep(renewal_interval(lease)) => {}
                }
                match target.renew(&mut ticket, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("the claim ran out and another run took it over");
                        let _ = stopped.await;
                        return ticket;
                    }
                    Err(error) => tracing::warn!(%error, "could not renew the claim"),
                }
            }
        };
        let task = tokio::spawn(renewing.in_current_span());
        Renewing { stop, task }
    }

    /// Stops renewing; the ticket as last renewed.
    pub async fn stop(self) -> Ticket {
        let _ = self.stop.send(());
        self.task
            .await
            .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
    }
}
