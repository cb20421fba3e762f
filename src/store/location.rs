//! Locations: the one parser of the text users give for a bucket (a bare path, `file://` or
//! `s3://`), and the [`Location`] every bucket becomes.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::object_store::ObjectStore;
use url::Url;

use super::StoreError;
use super::s3::{self, S3Settings};

/// A bucket's URL (`s3://bucket/`) and the store at its root.
pub type BucketRoot = (Url, Arc<dyn ObjectStore>);

/// A folder or bucket prefix and the object store rooted there.
#[derive(Debug, Clone)]
pub struct Location {
    /// The location as a URL ending in `/`, as recorded in the ledger.
    pub url: Url,
    pub store: Arc<dyn ObjectStore>,
    /// The settings an `s3://` location was opened with, for the locations inside it.
    pub(super) s3: Option<Arc<S3Settings>>,
}

/// What a location's text names.
pub(super) enum Named {
    Local(PathBuf),
    S3(Url),
}

impl Location {
    /// Parses a bare path or URL naming a folder or prefix, with the environment's AWS
    /// settings for `s3://`; `create` makes a missing local folder.
    pub fn parse(text: &str, create: bool) -> Result<Location, StoreError> {
        Self::open(text, create, &S3Settings::default())
    }

    /// Like [`Location::parse`], with `s3` over the environment's AWS settings.
    pub fn open(text: &str, create: bool, s3: &S3Settings) -> Result<Location, StoreError> {
        let folder = match name(text)? {
            Named::S3(url) => return s3::open(&url, s3),
            Named::Local(folder) => folder,
        };
        if create {
            std::fs::create_dir_all(&folder).map_err(|source| StoreError::Io {
                location: text.to_owned(),
                source,
            })?;
        }
        Self::local_folder(text, &folder)
    }

    /// A bucket of a deployment: like [`Location::open`], but a missing local folder is left
    /// missing until the first object is written there (a listing finds nothing). Opening a
    /// deployment so writes nothing to disk: a function on a read-only disk whose buckets are
    /// elsewhere never touches the local defaults.
    pub fn bucket(text: &str, s3: &S3Settings) -> Result<Location, StoreError> {
        match name(text)? {
            Named::S3(url) => s3::open(&url, s3),
            Named::Local(folder) if folder.is_dir() => Self::local_folder(text, &folder),
            Named::Local(folder) => Self::future_folder(text, &folder),
        }
    }

    /// Whether objects here live in S3 rather than in a local folder.
    pub fn is_s3(&self) -> bool {
        self.s3.is_some()
    }

    /// This location's bucket as a URL (`s3://bucket/`) and the store at its root, for engines
    /// that address objects by full URL (a DataFusion runtime's object stores); `None` for a
    /// local folder, which every DataFusion runtime reaches through `file://` already.
    pub fn bucket_root(&self) -> Result<Option<BucketRoot>, StoreError> {
        match &self.s3 {
            Some(settings) => s3::bucket_root(&self.url, settings).map(Some),
            None => Ok(None),
        }
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
        match &self.s3 {
            Some(settings) => s3::open(&url, settings),
            None => Location::parse(url.as_str(), true),
        }
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

    pub(crate) fn object_error(
        &self,
        key: &str,
        source: datafusion::object_store::Error,
    ) -> StoreError {
        StoreError::Object {
            location: format!("{}{key}", self.url),
            source,
        }
    }
}

/// The whole of one small object named by a path or URL (a contract file): read through the
/// store its folder names, so `s3://bucket/key` reads as a local path does.
pub async fn read_object(text: &str, s3: &S3Settings) -> Result<bytes::Bytes, StoreError> {
    let (folder, key) = text.rsplit_once('/').unwrap_or((".", text));
    if key.is_empty() || folder.ends_with(':') || folder.ends_with(":/") {
        return Err(StoreError::Invalid {
            location: text.to_owned(),
            reason: "names a folder or a bucket, not an object".into(),
        });
    }
    let location = Location::open(&format!("{folder}/"), false, s3)?;
    location.read_small(key).await
}

/// What a bare path or URL names: a local folder or file, or an S3 prefix or object.
pub(super) fn name(text: &str) -> Result<Named, StoreError> {
    let invalid = |reason: &str| StoreError::Invalid {
        location: text.to_owned(),
        reason: reason.to_owned(),
    };
    match text.split_once("://") {
        None => Ok(Named::Local(PathBuf::from(text))),
        Some(("file", _)) => Url::parse(text)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .map(Named::Local)
            .ok_or_else(|| invalid("not a valid file:// URL")),
        Some(("s3", _)) => Url::parse(text)
            .map(Named::S3)
            .map_err(|_| invalid("not a valid s3:// URL (s3://bucket/prefix)")),
        Some((scheme, _)) => Err(StoreError::Unsupported {
            location: text.to_owned(),
            scheme: scheme.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_schemes_are_a_clear_no() {
        let error = Location::parse("gs://bucket/landing", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "gs://bucket/landing: gs:// locations are not supported (use a local path, file:// or s3://)"
        );
    }

    #[test]
    fn an_s3_location_and_its_children_keep_their_prefix() {
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:1".into()),
            allow_http: Some(true),
            ..S3Settings::default()
        };
        let landing = Location::open("s3://globant-landing/in", false, &settings).unwrap();
        assert_eq!(landing.url.as_str(), "s3://globant-landing/in/");
        assert!(landing.is_s3());
        let child = landing.child("jobs").unwrap();
        assert_eq!(child.url.as_str(), "s3://globant-landing/in/jobs/");
        assert_eq!(child.s3.as_deref(), Some(&settings));
    }
}
