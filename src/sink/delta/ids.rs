//! Each table's `id` set, as a compact bitmap kept per table version: the foreign-key rules of
//! other tables accept these ids, and a load tells from them whether it replaces rows.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use deltalake::DeltaTable;
use deltalake::kernel::Version;
use futures::TryStreamExt;
use roaring::RoaringTreemap;

use super::{DeltaTarget, SCANNED};
use crate::dictionary::Table;
use crate::sink::SinkError;

impl DeltaTarget {
    /// Every `id` in the table at the version `delta` is at.
    pub(super) async fn id_set(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<Arc<RoaringTreemap>, SinkError> {
        let Some(version) = delta.version() else {
            return Ok(Arc::default());
        };
        if let Some((kept_version, ids)) = self.kept().ids.get(table.name)
            && *kept_version == version
        {
            return Ok(Arc::clone(ids));
        }
        let ids = Arc::new(self.scan_ids(table, delta).await?);
        self.keep_ids(table, version, &ids);
        Ok(ids)
    }

    pub(super) fn keep_ids(&self, table: &Table, version: Version, ids: &Arc<RoaringTreemap>) {
        self.kept()
            .ids
            .insert(table.name.to_owned(), (version, Arc::clone(ids)));
    }

    async fn scan_ids(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<RoaringTreemap, SinkError> {
        let mut ids = RoaringTreemap::new();
        let key = table.key_column().name;
        let mut batches = self
            .query(
                table.name,
                delta,
                &format!("SELECT \"{key}\" FROM {SCANNED}"),
            )
            .await?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(self.query_error(table.name))?
        {
            insert_ids(&mut ids, &batch, 0);
        }
        Ok(ids)
    }
}

/// Adds the ids of the Int64 `column` of `batch` to `ids`.
pub(super) fn insert_ids(ids: &mut RoaringTreemap, batch: &RecordBatch, column: usize) {
    let values = batch.column(column).as_primitive::<Int64Type>();
    ids.extend(
        values
            .values()
            .iter()
            .filter_map(|&id| u64::try_from(id).ok()),
    );
}
