//! One load's commit, tried again on a newer version when another writer's commit conflicted
//! with it: an overwrite (a restore), or an upsert of the staged files.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::kernel::Add;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::writer::DeltaWriter;
use tracing::Instrument;

use super::{Committed, DeltaLoad, Mode};
use crate::dictionary::{Keys, Table};
use crate::ledger::Entry;
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use crate::sink::delta::commit::{commit_staged, made_by, remove_files, retry};
use crate::sink::delta::parked::Marker;
use crate::sink::delta::{DeltaTarget, replace};

impl DeltaLoad {
    /// Commits the written files, with `markers`: appended when no loaded id is in the table
    /// yet, else replacing the rows they hold, counted out of `tally`. Returns the commit
    /// ([`Committed`]). A commit another worker's commit conflicted with is tried again on
    /// the newer version, unless that commit loaded one of these objects: then this load is
    /// dropped ([`SinkError::LoadedMeanwhile`]). On failure the written files are removed.
    pub(super) async fn commit_rows(
        self,
        loaded_ids: &Keys,
        entries: &[Entry],
        markers: &[Marker],
        tally: &mut Option<Tally>,
    ) -> Result<Committed, SinkError> {
        let DeltaLoad {
            target,
            table,
            mut delta,
            mut writer,
            commit,
            mode,
            markers_before,
            ..
        } = self;
        let transactions = markers.iter().map(Marker::transaction).collect();
        let commit = commit
            .with_metadata(made_by(entries))
            .with_application_transactions(transactions);
        let loaded = Loaded {
            before: &markers_before,
            entries,
        };
        loaded.meanwhile(&target, &table).await?;
        let staged = writer.flush().await.map_err(target.error(&table.name))?;
        let mut attempt = 1;
        loop {
            let committed = match mode {
                Mode::Overwrite => overwrite(&target, &table, delta, &staged, commit.clone()).await,
                Mode::Upsert => {
                    let commit = commit.clone();
                    upsert(&target, &table, delta, &staged, loaded_ids, commit, tally).await
                }
            };
            let retry = match committed {
                Err(error) if retry::is_conflict(&error) && attempt < retry::ATTEMPTS => {
                    newer_version(&target, &table, &loaded).await
                }
                done => done.map(Retry::No),
            };
            match retry {
                Ok(Retry::No(committed)) => return Ok(committed),
                Ok(Retry::On(newer)) => delta = newer,
                Err(error) => {
                    remove_files(&target, &table.name, &staged).await;
                    return Err(error);
                }
            }
            tokio::time::sleep(retry::pause(attempt)).await;
            attempt += 1;
            tracing::info!(
                table = table.name,
                attempt,
                "commit conflicted with another writer's: trying again"
            );
        }
    }
}

/// After a conflict: commit again, or not.
enum Retry {
    /// Committed.
    No(Committed),
    /// Try again on this newer version.
    On(DeltaTable),
}

/// The table's newest version to commit on again, unless the commit that conflicted loaded
/// one of these objects (its marker changed): then this load is dropped.
async fn newer_version(
    target: &DeltaTarget,
    table: &Table,
    loaded: &Loaded<'_>,
) -> Result<Retry, SinkError> {
    let newer = target.open(&table.name).await?;
    loaded.meanwhile(target, table).await?;
    Ok(Retry::On(newer))
}

/// The objects a commit marks loaded: their markers as they were when each was added, and
/// their entries, in the same order (none for a restore).
struct Loaded<'a> {
    before: &'a [(String, Option<i64>)],
    entries: &'a [Entry],
}

impl Loaded<'_> {
    /// Refuses to commit when another worker loaded one of the objects since it was added (a
    /// marker that expired meanwhile is no new load).
    async fn meanwhile(&self, target: &DeltaTarget, table: &Table) -> Result<(), SinkError> {
        for ((id, before), entry) in self.before.iter().zip(self.entries) {
            let now = target.marker_version(&table.name, id).await?;
            if now.is_some() && now != *before {
                return Err(SinkError::LoadedMeanwhile {
                    target: format!("{}{}", target.warehouse.url, table.name),
                    object: entry.object.key.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Commits `staged` to `delta` in place of all it holds.
async fn overwrite(
    target: &DeltaTarget,
    table: &Table,
    delta: DeltaTable,
    staged: &[Add],
    commit: CommitProperties,
) -> Result<Committed, SinkError> {
    crate::fault::pause(crate::fault::RESTORE_BEFORE_COMMIT).await;
    let committed = commit_staged(
        target,
        &table.name,
        delta,
        staged,
        commit,
        SaveMode::Overwrite,
    );
    Ok(Committed {
        table: committed.await?,
        ids_before: Arc::default(),
        on_empty: false,
    })
}

/// Commits `staged` to `delta`: a plain append when no loaded id is in the table yet, else a
/// replace of the rows those ids name, counted out of `tally` as they are rewritten (anew
/// at each attempt: a conflict means a newer version to replace them in).
async fn upsert(
    target: &DeltaTarget,
    table: &Table,
    delta: DeltaTable,
    staged: &[Add],
    loaded_ids: &Keys,
    commit: CommitProperties,
    tally: &mut Option<Tally>,
) -> Result<Committed, SinkError> {
    if let Some(tally) = tally.as_mut() {
        tally.forget(Side::Replaced);
    }
    let existing = target.id_set(table, &delta);
    let existing = existing.instrument(tracing::debug_span!("id_set")).await?;
    let base = delta.version();
    let committed = match existing.is_disjoint(loaded_ids) {
        true => commit_staged(target, &table.name, delta, staged, commit, SaveMode::Append).await?,
        false => {
            let replaced =
                replace::replace_rows(target, table, delta, staged, loaded_ids, commit, tally);
            replaced.await?
        }
    };
    let on_empty = existing.is_empty() && base.map(|base| base + 1) == committed.version();
    Ok(Committed {
        table: committed,
        ids_before: existing,
        on_empty,
    })
}
