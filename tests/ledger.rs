//! The ledger of runs: `GET /runs` in pages filtered by status, a target answering a
//! selection of its ledger (a status, a run, a window) as filtering the whole ledger would, two
//! processes appending in turn, and entries held between a data commit and the ledger append
//! (a process killed between the two, or an append that fails, leaves no rows the ledger does
//! not speak of: the held entry enters the ledger later, once).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Sandbox;
use common::server::{KEY, Server, client, get_json};
use csvgate::config::Key;
use csvgate::dictionary::ContractStamp;
use csvgate::ledger::{Entry, Selection, Status};
use csvgate::pipeline::IngestOptions;
use csvgate::sink::mysql::ddl;
use csvgate::sink::{Ledger, Target};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn runs_come_in_pages_filtered_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    common::server::load_fixtures(&server).await;
    let all = get_json(&server, "/runs").await;
    let all = all.as_array().unwrap().clone();
    let mut paged = Vec::new();
    let mut next = Some("/runs?limit=2".to_owned());
    while let Some(path) = next.take() {
        let response = client()
            .get(server.url(&path))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_owned()
        });
        let page: Value = response.json().await.unwrap();
        assert!(page.as_array().unwrap().len() <= 2);
        paged.extend(page.as_array().unwrap().iter().cloned());
    }
    assert_eq!(paged, all);
    let done = get_json(&server, "/runs?status=done").await;
    let done = done.as_array().unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done.iter().all(|entry| entry["status"] == "done"));
    let bad = client()
        .get(server.url("/runs?limit=0"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// The fixtures ingested twice (three `done`, then three `skipped`), and one upload waiting.
async fn ledger_of(sandbox: &Sandbox) -> Vec<Entry> {
    let fixtures = common::fixtures();
    let files = ["departments.csv", "jobs.csv", "hired_employees.csv"].map(|f| fixtures.join(f));
    let paths: Vec<&std::path::Path> = files.iter().map(|path| path.as_path()).collect();
    sandbox.ingest(&paths).await;
    sandbox.ingest(&paths).await;
    let target = &sandbox.pipeline.target;
    let waiting = target.runs().await.unwrap()[0].clone();
    let waiting = Entry::queued(
        "a-waiting-run".into(),
        waiting.object,
        &waiting.table,
        Default::default(),
    );
    target.record(&waiting).await.unwrap();
    target.runs().await.unwrap()
}

async fn selections_match_filtering(target: &Arc<dyn Target>, all: &[Entry]) {
    let done_run = all
        .iter()
        .find(|entry| entry.status == Status::Done)
        .unwrap();
    let selections = [
        Selection::default(),
        Selection::run(&done_run.run_id),
        Selection::run("a-waiting-run"),
        Selection {
            status: Some(Status::Skipped),
            offset: 1,
            limit: Some(1),
            ..Selection::default()
        },
        Selection {
            status: Some(Status::Queued),
            ..Selection::default()
        },
        Selection {
            offset: 2,
            limit: Some(3),
            ..Selection::default()
        },
        Selection::run("no-such-run' OR 'a' = 'a"),
    ];
    for selection in selections {
        let matching = all.iter().filter(|entry| selection.matches(entry)).cloned();
        let expected = selection.window(matching.collect());
        let selected = target.select_runs(&selection).await.unwrap();
        assert_eq!(selected, expected, "{selection:?}");
    }
}

#[tokio::test]
async fn the_warehouse_selects_entries_as_filtering_would() {
    let sandbox = Sandbox::new();
    let all = ledger_of(&sandbox).await;
    assert_eq!(all.len(), 7, "{all:?}");
    selections_match_filtering(&sandbox.pipeline.target, &all).await;
}

#[tokio::test]
async fn mariadb_selects_entries_as_filtering_would() {
    let (_, target) = common::mysql_database().await;
    let sandbox = Sandbox::with_target(Arc::new(target));
    let all = ledger_of(&sandbox).await;
    assert_eq!(all.len(), 7, "{all:?}");
    selections_match_filtering(&sandbox.pipeline.target, &all).await;
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
async fn the_ledger_gets_a_checkpoint_every_ten_appends_and_reads_whole_from_it() {
    // Appends are blind (delta-rs writes no checkpoint for them): csvgate writes one every
    // `checkpointInterval` (10) commits, which a reader (another process) starts from. Version 0
    // creates the ledger, each run appends one commit (versions 1 to 11).
    let sandbox = Sandbox::new();
    ingest_one_job_files(&sandbox, 1..=11).await;
    assert_eq!(
        sandbox.checkpoints("_csvgate_runs"),
        ["00000000000000000010.checkpoint.parquet"]
    );
    let other = sandbox.other_process();
    let ledger = other.target.runs().await.unwrap();
    let done = ledger.iter().filter(|entry| entry.status == Status::Done);
    assert_eq!(done.count(), 11, "{ledger:?}");
}

#[tokio::test]
async fn the_ledger_is_compacted_every_hundred_appends_and_reads_the_same() {
    // Each append adds a small file: at version 100 they are compacted into one, with the same
    // entries, and the checkpoint after it holds the one file.
    let sandbox = Sandbox::new();
    let ledger = sandbox.path("warehouse/_csvgate_runs");
    ingest_one_job_files(&sandbox, 1..=99).await;
    assert!(
        live_files(&ledger).await >= 99,
        "one file per append before"
    );
    let before = sandbox.other_process().target.runs().await.unwrap();
    ingest_one_job_files(&sandbox, [100]).await;

    assert_eq!(live_files(&ledger).await, 1);
    let after = sandbox.other_process().target.runs().await.unwrap();
    assert_eq!(
        after[..before.len()],
        before[..],
        "no entry lost or changed"
    );
    let done = after.iter().filter(|entry| entry.status == Status::Done);
    assert_eq!(done.count(), 100, "{after:?}");

    // The compacted files wait for vacuum: a vacuum of every table removes them.
    let printed = common::vacuum_keeping_nothing_old(sandbox.dir.path());
    assert!(
        printed.contains("_csvgate_runs: removed 100 files"),
        "{printed}"
    );
    let parquet = std::fs::read_dir(&ledger).unwrap().filter(|file| {
        let name = file.as_ref().unwrap().file_name();
        name.to_string_lossy().ends_with(".parquet")
    });
    assert_eq!(parquet.count(), 1);
}

/// Lands `landing/jobs_{n}.csv` (one job, id `n`) for each `n` and ingests each in a run of
/// its own.
async fn ingest_one_job_files(sandbox: &Sandbox, numbers: impl IntoIterator<Item = usize>) {
    for n in numbers {
        let file = format!("{n},Job {n}\n");
        let file = sandbox.file(&format!("landing/jobs_{n}.csv"), file.as_bytes());
        assert_eq!(sandbox.ingest(&[&file]).await[0].status, Status::Done);
    }
}

/// The data files the latest version of the Delta table in `folder` holds.
async fn live_files(folder: &Path) -> usize {
    let url = url::Url::from_directory_path(folder).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    table.get_file_uris().unwrap().count()
}

#[tokio::test]
async fn an_object_whose_marker_expired_is_still_told_loaded_from_the_ledger() {
    // Markers kept a second: while later objects load, the first one's marker expires and a
    // checkpoint drops it, so the table's log no longer grows with every object it loaded. The
    // first object is still skipped, from its `done` entry in the ledger, and loads no row twice.
    let sandbox = Sandbox::with_config(|config| config.set(Key::MarkerRetentionSecs, "1"));
    ingest_one_job_files(&sandbox, [1]).await;
    let loads = AtomicUsize::new(1);
    let markers = common::eventually(
        Duration::from_secs(60),
        "a checkpoint of jobs without the first object's marker",
        || async {
            let n = loads.fetch_add(1, Ordering::SeqCst) + 1;
            ingest_one_job_files(&sandbox, [n]).await;
            sandbox.target.flush().await;
            match latest_checkpoint_markers(&sandbox, "jobs").await {
                Some(ids) if !ids.iter().any(|id| id.contains("/jobs_1.csv@")) => Ok(ids),
                other => Err(format!("markers in the latest checkpoint: {other:?}")),
            }
        },
    )
    .await;
    let loads = loads.into_inner();
    assert!(
        markers.len() < loads,
        "{} markers, {loads} loads",
        markers.len()
    );

    let again = sandbox.ingest(&[&sandbox.path("landing/jobs_1.csv")]).await;
    assert_eq!(again[0].status, Status::Skipped, "{again:?}");
    assert_eq!(sandbox.count("jobs").await, loads as i64);
}

/// The application ids of the markers in the latest checkpoint of the warehouse's `table`.
async fn latest_checkpoint_markers(sandbox: &Sandbox, table: &str) -> Option<Vec<String>> {
    let latest = sandbox.checkpoints(table).into_iter().max()?;
    let path = sandbox.path(&format!("warehouse/{table}/_delta_log/{latest}"));
    let ctx = datafusion::prelude::SessionContext::new();
    let options = datafusion::prelude::ParquetReadOptions::default();
    ctx.register_parquet("checkpoint", path.to_str().unwrap(), options)
        .await
        .unwrap();
    let sql = "SELECT txn['appId'] FROM checkpoint WHERE txn IS NOT NULL";
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    Some(common::strings(&batches))
}

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

/// Ingests the fixtures' `jobs.csv` in `dir` and kills the process (SIGKILL) between its data
/// commit and its ledger append: its entry is left parked.
fn kill_a_jobs_load_between_its_commit_and_its_append(dir: &Path) {
    land_jobs(dir);
    let mut load = csvgate(dir, &["ingest", "--quiet", "jobs.csv"]);
    let mut child = common::spawn_paused_at(&mut load, csvgate::fault::LEDGER_BEFORE_APPEND);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(held_files(dir), 1);
}

#[test]
fn a_kill_between_the_data_commit_and_the_ledger_append_loses_no_done_entry() {
    let dir = tempfile::tempdir().unwrap();
    kill_a_jobs_load_between_its_commit_and_its_append(dir.path());

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
fn the_next_process_settles_a_killed_runs_entry_before_its_first_load_of_any_file() {
    // The killed run's file may never come again (removed from landing): its entry must not
    // wait for it, nor for a read of the ledger, while its marker's retention runs.
    let dir = tempfile::tempdir().unwrap();
    kill_a_jobs_load_between_its_commit_and_its_append(dir.path());
    std::fs::remove_file(dir.path().join("jobs.csv")).unwrap();

    std::fs::copy(
        common::fixtures().join("departments.csv"),
        dir.path().join("departments.csv"),
    )
    .unwrap();
    ingest(dir.path(), "departments.csv");
    assert_eq!(held_files(dir.path()), 0, "settled by the next load");
    assert_eq!(statuses(&runs(dir.path()), "jobs.csv"), ["done"]);
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

/// The stamp of the contract the sandbox enforces (the built-in HR one).
fn hr_stamp() -> Option<ContractStamp> {
    Some(csvgate::dictionary::Dictionary::hr().stamp())
}

/// A ledger an older csvgate wrote (no contract columns) reads as before, and the next entry
/// adds the columns: the older entry reads no contract, the new one the HR contract.
#[tokio::test]
async fn the_warehouse_ledger_names_each_runs_contract_from_the_first_entry_after_an_upgrade() {
    let sandbox = Sandbox::new();
    let jobs = common::fixtures().join("jobs.csv");
    let object = csvgate::store::ObjectVersion {
        location: "file:///older/".into(),
        key: "jobs.csv".into(),
        version: "v1".into(),
        size: 0,
        modified: None,
    };
    let older = Entry {
        status: Status::Failed,
        contract: None,
        ..Entry::queued("older".into(), object, "jobs", Default::default())
    };
    let batch = csvgate::ledger::to_batch(std::slice::from_ref(&older)).unwrap();
    let older_columns = batch.project(&(0..13).collect::<Vec<_>>()).unwrap();
    let folder = sandbox.path("warehouse/_csvgate_runs");
    std::fs::create_dir_all(&folder).unwrap();
    let url = url::Url::from_directory_path(&folder).unwrap();
    let table = deltalake::DeltaTableBuilder::from_url(url)
        .unwrap()
        .build()
        .unwrap();
    table.write([older_columns]).await.unwrap();
    let contracts = |runs: Vec<Entry>| -> Vec<(String, Option<ContractStamp>)> {
        runs.into_iter()
            .map(|entry| (entry.run_id, entry.contract))
            .collect()
    };
    let before = sandbox.target.runs().await.unwrap();
    assert_eq!(contracts(before), [("older".to_owned(), None)]);

    let entries = sandbox.ingest(&[&jobs]).await;
    assert_eq!(entries[0].status, Status::Done, "{entries:?}");
    let after = contracts(sandbox.target.runs().await.unwrap());
    assert_eq!(
        after,
        [
            ("older".to_owned(), None),
            (entries[0].run_id.clone(), hr_stamp())
        ]
    );
}

/// A database initialised before schema version 3 refuses a load whole, saying to run
/// `db init`, which adds the columns; then the entries name the contract.
#[tokio::test]
async fn mariadb_ledger_names_each_runs_contract_once_db_init_upgraded_it() {
    let (_, target) = common::mysql_database().await;
    let older = "ALTER TABLE csvgate_runs DROP COLUMN contract_id, DROP COLUMN contract_version, \
                 DROP COLUMN contract_hash";
    target.query::<u64>(older).await.unwrap();
    let entry = "INSERT INTO csvgate_runs (run_id, location, object_key, object_version, fingerprint, \
                 table_name, status, rows_read, rows_valid, rows_invalid, started_at, finished_at) \
                 VALUES ('older', 'file:///older/', 'jobs.csv', 'v1', SHA2('v1', 256), 'jobs', 'failed', \
                 0, 0, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))";
    target.query::<u64>(entry).await.unwrap();
    let runs = target.runs().await.unwrap();
    let read: Vec<_> = runs
        .iter()
        .map(|entry| (entry.run_id.as_str(), &entry.contract))
        .collect();
    assert_eq!(
        read,
        [("older", &None)],
        "an older ledger reads without contracts"
    );
    let sandbox = Sandbox::with_target(Arc::new(target.clone()));
    let jobs = common::fixtures().join("jobs.csv");
    let refused = sandbox.ingest(&[&jobs]).await;
    assert_eq!(refused[0].status, Status::Failed, "{refused:?}");
    let error = refused[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("run `csvgate db init`"), "{error}");
    let held: Vec<u64> = target.query("SELECT COUNT(*) FROM jobs").await.unwrap();
    assert_eq!(held, [0], "the refused load left the table as it was");

    assert_eq!(target.init().await.unwrap(), ddl::SCHEMA_VERSION);
    let loaded = sandbox.ingest(&[&jobs]).await;
    assert_eq!(loaded[0].status, Status::Done, "{loaded:?}");
    let stamped = target.runs().await.unwrap();
    assert_eq!(stamped[0].contract, None, "the older entry");
    assert_eq!(stamped.last().unwrap().contract, hr_stamp());
}
