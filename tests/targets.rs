//! The MySQL target against a real MariaDB (`scripts/services` starts it): loads, foreign
//! keys, LOAD DATA or INSERT, the mirrored Delta warehouse, unreachable or wrong targets,
//! kills midway, rows MariaDB would refuse. Each test makes its own database. These tests
//! fail, never skip, when the server cannot be reached.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{Sandbox, data_rows, fixtures, local, mysql_database, mysql_rows, mysql_server};
use csvgate::ledger::Status;
use csvgate::sink::Ledger;
use csvgate::sink::mysql::MysqlTarget;

async fn count(target: &MysqlTarget, table: &str) -> u64 {
    mysql_rows::<u64>(target, &format!("SELECT COUNT(*) FROM {table}")).await[0]
}

async fn counts(target: &MysqlTarget) -> [u64; 3] {
    [
        count(target, "departments").await,
        count(target, "jobs").await,
        count(target, "hired_employees").await,
    ]
}

fn sandbox(target: &MysqlTarget) -> Sandbox {
    Sandbox::with_target(Arc::new(target.clone()))
}

#[tokio::test]
async fn fixtures_load_into_mariadb_once_and_a_changed_row_replaces_the_old() {
    let (_, target) = mysql_database().await;
    let version = csvgate::sink::mysql::ddl::SCHEMA_VERSION;
    assert_eq!(
        target.init().await.unwrap(),
        version,
        "init is safe to run twice"
    );
    assert_eq!(
        mysql_rows::<u64>(&target, "SELECT COUNT(*) FROM csvgate_schema").await,
        [1]
    );
    let sandbox = sandbox(&target);
    let entries = sandbox.ingest(&[&fixtures()]).await;
    assert!(
        entries.iter().all(|entry| entry.status == Status::Done),
        "{entries:?}"
    );
    assert_eq!(counts(&target).await, [12, 183, 1929]);
    let invalid = local(entries[2].invalid_object.as_deref().unwrap());
    assert_eq!(data_rows(&invalid).len(), 70);

    let again = sandbox.ingest(&[&fixtures()]).await;
    assert!(
        again.iter().all(|entry| entry.status == Status::Skipped),
        "{again:?}"
    );
    assert_eq!(counts(&target).await, [12, 183, 1929]);
    let ledger = target.runs().await.unwrap();
    assert_eq!(
        ledger.iter().map(|entry| entry.status).collect::<Vec<_>>(),
        [
            Status::Done,
            Status::Done,
            Status::Done,
            Status::Skipped,
            Status::Skipped,
            Status::Skipped
        ]
    );

    let fix = sandbox.file(
        "landing/hired_employees_fix.csv",
        b"1,Harriet Vogt,2021-11-07T04:48:42+02:00,2,96\n",
    );
    sandbox.ingest(&[&fix]).await;
    let row: Vec<(String, String)> = target
        .query("SELECT name, CAST(datetime AS CHAR) FROM hired_employees WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(
        row,
        [(
            "Harriet Vogt".to_owned(),
            "2021-11-07 02:48:42.000000".to_owned()
        )]
    );
    assert_eq!(count(&target, "hired_employees").await, 1929);
}

#[tokio::test]
async fn foreign_keys_are_checked_against_the_ids_in_mysql() {
    let (_, target) = mysql_database().await;
    let sandbox = sandbox(&target);
    sandbox
        .ingest(&[
            &fixtures().join("departments.csv"),
            &fixtures().join("jobs.csv"),
        ])
        .await;
    // A department that reached MySQL some other way counts as well.
    mysql_rows::<u64>(
        &target,
        "INSERT INTO departments VALUES (50, 'Added by hand')",
    )
    .await;
    let file = sandbox.file(
        "hired_employees.csv",
        b"1,Ann,2021-01-01T00:00:00Z,99,1\n2,Bob,2021-01-01T00:00:00Z,50,1\n",
    );
    let entries = sandbox.ingest(&[&file]).await;
    assert_eq!((entries[0].rows_valid, entries[0].rows_invalid), (1, 1));
    let rejected = data_rows(&local(entries[0].invalid_object.as_deref().unwrap()));
    assert_eq!(
        &rejected[0][6],
        "department_id: 99 is not an id in departments"
    );
    assert_eq!(
        mysql_rows::<i64>(&target, "SELECT department_id FROM hired_employees").await,
        [50]
    );
}

#[tokio::test]
async fn without_local_infile_rows_go_in_with_insert_and_the_same_result() {
    let (_, target) = mysql_database().await;
    let target = target.without_local_infile();
    let sandbox = sandbox(&target);
    sandbox.ingest(&[&fixtures()]).await;
    assert_eq!(counts(&target).await, [12, 183, 1929]);
    let names: Vec<String> = target
        .query("SELECT name FROM hired_employees WHERE id IN (1, 3) ORDER BY id")
        .await
        .unwrap();
    assert_eq!(names, ["Harold Vogt", "Lyman Hadye"]);
}

#[tokio::test]
async fn mirror_parquet_keeps_the_delta_warehouse_loaded_too() {
    let (url, target) = mysql_database().await;
    let sandbox = Sandbox::mysql_mirrored(&url);
    sandbox.ingest(&[&fixtures()]).await;
    assert_eq!(counts(&target).await, [12, 183, 1929]);
    assert_eq!(sandbox.count("hired_employees").await, 1929);
    let again = sandbox.ingest(&[&fixtures()]).await;
    assert!(again.iter().all(|entry| entry.status == Status::Skipped));
}

fn csvgate(dir: &Path, args: &[&str]) -> Command {
    let mut command = common::csvgate_in(dir);
    command.args(args);
    command
}

#[tokio::test]
async fn unreachable_or_wrong_targets_fail_clearly_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let departments = fixtures().join("departments.csv");
    let departments = departments.to_str().unwrap();
    let host = mysql_server().rsplit_once('@').unwrap().1.to_owned();
    let cases = [
        (
            "mysql://csvgate@127.0.0.1:1/csvgate".to_owned(),
            "Connection refused",
        ),
        (format!("mysql://csvgate@{host}/csvgate"), "Access denied"),
        (
            format!("mysql://csvgate@{host}/no_such_database_here"),
            "Unknown database",
        ),
    ];
    for (url, expected) in cases {
        let password = if expected == "Access denied" {
            "wrong-secret"
        } else {
            "csvgate"
        };
        let output = csvgate(
            dir.path(),
            &[
                "ingest",
                departments,
                "--target",
                &url,
                "--target-password",
                password,
            ],
        )
        .output()
        .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(2), "{url}: {all}");
        assert!(
            all.contains(&url),
            "{url}: the message names the target: {all}"
        );
        assert!(all.contains(expected), "{url}: {all}");
        assert!(
            !all.contains(":csvgate@") && !all.contains("wrong-secret"),
            "{url}: password shown: {all}"
        );
    }
}

#[tokio::test]
async fn a_load_killed_midway_leaves_the_target_as_it_was_and_a_rerun_is_exact() {
    let (url, target) = mysql_database().await;
    let dir = tempfile::tempdir().unwrap();
    common::short_claim_leases(dir.path());
    let fixtures = fixtures();
    let references = [fixtures.join("departments.csv"), fixtures.join("jobs.csv")];
    let references: Vec<&str> = references
        .iter()
        .map(|path| path.to_str().unwrap())
        .collect();
    let ingest = |paths: &[&str]| {
        let mut args = vec!["ingest", "--quiet", "--target", &url];
        args.extend_from_slice(paths);
        csvgate(dir.path(), &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(ingest(&references).wait().unwrap().success());

    let big = dir.path().join("hired_employees.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    let generated = csvgate::generate::write_employees(&mut file, 60_000, 11).unwrap();
    drop(file);
    // Killed with every row written inside the load's open transaction, before its commit.
    let mut load = csvgate(
        dir.path(),
        &["ingest", "--quiet", "--target", &url, big.to_str().unwrap()],
    );
    let mut child = common::spawn_paused_at(&mut load, csvgate::fault::LOAD_BEFORE_COMMIT);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert_eq!(counts(&target).await, [12, 183, 0]);
    let done: Vec<u64> = target.query("SELECT COUNT(*) FROM csvgate_runs WHERE object_key = 'hired_employees.csv' AND status = 'done'").await.unwrap();
    assert_eq!(done, [0]);

    assert!(ingest(&[big.to_str().unwrap()]).wait().unwrap().success());
    assert_eq!(counts(&target).await, [12, 183, generated.valid]);
    let runs = target.runs().await.unwrap();
    let last = runs.last().unwrap();
    assert_eq!(
        (last.status, last.rows_valid, last.rows_invalid),
        (Status::Done, generated.valid, generated.invalid)
    );
}

#[tokio::test]
async fn rows_mariadb_would_refuse_are_rejected_rows_and_the_rest_of_the_file_loads() {
    let (_, target) = mysql_database().await;
    let sandbox = sandbox(&target);
    let fixtures = fixtures();
    sandbox
        .ingest(&[
            &fixtures.join("departments.csv"),
            &fixtures.join("jobs.csv"),
        ])
        .await;
    let rows = "1,Ann,2021-03-01T09:00:00Z,1,1\n\
                2,Old,0999-12-31T00:00:00Z,1,1\n\
                3,Far,9999-01-01T00:00:00Z,1,1\n\
                4,Tab,\t,1,1\n\
                5,Day,2021-03-01,1,1\n\
                6,Spc,2021-03-01 09:00:00,1,1\n\
                7,Bob,2021-03-01T09:00:00+02:00,1,1\n";
    let file = sandbox.file("hired_employees.csv", rows.as_bytes());
    let entries = sandbox.ingest(&[&file]).await;
    assert_eq!(
        (
            entries[0].status,
            entries[0].rows_valid,
            entries[0].rows_invalid
        ),
        (Status::Done, 2, 5),
        "{entries:?}"
    );
    let rejected = data_rows(&local(entries[0].invalid_object.as_deref().unwrap()));
    let reasons: Vec<(&str, &str)> = rejected.iter().map(|row| (&row[0], &row[6])).collect();
    assert_eq!(
        reasons,
        [
            ("2", "datetime: not an ISO-8601 timestamp"),
            ("3", "datetime: not an ISO-8601 timestamp"),
            ("4", "datetime: missing"),
            ("5", "datetime: not an ISO-8601 timestamp"),
            ("6", "datetime: not an ISO-8601 timestamp"),
        ]
    );
    assert_eq!(count(&target, "hired_employees").await, 2);
}
