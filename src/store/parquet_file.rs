//! A Parquet file in an object store, read by byte ranges: what the Delta target rewrites and
//! backups are checked from. Its size is known beforehand (the Delta log, a manifest), so the
//! footer is found without asking the store.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectStore, ObjectStoreExt};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::FutureExt;
use futures::future::BoxFuture;

/// A Parquet file of `size` bytes at `path` of `store`.
pub struct StoredParquet {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    pub size: u64,
}

fn store_error(source: datafusion::object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(source))
}

impl AsyncFileReader for StoredParquet {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes, ParquetError>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(store_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>, ParquetError>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}
