//! Many workers on one warehouse or MariaDB. `csvgate ingest` processes started together over
//! one landing folder (or one with `--workers 4`): each file ends `done` exactly once (the
//! others' runs record it `skipped`), no run fails for contention, and every row is there once,
//! also when a worker is killed holding a claim. The claims' own contract, on every target, is
//! in `conformance.rs`.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const WORKERS: usize = 4;

const FILES: u64 = 12;

const ROWS: u64 = 2_000;

fn csvgate(dir: &Path, args: &[&str]) -> Command {
    let mut command = common::csvgate_in(dir);
    command.args(args);
    command
}

/// A folder whose `csvgate.toml` names a new MariaDB database as the target.
async fn mariadb_folder() -> tempfile::TempDir {
    let (url, _) = common::mysql_database().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("csvgate.toml"),
        format!("target = {url:?}\n"),
    )
    .unwrap();
    dir
}

/// `csvgate ingest land` started in `dir`, its errors kept.
fn spawn_ingest(dir: &Path) -> std::process::Child {
    csvgate(dir, &["ingest", "--quiet", "land"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for each worker: each must succeed.
fn assert_all_succeed(workers: Vec<std::process::Child>) {
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a worker failed: {stderr}");
    }
}

/// A file of employees with `ids` into `folder`.
fn employees(folder: &Path, name: &str, ids: std::ops::Range<u64>) {
    std::fs::create_dir_all(folder).unwrap();
    let rows: String = ids
        .map(|id| {
            let (department, job) = (1 + id % 12, 1 + id % 183);
            format!("{id},Person {id},2021-03-11T09:30:00Z,{department},{job}\n")
        })
        .collect();
    std::fs::write(folder.join(name), rows).unwrap();
}

/// The ids of employees file `file` of [`land`].
fn ids_of(file: u64) -> std::ops::Range<u64> {
    file * 100_000 + 1..file * 100_000 + ROWS + 1
}

/// `land/` with the employees files; departments and jobs loaded first.
fn land(dir: &Path) {
    let folder = dir.join("land/hired_employees");
    for file in 0..FILES {
        employees(&folder, &format!("part-{file:02}.csv"), ids_of(file));
    }
    let fixtures = common::fixtures();
    let references = ["departments.csv", "jobs.csv"].map(|name| fixtures.join(name));
    let references = references.map(|path| path.display().to_string());
    common::succeeded(&mut csvgate(
        dir,
        &["ingest", "--quiet", &references[0], &references[1]],
    ));
}

/// Every ledger entry, by object key.
fn entries_by_key(dir: &Path) -> HashMap<String, Vec<Value>> {
    let runs = common::succeeded(&mut csvgate(dir, &["runs", "--format", "json"]));
    let entries: Vec<Value> = serde_json::from_slice(&runs.stdout).unwrap();
    let mut by_key: HashMap<String, Vec<Value>> = HashMap::new();
    for entry in entries {
        let key = entry["key"].as_str().unwrap().to_owned();
        by_key.entry(key).or_default().push(entry);
    }
    by_key
}

/// Each object is `done` once, and any other entry of it is `skipped`.
fn assert_each_done_once(by_key: &HashMap<String, Vec<Value>>) {
    for (key, entries) in by_key {
        let done = entries
            .iter()
            .filter(|entry| entry["status"] == "done")
            .count();
        let others_skipped =
            (entries.iter()).all(|entry| entry["status"] == "done" || entry["status"] == "skipped");
        assert!(done == 1 && others_skipped, "{key}: {entries:#?}");
    }
}

/// `rows,distinct ids` of the employees table, as `engine` of `csvgate sql` sees them.
fn employee_counts(dir: &Path, engine: &str) -> String {
    let sql = "SELECT count(*) AS n, count(DISTINCT id) AS d FROM hired_employees";
    let args = ["sql", sql, "--engine", engine, "--format", "csv"];
    let counted = common::succeeded(&mut csvgate(dir, &args));
    String::from_utf8_lossy(&counted.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .to_owned()
}

#[test]
fn four_ingest_processes_over_one_folder_load_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    land(dir.path());
    let workers = (0..WORKERS).map(|_| spawn_ingest(dir.path())).collect();
    assert_all_succeed(workers);

    let by_key = entries_by_key(dir.path());
    let employees = by_key.keys().filter(|key| key.starts_with("hired"));
    assert_eq!(employees.count(), FILES as usize, "{by_key:?}");
    assert_each_done_once(&by_key);
    let n = FILES * ROWS;
    assert_eq!(
        employee_counts(dir.path(), "datafusion"),
        format!("{n},{n}")
    );
}

#[test]
fn ingest_with_four_workers_loads_each_file_once_and_each_id_once() {
    let dir = tempfile::tempdir().unwrap();
    ingest_with_four_workers(dir.path(), "datafusion");
}

#[tokio::test]
async fn ingest_with_four_workers_into_mariadb_loads_each_file_once_and_each_id_once() {
    let dir = mariadb_folder().await;
    ingest_with_four_workers(dir.path(), "mysql");
}

/// One process, four loads at once, over files of every table in one folder, some of which
/// repeat each other's ids: reference tables still load first (no employee is rejected for a
/// department not loaded yet), and rows with one id are there once, whichever file came last.
fn ingest_with_four_workers(dir: &Path, engine: &str) {
    let land = dir.join("land");
    let folder = land.join("hired_employees");
    for file in 0..FILES {
        employees(&folder, &format!("part-{file:02}.csv"), ids_of(file));
    }
    // Named to sort next to the file they repeat, so the two load at the same time.
    for file in 0..3 {
        employees(&folder, &format!("part-{file:02}-copy.csv"), ids_of(file));
    }
    // Half of part-03's ids again, and as many new ones.
    let overlap = ids_of(3).start + ROWS / 2..ids_of(3).end + ROWS / 2;
    employees(&folder, "part-03-overlap.csv", overlap);
    for name in ["departments.csv", "jobs.csv"] {
        std::fs::copy(common::fixtures().join(name), land.join(name)).unwrap();
    }

    let out = common::succeeded(&mut csvgate(
        dir,
        &["ingest", "--workers", "4", "--format", "json", "land"],
    ));
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries.len(), FILES as usize + 4 + 2);
    let tables: Vec<&str> = (entries.iter())
        .map(|e| e["table_name"].as_str().unwrap())
        .collect();
    assert_eq!(&tables[..2], ["departments", "jobs"], "{tables:?}");
    for entry in &entries {
        assert_eq!(entry["status"], "done", "{entry}");
        if entry["table_name"] == "hired_employees" {
            assert_eq!(entry["rows_invalid"], 0, "{entry}");
        }
    }

    let by_key = entries_by_key(dir);
    assert_eq!(by_key.len(), entries.len(), "{by_key:?}");
    assert_each_done_once(&by_key);
    let distinct = FILES * ROWS + ROWS / 2;
    assert_eq!(
        employee_counts(dir, engine),
        format!("{distinct},{distinct}")
    );
}

/// Employees files of one worker test with a killed worker: 52 with ids of their own and 6
/// copies, plus departments and jobs: 60 files.
const KILLED_PARTS: u64 = 52;

const KILLED_ROWS: u64 = 500;

#[test]
fn four_workers_one_killed_holding_a_claim_load_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    four_workers_one_killed(dir.path(), "datafusion");
}

#[tokio::test]
async fn four_workers_one_killed_holding_a_claim_load_each_file_once_into_mariadb() {
    let dir = mariadb_folder().await;
    four_workers_one_killed(dir.path(), "mysql");
}

/// Four workers over 60 files of every table, some repeating others; one is killed while it
/// holds a claim: paused right after claiming its fifth object (`part-01-copy.csv`: it took
/// departments, jobs, part-00-copy and part-00 alone), its lease renewed meanwhile. The
/// others wait for that lease to run out, take the object over, and end with exit status 0.
fn four_workers_one_killed(dir: &Path, engine: &str) {
    common::short_claim_leases(dir);
    let land = dir.join("land");
    let folder = land.join("hired_employees");
    let ids = |part: u64| part * 100_000 + 1..part * 100_000 + KILLED_ROWS + 1;
    for part in 0..KILLED_PARTS {
        employees(&folder, &format!("part-{part:02}.csv"), ids(part));
    }
    for part in 0..6 {
        employees(&folder, &format!("part-{part:02}-copy.csv"), ids(part));
    }
    for name in ["departments.csv", "jobs.csv"] {
        std::fs::copy(common::fixtures().join(name), land.join(name)).unwrap();
    }

    let mut victim = csvgate(dir, &["ingest", "--quiet", "land"]);
    let mut victim =
        common::spawn_paused_at(&mut victim, &format!("{}#5", csvgate::fault::CLAIM_TAKEN));
    let others = (1..WORKERS).map(|_| spawn_ingest(dir)).collect();
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_all_succeed(others);

    let by_key = entries_by_key(dir);
    assert_eq!(by_key.len(), 60, "{:?}", by_key.keys());
    assert_each_done_once(&by_key);
    let done_by = |name: &str| {
        let (_, entries) = (by_key.iter())
            .find(|(key, _)| key.ends_with(name))
            .unwrap();
        let done = entries
            .iter()
            .find(|entry| entry["status"] == "done")
            .unwrap();
        done["run_id"].as_str().unwrap().to_owned()
    };
    let victim_run = done_by("departments.csv");
    assert_eq!(
        done_by("part-00.csv"),
        victim_run,
        "the victim's fourth object"
    );
    assert_ne!(done_by("part-01-copy.csv"), victim_run, "taken over");
    let distinct = KILLED_PARTS * KILLED_ROWS;
    assert_eq!(
        employee_counts(dir, engine),
        format!("{distinct},{distinct}")
    );
}
