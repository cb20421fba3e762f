//! The reading stage: bytes of one object → Arrow batches where every field is text.
//!
//! DataFusion's CSV reader fails a whole query on a row with too many fields and cannot say which
//! source line a row came from, so csvgate reads with the `csv` crate itself. Nothing here
//! judges a value: a short row, a long row or an empty field all become a row whose
//! [`FIELD_COUNT_COLUMN`](crate::dictionary::FIELD_COUNT_COLUMN) and text tell the rules what
//! happened. Only what makes the whole file unreadable (no rows, bytes that are not UTF-8) is an
//! error here.
//!
//! The reader runs on a blocking thread and hands batches over a bounded channel, so memory
//! stays at a few batches whatever the file size.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, StringBuilder, UInt32Builder, UInt64Builder,
};
use datafusion::arrow::record_batch::RecordBatch;
use roaring::RoaringTreemap;
use tokio::sync::mpsc;

use crate::dictionary::{LINE_COLUMN, REASON_COLUMN, Table};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const DELIMITER_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Columns an invalid-rows file adds after the table's own (see [`crate::sink::invalid`]).
pub const INVALID_FILE_EXTRA_COLUMNS: [&str; 2] = [LINE_COLUMN, REASON_COLUMN];

/// Whether the first line names the columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// A header is a first line whose fields are the dictionary's column names.
    #[default]
    Auto,
    /// The first line is always a header.
    Yes,
    /// The first line is always data.
    No,
}

/// How to read a file; the defaults sniff everything.
#[derive(Debug, Clone)]
pub struct Dialect {
    /// Field delimiter; `None` sniffs it from the first line among `, ; TAB |`.
    pub delimiter: Option<u8>,
    pub header: HeaderMode,
    /// Rows per Arrow batch handed to DataFusion.
    pub batch_rows: usize,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: None,
            header: HeaderMode::Auto,
            batch_rows: 32 * 1024,
        }
    }
}

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
    #[error("{file}: line {line}: {source}")]
    Csv {
        file: String,
        line: u64,
        source: csv::Error,
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
    table: &'static Table,
    dialect: &Dialect,
    batches: mpsc::Sender<RecordBatch>,
) -> Result<ReadSummary, ReadError> {
    let io_error = |source| ReadError::Io {
        file: file.to_owned(),
        source,
    };
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let start = input.fill_buf().map_err(io_error)?;
    let bom = start.starts_with(UTF8_BOM);
    let delimiter = dialect
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&start[if bom { 3 } else { 0 }..], table.columns.len()));
    if bom {
        input.consume(UTF8_BOM.len());
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(NewlineIndex::new(input));
    let mut rows = RowBuffer::new(table, delimiter, dialect.batch_rows);
    let mut record = csv::ByteRecord::new();
    let mut header = false;
    let mut first = true;
    let mut read = 0u64;
    loop {
        let more = csv
            .read_byte_record(&mut record)
            .map_err(|source| ReadError::Csv {
                file: file.to_owned(),
                line: source.position().map_or(0, |position| position.line()),
                source,
            })?;
        if !more {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        if std::mem::take(&mut first)
            && let Some(extra) = header_extra_columns(&record, table, dialect.header)
        {
            header = true;
            rows.ignore_trailing = extra;
            continue;
        }
        let end = csv.position().byte();
        let line = csv.get_mut().start_line(&record, end);
        rows.push(&record, line)
            .map_err(|field| ReadError::NotUtf8 {
                file: file.to_owned(),
                line,
                field: field.to_owned(),
            })?;
        read += 1;
        if rows.is_full() && batches.blocking_send(rows.take_batch()).is_err() {
            return Err(ReadError::Abandoned {
                file: file.to_owned(),
            });
        }
    }
    match (read, header) {
        (0, false) => Err(ReadError::Empty {
            file: file.to_owned(),
        }),
        (0, true) => Err(ReadError::HeaderOnly {
            file: file.to_owned(),
        }),
        _ => {
            if rows.len() > 0 && batches.blocking_send(rows.take_batch()).is_err() {
                return Err(ReadError::Abandoned {
                    file: file.to_owned(),
                });
            }
            Ok(ReadSummary {
                rows: read,
                delimiter,
                header,
            })
        }
    }
}

/// Where the newlines are in the bytes on their way to the CSV parser, so that each record
/// gets the physical line it starts on.
///
/// The `csv` crate's own `position().line()` is off after CRLF endings and skipped blank
/// lines, because it is taken before the parser skips them. The end of a record is exact,
/// though, and so is the number of newlines inside it, which gives the start.
struct NewlineIndex<R> {
    inner: R,
    offset: u64,
    /// Offsets of newlines the parser has not reached yet.
    ahead: VecDeque<u64>,
    /// Newlines before the end of the last record.
    behind: u64,
    last_behind: Option<u64>,
}

impl<R> NewlineIndex<R> {
    fn new(inner: R) -> Self {
        NewlineIndex {
            inner,
            offset: 0,
            ahead: VecDeque::new(),
            behind: 0,
            last_behind: None,
        }
    }

    /// The line `record` starts on, given the byte offset just past it.
    fn start_line(&mut self, record: &csv::ByteRecord, end: u64) -> u64 {
        while self.ahead.front().is_some_and(|&newline| newline < end) {
            self.last_behind = self.ahead.pop_front();
            self.behind += 1;
        }
        let inside = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        let terminated = self.last_behind == end.checked_sub(1);
        1 + self.behind - inside - u64::from(terminated)
    }
}

impl<R: Read> Read for NewlineIndex<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        let offset = self.offset;
        self.ahead
            .extend(memchr::memchr_iter(b'\n', &buffer[..read]).map(|at| offset + at as u64));
        self.offset += read as u64;
        Ok(read)
    }
}

/// A line with nothing on it (a trailing newline, a blank line between rows).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)
}

/// `Some(n)` when the record is a header, `n` being the trailing columns to ignore: 2 for an
/// invalid-rows file (`…,line,reason`) submitted again after a fix, else 0.
fn header_extra_columns(
    record: &csv::ByteRecord,
    table: &Table,
    mode: HeaderMode,
) -> Option<usize> {
    let names: Vec<String> = record
        .iter()
        .map(|field| String::from_utf8_lossy(field).trim().to_ascii_lowercase())
        .collect();
    let columns = table.columns.len();
    let is_invalid_file = names.len() == columns + INVALID_FILE_EXTRA_COLUMNS.len()
        && names[columns..]
            .iter()
            .eq(INVALID_FILE_EXTRA_COLUMNS.iter());
    let extra = if is_invalid_file {
        INVALID_FILE_EXTRA_COLUMNS.len()
    } else {
        0
    };
    let names_columns = names.len() == columns + extra
        && names.iter().zip(table.column_names()).all(|(a, b)| a == b);
    match mode {
        HeaderMode::No => None,
        HeaderMode::Yes => Some(extra),
        HeaderMode::Auto => names_columns.then_some(extra),
    }
}

/// The delimiter of the first line: the candidate that splits it into exactly the table's
/// columns, else the most frequent one, else a comma. Quoted text is not counted.
fn sniff_delimiter(start: &[u8], columns: usize) -> u8 {
    let first_line = start.split(|&byte| byte == b'\n').next().unwrap_or(start);
    let counts = DELIMITER_CANDIDATES.map(|delimiter| {
        let mut quoted = false;
        let count = first_line
            .iter()
            .filter(|&&byte| {
                if byte == b'"' {
                    quoted = !quoted;
                }
                !quoted && byte == delimiter
            })
            .count();
        (delimiter, count)
    });
    let exact = counts.iter().find(|(_, count)| *count + 1 == columns);
    let most = counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .max_by_key(|(_, count)| *count);
    exact.or(most).map_or(b',', |(delimiter, _)| *delimiter)
}

/// Column builders for one batch, plus the ids seen so far in the file.
struct RowBuffer {
    table: &'static Table,
    delimiter: char,
    capacity: usize,
    ignore_trailing: usize,
    fields: Vec<StringBuilder>,
    lines: UInt64Builder,
    field_counts: UInt32Builder,
    repeated: BooleanBuilder,
    key_index: usize,
    seen_ids: RoaringTreemap,
}

impl RowBuffer {
    fn new(table: &'static Table, delimiter: u8, capacity: usize) -> Self {
        let key_index = table
            .columns
            .iter()
            .position(|column| column == table.key_column())
            .expect("key column is one of the columns");
        RowBuffer {
            table,
            delimiter: char::from(delimiter),
            capacity,
            ignore_trailing: 0,
            fields: (0..table.columns.len())
                .map(|_| StringBuilder::new())
                .collect(),
            lines: UInt64Builder::with_capacity(capacity),
            field_counts: UInt32Builder::with_capacity(capacity),
            repeated: BooleanBuilder::with_capacity(capacity),
            key_index,
            seen_ids: RoaringTreemap::new(),
        }
    }

    fn len(&self) -> usize {
        datafusion::arrow::array::ArrayBuilder::len(&self.lines)
    }

    fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// Appends one record; on bytes that are not UTF-8, the name of the field holding them.
    fn push(&mut self, record: &csv::ByteRecord, line: u64) -> Result<(), &'static str> {
        let count = record.len().saturating_sub(self.ignore_trailing);
        let columns = self.fields.len();
        let mut texts: Vec<Option<&str>> = Vec::with_capacity(columns);
        for (index, column) in self.table.columns.iter().enumerate() {
            texts.push(match record.get(index).filter(|_| index < count) {
                Some(bytes) => Some(std::str::from_utf8(bytes).map_err(|_| column.name)?),
                None => None,
            });
        }
        // A long row keeps its surplus in the last column, so the invalid file loses nothing.
        let surplus = (count > columns).then(|| self.join_surplus(record, columns - 1, count));
        if let Some(surplus) = &surplus {
            texts[columns - 1] = Some(
                surplus
                    .as_deref()
                    .map_err(|_| self.table.columns[columns - 1].name)?,
            );
        }
        for (builder, text) in self.fields.iter_mut().zip(&texts) {
            builder.append_option(*text);
        }
        let repeated = texts[self.key_index]
            .and_then(|id| id.trim().parse::<u64>().ok())
            .is_some_and(|id| !self.seen_ids.insert(id));
        self.lines.append_value(line);
        self.field_counts
            .append_value(u32::try_from(count).unwrap_or(u32::MAX));
        self.repeated.append_value(repeated);
        Ok(())
    }

    fn join_surplus(
        &self,
        record: &csv::ByteRecord,
        from: usize,
        to: usize,
    ) -> Result<String, std::str::Utf8Error> {
        let mut joined = String::new();
        for index in from..to {
            if index > from {
                joined.push(self.delimiter);
            }
            joined.push_str(std::str::from_utf8(&record[index])?);
        }
        Ok(joined)
    }

    fn take_batch(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = self
            .fields
            .iter_mut()
            .map(|builder| Arc::new(builder.finish()) as ArrayRef)
            .collect();
        columns.push(Arc::new(self.lines.finish()));
        columns.push(Arc::new(self.field_counts.finish()));
        columns.push(Arc::new(self.repeated.finish()));
        RecordBatch::try_new(self.table.text_schema(), columns)
            .expect("builders follow the text schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::UInt64Type;

    /// A row as the tests see it: line, fields, field count, repeated id.
    type Row = (u64, Vec<Option<String>>, u32, bool);

    fn employees() -> &'static Table {
        Table::named("hired_employees").unwrap()
    }

    /// Reads `bytes` as hired_employees and returns the rows as (line, fields, field_count, repeated).
    fn read(bytes: &[u8]) -> Result<(ReadSummary, Vec<Row>), ReadError> {
        read_with(bytes, &Dialect::default())
    }

    fn read_with(bytes: &[u8], dialect: &Dialect) -> Result<(ReadSummary, Vec<Row>), ReadError> {
        let (sender, mut receiver) = mpsc::channel(1024);
        let summary = read_text_batches("test.csv", bytes, employees(), dialect, sender)?;
        let mut rows = Vec::new();
        while let Ok(batch) = receiver.try_recv() {
            for row in 0..batch.num_rows() {
                let fields = (0..5)
                    .map(|column| {
                        let array = batch.column(column).as_string::<i32>();
                        array.is_valid(row).then(|| array.value(row).to_owned())
                    })
                    .collect();
                let line = batch.column(5).as_primitive::<UInt64Type>().value(row);
                let count = batch
                    .column(6)
                    .as_primitive::<datafusion::arrow::datatypes::UInt32Type>()
                    .value(row);
                let repeated = batch.column(7).as_boolean().value(row);
                rows.push((line, fields, count, repeated));
            }
        }
        Ok((summary, rows))
    }

    fn text(fields: &[&str]) -> Vec<Option<String>> {
        fields
            .iter()
            .map(|field| Some((*field).to_owned()))
            .collect()
    }

    #[test]
    fn plain_rows_keep_their_line_numbers_and_empty_fields() {
        let (summary, rows) =
            read(b"1,Ann,2021-01-01T00:00:00Z,2,3\n2,Bob,2021-01-02T00:00:00Z,2,\n").unwrap();
        assert_eq!(
            summary,
            ReadSummary {
                rows: 2,
                delimiter: b',',
                header: false
            }
        );
        assert_eq!(
            rows[0],
            (
                1,
                text(&["1", "Ann", "2021-01-01T00:00:00Z", "2", "3"]),
                5,
                false
            )
        );
        assert_eq!(rows[1].0, 2);
        assert_eq!(rows[1].1[4].as_deref(), Some(""));
    }

    #[test]
    fn utf8_bom_is_stripped_from_the_first_id() {
        let (_, rows) = read(b"\xEF\xBB\xBF7,Ann,2021-01-01T00:00:00Z,2,3\n").unwrap();
        assert_eq!(rows[0].1[0].as_deref(), Some("7"));
    }

    #[test]
    fn crlf_line_endings_do_not_leak_into_the_last_field() {
        let (_, rows) =
            read(b"1,Ann,2021-01-01T00:00:00Z,2,3\r\n2,Bob,2021-01-02T00:00:00Z,4,5\r\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1[4].as_deref(), Some("3"));
        assert_eq!(
            rows[1],
            (
                2,
                text(&["2", "Bob", "2021-01-02T00:00:00Z", "4", "5"]),
                5,
                false
            )
        );
    }

    #[test]
    fn a_header_line_is_detected_and_skipped_but_counts_as_a_line() {
        let (summary, rows) =
            read(b"ID, Name,datetime,department_id,job_id\n1,Ann,2021-01-01T00:00:00Z,2,3\n")
                .unwrap();
        assert!(summary.header);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
    }

    #[test]
    fn header_mode_yes_skips_any_first_line_and_no_keeps_it() {
        let bytes = b"a,b,c,d,e\n1,Ann,2021-01-01T00:00:00Z,2,3\n";
        let yes = Dialect {
            header: HeaderMode::Yes,
            ..Dialect::default()
        };
        assert_eq!(read_with(bytes, &yes).unwrap().1.len(), 1);
        let header_like = b"id,name,datetime,department_id,job_id\n";
        let no = Dialect {
            header: HeaderMode::No,
            ..Dialect::default()
        };
        assert_eq!(
            read_with(header_like, &no).unwrap().1[0].1[0].as_deref(),
            Some("id")
        );
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let bytes = b"1,\"Vogt, Harold \"\"Hal\"\"\",2021-01-01T00:00:00Z,2,3\n2,\"two\nlines\",2021-01-01T00:00:00Z,2,3\n3,C,2021-01-01T00:00:00Z,2,3\n";
        let (_, rows) = read(bytes).unwrap();
        assert_eq!(rows[0].1[1].as_deref(), Some("Vogt, Harold \"Hal\""));
        assert_eq!(rows[1].1[1].as_deref(), Some("two\nlines"));
        // The row after a two-line value starts on physical line 4.
        assert_eq!(rows[2].0, 4);
    }

    #[test]
    fn semicolon_delimiter_is_sniffed_or_given() {
        let bytes = b"1;Ann;2021-01-01T00:00:00Z;2;3\n";
        let (summary, rows) = read(bytes).unwrap();
        assert_eq!(summary.delimiter, b';');
        assert_eq!(
            rows[0].1,
            text(&["1", "Ann", "2021-01-01T00:00:00Z", "2", "3"])
        );
        // A comma inside a value does not fool the sniffer when the count says otherwise.
        let (summary, _) = read(b"1;Doe, Ann;2021-01-01T00:00:00Z;2;3\n").unwrap();
        assert_eq!(summary.delimiter, b';');
        let given = Dialect {
            delimiter: Some(b'|'),
            ..Dialect::default()
        };
        let (_, rows) = read_with(b"1|Ann|x|2|3\n", &given).unwrap();
        assert_eq!(rows[0].1[1].as_deref(), Some("Ann"));
    }

    #[test]
    fn blank_lines_are_skipped_wherever_they_are() {
        let (summary, rows) =
            read(b"1,Ann,2021-01-01T00:00:00Z,2,3\n\n2,Bob,2021-01-01T00:00:00Z,2,3\n\n\r\n  \n")
                .unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(rows[1].0, 3);
    }

    #[test]
    fn short_and_long_rows_are_rows_not_errors() {
        let (_, rows) =
            read(b"1,Ann,2021-01-01T00:00:00Z\n2,Bob,2021-01-01T00:00:00Z,2,3,extra,more\n")
                .unwrap();
        assert_eq!(rows[0].2, 3);
        assert_eq!(rows[0].1[3], None);
        assert_eq!(rows[1].2, 7);
        assert_eq!(rows[1].1[4].as_deref(), Some("3,extra,more"));
    }

    #[test]
    fn a_repeated_id_is_flagged_on_the_later_rows_only() {
        let (_, rows) = read(b"1,A,x,1,1\n2,B,x,1,1\n 1 ,C,x,1,1\n1,D,x,1,1\n").unwrap();
        let flags: Vec<bool> = rows.iter().map(|row| row.3).collect();
        assert_eq!(flags, [false, false, true, true]);
    }

    #[test]
    fn unreadable_files_get_a_message_naming_file_line_and_field() {
        let empty = read(b"").unwrap_err().to_string();
        assert_eq!(
            empty,
            "test.csv: the file is empty, there are no rows to load"
        );
        assert!(matches!(
            read(b"\n\n").unwrap_err(),
            ReadError::Empty { .. }
        ));
        let header_only = read(b"id,name,datetime,department_id,job_id\r\n").unwrap_err();
        assert!(
            matches!(header_only, ReadError::HeaderOnly { .. }),
            "{header_only}"
        );
        let latin1 = read(b"1,Ann,2021-01-01T00:00:00Z,2,3\n2,Jos\xE9,2021-01-01T00:00:00Z,2,3\n")
            .unwrap_err();
        assert!(
            latin1
                .to_string()
                .starts_with("test.csv: line 2, field `name`: bytes are not valid UTF-8"),
            "{latin1}"
        );
    }

    #[test]
    fn an_invalid_rows_file_is_read_without_its_line_and_reason_columns() {
        let bytes = b"id,name,datetime,department_id,job_id,line,reason\n5,Ann,2021-01-01T00:00:00Z,2,3,17,job_id: missing\n";
        let (_, rows) = read(bytes).unwrap();
        assert_eq!(
            rows[0].1,
            text(&["5", "Ann", "2021-01-01T00:00:00Z", "2", "3"])
        );
        assert_eq!(rows[0].2, 5);
    }
}
