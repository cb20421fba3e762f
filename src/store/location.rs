//! Locations: the one parser of the text users give for a bucket (a bare path, `file://`, and
//! later `s3://`), and the [`Location`] every bucket becomes.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::object_store::ObjectStore;
use url::Url;

use super::StoreError;

/// A folder or bucket prefix and the object store rooted there.
#[derive(Debug, Clone)]
pub struct Location {
    /// The location as a URL ending in `/`, as recorded in the ledger.
    pub url: Url,
    pub store: Arc<dyn ObjectStore>,
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

    /// The key of an object of this location given by its URL.
    pub fn key_of(&self, url: &str) -> Result<String, StoreError> {
        url.strip_prefix(self.url.as_str())
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Invalid {
                location: url.to_owned(),
                reason: format!("not inside {}", self.url),
            })
    }

    pub(super) fn object_error(
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

/// The local folder or file a bare path or `file://` URL names.
pub(super) fn local_path(text: &str) -> Result<PathBuf, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_is_a_clear_not_yet() {
        let error = Location::parse("s3://bucket/landing", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "s3://bucket/landing: s3:// locations are not supported yet (use a local path or file://)"
        );
    }
}
