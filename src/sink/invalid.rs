//! Rejected rows, written as one CSV per processed object into the invalid bucket.
//!
//! The file is `<table>/<source-stem>.<run-id>.csv` with a header: the table's columns as they
//! were in the source, then `line` (the source line) and `reason`, separated by the table's own
//! delimiter (else a comma). Fix the rows in place and `csvgate ingest` the file: the reader
//! recognises the header, whatever the table's header mode, and ignores the two extra columns.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::path::Path;
use tokio::io::AsyncWriteExt;

use crate::dictionary::TableRef;
use crate::sink::SinkError;
use crate::store::{Location, ObjectVersion, StoreError};
use crate::validate::INVALID_FILE_EXTRA_COLUMNS;

/// The invalid-rows file of one object; created on the first rejected row.
pub struct InvalidRows {
    bucket: Location,
    key: Path,
    table: TableRef,
    writer: Option<BufWriter>,
    rows: u64,
}

impl InvalidRows {
    pub fn new(bucket: &Location, table: &TableRef, object: &ObjectVersion, run_id: &str) -> Self {
        InvalidRows {
            bucket: bucket.clone(),
            key: Path::from(format!("{}/{}.{run_id}.csv", table.name, object.stem())),
            table: TableRef::clone(table),
            writer: None,
            rows: 0,
        }
    }

    /// Appends rejected rows: the table's text columns, then `line` and `reason`.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let mut csv = csv::WriterBuilder::new()
            .delimiter(self.table.file_format.written_delimiter())
            .from_writer(Vec::with_capacity(batch.num_rows() * 64));
        let mut writer = match self.writer.take() {
            Some(writer) => writer,
            None => {
                let header = self.table.column_names().chain(INVALID_FILE_EXTRA_COLUMNS);
                csv.write_record(header)
                    .map_err(|error| self.error(error.into()))?;
                BufWriter::new(self.bucket.store.clone(), self.key.clone())
            }
        };
        let columns = self.table.columns.len();
        let lines = batch.column(columns).as_primitive::<UInt64Type>();
        for row in 0..batch.num_rows() {
            let mut record: Vec<String> = (0..columns)
                .map(|column| {
                    let text = batch.column(column).as_string::<i32>();
                    if text.is_valid(row) {
                        text.value(row).to_owned()
                    } else {
                        String::new()
                    }
                })
                .collect();
            record.push(lines.value(row).to_string());
            record.push(
                batch
                    .column(columns + 1)
                    .as_string::<i32>()
                    .value(row)
                    .to_owned(),
            );
            csv.write_record(&record)
                .map_err(|error| self.error(error.into()))?;
        }
        let bytes = csv
            .into_inner()
            .map_err(|error| self.error(std::io::Error::other(error.to_string())))?;
        writer
            .write_all(&bytes)
            .await
            .map_err(|error| self.error(error))?;
        self.writer = Some(writer);
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Completes the file; its URL, or `None` when no row was rejected.
    pub async fn finish(mut self) -> Result<Option<String>, SinkError> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(None);
        };
        writer.shutdown().await.map_err(|error| self.error(error))?;
        Ok(Some(format!("{}{}", self.bucket.url, self.key)))
    }

    /// Removes what was written (the load it belongs to failed).
    pub async fn abort(mut self) {
        if let Some(mut writer) = self.writer.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(key = %self.key, %error, "could not remove a partial invalid-rows file");
        }
    }

    fn error(&self, source: std::io::Error) -> SinkError {
        SinkError::Store(StoreError::Io {
            location: format!("{}{}", self.bucket.url, self.key),
            source,
        })
    }
}
