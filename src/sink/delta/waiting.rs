//! Ledger entries waiting outside the Delta log, one small Parquet file each (written whole or
//! not at all), for two reasons:
//!
//! - **Queued** (`_csvgate_queue/<run id>.parquet`): an upload's `queued` entry must be durable
//!   before the client hears `202`, but committing it to the ledger table costs a Delta commit
//!   of its own, and every commit adds a file to the ledger's log that each later append lists
//!   again. So the entry waits here and enters the ledger table together with the run's ending
//!   entry, in one commit; the file is removed after. The ledger ends up holding the run's whole
//!   life, as if both had been committed one by one. A crash between that commit and the
//!   removal leaves a file whose run has ended: readers ignore it and reading the ledger
//!   ([`super::DeltaTarget`]'s `runs`) removes it.
//! - **Parked** (`_csvgate_held/<hash of the commit's marker>.parquet`): the `done` or
//!   `restored` entry of a commit about to be made, written before it, so a crash between the
//!   data commit and the ledger append cannot lose it ([`super::parked`]).

use bytes::Bytes;
use datafusion::arrow::error::ArrowError;
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectStoreExt, PutPayload};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::TryStreamExt;

use crate::ledger::{self, Entry};
use crate::sink::SinkError;
use crate::store::{Location, StoreError};

/// Folder of the queued entries inside the warehouse.
const QUEUE_FOLDER: &str = "_csvgate_queue";
/// Folder of the parked entries inside the warehouse.
/// The folder keeps its first name, so warehouses written before the rename are read as ever.
const PARKED_FOLDER: &str = "_csvgate_held";

/// The waiting entries of one kind in one warehouse, each under a name of its own.
pub(super) struct WaitingEntries {
    folder: Location,
}

impl WaitingEntries {
    /// `queued` entries, named by their run id.
    pub(super) fn queued(warehouse: &Location) -> Result<WaitingEntries, SinkError> {
        Ok(WaitingEntries {
            folder: warehouse.child(QUEUE_FOLDER)?,
        })
    }

    /// Entries of commits in progress, named by the commit's marker ([`super::parked`]).
    pub(super) fn parked(warehouse: &Location) -> Result<WaitingEntries, SinkError> {
        Ok(WaitingEntries {
            folder: warehouse.child(PARKED_FOLDER)?,
        })
    }

    /// Stores `entry` under `name`, replacing what was there.
    pub(super) async fn add(&self, name: &str, entry: &Entry) -> Result<(), SinkError> {
        let bytes = self.encode(entry)?;
        let path = file_of(name);
        let put = self.folder.store.put(&path, PutPayload::from(bytes));
        put.await.map_err(|source| self.error(&path, source))?;
        Ok(())
    }

    /// The entry stored under `name`, if there is one.
    pub(super) async fn get(&self, name: &str) -> Result<Option<Entry>, SinkError> {
        let path = file_of(name);
        let bytes = match self.folder.store.get(&path).await {
            Ok(found) => found.bytes().await,
            Err(datafusion::object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => Err(error),
        };
        let bytes = bytes.map_err(|source| self.error(&path, source))?;
        Ok(self.decode(bytes)?.into_iter().next())
    }

    /// Every waiting entry, in no particular order.
    pub(super) async fn all(&self) -> Result<Vec<Entry>, SinkError> {
        self.named_from("").await
    }

    /// The entries whose names start with `start`, in no particular order: only those files
    /// are read.
    pub(super) async fn named_from(&self, start: &str) -> Result<Vec<Entry>, SinkError> {
        let files: Vec<_> = self
            .folder
            .store
            .list(None)
            .try_collect()
            .await
            .map_err(|source| self.error(&Path::default(), source))?;
        let mut entries = Vec::with_capacity(files.len());
        for file in files {
            let name = file
                .location
                .filename()
                .and_then(|name| name.strip_suffix(".parquet"))
                .unwrap_or_default();
            if !name.starts_with(start) {
                continue;
            }
            if let Some(entry) = self.get(name).await? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Forgets the entry stored under `name`. A failure leaves a file readers ignore: logged
    /// only.
    pub(super) async fn remove(&self, name: &str) {
        let path = file_of(name);
        match self.folder.store.delete(&path).await {
            Ok(()) | Err(datafusion::object_store::Error::NotFound { .. }) => {}
            Err(error) => tracing::warn!(%path, %error, "could not remove a waiting ledger entry"),
        }
    }

    fn encode(&self, entry: &Entry) -> Result<Bytes, SinkError> {
        let encoded = (|| {
            let batch = ledger::to_batch(std::slice::from_ref(entry))?;
            let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), None)?;
            writer.write(&batch)?;
            Ok::<_, ArrowError>(Bytes::from(writer.into_inner()?))
        })();
        encoded.map_err(|source| self.arrow_error(source))
    }

    fn decode(&self, bytes: Bytes) -> Result<Vec<Entry>, SinkError> {
        let decoded = (|| {
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
            let batches = reader.collect::<Result<Vec<_>, _>>()?;
            ledger::from_batches(&batches)
        })();
        decoded.map_err(|source| self.arrow_error(source))
    }

    fn error(&self, path: &Path, source: datafusion::object_store::Error) -> SinkError {
        SinkError::Store(StoreError::Object {
            location: format!("{}{path}", self.folder.url),
            source,
        })
    }

    fn arrow_error(&self, source: ArrowError) -> SinkError {
        SinkError::Arrow {
            target: self.folder.url.to_string(),
            source: Box::new(source),
        }
    }
}

fn file_of(name: &str) -> Path {
    Path::from(format!("{name}.parquet"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use crate::ledger::{Selection, Status};
    use crate::sink::Ledger;
    use crate::sink::delta::DeltaTarget;
    use crate::store::ObjectVersion;
    use std::sync::Arc;

    fn queued(run_id: &str) -> Entry {
        let object = ObjectVersion {
            location: "file:///landing/".into(),
            key: format!("{run_id}/jobs.csv"),
            version: "v1".into(),
            size: 1,
            modified: None,
        };
        Entry::queued(run_id.into(), object, "jobs", Default::default())
    }

    fn statuses(entries: &[Entry], run_id: &str) -> Vec<Status> {
        let of_run = entries.iter().filter(|entry| entry.run_id == run_id);
        of_run.map(|entry| entry.status).collect()
    }

    #[tokio::test]
    async fn a_queued_entry_waits_outside_the_log_and_enters_it_with_its_ending() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let target = DeltaTarget::new(warehouse.clone(), Arc::new(Dictionary::hr()));
        let (first, second) = (queued("run-1"), queued("run-2"));
        target.record(&first).await.unwrap();
        target.record(&second).await.unwrap();
        let queue = WaitingEntries::queued(&warehouse).unwrap();
        assert_eq!(queue.all().await.unwrap().len(), 2);
        assert!(
            target
                .ledger_entries(&Selection::default())
                .await
                .unwrap()
                .is_empty()
        );

        let done = Entry {
            status: Status::Done,
            ..first.clone()
        };
        target.record(&done).await.unwrap();
        let ledger = target.ledger_entries(&Selection::default()).await.unwrap();
        assert_eq!(statuses(&ledger, "run-1"), [Status::Queued, Status::Done]);
        assert_eq!(queue.get("run-1").await.unwrap(), None);

        let runs = target.runs().await.unwrap();
        assert_eq!(statuses(&runs, "run-2"), [Status::Queued]);
        let pending = crate::ledger::pending(&runs);
        let pending: Vec<_> = pending.iter().map(|entry| &entry.object.key).collect();
        assert_eq!(pending, [&second.object.key]);
    }

    #[tokio::test]
    async fn a_file_left_by_a_crash_after_the_commit_is_shown_once_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let target = DeltaTarget::new(warehouse.clone(), Arc::new(Dictionary::hr()));
        let entry = queued("run-1");
        let queue = WaitingEntries::queued(&warehouse).unwrap();
        queue.add(&entry.run_id, &entry).await.unwrap();
        let failed = Entry {
            status: Status::Failed,
            ..entry.clone()
        };
        // What `record` commits before it removes the file.
        target.append_to_ledger(&[entry, failed]).await.unwrap();

        let runs = target.runs().await.unwrap();
        assert_eq!(statuses(&runs, "run-1"), [Status::Queued, Status::Failed]);
        assert!(crate::ledger::pending(&runs).is_empty());
        assert!(queue.all().await.unwrap().is_empty());
    }
}
