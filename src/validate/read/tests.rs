//! The reading stage, file by file: lines, dialects, and files that cannot be read.

use super::*;
use crate::dictionary::Dictionary;
use crate::validate::{HeaderMode, Limits};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::UInt64Type;

/// A row as the tests see it: line, fields, field count, repeated id.
type Row = (u64, Vec<Option<String>>, u32, bool);

fn employees() -> TableRef {
    Dictionary::hr_table("hired_employees")
}

/// Reads `bytes` as hired_employees and returns the rows as (line, fields, field_count, repeated).
fn read(bytes: &[u8]) -> Result<(ReadSummary, Vec<Row>), ReadError> {
    read_with(bytes, &Dialect::default())
}

fn read_with(bytes: &[u8], dialect: &Dialect) -> Result<(ReadSummary, Vec<Row>), ReadError> {
    let (summary, batches) = read_batches(bytes, dialect)?;
    let mut rows = Vec::new();
    for batch in batches {
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

fn read_batches(
    bytes: &[u8],
    dialect: &Dialect,
) -> Result<(ReadSummary, Vec<RecordBatch>), ReadError> {
    let (sender, mut receiver) = mpsc::channel(1024);
    let summary = read_text_batches("test.csv", bytes, &employees(), dialect, sender)?;
    let mut batches = Vec::new();
    while let Ok(batch) = receiver.try_recv() {
        batches.push(batch);
    }
    Ok((summary, batches))
}

/// The limit each row broke, in file order.
fn limits_broken(bytes: &[u8], limits: Limits) -> Vec<Option<String>> {
    let dialect = Dialect {
        limits,
        ..Dialect::default()
    };
    let (_, batches) = read_batches(bytes, &dialect).unwrap();
    batches
        .iter()
        .flat_map(|batch| {
            let column = batch.column(8).as_string::<i32>();
            (0..batch.num_rows())
                .map(|row| column.is_valid(row).then(|| column.value(row).to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn small_records(max_record_bytes: usize) -> Limits {
    Limits {
        max_record_bytes,
        ..Limits::default()
    }
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
        read(b"ID, Name,datetime,department_id,job_id\n1,Ann,2021-01-01T00:00:00Z,2,3\n").unwrap();
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
        read(b"1,Ann,2021-01-01T00:00:00Z\n2,Bob,2021-01-01T00:00:00Z,2,3,extra,more\n").unwrap();
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
    let latin1 =
        read(b"1,Ann,2021-01-01T00:00:00Z,2,3\n2,Jos\xE9,2021-01-01T00:00:00Z,2,3\n").unwrap_err();
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

#[test]
fn a_line_past_the_record_limit_is_cut_and_reading_goes_on_at_the_next_line() {
    let long = format!("2,{},2021-01-01T00:00:00Z,2,3\n", "x".repeat(500));
    let bytes = format!("1,Ann,2021-01-01T00:00:00Z,2,3\n{long}3,Cy,2021-01-01T00:00:00Z,2,3\r\n");
    let limits = small_records(64);
    let dialect = Dialect {
        limits,
        ..Dialect::default()
    };
    let (summary, rows) = read_with(bytes.as_bytes(), &dialect).unwrap();
    assert_eq!(summary.rows, 3);
    assert_eq!(rows.iter().map(|row| row.0).collect::<Vec<_>>(), [1, 2, 3]);
    // The cut row keeps its first bytes, field by field.
    assert_eq!(rows[1].1[0].as_deref(), Some("2"));
    assert!(rows[1].1[1].as_deref().unwrap().starts_with("xxxx"));
    assert_eq!(rows[2].1[4].as_deref(), Some("3"));
    assert_eq!(
        limits_broken(bytes.as_bytes(), limits),
        [None, Some("row: longer than 64 bytes".to_owned()), None]
    );
}

#[test]
fn a_record_of_exactly_the_limit_is_whole_with_either_line_end() {
    let row = "1,Ann,2021-01-01T00:00:00Z,2,3";
    for end in ["\n", "\r\n", ""] {
        let bytes = format!("{row}{end}");
        assert_eq!(
            limits_broken(bytes.as_bytes(), small_records(row.len())),
            [None],
            "line end {end:?}"
        );
        assert_eq!(
            limits_broken(bytes.as_bytes(), small_records(row.len() - 1)),
            [Some(format!("row: longer than {} bytes", row.len() - 1))]
        );
    }
}

#[test]
fn an_unterminated_quote_is_cut_at_the_limit_not_at_the_end_of_the_file() {
    let mut bytes = b"1,\"never closed,2021-01-01T00:00:00Z,2,3\n".to_vec();
    for id in 2..=40 {
        bytes.extend_from_slice(format!("{id},Ann,2021-01-01T00:00:00Z,2,3\n").as_bytes());
    }
    let dialect = Dialect {
        limits: small_records(100),
        ..Dialect::default()
    };
    let (_, rows) = read_with(&bytes, &dialect).unwrap();
    // The quote swallowed lines 1 and 2 and most of 3 until the record passed 100 bytes; the
    // rest of line 3 goes with it, and reading resumes on line 4.
    assert_eq!(rows[0].0, 1);
    assert_eq!(rows[1].0, 4);
    assert_eq!(rows.last().unwrap().0, 40);
    assert_eq!(rows[1].1[1].as_deref(), Some("Ann"));
}

#[test]
fn a_cut_through_a_multibyte_character_keeps_whole_characters() {
    let bytes = format!("1,{},2021-01-01T00:00:00Z,2,3\n", "ñ".repeat(40));
    let dialect = Dialect {
        limits: small_records(9),
        ..Dialect::default()
    };
    let (_, rows) = read_with(bytes.as_bytes(), &dialect).unwrap();
    // The cut falls after an odd number of the name's bytes: the half ñ is dropped.
    let name = rows[0].1[1].as_deref().unwrap();
    assert!(!name.is_empty() && name.chars().all(|c| c == 'ñ'), "{name}");
}

#[test]
fn a_field_past_the_field_limit_names_its_column() {
    let bytes = format!(
        "1,{},2021-01-01T00:00:00Z,2,3\n2,Bo,x,2,3\n",
        "n".repeat(20)
    );
    let limits = Limits {
        max_field_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        limits_broken(bytes.as_bytes(), limits),
        [Some("name: longer than 10 bytes".to_owned()), None]
    );
}

#[test]
fn batches_are_cut_by_bytes_as_well_as_rows() {
    let bytes: String = (1..=100)
        .map(|id| format!("{id},{},2021-01-01T00:00:00Z,2,3\n", "n".repeat(100)))
        .collect();
    let dialect = Dialect {
        limits: Limits {
            batch_bytes: 1_000,
            ..Limits::default()
        },
        ..Dialect::default()
    };
    let (_, batches) = read_batches(bytes.as_bytes(), &dialect).unwrap();
    // Each row holds 122 to 124 bytes of fields: a batch passes 1,000 bytes at its ninth row.
    assert_eq!(batches.len(), 12);
    assert!(batches.iter().all(|batch| batch.num_rows() <= 9));
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 100);
}
