//! The reading stage: bytes of one object → Arrow batches where every field is text.
//!
//! DataFusion's CSV reader fails a whole query on a row with too many fields and cannot say which
//! source line a row came from, so csvgate parses with `csv_core` itself ([`records`]). Nothing
//! here judges a value: a short row, a long row, an empty field or a record past the byte limit
//! all become a row whose [`FIELD_COUNT_COLUMN`](crate::dictionary::FIELD_COUNT_COLUMN),
//! [`LIMIT_BROKEN_COLUMN`](crate::dictionary::LIMIT_BROKEN_COLUMN) and text tell the rules what
//! happened. Only what makes the whole file unreadable (no rows, bytes that are not UTF-8) is an
//! error here.
//!
//! The reader runs on a blocking thread and hands batches over a bounded channel; batches are
//! cut by rows and by bytes and records by bytes, so memory stays at a few batches whatever the
//! file size or line length ([`Limits`](super::Limits)).

use std::io::{BufRead, BufReader, Read};

use datafusion::arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use super::dialect::{Dialect, header_extra_columns, sniff_delimiter};
use super::text_rows::RowBuffer;
use crate::dictionary::{Table, TableRef};
use records::Records;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a file could not be read at all. Row-level problems are never errors: they are rows.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: the file is empty, there are no rows to load")]
    Empty { file: String },
    #[error("{file}: the file has a header line but no data rows")]
    HeaderOnly { file: String },
    #[error(
        "{file}: line {line}, field `{field}`: bytes are not valid UTF-8 \
         (re-encode the file, e.g. `iconv -f latin1 -t utf-8`)"
    )]
    NotUtf8 {
        file: String,
        line: u64,
        field: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// The consumer stopped listening (the load failed downstream); not a problem of the file.
    #[error("{file}: reading stopped because the load was abandoned")]
    Abandoned { file: String },
}

/// What the reader learnt about the file, for the run summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    pub rows: u64,
    pub delimiter: u8,
    pub header: bool,
}

/// Reads `input` to the end, sending text batches shaped like [`Table::text_schema`].
///
/// Blocking: call it from `spawn_blocking`. `file` only names the input in messages.
pub fn read_text_batches(
    file: &str,
    input: impl Read,
    table: &TableRef,
    dialect: &Dialect,
    batches: mpsc::Sender<RecordBatch>,
) -> Result<ReadSummary, ReadError> {
    let io_error = |source| ReadError::Io {
        file: file.to_owned(),
        source,
    };
    let (input, delimiter) = start_reading(input, table, dialect).map_err(io_error)?;
    let mut records = Records::new(input, delimiter, dialect.limits.max_record_bytes);
    let mut rows = RowBuffer::new(table, delimiter, dialect.limits);
    let mut record = csv::ByteRecord::new();
    let mut header = false;
    let mut first = true;
    let mut read = 0u64;
    while let Some(start) = records.next(&mut record).map_err(io_error)? {
        if is_blank(&record) {
            continue;
        }
        if std::mem::take(&mut first)
            && !start.cut
            && let Some(extra) = header_extra_columns(&record, table, dialect.header)
        {
            header = true;
            rows.ignore_trailing = extra;
            continue;
        }
        rows.push(&record, start.line, start.cut)
            .map_err(|field| ReadError::NotUtf8 {
                file: file.to_owned(),
                line: start.line,
                field,
            })?;
        read += 1;
        if rows.is_full() && batches.blocking_send(rows.take_batch()).is_err() {
            return Err(ReadError::Abandoned {
                file: file.to_owned(),
            });
        }
    }
    let summary = ReadSummary {
        rows: read,
        delimiter,
        header,
    };
    finish(file, summary, rows, &batches)
}

/// The input past any byte-order mark, and its delimiter: given, or sniffed from the start.
fn start_reading<R: Read>(
    input: R,
    table: &Table,
    dialect: &Dialect,
) -> std::io::Result<(BufReader<R>, u8)> {
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let start = input.fill_buf()?;
    let bom = start.starts_with(UTF8_BOM);
    let delimiter = dialect
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&start[if bom { 3 } else { 0 }..], table.columns.len()));
    if bom {
        input.consume(UTF8_BOM.len());
    }
    Ok((input, delimiter))
}

/// Sends the last batch; what was read, unless no row was.
fn finish(
    file: &str,
    summary: ReadSummary,
    mut rows: RowBuffer,
    batches: &mpsc::Sender<RecordBatch>,
) -> Result<ReadSummary, ReadError> {
    let file = file.to_owned();
    match (summary.rows, summary.header) {
        (0, false) => Err(ReadError::Empty { file }),
        (0, true) => Err(ReadError::HeaderOnly { file }),
        _ if rows.len() > 0 && batches.blocking_send(rows.take_batch()).is_err() => {
            Err(ReadError::Abandoned { file })
        }
        _ => Ok(summary),
    }
}

/// A line with nothing on it (a trailing newline, a blank line between rows).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)
}

mod records;
#[cfg(test)]
mod tests;
