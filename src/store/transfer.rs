//! Reading and writing objects: reads stream chunk by chunk, and an upload appears whole when
//! its body ends, or not at all.

use std::sync::Arc;

use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::{GetOptions, ObjectStoreExt};
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::{Location, ObjectVersion, StoreError, UploadError, object_path};

/// Bytes of a remote object fetched ahead of its reader: the transfer goes on while the parser
/// works on the bytes before, instead of the two taking turns. A byte budget, not a chunk count,
/// since a store's chunks can be large: memory stays this much whatever the object's size.
pub const READ_AHEAD_BYTES: u32 = 8 << 20;

type Chunks = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// `chunks`, pulled by a task of their own up to [`READ_AHEAD_BYTES`] ahead of the reader: a
/// chunk holds its share of the budget until the reader takes it.
fn read_ahead(mut chunks: Chunks) -> Chunks {
    let budget = Arc::new(Semaphore::new(READ_AHEAD_BYTES as usize));
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(chunk) = chunks.next().await {
            let size = chunk.as_ref().map_or(0, |bytes| bytes.len());
            let share =
                u32::try_from(size).map_or(READ_AHEAD_BYTES, |size| size.min(READ_AHEAD_BYTES));
            let Ok(held) = Arc::clone(&budget).acquire_many_owned(share).await else {
                return;
            };
            let failed = chunk.is_err();
            // The reader went away, or the transfer failed (the reader gets the error).
            if sender.send((chunk, held)).is_err() || failed {
                return;
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        let (chunk, _released_when_taken) = receiver.recv().await?;
        Some((chunk, receiver))
    })
    .boxed()
}

impl Location {
    /// Reads an object as a blocking [`std::io::Read`], streamed chunk by chunk.
    ///
    /// Call from async code; read the result on a blocking thread.
    pub async fn reader(
        &self,
        key: &str,
    ) -> Result<impl std::io::Read + Send + 'static, StoreError> {
        self.reader_with(key, GetOptions::default()).await
    }

    /// Like [`Location::reader`], of exactly the version `object` names when it names one (a
    /// versioned bucket), not whichever version is current by the time it is read.
    pub async fn reader_of(
        &self,
        object: &ObjectVersion,
    ) -> Result<impl std::io::Read + Send + 'static, StoreError> {
        let options = GetOptions {
            version: object.version_id().map(str::to_owned),
            ..GetOptions::default()
        };
        self.reader_with(&object.key, options).await
    }

    async fn reader_with(
        &self,
        key: &str,
        options: GetOptions,
    ) -> Result<impl std::io::Read + Send + 'static, StoreError> {
        let result = self
            .store
            .get_opts(&object_path(key), options)
            .await
            .map_err(|source| self.object_error(key, source))?;
        let chunks = result.into_stream().map_err(std::io::Error::other).boxed();
        let chunks = match self.is_s3() {
            true => read_ahead(chunks),
            false => chunks,
        };
        Ok(SyncIoBridge::new(StreamReader::new(chunks)))
    }

    /// The whole object at `key`: only for objects known to be small.
    pub async fn read_small(&self, key: &str) -> Result<bytes::Bytes, StoreError> {
        let result = self
            .store
            .get(&object_path(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
        result
            .bytes()
            .await
            .map_err(|source| self.object_error(key, source))
    }

    /// Removes the object at `key` (one already gone counts as removed).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&object_path(key)).await {
            Ok(()) | Err(datafusion::object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.object_error(key, source)),
        }
    }

    /// The current version of the object at `key`.
    pub async fn head(&self, key: &str) -> Result<ObjectVersion, StoreError> {
        let meta = self
            .store
            .head(&object_path(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
        Ok(ObjectVersion::new(self, key, &meta))
    }

    /// The version `version_id` of the object at `key` (a versioned bucket's), current or not.
    pub async fn head_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<ObjectVersion, StoreError> {
        let options = GetOptions {
            head: true,
            version: Some(version_id.to_owned()),
            ..GetOptions::default()
        };
        let result = (self.store.get_opts(&object_path(key), options).await)
            .map_err(|source| self.object_error(key, source))?;
        let mut meta = result.meta;
        // A store that does not echo the version back still answered for this one.
        meta.version.get_or_insert_with(|| version_id.to_owned());
        Ok(ObjectVersion::new(self, key, &meta))
    }

    /// Streams `body` into the object at `key`, at most `limit` bytes; the object appears
    /// whole when the body ends, or not at all (an upload cut short or too large is aborted).
    pub async fn upload<E: std::fmt::Display>(
        &self,
        key: &str,
        mut body: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        limit: u64,
    ) -> Result<ObjectVersion, UploadError> {
        let mut writer = BufWriter::new(self.store.clone(), object_path(key));
        let mut written = 0u64;
        let copied = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|error| UploadError::Body(error.to_string()))?;
                written += chunk.len() as u64;
                if written > limit {
                    return Err(UploadError::TooLarge { limit });
                }
                writer.write_all(&chunk).await.map_err(|source| {
                    UploadError::Store(StoreError::Io {
                        location: format!("{}{key}", self.url),
                        source,
                    })
                })?;
            }
            if written == 0 {
                return Err(UploadError::Empty);
            }
            Ok(())
        }
        .await;
        if let Err(error) = copied {
            let _ = writer.abort().await;
            return Err(error);
        }
        writer.shutdown().await.map_err(|source| {
            UploadError::Store(StoreError::Io {
                location: format!("{}{key}", self.url),
                source,
            })
        })?;
        Ok(self.head(key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_upload_over_the_limit_or_empty_leaves_no_object() {
        let dir = tempfile::tempdir().unwrap();
        let landing = Location::parse(dir.path().to_str().unwrap(), false).unwrap();
        let body = |parts: &[&'static str]| {
            futures::stream::iter(
                parts
                    .iter()
                    .map(|part| Ok::<_, std::io::Error>(bytes::Bytes::from_static(part.as_bytes())))
                    .collect::<Vec<_>>(),
            )
        };
        let stored = landing
            .upload("jobs.csv", body(&["1,A\n", "2,B\n"]), 8)
            .await
            .unwrap();
        assert_eq!((stored.key.as_str(), stored.size), ("jobs.csv", 8));
        let too_large = landing
            .upload("big.csv", body(&["1,A\n", "2,B\n"]), 7)
            .await;
        assert!(matches!(too_large, Err(UploadError::TooLarge { limit: 7 })));
        let empty = landing.upload("empty.csv", body(&[]), 7).await;
        assert!(matches!(empty, Err(UploadError::Empty)));
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["jobs.csv"]);
    }
}
