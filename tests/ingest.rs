//! End-to-end ingests on real files into a Delta warehouse in a temporary folder.

mod common;

use std::path::Path;

use common::{Sandbox, dialect, fixtures, strings};
use csvgate::ledger::Status;
use csvgate::pipeline::IngestOptions;
use csvgate::sink::Target;

const EMPLOYEE_COLUMNS: [&str; 5] = ["id", "name", "datetime", "department_id", "job_id"];

fn counts(entry: &csvgate::ledger::Entry) -> (&str, Status, u64, u64, u64) {
    (
        entry.table.as_str(),
        entry.status,
        entry.rows_read,
        entry.rows_valid,
        entry.rows_invalid,
    )
}

/// Ingests one file, checks its entry's counts, then how many rows its table holds.
async fn assert_ingests(
    sandbox: &Sandbox,
    file: &Path,
    options: &IngestOptions,
    entry: (&str, Status, u64, u64, u64),
    table_rows: i64,
) {
    let entries = sandbox.ingest_with(&[file], options).await;
    assert_eq!(counts(&entries[0]), entry);
    assert_eq!(sandbox.count(entry.0).await, table_rows);
}

/// Ingests one file and checks that it failed with an error containing `message`.
async fn assert_fails_with(sandbox: &Sandbox, file: &Path, message: &str) {
    let entries = sandbox.ingest(&[file]).await;
    assert_eq!(entries[0].status, Status::Failed, "{}", file.display());
    let error = entries[0].error.as_deref().unwrap_or_default();
    assert!(error.contains(message), "{}: {error}", file.display());
}

#[tokio::test]
async fn fixtures_load_with_exact_counts_and_every_rejected_row_kept() {
    let sandbox = Sandbox::new();
    let entries = sandbox.ingest(&[&fixtures()]).await;
    let summary: Vec<_> = entries.iter().map(counts).collect();
    assert_eq!(
        summary,
        [
            ("departments", Status::Done, 12, 12, 0),
            ("jobs", Status::Done, 183, 183, 0),
            ("hired_employees", Status::Done, 1999, 1929, 70),
        ]
    );
    assert_eq!(sandbox.count("departments").await, 12);
    assert_eq!(sandbox.count("jobs").await, 183);
    assert_eq!(sandbox.count("hired_employees").await, 1929);

    // The expected rejections, worked out from the source file itself: every row with an
    // empty field, the reason naming each empty field.
    let source = std::fs::read_to_string(fixtures().join("hired_employees.csv")).unwrap();
    let source_lines: Vec<&str> = source.lines().collect();
    let mut expected = Vec::new();
    for (index, line) in source_lines.iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let missing: Vec<String> = fields
            .iter()
            .zip(EMPLOYEE_COLUMNS)
            .filter(|(field, _)| field.is_empty())
            .map(|(_, name)| format!("{name}: missing"))
            .collect();
        if !missing.is_empty() {
            expected.push((index as u64 + 1, line.to_string(), missing.join("; ")));
        }
    }
    assert_eq!(expected.len(), 70);

    let invalid_url = entries[2]
        .invalid_object
        .clone()
        .expect("an invalid-rows file");
    let invalid_path = url::Url::parse(&invalid_url)
        .unwrap()
        .to_file_path()
        .unwrap();
    assert!(invalid_path.starts_with(sandbox.path("invalid/hired_employees")));
    let mut reader = csv::Reader::from_path(&invalid_path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "name",
            "datetime",
            "department_id",
            "job_id",
            "line",
            "reason"
        ]
    );
    let written: Vec<(u64, String, String)> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (
                record[5].parse().unwrap(),
                record.iter().take(5).collect::<Vec<_>>().join(","),
                record[6].to_owned(),
            )
        })
        .collect();
    assert_eq!(written, expected);
}

#[tokio::test]
async fn a_second_ingest_is_skipped_and_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&fixtures()]).await;
    let files_before = sandbox.table_files("hired_employees");
    let again = sandbox.ingest(&[&fixtures()]).await;
    assert!(
        again.iter().all(|entry| entry.status == Status::Skipped),
        "{again:?}"
    );
    assert_eq!(sandbox.count("hired_employees").await, 1929);
    assert_eq!(
        sandbox.table_files("hired_employees"),
        files_before,
        "no commit, no file"
    );

    let runs = sandbox.target.runs().await.unwrap();
    let statuses: Vec<(&str, Status)> = runs
        .iter()
        .map(|entry| (entry.object.key.as_str(), entry.status))
        .collect();
    assert_eq!(statuses.len(), 6);
    assert_eq!(
        &statuses[3..],
        [
            ("departments.csv", Status::Skipped),
            ("jobs.csv", Status::Skipped),
            ("hired_employees.csv", Status::Skipped)
        ]
    );

    // --force processes the same version again; the MERGE on id keeps one row per id.
    let forced = IngestOptions {
        force: true,
        ..IngestOptions::default()
    };
    let file = fixtures().join("hired_employees.csv");
    let expected = ("hired_employees", Status::Done, 1999, 1929, 70);
    assert_ingests(&sandbox, &file, &forced, expected, 1929).await;
}

#[tokio::test]
async fn a_row_with_a_known_id_replaces_the_old_one() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&fixtures()]).await;
    let fix = sandbox.file(
        "landing/hired_employees_fix.csv",
        b"1,Harriet Vogt,2021-11-07T02:48:42Z,2,96\n",
    );
    let entries = sandbox.ingest(&[&fix]).await;
    assert_eq!(
        counts(&entries[0]),
        ("hired_employees", Status::Done, 1, 1, 0)
    );
    assert_eq!(
        strings(
            &sandbox
                .sql("SELECT name FROM hired_employees WHERE id = 1")
                .await
        ),
        ["Harriet Vogt"]
    );
    assert_eq!(sandbox.count("hired_employees").await, 1929);
}

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
async fn a_failure_late_in_a_large_file_leaves_the_table_as_it_was() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&fixtures()]).await;
    let files_before = sandbox.table_files("hired_employees");
    // Enough rows for several batches to reach the target before the bad byte.
    let mut bytes = Vec::new();
    csvgate::generate::write_employees(&mut bytes, 100_000, 3).unwrap();
    bytes.extend_from_slice(b"100001,Jos\xE9,2021-01-01T00:00:00Z,1,1\n");
    let file = sandbox.file("landing/hired_employees_big.csv", &bytes);
    assert_fails_with(&sandbox, &file, "line 100001, field `name`").await;
    assert_eq!(sandbox.count("hired_employees").await, 1929);
    assert_eq!(sandbox.table_files("hired_employees"), files_before);
}

#[tokio::test]
async fn rules_reject_bad_values_with_reasons_naming_the_field() {
    let sandbox = Sandbox::new();
    sandbox
        .ingest(&[
            &fixtures().join("departments.csv"),
            &fixtures().join("jobs.csv"),
        ])
        .await;
    let rows = "\
1,Ann,2021-01-01T00:00:00Z,1,1
2,Bob,2021-01-01T00:00:00Z,99,1
3,Cy,yesterday,1,1
x,Di,2021-01-01T00:00:00Z,1,1
1,Ed,2021-01-01T00:00:00Z,1,1
4,Flo,2021-01-01T00:00:00Z,1,1,surplus
5,   ,2021-01-01T00:00:00Z,1,1
-6,Gus,2021-01-01T00:00:00Z,1,J7
7,Hal,2021-06-30T22:00:00-03:00,2,3
";
    let file = sandbox.file("hired_employees.csv", rows.as_bytes());
    let entries = sandbox.ingest(&[&file]).await;
    assert_eq!(
        counts(&entries[0]),
        ("hired_employees", Status::Done, 9, 2, 7)
    );
    let path = url::Url::parse(entries[0].invalid_object.as_deref().unwrap())
        .unwrap()
        .to_file_path()
        .unwrap();
    let reasons: Vec<(String, String)> = csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[5].to_owned(), record[6].to_owned())
        })
        .collect();
    let expected = [
        ("2", "department_id: 99 is not an id in departments"),
        ("3", "datetime: not an ISO-8601 timestamp"),
        ("4", "id: not an integer"),
        ("5", "id: repeats the id of an earlier row in this file"),
        (
            "6",
            "row: expected 5 fields, found 6; job_id: not an integer",
        ),
        ("7", "name: missing"),
        ("8", "id: must be greater than 0; job_id: not an integer"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(line, reason)| (line.to_string(), reason.to_string()))
        .collect();
    assert_eq!(reasons, expected);
    // An offset is normalised to UTC: 22:00 at -03:00 is 01:00 the next day.
    let hired = strings(
        &sandbox
            .sql("SELECT CAST(datetime AS VARCHAR) FROM hired_employees WHERE id = 7")
            .await,
    );
    assert_eq!(hired, ["2021-07-01T01:00:00Z"]);
}

#[tokio::test]
async fn a_fixed_invalid_file_goes_back_in_with_one_command() {
    let sandbox = Sandbox::new();
    let entries = sandbox.ingest(&[&fixtures()]).await;
    let invalid = url::Url::parse(entries[2].invalid_object.as_deref().unwrap())
        .unwrap()
        .to_file_path()
        .unwrap();
    // The reviewer fills every empty field in, leaving line and reason as they were.
    let fixed: String = std::fs::read_to_string(&invalid)
        .unwrap()
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            for (field, filler) in
                fields
                    .iter_mut()
                    .zip(["", "Unknown", "2021-01-01T00:00:00Z", "1", "1"])
            {
                if field.is_empty() {
                    *field = filler.to_owned();
                }
            }
            fields.join(",") + "\n"
        })
        .collect();
    std::fs::write(&invalid, fixed).unwrap();
    let expected = ("hired_employees", Status::Done, 70, 70, 0);
    assert_ingests(
        &sandbox,
        &invalid,
        &IngestOptions::default(),
        expected,
        1999,
    )
    .await;
}

#[tokio::test]
async fn a_file_with_only_invalid_rows_is_still_recorded_once() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&fixtures().join("departments.csv")]).await;
    let file = sandbox.file("departments_bad.csv", b"0,Zero\n-1,Minus\n");
    let first = sandbox.ingest(&[&file]).await;
    assert_eq!(counts(&first[0]), ("departments", Status::Done, 2, 0, 2));
    let second = sandbox.ingest(&[&file]).await;
    assert_eq!(second[0].status, Status::Skipped);
    assert_eq!(sandbox.count("departments").await, 12);
}

#[tokio::test]
async fn a_file_named_after_no_table_fails_unless_told_which() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("staff.csv", b"1,Product Management\n");
    assert_fails_with(&sandbox, &file, "cannot tell which table").await;
    let told = IngestOptions {
        table: csvgate::dictionary::Table::named("departments"),
        ..IngestOptions::default()
    };
    let entries = sandbox.ingest_with(&[&file], &told).await;
    assert_eq!(counts(&entries[0]), ("departments", Status::Done, 1, 1, 0));
}

#[tokio::test]
async fn tables_kept_between_loads_see_what_another_process_committed() {
    // Two targets on one warehouse stand for two processes: a server that keeps its tables
    // open between loads, and a CLI run beside it.
    let sandbox = Sandbox::new();
    let other = sandbox.other_process();
    let first = sandbox.file("landing/departments_1.csv", b"1,Staff\n2,Sales\n");
    let by_other = sandbox.file("landing/departments_2.csv", b"3,Old name\n");
    let again = sandbox.file("landing/departments_3.csv", b"3,New name\n");
    sandbox.ingest(&[&first]).await;
    let source = by_other.to_str().unwrap().to_owned();
    let entries = other
        .ingest(&[source], &IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(entries[0].status, Status::Done);
    let entries = sandbox.ingest(&[&again]).await;
    assert_eq!(entries[0].status, Status::Done);
    assert_eq!(
        strings(
            &sandbox
                .sql("SELECT department FROM departments ORDER BY id")
                .await
        ),
        ["Staff", "Sales", "New name"]
    );
}

#[tokio::test]
async fn two_processes_append_to_one_ledger_in_turn() {
    // The server keeps the ledger open for appends; a CLI run beside it appends in between,
    // taking the version the server would have written next.
    let sandbox = Sandbox::new();
    let other = sandbox.other_process();
    let files: Vec<_> = (1..=4)
        .map(|n| {
            sandbox.file(
                &format!("landing/jobs_{n}.csv"),
                format!("{n},Job {n}\n").as_bytes(),
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let entries = if index == 2 {
            let source = file.to_str().unwrap().to_owned();
            other
                .ingest(&[source], &IngestOptions::default())
                .await
                .unwrap()
        } else {
            sandbox.ingest(&[file]).await
        };
        statuses.push(entries[0].status);
    }
    assert_eq!(statuses, [Status::Done; 4]);
    let ledger = sandbox.target.runs().await.unwrap();
    let done = ledger.iter().filter(|entry| entry.status == Status::Done);
    assert_eq!(done.count(), 4, "{ledger:?}");
    assert_eq!(sandbox.count("jobs").await, 4);
}

#[tokio::test]
async fn replacing_rows_rewrites_only_the_file_that_held_them() {
    let sandbox = Sandbox::new();
    let first = sandbox.file("landing/departments_1.csv", b"1,A\n2,B\n3,C\n");
    let second = sandbox.file("landing/departments_2.csv", b"10,J\n11,K\n");
    let change = sandbox.file("landing/departments_3.csv", b"2,Changed\n20,New\n");
    sandbox.ingest(&[&first]).await;
    sandbox.ingest(&[&second]).await;
    sandbox.ingest(&[&change]).await;
    assert_eq!(
        strings(
            &sandbox
                .sql("SELECT department FROM departments ORDER BY id")
                .await
        ),
        ["A", "Changed", "C", "J", "K", "New"]
    );
    // The last commit removed the first file only (the second one's ids 10..11 cannot hold 2
    // or 20), and added the first file's other rows plus the new rows.
    let log = sandbox
        .table_files("departments")
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .max()
        .unwrap();
    let actions = std::fs::read_to_string(log).unwrap();
    let count = |action: &str| {
        let prefix = format!("{{\"{action}\"");
        actions
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .count()
    };
    assert_eq!((count("remove"), count("add")), (1, 2));
}
