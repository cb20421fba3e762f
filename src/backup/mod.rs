//! Backups: a snapshot of a table, as data files in AVRO (the HR brief's format) or Parquet
//! and a `manifest.json`, below the backups location:
//! `<table>/<UTC timestamp>-<id>/{data.avro|data.parquet|data-00000.parquet…, manifest.json}`.
//!
//! A snapshot reads one pinned table version (Delta), or every table inside one
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT` (MySQL), and streams it ([`write`]); a Parquet
//! snapshot of the warehouse copies that version's files instead ([`copy`]). Its manifest,
//! written last, holds the row count, the dictionary's schema and the SHA-256 of each data
//! file, so a restore can check a snapshot before it touches the table
//! ([`verify`](Backups::verify)), and a snapshot cut short (no manifest) is never listed. A
//! restore ([`restore`](Backups::restore)) replaces a table's contents in one commit.

mod copy;
mod dangling;
pub mod manifest;
mod mysql;
mod prune;
mod read;
mod restore;
pub mod schedule;
mod verify;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::dictionary::{Dictionary, Table, TableRef};
use crate::report::Engines;
use crate::sink::SinkError;
use crate::sink::delta::DeltaTarget;
use crate::sink::mysql::MysqlTarget;
use crate::store::{Location, StoreError};
pub use manifest::Manifest;
pub use prune::Retention;
pub use restore::{Restored, restore_as_of};

/// The file format of a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Avro object container file, deflate blocks; timestamps as `timestamp-micros` (UTC).
    #[default]
    Avro,
    /// Parquet: zstd when csvgate writes the rows; a warehouse table's own files (snappy)
    /// when they can be copied as they are.
    Parquet,
}

impl Format {
    /// As the command line and manifests spell it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Avro => "avro",
            Format::Parquet => "parquet",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Format::Avro => "data.avro",
            Format::Parquet => "data.parquet",
        }
    }
}

/// Why a backup could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{location}: {reason}")]
    Write { location: String, reason: String },
    #[error("{location}: not a snapshot manifest: {reason}")]
    Manifest { location: String, reason: String },
    #[error("{table}: no snapshot {id:?} in the backups location")]
    NoSnapshot { table: String, id: String },
    #[error("snapshot {snapshot} refused: {problem}")]
    Refused { snapshot: String, problem: String },
    #[error("restoring {table} refused, nothing was changed: {problems} (--force restores anyway)")]
    Dangling { table: String, problems: String },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dictionary's schema of `table`, named after it (Avro's record name).
fn named_schema(table: &Table) -> SchemaRef {
    let metadata = [
        ("avro.name", table.name.as_str()),
        ("avro.namespace", "csvgate"),
    ];
    let metadata = metadata.map(|(key, value)| (key.to_owned(), value.to_owned()));
    let schema = table.typed_schema().as_ref().clone();
    Arc::new(schema.with_metadata(HashMap::from(metadata)))
}

/// The backups location.
#[derive(Debug, Clone)]
pub struct Backups {
    pub location: Location,
    /// The tables snapshots are checked against.
    pub dictionary: Arc<Dictionary>,
}

impl Backups {
    /// Snapshots `tables` of a deployment's target, given its engines: MySQL when there is
    /// one, else the warehouse (whose never-loaded tables are left out).
    pub async fn backup_target(
        &self,
        engines: &Engines,
        tables: &[TableRef],
        format: Format,
    ) -> Result<Vec<Manifest>, BackupError> {
        if let Some(mysql) = &engines.mysql {
            return self.backup_mysql(mysql, tables, format).await;
        }
        let warehouse = &engines.warehouse;
        let mut made = Vec::new();
        for table in tables {
            if let Some(manifest) = self.backup_warehouse(warehouse, table, format).await? {
                made.push(manifest);
            }
        }
        Ok(made)
    }

    /// Snapshots `table` of the warehouse at its current version; `None` when the table was
    /// never loaded.
    pub async fn backup_warehouse(
        &self,
        warehouse: &DeltaTarget,
        table: &Table,
        format: Format,
    ) -> Result<Option<Manifest>, BackupError> {
        if format == Format::Parquet {
            let Some(live) = warehouse.live_files(table).await? else {
                return Ok(None);
            };
            if let Some(copied) = self.copy_live_files(table, &live).await? {
                return Ok(Some(copied));
            }
        }
        let Some((version, rows)) = warehouse.scan_pinned(table).await? else {
            return Ok(None);
        };
        let source = manifest::Source {
            target: "delta".into(),
            version,
        };
        let rows = rows.map_err(|error| error.to_string()).boxed();
        Ok(Some(self.snapshot(table, format, source, rows).await?))
    }

    /// Snapshots `tables` of a MySQL target, all read in one consistent snapshot; each
    /// manifest's source version is the last ledger entry that snapshot holds.
    pub async fn backup_mysql(
        &self,
        target: &MysqlTarget,
        tables: &[TableRef],
        format: Format,
    ) -> Result<Vec<Manifest>, BackupError> {
        let mut snapshot = mysql::Snapshot::begin(target).await?;
        let mut made = Vec::new();
        for table in tables {
            let source = manifest::Source {
                target: "mysql".into(),
                version: snapshot.ledger_entry,
            };
            let rows = snapshot.rows(table).await?;
            made.push(self.snapshot(table, format, source, rows).await?);
        }
        snapshot.end().await?;
        Ok(made)
    }

    /// Streams `rows` into a new snapshot of `table`, then writes its manifest.
    async fn snapshot(
        &self,
        table: &Table,
        format: Format,
        source: manifest::Source,
        rows: write::Rows<'_>,
    ) -> Result<Manifest, BackupError> {
        let mut manifest = Manifest::begin(table, format, source);
        let name = format.file_name();
        let schema = named_schema(table);
        let key = manifest.key(name);
        let written = write::write(format, &self.location, &key, &schema, rows).await?;
        manifest.add(name, written);
        self.finish(manifest).await
    }

    /// Writes the manifest of a snapshot whose files are all written: the snapshot is complete.
    async fn finish(&self, manifest: Manifest) -> Result<Manifest, BackupError> {
        let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        let key = Path::from(manifest.key(manifest::MANIFEST));
        self.location
            .store
            .put(&key, text.into())
            .await
            .map_err(|source| self.location.object_error(key.as_ref(), source))?;
        Ok(manifest)
    }

    /// Every complete snapshot (of `table`, when given), oldest first.
    pub async fn list(&self, table: Option<&Table>) -> Result<Vec<Manifest>, BackupError> {
        let prefix = table.map(|table| Path::from(table.name.as_str()));
        // A snapshot pruned while this lists is gone, as a listing a moment later shows: what
        // vanished between the listing and the read is skipped, not an error.
        let objects: Vec<_> = Arc::clone(&self.location.store)
            .list(prefix.as_ref())
            .filter(|listed| std::future::ready(!is_gone(listed)))
            .try_collect()
            .await
            .map_err(|source| {
                self.location
                    .object_error(prefix.as_ref().map_or("", |p| p.as_ref()), source)
            })?;
        let mut manifests = Vec::new();
        for object in objects {
            let key = object.location.as_ref();
            if !key.ends_with(&format!("/{}", manifest::MANIFEST)) {
                continue;
            }
            match self.manifest(key).await {
                Ok(manifest) => manifests.push(manifest),
                Err(BackupError::Store(StoreError::Object {
                    source: datafusion::object_store::Error::NotFound { .. },
                    ..
                })) => {}
                Err(error) => return Err(error),
            }
        }
        manifests.sort_by(|a, b| (&a.id, &a.table).cmp(&(&b.id, &b.table)));
        Ok(manifests)
    }

    async fn manifest(&self, key: &str) -> Result<Manifest, BackupError> {
        let bytes = self.location.read_small(key).await?;
        serde_json::from_slice(&bytes).map_err(|error| BackupError::Manifest {
            location: format!("{}{key}", self.location.url),
            reason: error.to_string(),
        })
    }
}

/// A listing entry for an object deleted while the listing ran.
fn is_gone<T>(listed: &Result<T, datafusion::object_store::Error>) -> bool {
    matches!(
        listed,
        Err(datafusion::object_store::Error::NotFound { .. })
    )
}
