//! `manifest.json`: what a snapshot holds and how to check it, written after its data file,
//! so a snapshot without one is incomplete and never listed.

use serde::{Deserialize, Serialize};

use crate::dictionary::Table;

/// The name of a snapshot's manifest inside its folder.
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `<UTC timestamp>-<short id>`: sorts by time.
    pub id: String,
    pub table: String,
    pub format: super::Format,
    pub rows: u64,
    /// The dictionary's columns at backup time, as `name: type` (Arrow's names).
    pub schema: Vec<Column>,
    pub files: Vec<File>,
    /// Which target the rows were read from (`delta`, `mysql`) and at which version.
    pub source: Source,
    pub created_at: String,
    pub csvgate_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    /// The key inside the snapshot's folder.
    pub name: String,
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub target: String,
    pub version: u64,
}

/// The folder of snapshot `id` of `table`, in the backups location.
pub fn folder(table: &str, id: &str) -> String {
    format!("{table}/{id}")
}

impl Manifest {
    /// The manifest of a new snapshot of `table`, before any file is written.
    pub(super) fn begin(table: &Table, format: super::Format, source: Source) -> Manifest {
        let created = chrono::Utc::now();
        let id = format!(
            "{}-{}",
            created.format("%Y%m%dT%H%M%S%.6fZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Manifest {
            id,
            table: table.name.to_owned(),
            format,
            rows: 0,
            schema: schema_of(table),
            files: Vec::new(),
            source,
            created_at: created.to_rfc3339(),
            csvgate_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Counts a file written into the snapshot's folder as `name`.
    pub(super) fn add(&mut self, name: &str, written: super::write::Written) {
        self.rows += written.rows;
        self.files.push(File {
            name: name.to_owned(),
            bytes: written.bytes,
            sha256: written.sha256,
        });
    }

    /// The key of the snapshot's file `name` (its data file, its manifest).
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", folder(&self.table, &self.id))
    }
}

/// The dictionary's declaration of `table`, as a manifest records it.
pub fn schema_of(table: &Table) -> Vec<Column> {
    table
        .typed_schema()
        .fields()
        .iter()
        .map(|field| Column {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
        })
        .collect()
}

/// Snapshots as a table, for listings: one row each.
pub fn to_batch(
    manifests: &[Manifest],
) -> Result<datafusion::arrow::array::RecordBatch, datafusion::arrow::error::ArrowError> {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, StringArray, UInt64Array};
    let text = |value: fn(&Manifest) -> String| -> ArrayRef {
        Arc::new(
            manifests
                .iter()
                .map(|m| Some(value(m)))
                .collect::<StringArray>(),
        )
    };
    let number = |value: fn(&Manifest) -> u64| -> ArrayRef {
        Arc::new(manifests.iter().map(value).collect::<UInt64Array>())
    };
    datafusion::arrow::array::RecordBatch::try_from_iter([
        ("id", text(|m| m.id.clone())),
        ("table_name", text(|m| m.table.clone())),
        ("format", text(|m| m.format.name().to_owned())),
        ("rows", number(|m| m.rows)),
        (
            "bytes",
            number(|m| m.files.iter().map(|file| file.bytes).sum()),
        ),
        ("source", text(|m| m.source.target.clone())),
        ("source_version", number(|m| m.source.version)),
        ("created_at", text(|m| m.created_at.clone())),
    ])
}
