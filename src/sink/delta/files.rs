//! The data files of one table version as they are stored, for work that needs their bytes
//! rather than their rows (a Parquet backup copies them instead of decoding and encoding
//! every row again) or reads them with another engine (Ballista scans exactly these).

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::object_store::path::Path;
use deltalake::DeltaTable;
use url::Url;

use super::DeltaTarget;
use crate::dictionary::Table;
use crate::sink::SinkError;
use crate::store::Location;

/// The files that make up one version of a table.
pub struct LiveFiles {
    pub version: u64,
    /// The table's folder; each file's path is a key in it.
    pub location: Location,
    pub files: Vec<LiveFile>,
    /// The Arrow schema of the table at this version, which every file is read as.
    pub schema: SchemaRef,
}

impl LiveFiles {
    /// Each file's full URL (`file:///…/part-….parquet`, `s3://bucket/…`).
    pub fn urls(&self) -> Result<Vec<Url>, SinkError> {
        (self.files.iter())
            .map(|file| {
                (self.location.url.join(file.path.as_ref())).map_err(|error| {
                    crate::store::StoreError::Invalid {
                        location: format!("{}{}", self.location.url, file.path),
                        reason: error.to_string(),
                    }
                    .into()
                })
            })
            .collect()
    }
}

/// One data file of a table version.
pub struct LiveFile {
    pub path: Path,
    pub bytes: u64,
    /// Whether the file's rows are exactly its Parquet rows: no deletion vector hides some of
    /// them and no partition value lives outside the file. csvgate writes no other kind, but
    /// another Delta writer may have.
    pub whole: bool,
}

impl DeltaTarget {
    /// The live files of `table` at its current version; `None` when it was never loaded.
    pub async fn live_files(&self, table: &Table) -> Result<Option<LiveFiles>, SinkError> {
        let delta = self.open(&table.name).await?;
        let Some(version) = delta.version() else {
            return Ok(None);
        };
        let schema = (delta.snapshot())
            .map_err(self.error(&table.name))?
            .snapshot()
            .arrow_schema();
        Ok(Some(LiveFiles {
            version,
            location: self.warehouse.child(&table.name)?,
            files: self.files_of(table, &delta)?,
            schema,
        }))
    }

    /// The data files of the version `delta` is at.
    pub(super) fn files_of(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<Vec<LiveFile>, SinkError> {
        let snapshot = delta.snapshot().map_err(self.error(&table.name))?;
        let files = (snapshot.log_data().iter())
            .map(|file| LiveFile {
                path: file.object_store_path(),
                bytes: file.size().unsigned_abs(),
                whole: file.deletion_vector_descriptor().is_none()
                    && file.partition_values().is_none(),
            })
            .collect();
        Ok(files)
    }
}
