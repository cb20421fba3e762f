//! Ingest: files into the Delta warehouse, through the library and through `csvgate ingest`:
//! exact counts, skips and replacements, validation rules and rejected rows, failures that
//! leave a table as it was, output formats and exit codes.

mod common;

use std::path::Path;

use common::cli::{assert_fails_saying, csvgate, text};
use common::server::{Server, get_json, put};
use common::{Sandbox, assert_fails_with, counts, fixtures, strings};
use csvgate::ledger::Status;
use csvgate::pipeline::IngestOptions;
use csvgate::sink::Ledger;
use reqwest::StatusCode;
use serde_json::Value;

const EMPLOYEE_COLUMNS: [&str; 5] = ["id", "name", "datetime", "department_id", "job_id"];

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

/// The fixtures folder, as a command-line argument.
fn fixtures_arg() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .to_str()
        .unwrap()
        .to_owned()
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
        table: Some(csvgate::dictionary::Dictionary::hr_table("departments")),
        ..IngestOptions::default()
    };
    let entries = sandbox.ingest_with(&[&file], &told).await;
    assert_eq!(counts(&entries[0]), ("departments", Status::Done, 1, 1, 0));
}

#[test]
fn ingest_then_runs_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = csvgate(dir.path(), &["ingest", &fixtures_arg(), "--format", "json"]);
    assert!(ingest.status.success(), "{}", text(&ingest.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&ingest.stdout).unwrap();
    let summary: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["table_name"].as_str().unwrap().to_owned(),
                row["status"].as_str().unwrap().to_owned(),
                row["rows_valid"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("departments".into(), "done".into(), 12),
            ("jobs".into(), "done".into(), 183),
            ("hired_employees".into(), "done".into(), 1929)
        ]
    );
    // The default buckets live under ./csvgate-data.
    assert!(
        dir.path()
            .join("csvgate-data/warehouse/hired_employees/_delta_log")
            .is_dir()
    );

    let again = csvgate(
        dir.path(),
        &["ingest", &fixtures_arg(), "--format", "csv", "--quiet"],
    );
    assert!(again.status.success());
    assert!(again.stdout.is_empty(), "--quiet prints nothing");

    let runs = csvgate(dir.path(), &["runs", "--format", "csv"]);
    let lines: Vec<String> = text(&runs.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(lines[0].starts_with("run_id,location,key,object_version,table_name,status,rows_read"));
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.contains(",skipped,"))
            .count(),
        3
    );

    let table = csvgate(dir.path(), &["runs", "--last", "1"]);
    let table = text(&table.stdout);
    assert!(
        table.contains("| hired_employees ") && table.contains("| skipped "),
        "{table}"
    );
}

#[test]
fn a_file_that_cannot_be_loaded_makes_the_exit_code_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jobs.csv"), b"1,Caf\xE9 Manager\n").unwrap();
    let output = csvgate(dir.path(), &["ingest", "jobs.csv"]);
    assert_fails_saying(&output, 1, "1 of 1 objects could not be loaded");
    assert!(text(&output.stdout).contains("line 1, field `job`: bytes are not valid UTF-8"));

    let unknown = csvgate(dir.path(), &["ingest", "jobs.csv", "--table", "staff"]);
    assert_fails_saying(
        &unknown,
        2,
        "--table staff: no table \"staff\": one of departments, jobs",
    );

    let missing = csvgate(dir.path(), &["ingest", "nowhere/"]);
    assert_fails_saying(&missing, 2, "nowhere/: no such file or folder");
}

#[tokio::test]
async fn files_told_apart_by_a_dotted_part_keep_their_own_invalid_rows() {
    let sandbox = common::Sandbox::new();
    let first = sandbox.file("jobs.2021.csv", b"1,Analyst\n,no id in 2021\n");
    let second = sandbox.file("jobs.2022.csv", b"2,Clerk\n,no id in 2022\n");
    let entries = sandbox.ingest(&[&first, &second]).await;
    assert!(
        entries.iter().all(|entry| entry.rows_invalid == 1),
        "{entries:?}"
    );
    let folder = sandbox.path("invalid").join("jobs");
    let mut kept: Vec<String> = (std::fs::read_dir(folder).unwrap().flatten())
        .map(|file| std::fs::read_to_string(file.path()).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2);
    assert!(
        kept[0].contains("no id in 2021") && kept[1].contains("no id in 2022"),
        "{kept:?}"
    );
}

#[tokio::test]
async fn keys_with_accents_spaces_and_reserved_characters_load_from_a_folder_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("csvgate-data/landing/jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for (name, row) in [
        ("contrataciones_año.csv", "1,Analyst\n"),
        ("a#b.csv", "2,Clerk\n"),
        ("c%d e.csv", "3,Boss\n"),
    ] {
        std::fs::write(jobs.join(name), row).unwrap();
    }
    common::succeeded(
        common::csvgate_in(dir.path()).args(["ingest", "csvgate-data/landing/jobs/"]),
    );

    let server = Server::start(dir.path(), &[]);
    let spanish = put(
        &server,
        "jobs/altas%20de%20a%C3%B1o%20%231.csv",
        b"4,Cook\n".to_vec(),
        true,
    )
    .await;
    let spanish: Value = spanish.json().await.unwrap();
    assert_eq!(spanish["status"], "done", "{spanish}");
    assert!(
        jobs.join("altas de año #1.csv").exists(),
        "stored under the key as sent"
    );

    let long_segment = format!("jobs/{}.csv", "x".repeat(300));
    let refused = put(&server, &long_segment, b"5,Too long\n".to_vec(), true).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let said: Value = refused.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("longer than 255"),
        "{said}"
    );
    let runs = get_json(&server, "/runs").await;
    let done = (runs.as_array().unwrap().iter()).filter(|run| run["status"] == "done");
    assert_eq!(done.count(), 4, "{runs}");
}
