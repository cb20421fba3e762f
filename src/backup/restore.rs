//! Restoring a table from a snapshot: the snapshot's schema, sizes and checksums are verified
//! before anything is touched, then it is streamed into the target's staging ([`Target::begin_replace`]) while its ids
//! are checked against the other tables, and swapped in with one commit that records a
//! `restored` ledger entry. Any refusal or failure before that commit leaves the table as it
//! was.
//!
//! The warehouse can also go back to one of its own versions ([`restore_as_of`]): the same
//! check over that version's rows, then Delta's `RESTORE`, which re-adds the version's files
//! without copying them.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::dangling::Check;
use super::manifest::Manifest;
use super::{BackupError, Backups};
use crate::dictionary::{ContractStamp, TableRef};
use crate::ledger::{self, Entry, Status};
use crate::report::Engines;
use crate::shape;
use crate::sink::delta::AsOf;
use crate::sink::{Load, Rows, Target};
use crate::store::ObjectVersion;

/// A restore that committed.
#[derive(Debug)]
pub struct Restored {
    /// What the table was restored from: `snapshot <id>` or `version <n>`.
    pub from: String,
    pub run_id: String,
    pub rows: u64,
    /// What `force` let through: rows left pointing at ids no table holds.
    pub dangling: Vec<String>,
}

impl Backups {
    /// Replaces the contents of `table` in `target` with the snapshot `id` (or the latest):
    /// refused if the snapshot fails verification, or if rows would be left pointing at ids
    /// that are not there, unless `force`.
    pub async fn restore(
        &self,
        target: &dyn Target,
        table: &TableRef,
        id: Option<&str>,
        force: bool,
    ) -> Result<Restored, BackupError> {
        let snapshot = self.find(table, id).await?;
        // Its rows are decoded once, as they are staged: the count is checked there.
        self.verify_bytes(&snapshot).await?;
        let started_at = Utc::now();
        let mut check = Check::new(target, table).await?;
        let mut load = target.begin_replace(table, force).await?;
        let staged = self
            .stage(&snapshot, table, load.as_mut(), &mut check)
            .await;
        let dangling = match staged {
            Ok(()) => check.finish(target).await.map_err(BackupError::from),
            Err(error) => Err(error),
        };
        let dangling = match dangling.and_then(|dangling| accepted(table, dangling, force)) {
            Ok(dangling) => dangling,
            Err(error) => {
                load.abort().await;
                return Err(error);
            }
        };
        let object = ObjectVersion {
            location: self.location.url.to_string(),
            key: snapshot.key(&snapshot.files[0].name),
            version: snapshot.id.clone(),
            size: snapshot.files.iter().map(|file| file.bytes).sum(),
            modified: None,
        };
        let stamp = target.dictionary().stamp();
        let entry = restored_entry(table, object, snapshot.rows, started_at, stamp);
        load.commit(std::slice::from_ref(&entry)).await?;
        Ok(Restored {
            from: format!("snapshot {}", snapshot.id),
            run_id: entry.run_id,
            rows: snapshot.rows,
            dangling,
        })
    }

    /// Streams the snapshot's rows into `load`, typed as the table declares; refused if they
    /// cannot be decoded or are not as many as the manifest counts.
    async fn stage(
        &self,
        snapshot: &Manifest,
        table: &TableRef,
        load: &mut dyn Load,
        check: &mut Check,
    ) -> Result<(), BackupError> {
        let schema = table.typed_schema();
        let mut rows = 0;
        for file in &snapshot.files {
            let mut batches =
                (self.rows(snapshot, file).await).map_err(|p| self.refused(snapshot, p))?;
            while let Some(batch) = batches
                .try_next()
                .await
                .map_err(|p| self.refused(snapshot, p))?
            {
                let typed = shape::to_schema_by_name(&batch, &schema)
                    .map_err(|error| self.refused(snapshot, format!("{}: {error}", file.name)))?;
                check.see(&typed);
                rows += typed.num_rows() as u64;
                load.write(typed).await?;
            }
        }
        match rows == snapshot.rows {
            true => Ok(()),
            false => Err(self.refused(
                snapshot,
                format!(
                    "it held {rows} rows when restored, the manifest says {}",
                    snapshot.rows
                ),
            )),
        }
    }
}

/// Puts the warehouse's `table` back to the version `as_of` names: refused if the target is
/// MySQL (which keeps no versions), if the log no longer holds the version or its files are
/// gone, or if rows would be left pointing at ids that are not there, unless `force`.
pub async fn restore_as_of(
    engines: &Engines,
    table: &TableRef,
    as_of: AsOf,
    force: bool,
) -> Result<Restored, BackupError> {
    if engines.mysql.is_some() {
        return Err(BackupError::Usage(
            "--as-of puts the Delta warehouse back to a version; this deployment's target is MySQL, which keeps no versions: restore a snapshot".into(),
        ));
    }
    let warehouse = &engines.warehouse;
    let version = warehouse.version_as_of(table, as_of).await?;
    let started_at = Utc::now();
    let mut check = Check::new(warehouse, table).await?;
    let mut batches = warehouse.scan_version(table, version).await?;
    let schema = table.typed_schema();
    let mut rows = 0;
    while let Some(batch) = batches.try_next().await? {
        let typed = shape::to_schema(&batch, &schema).map_err(|error| BackupError::Write {
            location: format!("{table} version {version}", table = table.name),
            reason: error.to_string(),
        })?;
        check.see(&typed);
        rows += typed.num_rows() as u64;
    }
    let dangling = accepted(table, check.finish(warehouse).await?, force)?;
    let object = ObjectVersion {
        location: warehouse.location().url.to_string(),
        key: table.name.to_owned(),
        version: version.to_string(),
        size: 0,
        modified: None,
    };
    let entry = restored_entry(
        table,
        object,
        rows,
        started_at,
        warehouse.dictionary().stamp(),
    );
    warehouse.restore_version(table, version, &entry).await?;
    Ok(Restored {
        from: format!("version {version}"),
        run_id: entry.run_id,
        rows,
        dangling,
    })
}

/// `dangling` when forced or empty; else the refusal that names it.
fn accepted(
    table: &TableRef,
    dangling: Vec<String>,
    force: bool,
) -> Result<Vec<String>, BackupError> {
    match dangling.is_empty() || force {
        true => Ok(dangling),
        false => Err(BackupError::Dangling {
            table: table.name.to_owned(),
            problems: dangling.join("; "),
        }),
    }
}

/// The ledger entry of a restore of `rows` rows from `object`, under the contract `contract`.
fn restored_entry(
    table: &TableRef,
    object: ObjectVersion,
    rows: u64,
    started_at: DateTime<Utc>,
    contract: ContractStamp,
) -> Entry {
    Entry {
        rows_read: rows,
        rows_valid: rows,
        status: Status::Restored,
        started_at,
        finished_at: Utc::now(),
        ..Entry::queued(
            ledger::new_run_id(started_at),
            object,
            &table.name,
            contract,
        )
    }
}
