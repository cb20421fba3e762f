//! The warehouse appends a load's `done` entry right after the data commit. A process killed
//! between the two, or an append that fails, must not leave rows the ledger does not speak
//! of: the entry, held before the commit, enters the ledger later, once.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn csvgate(dir: &Path, args: &[&str]) -> Command {
    let mut command = common::csvgate_in(dir);
    command.args(args);
    command
}

fn ingest(dir: &Path, file: &str) -> Output {
    common::succeeded(&mut csvgate(dir, &["ingest", "--quiet", file]))
}

/// The ledger's entries as `csvgate runs` prints them.
fn runs(dir: &Path) -> Vec<Value> {
    let out = common::succeeded(&mut csvgate(dir, &["runs", "--format", "json"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The statuses of the entries of `file`, oldest first.
fn statuses(runs: &[Value], file: &str) -> Vec<String> {
    let of_file = runs.iter().filter(|run| run["key"] == file);
    of_file
        .map(|run| run["status"].as_str().unwrap().to_owned())
        .collect()
}

fn held_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("csvgate-data/warehouse/_csvgate_held"))
        .map_or(0, |files| files.count())
}

fn land_jobs(dir: &Path) {
    std::fs::copy(common::fixtures().join("jobs.csv"), dir.join("jobs.csv")).unwrap();
}

#[test]
fn a_kill_between_the_data_commit_and_the_ledger_append_loses_no_done_entry() {
    let dir = tempfile::tempdir().unwrap();
    land_jobs(dir.path());
    let mut load = csvgate(dir.path(), &["ingest", "--quiet", "jobs.csv"]);
    let mut child = common::spawn_paused_at(&mut load, csvgate::fault::LEDGER_BEFORE_APPEND);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(held_files(dir.path()), 1);

    // Reading the ledger settles the held entry: the killed run ended `done`, with its rows.
    let ledger = runs(dir.path());
    assert_eq!(statuses(&ledger, "jobs.csv"), ["done"]);
    assert_eq!(ledger[0]["rows_valid"], 183);
    assert_eq!(held_files(dir.path()), 0);

    // The rerun finds the rows and loads nothing; reading again adds no second `done`.
    ingest(dir.path(), "jobs.csv");
    assert_eq!(statuses(&runs(dir.path()), "jobs.csv"), ["done", "skipped"]);
    let counted = csvgate(
        dir.path(),
        &["sql", "SELECT count(*) AS n FROM jobs", "--format", "csv"],
    )
    .output()
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&counted.stdout), "n\n183\n");
}

#[test]
fn a_rerun_after_a_kill_on_the_second_file_of_a_run_settles_its_entry_before_its_skip() {
    let dir = tempfile::tempdir().unwrap();
    land_jobs(dir.path());
    let departments = common::fixtures().join("departments.csv");
    std::fs::copy(departments, dir.path().join("departments.csv")).unwrap();
    let files = ["ingest", "--quiet", "departments.csv", "jobs.csv"];
    // Killed after the jobs' commit: the run already has a `done` entry, the departments'.
    let second = format!("{}#2", csvgate::fault::LEDGER_BEFORE_APPEND);
    let mut child = common::spawn_paused_at(&mut csvgate(dir.path(), &files), &second);
    child.kill().unwrap();
    child.wait().unwrap();

    // The ledger table itself (not only `runs`) gains the entry when the rerun meets the rows.
    common::succeeded(&mut csvgate(dir.path(), &files));
    assert_eq!(held_files(dir.path()), 0);
    let query = "SELECT key, status FROM runs ORDER BY finished_at";
    let out = common::succeeded(&mut csvgate(dir.path(), &["sql", query, "--format", "csv"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "key,status\ndepartments.csv,done\njobs.csv,done\ndepartments.csv,skipped\njobs.csv,skipped\n"
    );
}

#[test]
fn a_ledger_append_that_fails_after_the_commit_still_ends_the_run_done() {
    let dir = tempfile::tempdir().unwrap();
    land_jobs(dir.path());
    // A file where the ledger table's folder would go: the ledger cannot be created.
    std::fs::create_dir_all(dir.path().join("csvgate-data/warehouse")).unwrap();
    let blocker = dir.path().join("csvgate-data/warehouse/_csvgate_runs");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let out = csvgate(dir.path(), &["ingest", "jobs.csv", "--format", "json"])
        .output()
        .unwrap();
    let printed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed[0]["status"], "done", "{printed:?}");
    assert_eq!(held_files(dir.path()), 1);

    std::fs::remove_file(&blocker).unwrap();
    let ledger = runs(dir.path());
    assert_eq!(statuses(&ledger, "jobs.csv"), ["done"]);
    assert_eq!(ledger[0]["rows_valid"], 183);
}
