//! Reading and writing objects: reads stream chunk by chunk, and an upload appears whole when
//! its body ends, or not at all.

use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::path::Path;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::{Location, ObjectVersion, StoreError, UploadError};

impl Location {
    /// Reads an object as a blocking [`std::io::Read`], streamed chunk by chunk.
    ///
    /// Call from async code; read the result on a blocking thread.
    pub async fn reader(
        &self,
        key: &str,
    ) -> Result<impl std::io::Read + Send + 'static, StoreError> {
        let result = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
        let chunks = result.into_stream().map_err(std::io::Error::other);
        Ok(SyncIoBridge::new(StreamReader::new(chunks)))
    }

    /// The whole object at `key`: only for objects known to be small.
    pub async fn read_small(&self, key: &str) -> Result<bytes::Bytes, StoreError> {
        let result = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
        result
            .bytes()
            .await
            .map_err(|source| self.object_error(key, source))
    }

    /// The current version of the object at `key`.
    pub async fn head(&self, key: &str) -> Result<ObjectVersion, StoreError> {
        let meta = self
            .store
            .head(&Path::from(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
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
        let mut writer = BufWriter::new(self.store.clone(), Path::from(key));
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
