//! A rollup brought forward by the change its load counted as the rows went by
//! ([`crate::rollup::tally`]): the rows written in, the stored rows the replace rewrote out.
//! No data file is read again, which a catch-up from the commit's files would do (a first
//! load would read back the whole table). It applies only when the stored rollup reflects
//! the version the commit was made on, or the table held no row then; otherwise the rollup is
//! caught up from the files, as before.

use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::record_batch::RecordBatch;
use tracing::Instrument;

use super::{DeltaTarget, folder};
use crate::rollup::tally::{Side, Tally};
use crate::rollup::{Rollup, merge};
use crate::sink::SinkError;

/// Where a counted load's commit landed.
#[derive(Debug, Clone, Copy)]
pub(in crate::sink::delta) struct Landed {
    /// The version the commit made.
    pub version: u64,
    /// Whether the table held no row in the version it was made on.
    pub on_empty: bool,
}

/// How this process kept rollups after its commits, per rollup and commit: moved by what the
/// load counted, or caught up from the commit's files. Clones of a target share it; it tells
/// an operator (and a test) whether loads read their rows back.
#[derive(Debug, Default)]
pub struct Upkeep {
    counted: AtomicU64,
    caught_up: AtomicU64,
}

impl Upkeep {
    /// Rollups moved by a load's count.
    pub fn counted(&self) -> u64 {
        self.counted.load(Ordering::Relaxed)
    }

    /// Rollups caught up from a commit's files (or recomputed) after it.
    pub fn caught_up(&self) -> u64 {
        self.caught_up.load(Ordering::Relaxed)
    }

    pub(super) fn count_caught_up(&self) {
        self.caught_up.fetch_add(1, Ordering::Relaxed);
    }
}

impl DeltaTarget {
    /// Brings each rollup of the tally forward to `landed.version` by its counted change;
    /// returns the rollups it could not (their stored version is not the one the commit was
    /// made on, or the tally failed) for a catch-up.
    pub(super) async fn advance(&self, tally: Tally, landed: Landed) -> Vec<String> {
        let finished = tally.finish().instrument(tracing::debug_span!("tally"));
        let changes = match finished.await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(%error, "the load's rollup tally failed: catching up from its files");
                return self
                    .rollups
                    .iter()
                    .map(|rollup| rollup.name.clone())
                    .collect();
            }
        };
        let mut behind = Vec::new();
        for (rollup, change) in changes {
            match self.advance_one(&rollup, change, landed).await {
                Ok(true) => {
                    self.upkeep.counted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => behind.push(rollup.name),
                Err(error) => {
                    tracing::debug!(rollup = rollup.name, %error, "not advanced by the load's tally: catching up");
                    behind.push(rollup.name);
                }
            }
        }
        behind
    }

    async fn advance_one(
        &self,
        rollup: &Rollup,
        change: Vec<RecordBatch>,
        landed: Landed,
    ) -> Result<bool, SinkError> {
        let stored = self.open(&folder(rollup)).await?;
        let current = match self.reflected(rollup, &stored).await? {
            Some(reflected) if reflected + 1 == landed.version => {
                self.current_groups(rollup, &stored).await?
            }
            // Another process brought it to this version or past it already.
            Some(reflected) if reflected >= landed.version => return Ok(false),
            _ if landed.on_empty => Vec::new(),
            _ => return Ok(false),
        };
        let groups = merge::apply(rollup, current, change, Vec::new());
        let groups = groups.instrument(tracing::debug_span!("merge")).await;
        let groups = groups.map_err(self.query_error(&rollup.table))?;
        // A conflict (another process stored the rollup meanwhile) errs: the caller catches
        // up from what that process stored.
        let storing = self.store_rollup(rollup, stored, groups, landed.version);
        storing.instrument(tracing::debug_span!("store")).await?;
        Ok(true)
    }
}

/// Counts `rows` on `side` of `tally`. A tally that fails is dropped, logged: the rollup is
/// then caught up from the commit's files, as for a load that counts nothing.
pub(in crate::sink::delta) async fn count(
    tally: &mut Option<Tally>,
    side: Side,
    rows: RecordBatch,
) {
    let Some(counting) = tally.as_mut() else {
        return;
    };
    if let Err(error) = counting.count(side, rows).await {
        tracing::warn!(%error, "the load's rollup tally failed: its rollups will be caught up from the files");
        *tally = None;
    }
}
