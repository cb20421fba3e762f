//! Rollups on MySQL, changed in the transaction that changes their table's rows: after every
//! kind of change (a first load, reloads whose rows move between quarters, departments and
//! years, a forced reload, a load refused whole, uploads committed as one group, a load that
//! fails inside MySQL, a restore, loads by a deployment that keeps no rollups) the stored
//! `hires_by_quarter` equals, group by group, the rollup recomputed from the rows, and Q1/Q2
//! read from it equal the full scan.

mod common;

use std::sync::Arc;

use common::Sandbox;
use common::cli::{csvgate, text};
use csvgate::config::Key;
use csvgate::dictionary::Dictionary;
use csvgate::ledger::Status;
use csvgate::pipeline::IngestOptions;
use csvgate::report::named::Catalog;
use csvgate::report::{Engine, Engines, Report, Scan};
use csvgate::rollup::Rollup;
use csvgate::sink::mysql::MysqlTarget;

/// A sandbox loading into the database `url`, with or without rollups.
fn sandbox(url: &str, rollups: bool) -> Sandbox {
    Sandbox::with_config(|config| {
        config.set(Key::Target, url.to_owned());
        config.set(Key::Rollups, rollups.to_string());
    })
}

/// The stored rollup equals the recomputed one, the reports may read it, and Q1 and Q2 read
/// from it answer as the full scan does, cell by cell.
async fn the_rollup_holds(sandbox: &Sandbox, mysql: &MysqlTarget, when: &str) {
    stored_equals_rows(mysql, 0, when).await;
    let engines = Engines {
        warehouse: sandbox.target.clone(),
        mysql: Some(mysql.clone()),
        ballista: None,
        reports: Arc::new(Catalog::built_in()),
    };
    let q1 = engines.reports.get("q1").unwrap();
    let from_rollup = q1.mysql_from_rollups.as_deref().unwrap();
    assert!(mysql.rollups_readable(from_rollup).await.unwrap(), "{when}");
    for report in [Report::Q1, Report::Q2] {
        for year in [2020, 2021, 2022] {
            let [from_rollup, exact] = [Scan::Rollups, Scan::Exact]
                .map(|scan| engines.answer(report, year, Some(Engine::Mysql), scan));
            let (from_rollup, exact) = (from_rollup.await.unwrap(), exact.await.unwrap());
            assert_eq!(from_rollup, exact, "{when}: {report:?} {year}");
        }
    }
}

#[tokio::test]
async fn the_mysql_rollup_equals_the_rows_after_every_kind_of_change() {
    let (url, _) = common::mysql_database().await;
    let mysql = common::rollups::mysql_with_rollups(&url);
    let sandbox = sandbox(&url, true);
    sandbox.ingest(&[&common::fixtures()]).await;
    the_rollup_holds(&sandbox, &mysql, "first load").await;

    let moved = sandbox.moved_employees("hired_employees_moved.csv", 1, 300, 1);
    sandbox.ingest(&[&moved]).await;
    the_rollup_holds(&sandbox, &mysql, "300 hires moved by a reload").await;

    let mixed = sandbox.moved_employees("hired_employees_mixed.csv", 1900, 300, 2);
    sandbox.ingest(&[&mixed]).await;
    the_rollup_holds(&sandbox, &mysql, "100 hires moved and 200 new").await;

    let force = IngestOptions {
        force: true,
        ..IngestOptions::default()
    };
    sandbox.ingest_with(&[&moved], &force).await;
    the_rollup_holds(&sandbox, &mysql, "a forced reload").await;

    let rejected = sandbox.file(
        "landing/hired_employees_rejected.csv",
        b"5,Nobody,2021-01-01T00:00:00Z,999,1\n",
    );
    sandbox.ingest(&[&rejected]).await;
    the_rollup_holds(&sandbox, &mysql, "a load with no valid row").await;

    let uploads = sandbox.moved_uploads();
    let ended = common::uploads::upload_together(&sandbox.pipeline, uploads).await;
    let statuses: Vec<Status> = ended.iter().map(|entry| entry.status).collect();
    assert_eq!(statuses, [Status::Done; 3], "{ended:?}");
    the_rollup_holds(&sandbox, &mysql, "uploads committed as one group").await;

    a_load_failing_in_mysql_changes_nothing(&sandbox, &mysql).await;
    the_rollup_holds(&sandbox, &mysql, "a load rolled back").await;

    a_restore_replaces_the_rollup(&sandbox, &url).await;
    the_rollup_holds(&sandbox, &mysql, "a restored snapshot").await;
}

/// A load whose change to the rollup MySQL refuses (a constraint added for the test: no group
/// of 2030) rolls back whole: the rows and the rollup stay as they were.
async fn a_load_failing_in_mysql_changes_nothing(sandbox: &Sandbox, mysql: &MysqlTarget) {
    let rollup = "SELECT COUNT(*), CAST(SUM(hires) AS SIGNED) FROM csvgate_rollup_hires_by_quarter";
    let hires = "SELECT COUNT(*) FROM hired_employees";
    let before: Vec<(u64, u64)> = mysql.query(rollup).await.unwrap();
    let hires_before: Vec<u64> = mysql.query(hires).await.unwrap();
    let refuse =
        "ALTER TABLE csvgate_rollup_hires_by_quarter ADD CONSTRAINT no_2030 CHECK (year < 2030)";
    mysql.query::<mysql_async::Row>(refuse).await.unwrap();
    // Ids 1-50 are stored: their replaced rows are counted out before the refusal.
    let later: String = (1..=50)
        .map(|id| format!("{id},Later {id},2030-01-15T12:00:00Z,1,1\n"))
        .collect();
    let later = sandbox.file("landing/hired_employees_2030.csv", later.as_bytes());
    let entries = sandbox.ingest(&[&later]).await;
    assert!(entries[0].error.is_some(), "the load failed: {entries:?}");
    let allow = "ALTER TABLE csvgate_rollup_hires_by_quarter DROP CONSTRAINT no_2030";
    mysql.query::<mysql_async::Row>(allow).await.unwrap();
    assert_eq!(mysql.query::<(u64, u64)>(rollup).await.unwrap(), before);
    assert_eq!(mysql.query::<u64>(hires).await.unwrap(), hires_before);
    let later = "SELECT COUNT(*) FROM hired_employees WHERE datetime >= '2030-01-01'";
    assert_eq!(
        mysql.query::<u64>(later).await.unwrap(),
        [0],
        "no hire of 2030 stayed"
    );
}

/// Backs the hires up, loads more, and restores the snapshot through the command line.
async fn a_restore_replaces_the_rollup(sandbox: &Sandbox, url: &str) {
    let dir = sandbox.dir.path();
    let cli = |args: &[&str]| {
        let folders = ["landing", "invalid", "warehouse", "backups"]
            .map(|name| (format!("--{name}"), dir.join(name).display().to_string()));
        let mut all: Vec<&str> = vec!["--target", url];
        all.extend(
            folders
                .iter()
                .flat_map(|(flag, path)| [flag.as_str(), path.as_str()]),
        );
        all.extend(args);
        csvgate(dir, &all)
    };
    let backed_up = cli(&["backup", "--table", "hired_employees"]);
    assert!(backed_up.status.success(), "{}", text(&backed_up.stderr));
    let more = sandbox.moved_employees("hired_employees_after.csv", 10, 50, 3);
    sandbox.ingest(&[&more]).await;
    let restored = cli(&["restore", "hired_employees"]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
}

/// Loads by a deployment that keeps no rollups make the stored one unreadable (the reports
/// scan the rows meanwhile); the next load that keeps it recomputes it.
#[tokio::test]
async fn loads_without_rollups_leave_the_rollup_to_be_recomputed() {
    let (url, _) = common::mysql_database().await;
    let mysql = common::rollups::mysql_with_rollups(&url);
    let kept = sandbox(&url, true);
    kept.ingest(&[&common::fixtures()]).await;
    the_rollup_holds(&kept, &mysql, "first load").await;

    let not_kept = sandbox(&url, false);
    let moved = not_kept.moved_employees("hired_employees_moved.csv", 1, 300, 1);
    not_kept.ingest(&[&moved]).await;
    let rollup = &mysql.rollups()[0];
    assert!(
        mysql.check_rollup(rollup).await.unwrap().is_none(),
        "no longer readable"
    );
    let q1 = Catalog::built_in().get("q1").unwrap().clone();
    let from_rollup = q1.mysql_from_rollups.as_deref().unwrap();
    assert!(!mysql.rollups_readable(from_rollup).await.unwrap());

    let more = kept.moved_employees("hired_employees_more.csv", 2500, 40, 2);
    kept.ingest(&[&more]).await;
    the_rollup_holds(&kept, &mysql, "recomputed by the next load that keeps it").await;
}

/// `csvgate check --engine mysql`: clean after loads, exit 1 naming a group the stored rollup
/// has wrong, which the default report, reading the rollup, shows too.
#[tokio::test]
async fn csvgate_check_recomputes_the_mysql_rollup_and_names_what_differs() {
    let (url, _) = common::mysql_database().await;
    let mysql = common::rollups::mysql_with_rollups(&url);
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| csvgate(dir.path(), &[&["--target", url.as_str()], args].concat());
    let fixtures = common::fixtures();
    let loaded = run(&["ingest", fixtures.to_str().unwrap()]);
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let check = || run(&["check", "--engine", "mysql", "--table", "hired_employees"]);
    let clean = check();
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stdout));
    assert!(text(&clean.stdout).contains("rollup hires_by_quarter"));

    let tamper = "UPDATE csvgate_rollup_hires_by_quarter SET hires = hires + 1000 \
                  WHERE year = 2021 ORDER BY csvgate_group LIMIT 1";
    mysql.query::<mysql_async::Row>(tamper).await.unwrap();
    let tampered = check();
    assert_eq!(
        tampered.status.code(),
        Some(1),
        "{}",
        text(&tampered.stderr)
    );
    let out = text(&tampered.stdout);
    assert!(
        out.contains("(stored, 2021,") && out.contains("(recomputed, 2021,"),
        "{out}"
    );
    let report = ["report", "q2", "--year", "2021", "--format", "csv"];
    let [from_rollup, exact] = [&report[..], &[&report[..], &["--exact-scan"]].concat()].map(run);
    assert_ne!(
        text(&from_rollup.stdout),
        text(&exact.stdout),
        "the default reads the rollup"
    );
}

/// Four processes loading files whose ids overlap (each file moves hires of the one before)
/// take turns per table, so the rollup counts every replaced row once and no load dies in a
/// deadlock.
#[tokio::test]
async fn four_processes_loading_overlapping_ids_keep_the_rollup_exact() {
    let (url, _) = common::mysql_database().await;
    let mysql = common::rollups::mysql_with_rollups(&url);
    let sandbox = sandbox(&url, true);
    sandbox.ingest(&[&common::fixtures()]).await;
    // Every file counts into the same few hundred groups, and moves the hires of the file
    // before it to other months and departments.
    for part in 0..12 {
        let ids = 1 + part * 500..1 + part * 500 + 1000;
        let month = 1 + part % 12;
        let rows: String = (ids.map(|id| (id, 1 + (id + part) % 12, 1 + id % 183)))
            .map(|(id, department, job)| {
                format!("{id},P {id},2021-{month:02}-11T09:30:00Z,{department},{job}\n")
            })
            .collect();
        sandbox.file(
            &format!("landing/hired_employees_{part:02}.csv"),
            rows.as_bytes(),
        );
    }
    let landing = sandbox.dir.path().join("landing");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let args = [
                "--target",
                &url,
                "ingest",
                "--quiet",
                landing.to_str().unwrap(),
            ];
            common::csvgate_in(sandbox.dir.path())
                .args(args)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker failed: {}",
            text(&out.stderr)
        );
    }
    let loaded: Vec<u64> = (mysql.query("SELECT COUNT(*) FROM csvgate_runs WHERE status = 'done'"))
        .await
        .unwrap();
    assert!(loaded[0] >= 12 + 3, "{loaded:?}");
    the_rollup_holds(&sandbox, &mysql, "twelve overlapping files, four processes").await;
}

/// A team's rollup over `departments`, a table others point at (loaded through a staging
/// table): kept through a reload that renames departments, recomputed when its declaration
/// changes, and, for the application user (no right to change a table's definition), left
/// unreadable rather than wrong until `db init` makes its table anew.
#[tokio::test]
async fn a_team_rollup_over_a_referenced_table_follows_reloads_and_declarations() {
    let (url, admin) = common::mysql_database().await;
    let queries = tempfile::tempdir().unwrap();
    let declare = |sql: &str| {
        let folder = queries.path().join("rollups");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("departments_by_initial.sql"), sql).unwrap();
        let hr = Dictionary::hr();
        let rollups = Rollup::all(&hr, Some(queries.path())).unwrap();
        (MysqlTarget::new(&url, None, Arc::new(hr)).unwrap())
            .with_rollups(rollups.into())
            .unwrap()
    };
    let loads = |url: String| {
        let folder = queries.path().to_str().unwrap().to_owned();
        Sandbox::with_config(move |config| {
            config.set(Key::Target, url);
            config.set(Key::Queries, folder);
        })
    };
    let first = "SELECT substr(department, 1, 1) AS initial, COUNT(*) AS departments \
                 FROM departments GROUP BY 1";
    let mysql = declare(first);
    let sandbox = loads(url.clone());
    sandbox.ingest(&[&common::fixtures()]).await;
    team_rollup_holds(&mysql, "first load").await;

    let renamed = b"1,Zeta\n2,Alpha\n3,Zulu\n";
    let renamed = sandbox.file("landing/departments_renamed.csv", renamed);
    sandbox.ingest(&[&renamed]).await;
    team_rollup_holds(&mysql, "three departments renamed").await;
    let zs = "SELECT departments FROM csvgate_rollup_departments_by_initial WHERE initial = 'Z'";
    assert!(admin.query::<u64>(zs).await.unwrap()[0] >= 2);

    // A changed declaration, loaded by the application user: the load goes on, the rollup
    // is not read until the owner's `db init` makes its table anew.
    let second = "SELECT upper(substr(department, 1, 2)) AS prefix, COUNT(*) AS departments \
                  FROM departments GROUP BY 1";
    let changed = declare(second);
    let password = admin.create_app_user("csvgate_app_rollups").await.unwrap();
    let app_url = url.replacen(
        "csvgate:csvgate@",
        &format!("csvgate_app_rollups:{password}@"),
        1,
    );
    let app = loads(app_url);
    let again = app.file("landing/departments_again.csv", b"4,Yankee\n");
    let entries = app.ingest(&[&again]).await;
    assert!(
        entries.iter().all(|entry| entry.error.is_none()),
        "{entries:?}"
    );
    let team = &changed.rollups()[1];
    assert!(
        changed.check_rollup(team).await.unwrap().is_none(),
        "not read while stale"
    );
    changed.init().await.unwrap();
    team_rollup_holds(&changed, "made anew by db init").await;
}

/// The team's rollup (the second, after the built-in one) is readable and equals its rows.
async fn team_rollup_holds(mysql: &MysqlTarget, when: &str) {
    assert_eq!(mysql.rollups()[1].name, "departments_by_initial");
    stored_equals_rows(mysql, 1, when).await;
}

/// The `index`th rollup of `mysql` is readable and equals the one recomputed from its rows.
async fn stored_equals_rows(mysql: &MysqlTarget, index: usize, when: &str) {
    common::rollups::mysql_rollup_holds(mysql, index, when).await
}

/// Q1 and Q2 read a year's groups from the rollup's covering index alone: a range of `year`,
/// never every group (the primary key is a hash of the groups).
#[tokio::test]
async fn mysql_reports_read_a_year_of_the_rollup_from_its_index() {
    let (url, _) = common::mysql_database().await;
    let mysql = common::rollups::mysql_with_rollups(&url);
    sandbox(&url, true).ingest(&[&common::fixtures()]).await;
    for report in ["q1", "q2"] {
        let catalog = Catalog::built_in();
        let text = catalog
            .get(report)
            .unwrap()
            .mysql_from_rollups
            .clone()
            .unwrap();
        let table = "csvgate_rollup_hires_by_quarter";
        let steps = common::explained_reads(&mysql, &text, table).await;
        for (key, extra) in steps {
            assert_eq!(key, "groups_idx", "{report}: {extra}");
            assert!(extra.contains("Using index"), "{report}: {extra}");
        }
    }
}
