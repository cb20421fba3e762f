//! Checking a snapshot before anything trusts it: its manifest against the dictionary, its
//! data file against the manifest (size, SHA-256), and its rows against the manifest's count
//! by decoding the whole file. Streamed, like the backup.

use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::manifest::{self, File, Manifest};
use super::{BackupError, Backups};
use crate::dictionary::Table;

impl Backups {
    /// The snapshot `id` of `table`, or its latest when `id` is `None` or `latest`.
    pub async fn find(&self, table: &Table, id: Option<&str>) -> Result<Manifest, BackupError> {
        let mut snapshots = self.list(Some(table)).await?;
        let found = match id {
            None | Some("latest") => snapshots.pop(),
            Some(id) => snapshots.into_iter().find(|snapshot| snapshot.id == id),
        };
        found.ok_or_else(|| BackupError::NoSnapshot {
            table: table.name.to_owned(),
            id: id.unwrap_or("latest").to_owned(),
        })
    }

    /// Whether the snapshot holds what its manifest says, in the dictionary's schema: the
    /// first problem found, or its row count.
    pub async fn verify(&self, manifest: &Manifest) -> Result<u64, BackupError> {
        self.verify_bytes(manifest).await?;
        let mut rows = 0;
        for file in &manifest.files {
            let counted = self.count_rows(manifest, file).await;
            rows += counted.map_err(|problem| self.refused(manifest, problem))?;
        }
        if rows != manifest.rows {
            return Err(self.refused(
                manifest,
                format!("it holds {rows} rows, the manifest says {}", manifest.rows),
            ));
        }
        Ok(rows)
    }

    /// The manifest's schema against the dictionary, and each file's size and SHA-256 against
    /// the manifest: all of [`Backups::verify`] but decoding the rows, which a restore does as
    /// it stages them (and refuses a count that differs before it commits).
    pub(super) async fn verify_bytes(&self, manifest: &Manifest) -> Result<(), BackupError> {
        let refused = |problem: String| self.refused(manifest, problem);
        let table = (self.dictionary.table(&manifest.table))
            .ok_or_else(|| refused(format!("no table {:?} in the dictionary", manifest.table)))?;
        let declared = manifest::schema_of(table);
        if manifest.schema != declared {
            return Err(refused(format!(
                "its schema {} is not the table's {}",
                columns(&manifest.schema),
                columns(&declared)
            )));
        }
        for file in &manifest.files {
            self.check_bytes(manifest, file).await.map_err(&refused)?;
        }
        Ok(())
    }

    /// `problem` as the reason the snapshot is refused, naming its folder.
    pub(super) fn refused(&self, manifest: &Manifest, problem: String) -> BackupError {
        let folder = manifest::folder(&manifest.table, &manifest.id);
        BackupError::Refused {
            snapshot: format!("{}{folder}/", self.location.url),
            problem,
        }
    }

    /// The file's size, then its SHA-256, against the manifest's.
    async fn check_bytes(&self, manifest: &Manifest, file: &File) -> Result<(), String> {
        let key = Path::from(manifest.key(&file.name));
        let found = match self.location.store.get(&key).await {
            Ok(found) => found,
            Err(datafusion::object_store::Error::NotFound { .. }) => {
                return Err(format!("{} is missing", file.name));
            }
            Err(error) => return Err(format!("{}: {error}", file.name)),
        };
        if found.meta.size != file.bytes {
            return Err(format!(
                "{} has {} bytes, the manifest says {} (truncated or changed)",
                file.name, found.meta.size, file.bytes
            ));
        }
        let mut hasher = Sha256::new();
        let mut chunks = found.into_stream();
        while let Some(chunk) = chunks.next().await {
            hasher.update(chunk.map_err(|error| format!("{}: {error}", file.name))?);
        }
        let sha256 = format!("{:x}", hasher.finalize());
        match sha256 == file.sha256 {
            true => Ok(()),
            false => Err(format!(
                "{}'s SHA-256 is {sha256}, the manifest says {} (the file changed)",
                file.name, file.sha256
            )),
        }
    }

    /// Decodes the whole file: the rows it holds.
    async fn count_rows(&self, manifest: &Manifest, file: &File) -> Result<u64, String> {
        let rows = self.rows(manifest, file).await?;
        rows.try_fold(
            0,
            |sum, batch| async move { Ok(sum + batch.num_rows() as u64) },
        )
        .await
    }
}

fn columns(schema: &[manifest::Column]) -> String {
    let columns: Vec<String> = (schema.iter())
        .map(|column| format!("{} {}", column.name, column.data_type))
        .collect();
    format!("({})", columns.join(", "))
}
