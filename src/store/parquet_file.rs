//! A Parquet file in an object store, read by byte ranges: what the Delta target rewrites and
//! backups are checked from. Its size is known beforehand (the Delta log, a manifest), so the
//! footer is found without asking the store. A small file about to be read all through can be
//! fetched whole instead, once: its footer and each column chunk are a request each, and on S3
//! a request costs more than a small file's bytes.

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

/// Files up to this size are fetched whole by [`StoredParquet::whole_if_small`] (a data file
/// an upload's replace rewrites is typically tens of kilobytes); a larger one is read by
/// ranges, as it streams.
const WHOLE_FILE_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// A Parquet file of `size` bytes at `path` of `store`.
#[derive(Clone)]
pub struct StoredParquet {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    /// The whole file, when it was fetched at once.
    whole: Option<Bytes>,
}

impl StoredParquet {
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> StoredParquet {
        StoredParquet {
            store,
            path,
            size,
            whole: None,
        }
    }

    /// The same file, fetched whole in one request when it is at most
    /// [`WHOLE_FILE_MAX_BYTES`] (as the store says, whatever size it was given): for a file
    /// about to be read all through.
    pub async fn whole_if_small(self) -> Result<StoredParquet, ParquetError> {
        if self.size > WHOLE_FILE_MAX_BYTES || self.whole.is_some() {
            return Ok(self);
        }
        let fetched = self.store.get(&self.path).await.map_err(store_error)?;
        if fetched.meta.size > WHOLE_FILE_MAX_BYTES {
            return Ok(self);
        }
        let whole = Some(fetched.bytes().await.map_err(store_error)?);
        Ok(StoredParquet { whole, ..self })
    }
}

fn store_error(source: datafusion::object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(source))
}

impl AsyncFileReader for StoredParquet {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes, ParquetError>> {
        async move {
            match &self.whole {
                Some(whole) => slice(whole, range),
                None => (self.store.get_range(&self.path, range).await).map_err(store_error),
            }
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

/// `range` of a file fetched whole; past its end is an error, as the store would answer.
fn slice(whole: &Bytes, range: Range<u64>) -> Result<Bytes, ParquetError> {
    let within = usize::try_from(range.start)
        .ok()
        .zip(usize::try_from(range.end).ok());
    match within {
        Some((start, end)) if start <= end && end <= whole.len() => Ok(whole.slice(start..end)),
        _ => Err(ParquetError::EOF(format!(
            "bytes {range:?} asked of a file of {} bytes",
            whole.len()
        ))),
    }
}
