//! Batch inserts: 1 to 1,000 rows sent as a JSON array of objects, checked by exactly the
//! rules files are checked by, because they become a file.
//!
//! The rows are written as a small CSV object (`<table>/api-<uuid>.csv`, with a header) into
//! the landing bucket and go through the queue like an upload: same validation, same ledger
//! entry, same invalid-rows file for the rejected ones. The answer adds, per rejected row, its
//! index in the request and the reason, read back from that invalid-rows file.

use std::sync::Arc;

use futures::stream;

use crate::dictionary::Table;
use crate::ledger::{Entry, Status};
use crate::queue::{Queue, QueueError};
use crate::store::StoreError;
use crate::validate::INVALID_FILE_EXTRA_COLUMNS;

/// The most rows one request may carry, as the challenge asks.
pub const MAX_ROWS: usize = 1000;

/// Why a batch was not processed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the body is not a JSON array of row objects: {0}")]
    Malformed(String),
    #[error("row {index} is not a JSON object")]
    NotAnObject { index: usize },
    #[error("a batch holds 1 to {MAX_ROWS} rows; this one has none")]
    Empty,
    #[error("a batch holds 1 to {MAX_ROWS} rows; this one has {count}")]
    TooMany { count: usize },
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the batch could not be processed: {0}")]
    Failed(String),
    #[error("reading the rejected rows back: {0}")]
    Store(#[from] StoreError),
}

/// A rejected row: its position in the request (from 0) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub index: usize,
    pub reason: String,
}

/// What became of a batch.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run: Entry,
    pub rejected: Vec<Rejection>,
}

/// Checks, queues and waits for a batch of rows for `table`.
pub async fn insert(
    queue: &Arc<Queue>,
    table: &'static Table,
    body: &[u8],
) -> Result<Outcome, BatchError> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|error| BatchError::Malformed(error.to_string()))?;
    match rows.len() {
        0 => return Err(BatchError::Empty),
        count if count > MAX_ROWS => return Err(BatchError::TooMany { count }),
        _ => {}
    }
    let csv = to_csv(table, &rows)?;
    let key = format!("{}/api-{}.csv", table.name, uuid::Uuid::new_v4().simple());
    let body = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(csv))]);
    let queued = queue.accept_upload(&key, body, u64::MAX).await?;
    let run = queue
        .finished(&queued.run_id)
        .await
        .ok_or_else(|| BatchError::Failed("the server stopped before running it".into()))?;
    if run.status == Status::Failed {
        return Err(BatchError::Failed(run.error.clone().unwrap_or_default()));
    }
    let rejected = match &run.invalid_object {
        Some(url) => rejections(&queue.invalid_file(url).await?)?,
        None => Vec::new(),
    };
    Ok(Outcome { run, rejected })
}

/// The rows as CSV in the table's column order, under a header line: a missing or `null`
/// field is empty (and so rejected as missing), numbers and strings are written as they are.
/// Keys that are not columns are ignored.
fn to_csv(table: &Table, rows: &[serde_json::Value]) -> Result<Vec<u8>, BatchError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = table.column_names().collect();
    let failed = |error: csv::Error| BatchError::Failed(error.to_string());
    writer.write_record(&header).map_err(failed)?;
    for (index, row) in rows.iter().enumerate() {
        let row = row.as_object().ok_or(BatchError::NotAnObject { index })?;
        let fields = header.iter().map(|column| match row.get(*column) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        });
        writer.write_record(fields).map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| BatchError::Failed(error.to_string()))
}

/// Rejections from an invalid-rows file: its last two columns are the source line and the
/// reason; line 1 of the batch's CSV is the header, so row `index` is line `index + 2`.
fn rejections(invalid_file: &[u8]) -> Result<Vec<Rejection>, BatchError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(invalid_file);
    let mut rejected = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| BatchError::Failed(error.to_string()))?;
        let extra = INVALID_FILE_EXTRA_COLUMNS.len();
        let (line, reason) = (&record[record.len() - extra], &record[record.len() - 1]);
        let line: usize = line
            .parse()
            .map_err(|_| BatchError::Failed(format!("bad line number {line:?}")))?;
        rejected.push(Rejection {
            index: line - 2,
            reason: reason.to_owned(),
        });
    }
    Ok(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_csv_in_column_order_with_missing_fields_empty() {
        let jobs = Table::named("hired_employees").unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"job_id": 3, "id": 1, "name": "Ann, \"A\"", "datetime": "2021-01-01T00:00:00Z", "department_id": 2, "extra": true},
                {"id": 2, "name": null}]"#,
        )
        .unwrap();
        let csv = String::from_utf8(to_csv(jobs, &rows).unwrap()).unwrap();
        assert_eq!(
            csv,
            "id,name,datetime,department_id,job_id\n1,\"Ann, \"\"A\"\"\",2021-01-01T00:00:00Z,2,3\n2,,,,\n"
        );
        let not_object = to_csv(jobs, &[serde_json::json!([1, 2])]);
        assert!(matches!(
            not_object,
            Err(BatchError::NotAnObject { index: 0 })
        ));
    }

    #[test]
    fn rejections_map_lines_back_to_request_indexes() {
        let file = b"id,name,line,reason\n,x,2,id: missing\n4,,5,name: missing\n";
        assert_eq!(
            rejections(file).unwrap(),
            [
                Rejection {
                    index: 0,
                    reason: "id: missing".into()
                },
                Rejection {
                    index: 3,
                    reason: "name: missing".into()
                },
            ]
        );
    }
}
