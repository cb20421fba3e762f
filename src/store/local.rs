//! Local folders as object stores.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::object_store::prefix::PrefixStore;
use url::Url;

use super::{Location, StoreError};

impl Location {
    /// The folder `folder` (which `text` named) as a location; it must exist.
    pub(super) fn local_folder(text: &str, folder: &FsPath) -> Result<Location, StoreError> {
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
            s3: None,
        })
    }

    /// A folder that does not exist yet, named as [`Location::local_folder`] will name it once
    /// it does; the local store creates it with its first object.
    pub(super) fn future_folder(text: &str, folder: &FsPath) -> Result<Location, StoreError> {
        let invalid = |reason: String| StoreError::Invalid {
            location: text.to_owned(),
            reason,
        };
        let folder = canonical_to_be(folder).map_err(|error| invalid(error.to_string()))?;
        let url = Url::from_directory_path(&folder)
            .map_err(|()| invalid("not an absolute path".into()))?;
        let prefix =
            ObjectPath::from_absolute_path(&folder).map_err(|error| invalid(error.to_string()))?;
        let store = PrefixStore::new(LocalFileSystem::new(), prefix);
        Ok(Location {
            url,
            store: Arc::new(store),
            s3: None,
        })
    }
}

/// What `canonicalize` will return for `folder` once it exists: its nearest existing ancestor
/// canonicalized, with the missing names after it. So a bucket keeps one URL (and its ledger
/// entries their keys) whether it existed when a process opened it or not.
fn canonical_to_be(folder: &FsPath) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(folder)?;
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        match existing.canonicalize() {
            Ok(found) => {
                return Ok(missing
                    .iter()
                    .rev()
                    .fold(found, |path, name| path.join(name)));
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            Err(error) => {
                let (Some(name), Some(parent)) = (existing.file_name(), existing.parent()) else {
                    return Err(error);
                };
                missing.push(name);
                existing = parent;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::object_store::ObjectStoreExt;
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_missing_bucket_folder_is_made_by_its_first_object_under_the_url_it_will_have() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data/warehouse");
        let lazy = Location::bucket(folder.to_str().unwrap(), &Default::default()).unwrap();
        assert!(!dir.path().join("data").exists(), "opening wrote nothing");
        assert_eq!(lazy.store.list(None).count().await, 0);
        let key = ObjectPath::from("jobs/part-0.txt");
        lazy.store.put(&key, b"rows".to_vec().into()).await.unwrap();
        assert_eq!(
            std::fs::read(folder.join("jobs/part-0.txt")).unwrap(),
            b"rows"
        );
        let existing = Location::bucket(folder.to_str().unwrap(), &Default::default()).unwrap();
        assert_eq!(lazy.url, existing.url);
        assert_eq!(existing.store.list(None).count().await, 1);
    }
}
