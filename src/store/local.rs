//! Local folders as object stores.

use std::path::Path as FsPath;
use std::sync::Arc;

use datafusion::object_store::local::LocalFileSystem;
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
}
