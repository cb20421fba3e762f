//! One snapshot file, streamed: rows in, Parquet (zstd) or an Avro object container file
//! (deflate) out to the backups location, hashed as written; or a file copied as it is. Memory holds one batch and its
//! encoding, never the table; the object appears whole when it is finished, or not at all.

use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arrow_avro::compression::CompressionCodec;
use arrow_avro::writer::WriterBuilder;
use arrow_avro::writer::format::AvroOcfFormat;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::path::Path;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{BackupError, Format};
use crate::store::Location;

/// What was written.
pub(super) struct Written {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Batches of a table's rows, from whichever engine reads them.
pub(super) type Rows<'a> = BoxStream<'a, Result<RecordBatch, String>>;

/// Writes `rows` (cast to `schema`) as `format` to `key` of `location`.
pub(super) async fn write(
    format: Format,
    location: &Location,
    key: &str,
    schema: &SchemaRef,
    rows: Rows<'_>,
) -> Result<Written, BackupError> {
    let digest = Arc::new(Mutex::new(Digested::default()));
    let out = Hashing {
        inner: BufWriter::new(location.store.clone(), Path::from(key)),
        digest: Arc::clone(&digest),
    };
    let error = |reason: String| BackupError::Write {
        location: format!("{}{key}", location.url),
        reason,
    };
    let rows = match format {
        Format::Parquet => parquet(out, schema, rows).await,
        Format::Avro => avro(out, schema, rows).await,
    }
    .map_err(error)?;
    Ok(written(&digest, rows))
}

/// Copies the object at `path` of `from` byte for byte to `key` of `location`, hashed as
/// written; `rows` is what the caller knows the object holds.
pub(super) async fn copy(
    from: &Location,
    path: &Path,
    location: &Location,
    key: &str,
    rows: u64,
) -> Result<Written, BackupError> {
    let digest = Arc::new(Mutex::new(Digested::default()));
    let mut out = Hashing {
        inner: BufWriter::new(location.store.clone(), Path::from(key)),
        digest: Arc::clone(&digest),
    };
    let copied = async {
        let source = from.store.get(path).await.map_err(std::io::Error::other)?;
        let mut chunks = source.into_stream();
        while let Some(chunk) = chunks.next().await {
            out.write_all(&chunk.map_err(std::io::Error::other)?)
                .await?;
        }
        out.shutdown().await
    }
    .await;
    if let Err(error) = copied {
        let _ = out.inner.abort().await;
        return Err(BackupError::Write {
            location: format!("{}{key}", location.url),
            reason: format!("copying {}{path}: {error}", from.url),
        });
    }
    Ok(written(&digest, rows))
}

fn written(digest: &Mutex<Digested>, rows: u64) -> Written {
    let digested = digest.lock().expect("no panic while hashing");
    Written {
        rows,
        bytes: digested.bytes,
        sha256: format!("{:x}", digested.hasher.clone().finalize()),
    }
}

async fn parquet(out: Hashing, schema: &SchemaRef, mut rows: Rows<'_>) -> Result<u64, String> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = AsyncArrowWriter::try_new(out, Arc::clone(schema), Some(properties))
        .map_err(|error| error.to_string())?;
    let mut count = 0;
    while let Some(batch) = rows.next().await {
        let batch = crate::shape::to_schema(&batch?, schema).map_err(|error| error.to_string())?;
        count += batch.num_rows() as u64;
        writer
            .write(&batch)
            .await
            .map_err(|error| error.to_string())?;
    }
    writer.close().await.map_err(|error| error.to_string())?;
    Ok(count)
}

async fn avro(mut out: Hashing, schema: &SchemaRef, mut rows: Rows<'_>) -> Result<u64, String> {
    // The Avro writer is synchronous: it encodes each batch as one block into `encoded`,
    // which is drained into the upload after every batch.
    let encoded = Drained::default();
    let mut writer = WriterBuilder::new(schema.as_ref().clone())
        .with_compression(Some(CompressionCodec::Deflate))
        .build::<_, AvroOcfFormat>(encoded.clone())
        .map_err(|error| error.to_string())?;
    let mut count = 0;
    let result = async {
        out.write_all(&encoded.take()).await?;
        while let Some(batch) = rows.next().await {
            let batch = batch.map_err(std::io::Error::other)?;
            let batch = crate::shape::to_schema(&batch, schema).map_err(std::io::Error::other)?;
            count += batch.num_rows() as u64;
            writer.write(&batch).map_err(std::io::Error::other)?;
            out.write_all(&encoded.take()).await?;
        }
        writer.finish().map_err(std::io::Error::other)?;
        out.write_all(&encoded.take()).await?;
        out.shutdown().await
    }
    .await;
    match result {
        Ok(()) => Ok(count),
        Err(error) => {
            let _ = out.inner.abort().await;
            Err(error.to_string())
        }
    }
}

/// An in-memory sink the Avro writer writes into and the upload drains.
#[derive(Clone, Default)]
struct Drained(Arc<Mutex<Vec<u8>>>);

impl Drained {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("no panic while encoding"))
    }
}

impl Write for Drained {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("no panic while encoding")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct Digested {
    hasher: Sha256,
    bytes: u64,
}

/// An upload that hashes every byte it takes.
struct Hashing {
    inner: BufWriter,
    digest: Arc<Mutex<Digested>>,
}

impl AsyncWrite for Hashing {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(count)) = written {
            let mut digest = this.digest.lock().expect("no panic while hashing");
            digest.hasher.update(&buf[..count]);
            digest.bytes += count as u64;
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
