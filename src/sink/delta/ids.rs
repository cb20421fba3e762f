//! Each table's key set ([`Keys`]: a compact bitmap for integers), kept per table version:
//! the foreign-key rules of other tables accept these keys, and a load tells from them whether
//! it replaces rows.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::object_store::path::Path;
use datafusion::parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use datafusion::parquet::errors::ParquetError;
use deltalake::DeltaTable;
use deltalake::kernel::Version;
use futures::TryStreamExt;

use super::{DeltaTarget, SCANNED};
use crate::dictionary::{Keys, Table};
use crate::sink::SinkError;
use crate::store::StoredParquet;

/// A table's ids as of one version, with the data files that version held.
#[derive(Debug, Clone)]
pub(super) struct KeptIds {
    version: Version,
    ids: Arc<Keys>,
    /// Path and size of each live file.
    files: Arc<HashMap<Path, u64>>,
}

impl DeltaTarget {
    /// Every `id` in the table at the version `delta` is at. From ids kept for an earlier
    /// version, when the commits since only added files, just those files' ids are read:
    /// workers appending to one table would otherwise scan the whole table after each other
    /// worker's commit.
    pub(super) async fn id_set(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<Arc<Keys>, SinkError> {
        let Some(version) = delta.version() else {
            return Ok(Arc::new(Keys::of(&table.key_column().kind)));
        };
        let kept = self.kept().ids.get(&table.name).cloned();
        if let Some(kept) = &kept
            && kept.version == version
        {
            return Ok(Arc::clone(&kept.ids));
        }
        let files = self.file_sizes(table, delta)?;
        let ids = match kept.filter(|kept| kept.version < version) {
            Some(kept) if kept.files.keys().all(|path| files.contains_key(path)) => {
                let mut ids = kept.ids.as_ref().clone();
                for (path, size) in files
                    .iter()
                    .filter(|(path, _)| !kept.files.contains_key(*path))
                {
                    self.read_ids(table, path, *size, &mut ids).await?;
                }
                ids
            }
            _ => self.scan_ids(table, delta).await?,
        };
        let ids = Arc::new(ids);
        self.keep_ids_of(table, version, &ids, Arc::new(files));
        Ok(ids)
    }

    /// Keeps `ids` as the ids of `table` at the version `delta` is at.
    pub(super) fn keep_ids(
        &self,
        table: &Table,
        delta: &DeltaTable,
        ids: &Arc<Keys>,
    ) -> Result<(), SinkError> {
        let Some(version) = delta.version() else {
            return Ok(());
        };
        let files = Arc::new(self.file_sizes(table, delta)?);
        self.keep_ids_of(table, version, ids, files);
        Ok(())
    }

    fn keep_ids_of(
        &self,
        table: &Table,
        version: Version,
        ids: &Arc<Keys>,
        files: Arc<HashMap<Path, u64>>,
    ) {
        let kept = KeptIds {
            version,
            ids: Arc::clone(ids),
            files,
        };
        self.kept().ids.insert(table.name.to_owned(), kept);
    }

    /// The size of each data file of the version `delta` is at, by path.
    fn file_sizes(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<HashMap<Path, u64>, SinkError> {
        let files = self.files_of(table, delta)?;
        Ok(files
            .into_iter()
            .map(|file| (file.path, file.bytes))
            .collect())
    }

    /// Adds the ids of one data file of `table` to `ids`, reading only its id column.
    async fn read_ids(
        &self,
        table: &Table,
        path: &Path,
        size: u64,
        ids: &mut Keys,
    ) -> Result<(), SinkError> {
        let location = self.warehouse.child(&table.name)?;
        let reader = StoredParquet::new(location.store.clone(), path.clone(), size);
        let error = |error: ParquetError| SinkError::Config {
            target: format!("{}{path}", location.url),
            reason: error.to_string(),
        };
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(error)?;
        let key =
            ProjectionMask::columns(builder.parquet_schema(), [table.key_column().name.as_str()]);
        let mut batches = builder.with_projection(key).build().map_err(error)?;
        while let Some(batch) = batches.try_next().await.map_err(error)? {
            ids.insert_column(batch.column(0));
        }
        Ok(())
    }

    async fn scan_ids(&self, table: &Table, delta: &DeltaTable) -> Result<Keys, SinkError> {
        self.scan_values(table, delta, &table.key_column().name)
            .await
    }

    /// The distinct values of the key or reference `column` of the table, at the version
    /// `delta` is at.
    pub(super) async fn scan_values(
        &self,
        table: &Table,
        delta: &DeltaTable,
        column: &str,
    ) -> Result<Keys, SinkError> {
        let mut values = Keys::of(&table.column(column).kind);
        if delta.version().is_none() {
            return Ok(values);
        }
        let sql = format!("SELECT DISTINCT \"{column}\" FROM {SCANNED}");
        let mut batches = self.query(&table.name, delta, &sql).await?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(self.query_error(&table.name))?
        {
            values.insert_column(batch.column(0));
        }
        Ok(values)
    }
}
