//! The Delta warehouse as stored: tables kept open between loads see what another process
//! committed, replacing rows rewrites only the file that held them, `csvgate vacuum` keeps what
//! the retention needs and then removes replaced files and orphans, and engines csvgate does
//! not contain (Python deltalake and Polars, from the venv `scripts/services` makes) read each
//! table's current version with the same row counts and Q2 answer as csvgate's engine.

mod common;

use common::cli::{csvgate, sql};
use common::{Sandbox, csv_lines, strings};
use csvgate::dictionary::Dictionary;
use csvgate::ledger::Status;
use csvgate::pipeline::IngestOptions;
use csvgate::report::Report;
use serde_json::Value;

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

/// The Parquet files in the warehouse folder of `jobs`.
fn jobs_files(dir: &std::path::Path) -> Vec<String> {
    let folder = dir.join("csvgate-data/warehouse/jobs");
    let mut names: Vec<String> = (std::fs::read_dir(folder).unwrap().flatten())
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    names.sort();
    names
}

#[test]
fn vacuum_keeps_what_the_retention_needs_and_then_removes_replaced_files_and_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("jobs.csv"), "1,Cook\n2,Clerk\n").unwrap();
    assert!(csvgate(path, &["ingest", "jobs.csv"]).status.success());
    // Job 2 renamed: its file is rewritten, the old one only removed from the table.
    std::fs::write(path.join("jobs.csv"), "2,Head clerk\n").unwrap();
    assert!(csvgate(path, &["ingest", "jobs.csv"]).status.success());
    let after_loads = jobs_files(path);
    let orphan = path.join("csvgate-data/warehouse/jobs/part-orphan-of-a-failed-commit.parquet");
    std::fs::copy(
        path.join("csvgate-data/warehouse/jobs")
            .join(&after_loads[0]),
        &orphan,
    )
    .unwrap();

    let kept = csvgate(path, &["vacuum", "--table", "jobs"]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stdout),
        "jobs: removed 0 files\n"
    );
    let short = csvgate(
        path,
        &["vacuum", "--table", "jobs", "--retention-hours", "0"],
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("retention"),
        "{short:?}"
    );
    let args = [
        "vacuum",
        "--table",
        "jobs",
        "--retention-hours",
        "0",
        "--force",
    ];
    let dry = csvgate(path, &[&args[..], &["--dry-run"]].concat());
    assert!(
        String::from_utf8_lossy(&dry.stdout).starts_with("jobs: would remove 2 files"),
        "{dry:?}"
    );
    assert_eq!(jobs_files(path).len(), after_loads.len() + 1);

    let removed = csvgate(path, &args);
    assert!(
        String::from_utf8_lossy(&removed.stdout).starts_with("jobs: removed 2 files"),
        "{removed:?}"
    );
    assert!(!orphan.exists());
    assert_eq!(jobs_files(path).len(), after_loads.len() - 1);
    let rows = sql(path, &[], "SELECT id, job FROM jobs ORDER BY id");
    let rows = String::from_utf8_lossy(&rows.stdout);
    assert!(
        rows.contains("Cook") && rows.contains("Head clerk") && !rows.contains("| Clerk"),
        "{rows}"
    );
}

/// Twenty real employees moved into department 5 with a 2021 hire date: a load whose rows
/// replace rows already in the table, so the files that held them stop being live.
fn moved_employees(sandbox: &Sandbox) -> std::path::PathBuf {
    let real = std::fs::read_to_string(common::fixtures().join("hired_employees.csv")).unwrap();
    let moved: String = (real.lines())
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields.len() == 5 && fields.iter().all(|field| !field.is_empty()))
        .take(20)
        .map(|f| format!("{},{},2021-06-01T12:00:00Z,5,{}\n", f[0], f[1], f[4]))
        .collect();
    sandbox.file("moved/hired_employees_moved.csv", moved.as_bytes())
}

fn read_with_python(sandbox: &Sandbox, year: i32) -> Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/read_warehouse.py");
    let out = std::process::Command::new(common::venv_tool("python"))
        .arg(script)
        .arg(sandbox.path("warehouse"))
        .arg(year.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn python_deltalake_and_polars_see_the_tables_and_q2_as_csvgate_does() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    let moved = moved_employees(&sandbox);
    let entries = sandbox.ingest(&[&moved]).await;
    assert_eq!(entries[0].rows_valid, 20, "{entries:?}");

    let seen = read_with_python(&sandbox, 2021);
    for table in Dictionary::hr().tables() {
        let found = &seen["tables"][&table.name];
        let rows = sandbox.count(&table.name).await;
        assert_eq!(found["deltalake_rows"], rows, "{}: {found}", table.name);
        assert_eq!(found["polars_rows"], rows, "{}: {found}", table.name);
        // The protocol any Delta reader knows: no table features to opt into.
        assert_eq!(found["reader_version"], 1, "{}: {found}", table.name);
        assert_eq!(found["reader_features"], serde_json::json!([]));
    }
    assert_eq!(
        sandbox.count("hired_employees").await,
        1929,
        "replaced, not added"
    );
    assert_eq!(
        seen["datetime_type"],
        "Datetime(time_unit='us', time_zone='UTC')"
    );

    let ctx = sandbox.target.session().await.unwrap();
    let q2 = Report::Q2.datafusion(&ctx, 2021).await.unwrap();
    let expected = csv_lines(&q2);
    assert!(
        expected.iter().any(|line| line.starts_with("5,")),
        "{expected:?}"
    );
    assert_eq!(seen["q2"], serde_json::json!(expected));
}
