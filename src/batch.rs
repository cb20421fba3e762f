//! Batch inserts: 1 to 1,000 rows sent as a JSON array of objects, checked by exactly the
//! rules files are checked by, because they become a file.
//!
//! The rows are written as a small CSV object (`<table>/api-<uuid>.csv`) into the landing
//! bucket, in the dialect the server reads the table's files in (its delimiter, a header
//! unless it reads none), and go through the queue like an upload: same validation, same ledger entry, same
//! invalid-rows file for the rejected ones. The answer adds, per rejected row, its index in the
//! request and the reason, read back from that invalid-rows file through the line each row
//! starts on (a value holding a newline spans two).

use std::sync::Arc;

use futures::stream;

use crate::dictionary::{ColumnKind, Table};
use crate::ledger::{Entry, Status};
use crate::queue::{Queue, QueueError};
use crate::store::StoreError;
use crate::validate::{Dialect, HeaderMode, INVALID_FILE_EXTRA_COLUMNS};

/// The most rows one request may carry, as the HR brief asks.
pub const MAX_ROWS: usize = 1000;

/// Why a batch was not processed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the body is not a JSON array of row objects: {0}")]
    Malformed(String),
    #[error("row {index} is not a JSON object")]
    NotAnObject { index: usize },
    #[error(
        "row {index}: {column} is an exact decimal: send it as text (\"12.50\"), since a JSON number is read as a binary float and may lose digits"
    )]
    DecimalAsNumber { index: usize, column: String },
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
pub async fn insert(queue: &Arc<Queue>, table: &Table, body: &[u8]) -> Result<Outcome, BatchError> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|error| BatchError::Malformed(error.to_string()))?;
    match rows.len() {
        0 => return Err(BatchError::Empty),
        count if count > MAX_ROWS => return Err(BatchError::TooMany { count }),
        _ => {}
    }
    let file = to_csv(table, &rows, &queue.dialect().for_table(table))?;
    let key = format!("{}/api-{}.csv", table.name, uuid::Uuid::new_v4().simple());
    let body = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(file.bytes))]);
    let queued = queue.accept_upload(&key, body, u64::MAX).await?;
    let run = queue
        .finished(&queued.run_id)
        .await
        .ok_or_else(|| BatchError::Failed("the server stopped before running it".into()))?;
    if run.status == Status::Failed {
        return Err(BatchError::Failed(run.error.clone().unwrap_or_default()));
    }
    let rejected = match &run.invalid_object {
        Some(url) => {
            let invalid = queue.invalid_file(url).await?;
            rejections(
                &invalid,
                table.file_format.written_delimiter(),
                &file.start_lines,
            )?
        }
        None => Vec::new(),
    };
    Ok(Outcome { run, rejected })
}

/// A batch as a landing file.
struct BatchFile {
    bytes: Vec<u8>,
    /// The line each row starts on, in request order.
    start_lines: Vec<u64>,
}

/// The rows as CSV in the table's column order, in `dialect` (`,` when it sniffs; a header
/// line unless it reads none): a missing or `null` field is empty (and so rejected as
/// missing), numbers and strings are written as they are. Keys that are not columns are
/// ignored.
fn to_csv(
    table: &Table,
    rows: &[serde_json::Value],
    dialect: &Dialect,
) -> Result<BatchFile, BatchError> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(dialect.delimiter.unwrap_or(b','))
        .from_writer(Vec::new());
    let header: Vec<&str> = table.column_names().collect();
    let exact: Vec<bool> = (table.columns.iter())
        .map(|column| matches!(column.kind, ColumnKind::Decimal { .. }))
        .collect();
    let failed = |error: csv::Error| BatchError::Failed(error.to_string());
    let mut line = 1;
    if dialect.header != HeaderMode::No {
        writer.write_record(&header).map_err(failed)?;
        line += 1;
    }
    let mut start_lines = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let row = row.as_object().ok_or(BatchError::NotAnObject { index })?;
        let rounded = (header.iter().zip(&exact)).find(|(column, exact)| {
            **exact && row.get(**column).is_some_and(serde_json::Value::is_number)
        });
        if let Some((column, _)) = rounded {
            let column = column.to_string();
            return Err(BatchError::DecimalAsNumber { index, column });
        }
        let fields: Vec<String> = (header.iter())
            .map(|column| match row.get(*column) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        start_lines.push(line);
        line += 1 + fields
            .iter()
            .map(|field| field.matches('\n').count() as u64)
            .sum::<u64>();
        writer.write_record(&fields).map_err(failed)?;
    }
    let bytes = (writer.into_inner()).map_err(|error| BatchError::Failed(error.to_string()))?;
    Ok(BatchFile { bytes, start_lines })
}

/// Rejections from an invalid-rows file (written in `delimiter`): its last two columns are the
/// source line and the reason; the row is the one that starts on that line.
fn rejections(
    invalid_file: &[u8],
    delimiter: u8,
    start_lines: &[u64],
) -> Result<Vec<Rejection>, BatchError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(invalid_file);
    let mut rejected = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| BatchError::Failed(error.to_string()))?;
        let extra = INVALID_FILE_EXTRA_COLUMNS.len();
        let (line, reason) = (&record[record.len() - extra], &record[record.len() - 1]);
        let index = (line.parse().ok())
            .and_then(|line: u64| start_lines.binary_search(&line).ok())
            .ok_or_else(|| {
                BatchError::Failed(format!("line {line:?} starts no row of the batch"))
            })?;
        rejected.push(Rejection {
            index,
            reason: reason.to_owned(),
        });
    }
    Ok(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;

    #[test]
    fn rows_become_csv_in_column_order_with_missing_fields_empty() {
        let jobs = &Dictionary::hr_table("hired_employees");
        let rows: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"job_id": 3, "id": 1, "name": "Ann, \"A\"", "datetime": "2021-01-01T00:00:00Z", "department_id": 2, "extra": true},
                {"id": 2, "name": null}]"#,
        )
        .unwrap();
        let file = to_csv(jobs, &rows, &Dialect::default()).unwrap();
        assert_eq!(
            String::from_utf8(file.bytes).unwrap(),
            "id,name,datetime,department_id,job_id\n1,\"Ann, \"\"A\"\"\",2021-01-01T00:00:00Z,2,3\n2,,,,\n"
        );
        assert_eq!(file.start_lines, [2, 3]);
        let not_object = to_csv(jobs, &[serde_json::json!([1, 2])], &Dialect::default());
        assert!(matches!(
            not_object,
            Err(BatchError::NotAnObject { index: 0 })
        ));
    }

    #[test]
    fn a_server_reading_semicolons_without_header_gets_its_dialect() {
        let jobs = &Dictionary::hr_table("jobs");
        let dialect = Dialect {
            delimiter: Some(b';'),
            header: HeaderMode::No,
            ..Dialect::default()
        };
        let rows = serde_json::json!([{"id": 1, "job": "Cook"}, {"id": 2, "job": "Two\nlines"}]);
        let file = to_csv(jobs, rows.as_array().unwrap(), &dialect).unwrap();
        assert_eq!(
            String::from_utf8(file.bytes).unwrap(),
            "1;Cook\n2;\"Two\nlines\"\n"
        );
        assert_eq!(file.start_lines, [1, 2]);
        assert!(
            rejections(
                b"id,job,line,reason\n,x,9,id: missing\n",
                b',',
                &file.start_lines
            )
            .is_err()
        );
    }

    #[test]
    fn rejections_map_lines_back_to_request_indexes() {
        let file = b"id,name,line,reason\n,x,2,id: missing\n4,,6,name: missing\n";
        // The third row's value held a newline: the fourth starts on line 6.
        assert_eq!(
            rejections(file, b',', &[2, 3, 4, 6]).unwrap(),
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
