//! Reading a snapshot's rows back, streamed: a Parquet file through ranged reads, an AVRO
//! file decoded on a blocking thread that hands batches over a channel of two, so neither
//! holds more than a batch or two whatever the snapshot's size.

use std::io::BufReader;

use arrow_avro::reader::ReaderBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::object_store::path::Path;
use datafusion::parquet::arrow::ParquetRecordBatchStreamBuilder;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::manifest::{File, Manifest};
use super::{Backups, Format};

/// Batches in flight between the AVRO decoder's thread and the reader.
const AVRO_BATCHES_IN_FLIGHT: usize = 2;

/// A snapshot's rows as its file holds them; errors name the file.
pub type SnapshotRows = BoxStream<'static, Result<RecordBatch, String>>;

impl Backups {
    /// The rows of one of the snapshot's files, in the file's own schema.
    pub(super) async fn rows(
        &self,
        manifest: &Manifest,
        file: &File,
    ) -> Result<SnapshotRows, String> {
        let key = Path::from(manifest.key(&file.name));
        let name = file.name.clone();
        let unreadable = move |error: String| format!("{name} cannot be read: {error}");
        match manifest.format {
            Format::Parquet => {
                let reader =
                    crate::store::StoredParquet::new(self.location.store.clone(), key, file.bytes);
                let batches = ParquetRecordBatchStreamBuilder::new(reader)
                    .await
                    .and_then(|builder| builder.build())
                    .map_err(|error| unreadable(error.to_string()))?;
                Ok(batches
                    .map_err(move |error| unreadable(error.to_string()))
                    .boxed())
            }
            Format::Avro => {
                let reader = (self.location.reader(key.as_ref()).await)
                    .map_err(|error| unreadable(error.to_string()))?;
                Ok(avro_rows(reader, unreadable))
            }
        }
    }
}

/// Decodes an AVRO object container file on a blocking thread, a batch at a time.
fn avro_rows(
    reader: impl std::io::Read + Send + 'static,
    unreadable: impl Fn(String) -> String + Send + 'static,
) -> SnapshotRows {
    let (sender, receiver) = tokio::sync::mpsc::channel(AVRO_BATCHES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let batches = match ReaderBuilder::new().build(BufReader::new(reader)) {
            Ok(batches) => batches,
            Err(error) => {
                let _ = sender.blocking_send(Err(unreadable(error.to_string())));
                return;
            }
        };
        for batch in batches {
            let batch = batch.map_err(|error| unreadable(error.to_string()));
            let failed = batch.is_err();
            // The reader went away (a restore refused or failed): stop decoding.
            if sender.blocking_send(batch).is_err() || failed {
                return;
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        let batch = receiver.recv().await?;
        Some((batch, receiver))
    })
    .boxed()
}
