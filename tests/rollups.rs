//! Rollups kept in step with their tables: after every kind of change (a first load, a reload
//! whose rows move between quarters, departments and years, a forced reload, a load refused
//! whole, uploads committed as one group, a restore of a snapshot, a table put back to an
//! older version) the stored `hires_by_quarter` equals, group by group, the rollup recomputed
//! from the rows, and it reflects the table's current version.

mod common;

use std::sync::Arc;

use common::Sandbox;
use common::cli::{csvgate, text};
use csvgate::config::Key;
use csvgate::dictionary::Dictionary;
use csvgate::ledger::Status;
use csvgate::pipeline::{IngestOptions, Pipeline};
use csvgate::report::named::Catalog;
use csvgate::report::{Engine, Engines, Report, Scan};
use csvgate::sink::delta::DeltaTarget;
use csvgate::sink::delta::rollups::How;

/// The stored rollup reflects the table's current version and equals the recomputed one, and
/// Q1 and Q2 read from it answer as the full scan does, cell by cell.
async fn the_rollup_holds(sandbox: &Sandbox, when: &str) -> usize {
    let groups = the_stored_rollup_holds(sandbox, when).await;
    let engines = warehouse_engines(sandbox);
    let ctx = sandbox.target.session().await.unwrap();
    assert!(
        (sandbox.target)
            .register_rollups(&ctx, &["hires_by_quarter".to_owned()])
            .await,
        "{when}: the reports can read the rollup"
    );
    for report in [Report::Q1, Report::Q2] {
        for year in [2020, 2021, 2022] {
            let [from_rollup, exact] = [Scan::Rollups, Scan::Exact]
                .map(|scan| engines.answer(report, year, Some(Engine::Datafusion), scan));
            let (from_rollup, exact) = (from_rollup.await.unwrap(), exact.await.unwrap());
            assert_eq!(from_rollup, exact, "{when}: {report:?} {year}");
        }
    }
    groups
}

/// The sandbox's warehouse as the engine of the built-in reports.
fn warehouse_engines(sandbox: &Sandbox) -> Engines {
    Engines {
        warehouse: sandbox.target.clone(),
        mysql: None,
        ballista: None,
        reports: Arc::new(Catalog::built_in()),
    }
}

/// The stored rollup reflects the table's current version and equals the recomputed one.
async fn the_stored_rollup_holds(sandbox: &Sandbox, when: &str) -> usize {
    common::rollups::warehouse_rollup_holds(&sandbox.target, when).await
}

#[tokio::test]
async fn the_rollup_equals_the_rows_after_every_kind_of_change() {
    let sandbox = Sandbox::new();
    let fixtures = common::fixtures();
    sandbox.ingest(&[&fixtures]).await;
    let groups = the_rollup_holds(&sandbox, "first load").await;
    assert!(groups > 100, "{groups} groups from 1,999 hires");

    let moved = sandbox.moved_employees("hired_employees_moved.csv", 1, 300, 1);
    sandbox.ingest(&[&moved]).await;
    the_rollup_holds(&sandbox, "300 hires moved by a reload").await;

    let mixed = sandbox.moved_employees("hired_employees_mixed.csv", 1900, 300, 2);
    sandbox.ingest(&[&mixed]).await;
    the_rollup_holds(&sandbox, "100 hires moved and 200 new").await;

    let force = IngestOptions {
        force: true,
        ..IngestOptions::default()
    };
    sandbox.ingest_with(&[&moved], &force).await;
    the_rollup_holds(&sandbox, "a forced reload").await;

    // A file of unknown departments only: every row rejected, nothing committed.
    let rejected = sandbox.file(
        "landing/hired_employees_rejected.csv",
        b"5,Nobody,2021-01-01T00:00:00Z,999,1\n",
    );
    sandbox.ingest(&[&rejected]).await;
    the_rollup_holds(&sandbox, "a load with no valid row").await;

    let uploads = sandbox.moved_uploads();
    let ended = common::uploads::upload_together(&sandbox.pipeline, uploads).await;
    let statuses: Vec<Status> = ended.iter().map(|entry| entry.status).collect();
    assert_eq!(statuses, [Status::Done; 3], "{ended:?}");
    the_rollup_holds(&sandbox, "uploads committed as one group").await;

    let dir = sandbox.dir.path();
    let cli = |args: &[&str]| {
        let folders = ["landing", "invalid", "warehouse", "backups"].map(|name| {
            (
                format!("--{name}"),
                dir.join(name).to_str().unwrap().to_owned(),
            )
        });
        let flags = folders
            .iter()
            .flat_map(|(flag, path)| [flag.as_str(), path.as_str()]);
        csvgate(dir, &flags.chain(args.iter().copied()).collect::<Vec<_>>())
    };
    let backed_up = cli(&["backup", "--table", "hired_employees"]);
    assert!(backed_up.status.success(), "{}", text(&backed_up.stderr));
    sandbox
        .ingest(&[&sandbox.moved_employees("hired_employees_after.csv", 10, 50, 3)])
        .await;
    let restored = cli(&["restore", "hired_employees"]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    the_rollup_holds(&sandbox, "a restored snapshot").await;

    let back = cli(&["restore", "hired_employees", "--as-of", "0"]);
    assert!(back.status.success(), "{}", text(&back.stderr));
    the_rollup_holds(&sandbox, "the table put back to its first version").await;
}

/// A folder whose default deployment holds the fixtures, loaded by `csvgate ingest`.
fn fixtures_ingested() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = common::fixtures();
    let loaded = csvgate(dir.path(), &["ingest", fixtures.to_str().unwrap()]);
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    dir
}

/// `dir/<name>/hired_employees.csv`: hires 1..=`count` named `<name> <id>`, all hired on
/// `day` into department 1 and job 1.
fn hires_file(dir: &std::path::Path, name: &str, count: u32, day: &str) -> std::path::PathBuf {
    let path = dir.join(name).join("hired_employees.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let hires: String = (1..=count)
        .map(|id| format!("{id},{name} {id},{day}T00:00:00Z,1,1\n"))
        .collect();
    std::fs::write(&path, hires).unwrap();
    path
}

/// What `csvgate report <report> --year 2021 --format csv` prints from the rollup, and with
/// `--exact-scan`.
fn rollup_and_exact(dir: &std::path::Path, report: &str) -> [String; 2] {
    let args = ["report", report, "--year", "2021", "--format", "csv"];
    [&args[..], &[&args[..], &["--exact-scan"]].concat()].map(|args| {
        let printed = csvgate(dir, args);
        assert!(printed.status.success(), "{}", text(&printed.stderr));
        text(&printed.stdout)
    })
}

/// `--exact-scan` on the command line and `?exact=true` over HTTP give the bytes the rollup
/// gives, for the HR routes and the named ones.
#[tokio::test]
async fn the_exact_scan_and_the_rollup_answer_alike_on_the_command_line_and_over_http() {
    let dir = fixtures_ingested();
    for report in ["q1", "q2_departments_above_mean"] {
        let [from_rollup, exact] = rollup_and_exact(dir.path(), report);
        assert!(from_rollup.lines().count() > 2, "{report}");
        let differing = from_rollup.lines().zip(exact.lines()).find(|(a, b)| a != b);
        assert!(
            from_rollup == exact,
            "{report}: first differing line {differing:?}"
        );
    }
    let server = common::server::Server::start(dir.path(), &[]);
    for path in [
        "/reports/q1?year=2021",
        "/reports/q2_departments_above_mean?year=2021",
    ] {
        let from_rollup = common::server::get_json(&server, path).await;
        let exact = common::server::get_json(&server, &format!("{path}&exact=true")).await;
        assert!(
            from_rollup.as_array().is_some_and(|rows| rows.len() > 1),
            "{path}"
        );
        assert_eq!(from_rollup, exact, "{path}");
    }
}

/// A table deleted and loaded anew counts its versions from 0 again: the rollup stored for
/// the same version number of the table before is not taken for its own.
#[tokio::test]
async fn a_table_deleted_and_loaded_anew_does_not_read_the_old_tables_rollup() {
    let dir = fixtures_ingested();
    let table = dir.path().join("csvgate-data/warehouse/hired_employees");
    let commits = || std::fs::read_dir(table.join("_delta_log")).unwrap().count();
    let commits_before = commits();
    std::fs::remove_dir_all(&table).unwrap();
    let anew = hires_file(dir.path(), "Anew", 40, "2021-02-01");
    let reloaded = csvgate(dir.path(), &["ingest", anew.to_str().unwrap()]);
    assert!(reloaded.status.success(), "{}", text(&reloaded.stderr));
    assert_eq!(
        commits(),
        commits_before,
        "the new table is at the old one's version number, which its rollup reflects"
    );
    let [from_rollup, exact] = rollup_and_exact(dir.path(), "q1");
    assert_eq!(exact.lines().count(), 2, "one group of 40 hires: {exact}");
    assert_eq!(from_rollup, exact);
    let checked = csvgate(dir.path(), &["check"]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
}

/// During a rolling deploy an older csvgate, which keeps only the marker without the table's
/// id, may move a rollup: its files and that marker then reflect a newer version than the
/// marker with the id. The rollup is recomputed, not moved again from the older version (which
/// would count that load twice). The older build's commit is written here as it would leave
/// the log: the rollup brought up to date, then the marker with the id put back.
#[tokio::test]
async fn a_rollup_an_older_csvgate_moved_is_recomputed_not_counted_twice() {
    let dir = fixtures_ingested();
    let moved = hires_file(dir.path(), "Moved", 300, "2021-12-01");
    let mut keeping_none = common::csvgate_in(dir.path());
    let reloaded = (keeping_none.env("CSVGATE_ROLLUPS", "false"))
        .args(["ingest", moved.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(reloaded.status.success(), "{}", text(&reloaded.stderr));
    let log = dir
        .path()
        .join("csvgate-data/warehouse/_csvgate_rollup_hires_by_quarter/_delta_log");
    let latest = || {
        let names = std::fs::read_dir(&log)
            .unwrap()
            .map(|file| file.unwrap().file_name());
        let versions = names.filter_map(|name| name.to_str()?.strip_suffix(".json")?.parse().ok());
        versions.max().unwrap_or(0u64)
    };
    let before = latest();
    let [caught_up, _] = rollup_and_exact(dir.path(), "q1");
    assert_eq!(
        latest(),
        before + 1,
        "the report brought the rollup up to date"
    );
    let commit = std::fs::read_to_string(log.join(format!("{:020}.json", before + 1))).unwrap();
    let marker = (commit.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|action| {
            action["txn"]["appId"]
                .as_str()
                .is_some_and(|id| id.matches(':').count() == 2)
        })
        .expect("the marker with the table's id");
    let put_back = serde_json::json!({"txn": {"appId": marker["txn"]["appId"], "version": marker["txn"]["version"].as_u64().unwrap() - 1}});
    let info = serde_json::json!({"commitInfo": {"timestamp": 0, "operation": "SET TBLPROPERTIES", "operationParameters": {}}});
    std::fs::write(
        log.join(format!("{:020}.json", before + 2)),
        format!("{info}\n{put_back}\n"),
    )
    .unwrap();
    let [from_rollup, exact] = rollup_and_exact(dir.path(), "q1");
    assert_eq!(caught_up, exact);
    assert_eq!(from_rollup, exact, "the older build's change counted once");
    let checked = csvgate(dir.path(), &["check"]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
}

/// `csvgate check` recomputes the rollup: clean after loads, exit 1 naming a group the stored
/// rollup has and the rows do not (which the reports, reading the rollup, show too), exit 2
/// when the rows cannot be read to recompute it.
#[tokio::test]
async fn csvgate_check_recomputes_the_rollup_and_names_what_differs() {
    let dir = fixtures_ingested();
    let check = || {
        csvgate(
            dir.path(),
            &["check", "--table", "hired_employees", "--format", "csv"],
        )
    };
    let clean = check();
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    let line = |output: &std::process::Output| {
        let stdout = text(&output.stdout);
        (stdout.lines())
            .find(|line| line.contains("rollup hires_by_quarter"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no rollup line in {stdout}"))
    };
    assert!(line(&clean).contains(",0.0,true,"), "{}", line(&clean));

    // A group the rows do not have, appended behind csvgate's back.
    let warehouse = dir
        .path()
        .join("csvgate-data/warehouse/_csvgate_rollup_hires_by_quarter");
    let url = url::Url::from_directory_path(&warehouse).unwrap();
    let stored = deltalake::open_table(url).await.unwrap();
    let schema = stored.snapshot().unwrap().snapshot().arrow_schema();
    let columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
        Arc::new(datafusion::arrow::array::Int32Array::from(vec![2021])),
        Arc::new(datafusion::arrow::array::Int32Array::from(vec![1])),
        Arc::new(datafusion::arrow::array::Int64Array::from(vec![1])),
        Arc::new(datafusion::arrow::array::Int64Array::from(vec![1])),
        Arc::new(datafusion::arrow::array::Int64Array::from(vec![7])),
    ];
    let extra = datafusion::arrow::array::RecordBatch::try_new(schema, columns).unwrap();
    stored.write(vec![extra]).await.unwrap();
    let wrong = check();
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stderr));
    assert!(
        line(&wrong).contains("(stored, 2021, 1, 1, 1, 7);"),
        "{}",
        line(&wrong)
    );
    // Reports read the rollup: the group appended shows there, not in the full scan.
    let q1 = |exact: &[&str]| {
        let args = [
            &["report", "q1", "--year", "2021", "--format", "csv"],
            exact,
        ]
        .concat();
        text(&csvgate(dir.path(), &args).stdout)
    };
    assert_ne!(q1(&[]), q1(&["--exact-scan"]));

    for file in
        std::fs::read_dir(dir.path().join("csvgate-data/warehouse/hired_employees")).unwrap()
    {
        let path = file.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "parquet")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let unreadable = check();
    assert_eq!(
        unreadable.status.code(),
        Some(2),
        "{}",
        text(&unreadable.stderr)
    );
    assert!(
        line(&unreadable).contains("could not be checked"),
        "{}",
        line(&unreadable)
    );
}

/// A rollup left behind its table (here by another process that keeps none) is brought up
/// from the files the commits since changed; when its way forward crosses a data file vacuum
/// deleted, it is recomputed from the rows instead.
#[tokio::test]
async fn a_rollup_behind_is_caught_up_from_changed_files_or_recomputed_past_a_vacuum() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    the_stored_rollup_holds(&sandbox, "first load").await;
    let rollup = &sandbox.target.rollups()[0];
    // Behind by one replace: brought up from the files it changed.
    load_without_rollups(&sandbox, "hired_employees_moved.csv", 1).await;
    let caught_up = sandbox.target.catch_up(rollup).await.unwrap().unwrap();
    assert_eq!(caught_up.how, How::Incremental, "{caught_up:?}");
    the_rollup_holds(&sandbox, "caught up from the files a replace changed").await;

    load_without_rollups(&sandbox, "hired_employees_moved_again.csv", 2).await;
    let behind = sandbox.target.check_rollup(rollup).await.unwrap().unwrap();
    assert!(behind.reflects < behind.current, "{behind:?}");

    common::vacuum_keeping_nothing_old(sandbox.dir.path());
    let caught_up = sandbox.target.catch_up(rollup).await.unwrap().unwrap();
    assert_eq!(caught_up.how, How::Recomputed, "{caught_up:?}");
    assert!(caught_up.version > behind.current, "vacuum commits too");
    the_rollup_holds(&sandbox, "caught up across a vacuumed file").await;
}

/// A rollup table is created with csvgate's table properties: a checkpoint every ten commits
/// (Delta's default is 100), so a process that opens it replays at most nine commits, though
/// every load of its table commits to it.
#[tokio::test]
async fn a_rollup_table_gets_a_checkpoint_every_ten_commits() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    for n in 1..=10 {
        let name = format!("hired_employees_moved_{n}.csv");
        sandbox
            .ingest(&[&sandbox.moved_employees(&name, 1, 20, n)])
            .await;
    }
    // Versions 0 to 10; delta-rs checkpoints after each tenth commit, at version 9.
    assert_eq!(
        sandbox.checkpoints("_csvgate_rollup_hires_by_quarter"),
        ["00000000000000000009.checkpoint.parquet"]
    );
    the_rollup_holds(&sandbox, "after eleven loads").await;
}

/// Every load rewrites the rollup whole; `csvgate vacuum` removes the files it left behind,
/// and the rollup still holds.
#[tokio::test]
async fn vacuum_removes_the_files_a_rollup_left_behind() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    for (n, shift) in [(1, 1), (2, 2)] {
        let name = format!("hired_employees_moved_{n}.csv");
        let moved = sandbox.moved_employees(&name, 1, 300, shift);
        sandbox.ingest(&[&moved]).await;
    }
    let rollup = sandbox
        .dir
        .path()
        .join("warehouse/_csvgate_rollup_hires_by_quarter");
    let files = || {
        let files = std::fs::read_dir(&rollup).unwrap();
        let names = files.map(|file| file.unwrap().file_name().into_string().unwrap());
        names.filter(|name| name.ends_with(".parquet")).count()
    };
    assert_eq!(
        files(),
        3,
        "one file per store, the old ones kept for time travel"
    );

    let printed = common::vacuum_keeping_nothing_old(sandbox.dir.path());
    assert!(
        printed.contains("_csvgate_rollup_hires_by_quarter: removed 2 files"),
        "{printed}"
    );
    assert_eq!(files(), 1, "the live file only");
    // The data table's vacuum commits too (no row changes): the rollup follows it.
    let rollup = &sandbox.target.rollups()[0];
    sandbox.target.catch_up(rollup).await.unwrap().unwrap();
    the_rollup_holds(&sandbox, "after a vacuum").await;
}

/// Reloads 300 hires moved by `shift` months through another process's pipeline over the
/// same warehouse, one that keeps no rollup: the sandbox's rollup is then behind.
async fn load_without_rollups(sandbox: &Sandbox, name: &str, shift: u32) {
    let keeps_none = DeltaTarget::new(
        sandbox.target.location().clone(),
        Arc::new(Dictionary::hr()),
    );
    let other = Arc::new(Pipeline {
        buckets: sandbox.pipeline.buckets.clone(),
        target: Arc::new(keeps_none),
        after_load: None,
    });
    let moved = sandbox.moved_employees(name, 1, 300, shift);
    let sources = [moved.to_str().unwrap().to_owned()];
    (other.ingest(&sources, &IngestOptions::default()).await).unwrap();
}

/// A load moves the rollup by the groups it counted as its rows went by, reading none back;
/// when the rollup is behind (another process loaded without keeping it), the load catches it
/// up from the files instead.
#[tokio::test]
async fn a_load_moves_the_rollup_by_what_it_counted_unless_the_rollup_is_behind() {
    let sandbox = Sandbox::new();
    let upkeep = || {
        let upkeep = sandbox.target.upkeep();
        (upkeep.counted(), upkeep.caught_up())
    };
    sandbox.ingest(&[&common::fixtures()]).await;
    assert_eq!(upkeep(), (1, 0), "a first load, into an empty table");
    let moved = sandbox.moved_employees("hired_employees_moved.csv", 1, 300, 1);
    sandbox.ingest(&[&moved]).await;
    assert_eq!(upkeep(), (2, 0), "a reload replacing 300 hires");
    the_stored_rollup_holds(&sandbox, "moved by two counts").await;

    load_without_rollups(&sandbox, "hired_employees_elsewhere.csv", 2).await;
    let back = sandbox.moved_employees("hired_employees_back.csv", 1, 300, 3);
    sandbox.ingest(&[&back]).await;
    assert_eq!(
        upkeep(),
        (2, 1),
        "behind by a version: caught up from the files"
    );
    the_stored_rollup_holds(&sandbox, "caught up after a load elsewhere").await;
}

/// Killed between a load's commit and its rollup's: the rollup still reflects the version
/// before, which `csvgate check` finds consistent; the next report brings it up to date first
/// and answers as the full scan does.
#[test]
fn a_kill_between_the_data_commit_and_the_rollups_leaves_them_consistent() {
    let dir = fixtures_ingested();
    // Three hires moved to other years, departments and jobs.
    let moved = dir.path().join("hired_employees_moved.csv");
    let rows = "1,Moved,2022-03-01T00:00:00Z,3,4\n2,Moved,2021-12-31T23:00:00Z,5,6\n3,Moved,2020-01-01T00:00:00Z,7,8\n";
    std::fs::write(&moved, rows).unwrap();
    let mut load = common::csvgate_in(dir.path());
    load.args(["ingest", "--quiet", moved.to_str().unwrap()]);
    let mut child = common::spawn_paused_at(&mut load, csvgate::fault::ROLLUP_BEFORE_COMMIT);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let rollup_log = dir
        .path()
        .join("csvgate-data/warehouse/_csvgate_rollup_hires_by_quarter/_delta_log");
    let commits = || {
        (std::fs::read_dir(&rollup_log).unwrap())
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|e| e == "json")
            })
            .count()
    };
    assert_eq!(commits(), 1, "the rollup of the first load only");

    let checked = csvgate(dir.path(), &["check", "--format", "csv"]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stdout));
    let q2 = |exact: &[&str]| {
        let args = [
            &["report", "q2", "--year", "2021", "--format", "csv"],
            exact,
        ]
        .concat();
        text(&csvgate(dir.path(), &args).stdout)
    };
    let from_rollup = q2(&[]);
    assert!(from_rollup.lines().count() > 2, "{from_rollup}");
    assert_eq!(from_rollup, q2(&["--exact-scan"]));
    assert_eq!(commits(), 2, "the report brought the rollup up to date");
    let checked = csvgate(dir.path(), &["check", "--format", "csv"]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stdout));
}

/// `rollups = false` keeps none: loads store no rollup, and reports scan the rows.
#[tokio::test]
async fn with_rollups_off_none_is_kept() {
    let sandbox = Sandbox::with_config(|config| config.set(Key::Rollups, "false"));
    sandbox.ingest(&[&common::fixtures()]).await;
    assert!(sandbox.target.rollups().is_empty());
    let stored = sandbox.path("warehouse/_csvgate_rollup_hires_by_quarter");
    assert!(!stored.exists(), "{stored:?}");
    let engines = warehouse_engines(&sandbox);
    for report in [Report::Q1, Report::Q2] {
        let answer = engines.answer(report, 2021, None, Scan::Rollups).await;
        let exact = engines.answer(report, 2021, None, Scan::Exact).await;
        assert_eq!(answer.unwrap(), exact.unwrap(), "{report:?} over the rows");
    }
}
