//! A rollup brought forward by the change its load counted as the rows went by
//! ([`crate::rollup::tally`]): the rows written in, the stored rows the replace rewrote out.
//! No data file is read again, which a catch-up from the commit's files would do (a first
//! load would read back the whole table). The commits of a batch ([`super::super::trailing`])
//! move it once, by their changes summed, when their versions follow one another. It applies
//! only when the stored rollup reflects the version the first commit was made on, or the
//! table held no row then; otherwise the rollup is caught up from the files, as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use tracing::Instrument;

use super::{DeltaTarget, folder};
use crate::rollup::tally::{Side, Tally};
use crate::rollup::{Rollup, merge};
use crate::sink::SinkError;

/// Where a counted load's commit landed.
#[derive(Debug, Clone)]
pub(in crate::sink::delta) struct Landed {
    /// The id of the table committed to ([`super::table_id`]).
    pub table_id: Arc<str>,
    /// The version the commit made.
    pub version: u64,
    /// Whether the table held no row in the version it was made on.
    pub on_empty: bool,
}

/// How this process kept rollups after its commits, per rollup and batch of commits
/// ([`super::super::trailing`]): moved by what the loads counted, or caught up from the
/// commits' files. Clones of a target share it; it tells
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

/// The versions a batch of counted commits made, one after another.
#[derive(Debug, Clone)]
struct Span {
    first: u64,
    last: u64,
    /// Whether the table held no row in the version the first was made on.
    on_empty: bool,
    table_id: Arc<str>,
}

impl Span {
    /// The span of `landed` (in version order), if no version is missing between them (and
    /// all are of one table).
    fn of(landed: &[Landed]) -> Option<Span> {
        let (first, last) = (landed.first()?, landed.last()?);
        let consecutive = (landed.windows(2)).all(|pair| {
            pair[0].version + 1 == pair[1].version && pair[0].table_id == pair[1].table_id
        });
        consecutive.then(|| Span {
            first: first.version,
            last: last.version,
            on_empty: first.on_empty,
            table_id: Arc::clone(&first.table_id),
        })
    }
}

impl DeltaTarget {
    /// Brings each rollup forward by the changes the commits counted, summed, when their
    /// versions follow one another; returns the rollups it could not (versions apart, a
    /// stored version not the one the first commit was made on, or a tally that failed) for a
    /// catch-up.
    pub(super) async fn advance(&self, mut counted: Vec<(Tally, Landed)>) -> Vec<String> {
        counted.sort_by_key(|(_, landed)| landed.version);
        let landed: Vec<Landed> = counted.iter().map(|(_, landed)| landed.clone()).collect();
        let Some(span) = Span::of(&landed) else {
            return self.rollup_names();
        };
        let tallies = counted.into_iter().map(|(tally, _)| tally);
        let summed = summed_changes(tallies).instrument(tracing::debug_span!("tally"));
        let changes = match summed.await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(%error, "the load's rollup tally failed: catching up from its files");
                return self.rollup_names();
            }
        };
        let mut behind = Vec::new();
        for (rollup, change) in changes {
            match self.advance_one(&rollup, change, &span).await {
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

    pub(super) fn rollup_names(&self) -> Vec<String> {
        self.rollups
            .iter()
            .map(|rollup| rollup.name.clone())
            .collect()
    }

    async fn advance_one(
        &self,
        rollup: &Rollup,
        change: Vec<RecordBatch>,
        span: &Span,
    ) -> Result<bool, SinkError> {
        let stored = self.open(&folder(rollup)).await?;
        let current = match self.reflected(rollup, &stored, &span.table_id).await? {
            Some(reflected) if reflected + 1 == span.first => {
                self.current_groups(rollup, &stored).await?
            }
            // Another process brought it to one of these versions or past them already.
            Some(reflected) if reflected >= span.first => return Ok(false),
            _ if span.on_empty => Vec::new(),
            _ => return Ok(false),
        };
        let groups = merge::apply(rollup, current, change, Vec::new());
        let groups = groups.instrument(tracing::debug_span!("merge")).await;
        let groups = groups.map_err(self.query_error(&rollup.table))?;
        // A conflict (another process stored the rollup meanwhile) errs: the caller catches
        // up from what that process stored.
        let storing = self.store_rollup(rollup, stored, groups, (&span.table_id, span.last));
        storing.instrument(tracing::debug_span!("store")).await?;
        Ok(true)
    }
}

/// Each rollup with the groups the tallies' changes move, all together.
async fn summed_changes(
    tallies: impl Iterator<Item = Tally>,
) -> Result<Vec<(Rollup, Vec<RecordBatch>)>, DataFusionError> {
    let mut summed: Vec<(Rollup, Vec<RecordBatch>)> = Vec::new();
    for tally in tallies {
        for (rollup, change) in tally.finish().await? {
            match summed
                .iter_mut()
                .find(|(known, _)| known.name == rollup.name)
            {
                Some((_, changes)) => changes.extend(change),
                None => summed.push((rollup, change)),
            }
        }
    }
    Ok(summed)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn landed(versions: &[u64], on_empty: bool) -> Vec<Landed> {
        (versions.iter())
            .map(|&version| Landed {
                table_id: Arc::from("table"),
                version,
                on_empty: on_empty && version == versions[0],
            })
            .collect()
    }

    #[test]
    fn a_batch_spans_its_versions_only_when_none_is_missing() {
        let span = Span::of(&landed(&[4, 5, 6], true)).expect("consecutive");
        assert_eq!((span.first, span.last, span.on_empty), (4, 6, true));
        assert!(
            Span::of(&landed(&[4, 6], false)).is_none(),
            "5 is another's"
        );
        assert!(Span::of(&[]).is_none());
        let mut anew = landed(&[4, 5], false);
        anew[1].table_id = Arc::from("another table");
        assert!(Span::of(&anew).is_none(), "a table deleted and loaded anew");
    }
}
