//! Each table's `id` set, as a compact bitmap kept per table version: the foreign-key rules of
//! other tables accept these ids, and a load tells from them whether it replaces rows.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::kernel::Version;
use futures::TryStreamExt;
use roaring::RoaringTreemap;

use super::{DeltaTarget, SCANNED};
use crate::dictionary::Table;
use crate::sink::{SinkError, insert_ids};

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
        self.scan_values(table, delta, table.key_column().name)
            .await
    }

    /// The distinct values of the Int64 `column` of the table, at the version `delta` is at.
    pub(super) async fn scan_values(
        &self,
        table: &Table,
        delta: &DeltaTable,
        column: &str,
    ) -> Result<RoaringTreemap, SinkError> {
        let mut values = RoaringTreemap::new();
        if delta.version().is_none() {
            return Ok(values);
        }
        let sql = format!("SELECT DISTINCT \"{column}\" FROM {SCANNED}");
        let mut batches = self.query(table.name, delta, &sql).await?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(self.query_error(table.name))?
        {
            insert_ids(&mut values, &batch, 0);
        }
        Ok(values)
    }
}
