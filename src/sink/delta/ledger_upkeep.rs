//! The ledger's upkeep after its appends.
//!
//! Appends are blind, so delta-rs writes no checkpoint for them, and each adds one small file:
//! after ten thousand uploads a reader of the ledger (`csvgate runs`, `GET /runs`, a load whose
//! marker expired) opened over a thousand files for a few megabytes of entries. Every
//! `checkpointInterval` versions the ledger gets a checkpoint, and every [`COMPACT_EVERY`] its
//! small files are first compacted into one (Delta's OPTIMIZE: the same rows rewritten, with no
//! data change, so readers see the same entries and appends by other processes need not
//! retry). It runs after the append's lock is let go, but within the append that made the
//! version due: a load whose entry that append carries, or a settle of parked entries
//! (which holds their lock), waits for it once every hundred versions.

use std::num::NonZeroU64;

use deltalake::DeltaTable;
use deltalake::operations::optimize::OptimizeType;

use super::cleanup::checkpoint_and_clean_up;
use super::commit::commit_properties;
use super::{DeltaTarget, LEDGER_TABLE};

/// The ledger's files are compacted at every this many versions.
const COMPACT_EVERY: u64 = 100;
/// A compacted file grows to about this size, then stays: later compactions gather only the
/// files after it, instead of rewriting the whole ledger each time.
const COMPACTED_BYTES: u64 = 4 * 1024 * 1024;

impl DeltaTarget {
    /// After the append that made the ledger's `version`: its files compacted and its
    /// checkpoint written, when due (a checkpoint every `checkpoint_every` versions). A failure
    /// only costs readers time: it is logged.
    pub(super) async fn ledger_upkeep(&self, version: u64, checkpoint_every: u64) {
        let compact = version.is_multiple_of(COMPACT_EVERY);
        if !compact && !version.is_multiple_of(checkpoint_every) {
            return;
        }
        let delta = match self.open(LEDGER_TABLE).await {
            Ok(delta) => delta,
            Err(error) => {
                tracing::warn!(version, %error, "no ledger upkeep: the ledger could not be read");
                return;
            }
        };
        let delta = match compact {
            true => self.compacted_ledger(delta).await,
            false => delta,
        };
        checkpoint_and_clean_up(&delta).await;
    }

    /// The ledger `delta` with its files compacted into one, or as it was if that failed.
    async fn compacted_ledger(&self, delta: DeltaTable) -> DeltaTable {
        let target_size = NonZeroU64::new(COMPACTED_BYTES).expect("not zero");
        let compacted = (delta.clone().optimize())
            .with_type(OptimizeType::Compact)
            .with_target_size(target_size)
            .with_commit_properties(commit_properties())
            .await;
        match compacted {
            Ok((compacted, metrics)) => {
                tracing::info!(
                    files_removed = metrics.num_files_removed,
                    files_added = metrics.num_files_added,
                    "compacted the ledger"
                );
                self.keep(LEDGER_TABLE, &compacted);
                // The ledger kept for appends is a version behind now: the next append opens it.
                self.kept().ledger = None;
                compacted
            }
            Err(error) => {
                tracing::warn!(%error, "could not compact the ledger");
                delta
            }
        }
    }
}
