//! Where objects live: one parser for locations, and the buckets csvgate reads and writes.
//!
//! A location is a bare path (`./csvgate-data/landing`), a `file://` URL or, in production, an
//! `s3://` URL (not built yet: [`StoreError::Unsupported`] is the seam). Every location becomes
//! an [`ObjectStore`] rooted at it, so the rest of csvgate speaks only in keys.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::io::{StreamReader, SyncIoBridge};
use url::Url;

/// Why a location could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{location}: {scheme}:// locations are not supported yet (use a local path or file://)"
    )]
    Unsupported { location: String, scheme: String },
    #[error("{location}: not a usable location: {reason}")]
    Invalid { location: String, reason: String },
    #[error("{location}: no such file or folder")]
    NotFound { location: String },
    #[error("{location}: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
    #[error("{location}: {source}")]
    Object {
        location: String,
        source: datafusion::object_store::Error,
    },
}

/// Why an upload was not stored; nothing of it is left in the store.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body is empty")]
    Empty,
    #[error("reading the body: {0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks that an object key a client sent is a plain relative path (`hired_employees.csv`,
/// `jobs/2024.csv`): no absolute path, no `..` or `.` segment, no empty segment, no backslash
/// or control character, so it cannot name anything outside its bucket.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.starts_with('/') {
        return Err(format!("{key:?}: an absolute key is not allowed"));
    }
    if key.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(format!(
            "{key:?}: backslashes and control characters are not allowed"
        ));
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "{key:?}: empty, `.` and `..` segments are not allowed"
        ));
    }
    Ok(())
}

/// A folder or bucket prefix and the object store rooted there.
#[derive(Debug, Clone)]
pub struct Location {
    /// The location as a URL ending in `/`, as recorded in the ledger.
    pub url: Url,
    pub store: Arc<dyn ObjectStore>,
}

/// One version of one object: what the ledger records as processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// URL of the location the key is relative to.
    pub location: String,
    pub key: String,
    /// The store's ETag, else `size-mtime`: a rewritten object is a new version.
    pub version: String,
    pub size: u64,
}

impl ObjectVersion {
    fn new(location: &Location, meta: &ObjectMeta) -> Self {
        let version = meta
            .e_tag
            .clone()
            .unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_millis()));
        ObjectVersion {
            location: location.url.to_string(),
            key: meta.location.to_string(),
            version,
            size: meta.size,
        }
    }

    /// Names this version uniquely across locations.
    pub fn fingerprint(&self) -> String {
        format!("{}{}@{}", self.location, self.key, self.version)
    }

    /// The object's file name without folders and extension (`hired_employees`).
    pub fn stem(&self) -> &str {
        let file = self.key.rsplit('/').next().unwrap_or(&self.key);
        file.split('.').next().unwrap_or(file)
    }
}

impl Location {
    /// Parses a bare path or URL naming a folder; `create` makes a missing local folder.
    pub fn parse(text: &str, create: bool) -> Result<Location, StoreError> {
        let folder = local_path(text)?;
        if create {
            std::fs::create_dir_all(&folder).map_err(|source| StoreError::Io {
                location: text.to_owned(),
                source,
            })?;
        }
        Self::local_folder(text, &folder)
    }

    fn local_folder(text: &str, folder: &FsPath) -> Result<Location, StoreError> {
        let folder = folder.canonicalize().map_err(|_| StoreError::NotFound {
            location: text.to_owned(),
        })?;
        let url = Url::from_directory_path(&folder).map_err(|()| StoreError::Invalid {
            location: text.to_owned(),
            reason: "not an absolute path".into(),
        })?;
        let store =
            LocalFileSystem::new_with_prefix(&folder).map_err(|source| StoreError::Object {
                location: text.to_owned(),
                source,
            })?;
        Ok(Location {
            url,
            store: Arc::new(store),
        })
    }

    /// A location inside this one (`warehouse` → `warehouse/jobs/`).
    pub fn child(&self, name: &str) -> Result<Location, StoreError> {
        let url = self
            .url
            .join(&format!("{name}/"))
            .map_err(|error| StoreError::Invalid {
                location: name.to_owned(),
                reason: error.to_string(),
            })?;
        Location::parse(url.as_str(), true)
    }

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

    /// The objects an ingest argument names: one file, or every `.csv` below a folder, by key.
    pub async fn resolve(text: &str) -> Result<(Location, Vec<ObjectVersion>), StoreError> {
        let path = local_path(text)?;
        if path.is_file() {
            let parent = path
                .parent()
                .map_or_else(|| PathBuf::from("."), FsPath::to_path_buf);
            let location = Self::local_folder(
                text,
                if parent.as_os_str().is_empty() {
                    FsPath::new(".")
                } else {
                    &parent
                },
            )?;
            let key = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let meta = location
                .store
                .head(&Path::from(key.as_str()))
                .await
                .map_err(|source| location.object_error(&key, source))?;
            let objects = vec![ObjectVersion::new(&location, &meta)];
            return Ok((location, objects));
        }
        let location = Self::local_folder(text, &path)?;
        let mut objects: Vec<ObjectVersion> = location
            .store
            .list(None)
            .filter_map(|meta| async { meta.ok() })
            .filter(|meta| std::future::ready(is_csv(&meta.location)))
            .map(|meta| ObjectVersion::new(&location, &meta))
            .collect()
            .await;
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((location, objects))
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

    /// The key of an object of this location given by its URL.
    pub fn key_of(&self, url: &str) -> Result<String, StoreError> {
        url.strip_prefix(self.url.as_str())
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Invalid {
                location: url.to_owned(),
                reason: format!("not inside {}", self.url),
            })
    }

    /// The current version of the object at `key`.
    pub async fn head(&self, key: &str) -> Result<ObjectVersion, StoreError> {
        let meta = self
            .store
            .head(&Path::from(key))
            .await
            .map_err(|source| self.object_error(key, source))?;
        Ok(ObjectVersion::new(self, &meta))
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

    fn object_error(&self, key: &str, source: datafusion::object_store::Error) -> StoreError {
        StoreError::Object {
            location: format!("{}{key}", self.url),
            source,
        }
    }
}

fn is_csv(path: &Path) -> bool {
    let name = path.filename().unwrap_or_default();
    !name.starts_with('.') && name.to_ascii_lowercase().ends_with(".csv")
}

/// The local folder or file a bare path or `file://` URL names.
fn local_path(text: &str) -> Result<PathBuf, StoreError> {
    match text.split_once("://") {
        None => Ok(PathBuf::from(text)),
        Some(("file", _)) => Url::parse(text)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .ok_or_else(|| StoreError::Invalid {
                location: text.to_owned(),
                reason: "not a valid file:// URL".into(),
            }),
        Some((scheme, _)) => Err(StoreError::Unsupported {
            location: text.to_owned(),
            scheme: scheme.to_owned(),
        }),
    }
}

/// The locations one csvgate deployment works with.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// Where uploads land and `ingest` looks by default.
    pub landing: Location,
    /// Where each processed object's rejected rows are written for review.
    pub invalid: Location,
    /// Root of the Delta Lake warehouse: one table folder per dictionary table.
    pub warehouse: Location,
}

impl Buckets {
    /// Opens (and creates, when local) the three buckets.
    pub fn open(landing: &str, invalid: &str, warehouse: &str) -> Result<Buckets, StoreError> {
        Ok(Buckets {
            landing: Location::parse(landing, true)?,
            invalid: Location::parse(invalid, true)?,
            warehouse: Location::parse(warehouse, true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_keys_pass() {
        for good in ["hired_employees.csv", "jobs/2024.csv", "a b/c..d.csv"] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.csv",
            "a/../b.csv",
            "a//b.csv",
            "./a.csv",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

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

    #[test]
    fn s3_is_a_clear_not_yet() {
        let error = Location::parse("s3://bucket/landing", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "s3://bucket/landing: s3:// locations are not supported yet (use a local path or file://)"
        );
    }

    #[tokio::test]
    async fn a_folder_resolves_to_its_csv_objects_by_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("jobs")).unwrap();
        std::fs::write(dir.path().join("jobs/2024.csv"), "1,A\n").unwrap();
        std::fs::write(dir.path().join("departments.CSV"), "1,A\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let url = Url::from_directory_path(dir.path()).unwrap();
        let (location, objects) = Location::resolve(url.as_str()).await.unwrap();
        let keys: Vec<&str> = objects.iter().map(|object| object.key.as_str()).collect();
        assert_eq!(keys, ["departments.CSV", "jobs/2024.csv"]);
        assert_eq!(objects[1].size, 4);
        assert!(location.url.as_str().ends_with('/'));
        let (_, single) = Location::resolve(dir.path().join("jobs/2024.csv").to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(single[0].key, "2024.csv");
        assert_eq!(single[0].version, objects[1].version);
    }
}
