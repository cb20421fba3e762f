//! What an `ingest` argument names: one object, or every `.csv` below a folder or prefix, by
//! key. A listing that fails is an error naming the location, never an empty run.

use std::path::{Path as FsPath, PathBuf};

use datafusion::object_store::ObjectMeta;
use datafusion::object_store::path::Path;
use futures::TryStreamExt;
use url::Url;

use super::location::{Named, name};
use super::{Location, ObjectVersion, S3Settings, StoreError, s3};

impl Location {
    /// The objects `text` names, with the location their keys are relative to.
    pub async fn resolve(
        text: &str,
        settings: &S3Settings,
    ) -> Result<(Location, Vec<ObjectVersion>), StoreError> {
        match name(text)? {
            Named::Local(path) if path.is_file() => local_file(text, &path).await,
            Named::Local(folder) => {
                let location = Location::local_folder(text, &folder)?;
                let objects = location.csv_objects().await?;
                Ok((location, objects))
            }
            Named::S3(url) => s3_object_or_prefix(&url, settings).await,
        }
    }

    /// Every `.csv` object below this location, by key.
    pub async fn csv_objects(&self) -> Result<Vec<ObjectVersion>, StoreError> {
        let listed: Vec<ObjectMeta> = self
            .store
            .list(None)
            .try_collect()
            .await
            .map_err(|source| self.object_error("", source))?;
        let mut objects: Vec<ObjectVersion> = listed
            .iter()
            .filter(|meta| is_csv(&meta.location))
            .map(|meta| ObjectVersion::new(self, meta.location.as_ref(), meta))
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

async fn local_file(
    text: &str,
    path: &FsPath,
) -> Result<(Location, Vec<ObjectVersion>), StoreError> {
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), FsPath::to_path_buf);
    let location = Location::local_folder(text, &parent)?;
    let key = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let object = location.head(&key).await?;
    Ok((location, vec![object]))
}

/// `s3://bucket/prefix/` is a prefix; `s3://bucket/a/b.csv` is the object `b.csv` of `a/`
/// when it exists, else the prefix `a/b.csv/`.
async fn s3_object_or_prefix(
    url: &Url,
    settings: &S3Settings,
) -> Result<(Location, Vec<ObjectVersion>), StoreError> {
    let (parent, last) = url.path().rsplit_once('/').unwrap_or(("", ""));
    if !last.is_empty() {
        let mut parent_url = url.clone();
        parent_url.set_path(&format!("{parent}/"));
        let folder = s3::open(&parent_url, settings)?;
        let key = Path::from_url_path(last).map_err(|error| StoreError::Invalid {
            location: url.to_string(),
            reason: error.to_string(),
        })?;
        match folder.head(key.as_ref()).await {
            Ok(object) => return Ok((folder, vec![object])),
            Err(StoreError::Object {
                source: datafusion::object_store::Error::NotFound { .. },
                ..
            }) => {}
            Err(error) => return Err(error),
        }
    }
    let prefix = s3::open(url, settings)?;
    let objects = prefix.csv_objects().await?;
    Ok((prefix, objects))
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
        let settings = S3Settings::default();
        let (location, objects) = Location::resolve(url.as_str(), &settings).await.unwrap();
        let keys: Vec<&str> = objects.iter().map(|object| object.key.as_str()).collect();
        assert_eq!(keys, ["departments.CSV", "jobs/2024.csv"]);
        assert_eq!(objects[1].size, 4);
        assert!(location.url.as_str().ends_with('/'));
        let file = dir.path().join("jobs/2024.csv");
        let (_, single) = Location::resolve(file.to_str().unwrap(), &settings)
            .await
            .unwrap();
        assert_eq!(single[0].key, "2024.csv");
        assert_eq!(single[0].version, objects[1].version);
    }
}
