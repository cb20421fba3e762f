//! Local folders as object stores, and the objects an `ingest` argument names in them: one file,
//! or every `.csv` below a folder.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path;
use futures::StreamExt;
use url::Url;

use super::location::local_path;
use super::{Location, ObjectVersion, StoreError};

impl Location {
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
        })
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
}

fn is_csv(path: &Path) -> bool {
    let name = path.filename().unwrap_or_default();
    !name.starts_with('.') && name.to_ascii_lowercase().ends_with(".csv")
}

#[cfg(test)]
mod tests {
    use super::*;

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
