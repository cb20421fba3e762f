//! CSV dialects and reading: delimiters, header or none, BOM, CRLF, quoting, blank lines,
//! encodings and empty files, on real files and on rows posted to a server reading another
//! dialect; then property tests of the reading and validation stage: whatever the bytes, it
//! never panics, every row read is valid or rejected, a rejected row keeps its line and raw
//! fields, and the invalid-rows file it writes reads back as the same rows.

mod common;

use std::collections::HashMap;

use common::server::Server;
use common::{Sandbox, assert_fails_with, counts, dialect, strings};
use csvgate::dictionary::{Dictionary, Keys, TableRef};
use csvgate::ledger::Status;
use csvgate::sink::Ledger;
use csvgate::sink::invalid::InvalidRows;
use csvgate::store::{Location, ObjectVersion};
use csvgate::validate::{self, Dialect, HeaderMode, ReferenceIds};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::Value;

#[tokio::test]
async fn each_dialect_file_loads_the_same_two_departments() {
    let cases = [
        ("departments_bom.csv", ["Product Management", "Sales"]),
        ("departments_crlf.csv", ["Product Management", "Sales"]),
        ("departments_header.csv", ["Product Management", "Sales"]),
        (
            "departments_quoted.csv",
            ["Research, Development", "The \"Sales\" team"],
        ),
        ("departments_semicolon.csv", ["Product Management", "Sales"]),
        (
            "departments_blank_lines.csv",
            ["Product Management", "Sales"],
        ),
        (
            "departments_all_at_once.csv",
            ["Research; Development", "Sales"],
        ),
    ];
    for (file, names) in cases {
        let sandbox = Sandbox::new();
        let entries = sandbox.ingest(&[&dialect(file)]).await;
        assert_eq!(
            counts(&entries[0]),
            ("departments", Status::Done, 2, 2, 0),
            "{file}: {entries:?}"
        );
        let loaded = strings(
            &sandbox
                .sql("SELECT department FROM departments ORDER BY id")
                .await,
        );
        assert_eq!(loaded, names, "{file}");
        assert_eq!(
            strings(
                &sandbox
                    .sql("SELECT CAST(sum(id) AS VARCHAR) FROM departments")
                    .await
            ),
            ["3"],
            "{file}: ids parsed"
        );
    }
}

#[tokio::test]
async fn unreadable_files_fail_with_a_clear_message_and_load_nothing() {
    let cases = [
        (
            "departments_latin1.csv",
            "departments_latin1.csv: line 2, field `department`: bytes are not valid UTF-8",
        ),
        (
            "departments_empty.csv",
            "departments_empty.csv: the file is empty, there are no rows to load",
        ),
        (
            "departments_header_only.csv",
            "departments_header_only.csv: the file has a header line but no data rows",
        ),
    ];
    for (file, message) in cases {
        let sandbox = Sandbox::new();
        assert_fails_with(&sandbox, &dialect(file), message).await;
        assert_eq!(sandbox.count("departments").await, 0, "{file}");
        let data_files = sandbox
            .table_files("departments")
            .into_iter()
            .filter(|path| path.extension().is_some_and(|ext| ext == "parquet"));
        assert_eq!(data_files.count(), 0, "{file}: uncommitted files removed");
        let invalid = std::fs::read_dir(sandbox.path("invalid"));
        assert!(
            invalid.map_or(true, |mut files| files.next().is_none()),
            "{file}: no invalid file"
        );
        let runs = sandbox.target.runs().await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, Status::Failed);
    }
}

#[tokio::test]
async fn rows_posted_to_a_server_reading_semicolons_without_header_load_with_right_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[ingest]\ndelimiter = \";\"\nheader = \"no\"\n";
    std::fs::write(dir.path().join("csvgate.toml"), config).unwrap();
    let server = Server::start(dir.path(), &[]);
    let rows = serde_json::json!([
        {"id": 1, "job": "Cook"},
        {"id": 2, "job": "Two\nlines"},
        {"job": "no id"},
        {"id": 4, "job": "Clerk"},
    ]);
    let request = common::server::client()
        .post(server.url("/tables/jobs/rows"))
        .header("x-api-key", common::server::KEY);
    let answer: Value = request
        .json(&rows)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(
        answer["rejected"],
        serde_json::json!([{"index": 2, "reason": "id: missing"}])
    );
}

const COLUMNS: usize = 5;

/// A row as the reader must give it: its line and its fields, a missing one as `None`.
type Row = (u64, Vec<Option<String>>);

/// A generated row: its fields, its line end, and the blank lines after it.
type Written = (Vec<String>, &'static str, usize);

fn employees() -> TableRef {
    Dictionary::hr_table("hired_employees")
}

fn references(ids: Vec<i64>) -> ReferenceIds {
    let keys = std::sync::Arc::new(Keys::from_iter(ids));
    HashMap::from([("departments".into(), keys.clone()), ("jobs".into(), keys)])
}

/// What one pass over a file gave: the reader's row count, the valid count, and each rejected
/// row as (line, fields), a missing field as `None`.
struct Outcome {
    read: u64,
    valid: usize,
    rejected: Vec<Row>,
    batches: Vec<RecordBatch>,
}

fn validate(bytes: Vec<u8>, dialect: &Dialect, ids: Vec<i64>) -> Result<Outcome, String> {
    runtime().block_on(async {
        let mut split = validate::split(
            "prop.csv",
            std::io::Cursor::new(bytes),
            &employees(),
            dialect,
            &references(ids),
        )
        .await
        .map_err(|error| error.to_string())?;
        let (mut valid, mut batches) = (0, Vec::new());
        while let Some(batch) = split.next().await {
            let batch = batch.map_err(|error| error.to_string())?;
            valid += batch.valid.num_rows();
            batches.push(batch.invalid);
        }
        let summary = split.finish().await.map_err(|error| error.to_string())?;
        let rejected = batches.iter().flat_map(rejected_rows).collect();
        Ok(Outcome {
            read: summary.rows,
            valid,
            rejected,
            batches,
        })
    })
}

fn rejected_rows(batch: &RecordBatch) -> Vec<Row> {
    let lines = batch.column(COLUMNS).as_primitive::<UInt64Type>();
    (0..batch.num_rows())
        .map(|row| {
            let fields = (0..COLUMNS)
                .map(|column| {
                    let text = batch.column(column).as_string::<i32>();
                    text.is_valid(row).then(|| text.value(row).to_owned())
                })
                .collect();
            (lines.value(row), fields)
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A field as a CSV writer by hand might make it: numbers, names, timestamps, blanks, and
/// text full of delimiters, quotes and line ends.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        "-?[0-9]{1,2}",
        "[a-zA-Zñé ]{0,8}",
        "2021-0[1-9]-1[0-9]T0[0-9]:00:00Z",
        Just(String::new()),
        "[ ,;\"\r\na\t]{1,4}",
    ]
}

/// A file of rows: the fields of each, its line end, and blank lines after it.
fn file() -> impl Strategy<Value = (bool, Vec<Written>)> {
    let line_end = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
    let row = (prop::collection::vec(field(), 1..8), line_end, 0..3usize);
    (any::<bool>(), prop::collection::vec(row, 1..40))
}

fn encode(field: &str, quote_anyway: bool) -> String {
    if quote_anyway || field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The bytes of the file and the rows the reader must find: (line, fields as the table's
/// columns, surplus joined into the last one).
fn render(bom: bool, rows: &[(Vec<String>, &str, usize)]) -> (Vec<u8>, Vec<Row>) {
    let mut text = String::from(if bom { "\u{feff}" } else { "" });
    let mut expected = Vec::new();
    let mut line = 1u64;
    for (index, (fields, end, blanks)) in rows.iter().enumerate() {
        let encoded: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(at, f)| encode(f, (index + at) % 3 == 0))
            .collect();
        let row = encoded.join(",");
        let blank = fields.len() == 1 && fields[0].chars().all(|c| c.is_ascii_whitespace());
        if !blank {
            expected.push((line, as_columns(fields)));
        }
        text.push_str(&row);
        text.push_str(end);
        line += (row.matches('\n').count() + end.matches('\n').count()) as u64;
        for _ in 0..*blanks {
            text.push('\n');
            line += 1;
        }
    }
    (text.into_bytes(), expected)
}

fn as_columns(fields: &[String]) -> Vec<Option<String>> {
    let mut columns: Vec<Option<String>> = (0..COLUMNS).map(|at| fields.get(at).cloned()).collect();
    if fields.len() > COLUMNS {
        columns[COLUMNS - 1] = Some(fields[COLUMNS - 1..].join(","));
    }
    columns
}

fn comma_no_header() -> Dialect {
    Dialect {
        delimiter: Some(b','),
        header: HeaderMode::No,
        ..Dialect::default()
    }
}

/// A missing field and an empty one are the same once written to a CSV.
fn blank_is_missing(fields: &[Option<String>]) -> Vec<String> {
    fields
        .iter()
        .map(|field| field.clone().unwrap_or_default())
        .collect()
}

/// Writes the rejected rows through the product's invalid-rows file and reads it back.
fn invalid_file(batches: &[RecordBatch]) -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let bucket = Location::parse(folder.path().to_str().unwrap(), true).unwrap();
        let object = ObjectVersion {
            location: bucket.url.to_string(),
            key: "prop.csv".to_owned(),
            version: "1".to_owned(),
            size: 0,
            modified: None,
        };
        let mut rows = InvalidRows::new(&bucket, &employees(), &object, "run");
        for batch in batches {
            rows.write(batch).await.unwrap();
        }
        rows.finish().await.unwrap();
    });
    std::fs::read(folder.path().join("hired_employees/prop.run.csv")).unwrap()
}

/// How many generated cases a property runs, and how many must reach its main assertion: a
/// generator that drifted into producing only files the reader refuses would otherwise pass
/// while checking nothing.
const CASES: u32 = 64;

const REACHED_AT_LEAST: usize = 16;

/// Runs `property` on `CASES` values of `strategy`; fails on a failing case (shrunk), or when
/// fewer than `REACHED_AT_LEAST` cases returned `true` (reached the assertion).
fn check_property<S: Strategy>(
    strategy: S,
    property: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let reached = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let outcome = TestRunner::new(config).run(&strategy, |value| {
        if property(value)? {
            reached.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let reached = reached.into_inner();
    assert!(
        reached >= REACHED_AT_LEAST,
        "only {reached} of {CASES} cases reached the assertion"
    );
}

/// Bytes of any value (rarely UTF-8, so mostly refused whole), or text of the characters a CSV
/// file is made of (so most of those are read row by row).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let csv_text = prop::string::string_regex("[0-9,;\t\n\r\" aZñ:T-]{0,600}").unwrap();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        csv_text.prop_map(String::into_bytes),
    ]
}

#[test]
fn arbitrary_bytes_never_panic_and_every_row_is_valid_or_rejected() {
    check_property(bytes(), |bytes| {
        match validate(bytes, &Dialect::default(), vec![1, 2]) {
            Ok(outcome) => {
                prop_assert_eq!(
                    outcome.read,
                    (outcome.valid + outcome.rejected.len()) as u64
                );
                Ok(true)
            }
            // A whole file is refused only for these reasons, each naming it.
            Err(error) => {
                let refused = [
                    "the file is empty",
                    "a header line but no data rows",
                    "not valid UTF-8",
                ];
                prop_assert!(error.starts_with("prop.csv: "), "{}", error);
                prop_assert!(
                    refused.iter().any(|reason| error.contains(reason)),
                    "{}",
                    error
                );
                Ok(false)
            }
        }
    });
}

#[test]
fn csv_shaped_files_keep_every_row_with_its_line_and_fields() {
    check_property(file(), |(bom, rows)| {
        let (bytes, expected) = render(bom, &rows);
        if expected.is_empty() {
            return Ok(false);
        }
        // No id is a department or a job: every row is rejected, so all are compared.
        let all = validate(bytes.clone(), &comma_no_header(), vec![]).unwrap();
        prop_assert_eq!(&all.rejected, &expected);
        prop_assert_eq!(all.valid, 0);
        // With real ids some rows pass; the count still adds up and the rejected ones are a
        // subsequence of the file's rows.
        let mixed = validate(bytes, &comma_no_header(), vec![1, 2, 3]).unwrap();
        prop_assert_eq!(mixed.read, expected.len() as u64);
        prop_assert_eq!(mixed.read, (mixed.valid + mixed.rejected.len()) as u64);
        let mut rest = expected.iter();
        prop_assert!(
            mixed
                .rejected
                .iter()
                .all(|row| rest.any(|seen| seen == row))
        );
        // The invalid-rows file reads back as the rows it holds.
        let again = validate(invalid_file(&all.batches), &Dialect::default(), vec![]).unwrap();
        let back: Vec<_> = again
            .rejected
            .iter()
            .map(|(_, fields)| blank_is_missing(fields))
            .collect();
        let sent: Vec<_> = expected
            .iter()
            .map(|(_, fields)| blank_is_missing(fields))
            .collect();
        prop_assert_eq!(back, sent);
        Ok(true)
    });
}
