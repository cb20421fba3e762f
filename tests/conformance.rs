//! The target contract, role by role, on every target: the embedded warehouse in a local folder
//! and in an S3 bucket, MariaDB, and MariaDB mirrored to the warehouse. Each contract is written
//! once and run on each target, so a new role method is tested here, once, for all of them.
//!
//! - rows: written rows are invisible until the commit, an abort leaves the table as it was, a
//!   replace swaps the whole contents, ids and foreign-key values read back as written;
//! - ledger: a commit marks exactly its object versions loaded (one, or a group's, all or
//!   none) and records their `done` entries;
//!   `queued`, `skipped` and `failed` entries are recorded and selected by run and status;
//! - claims: one run holds an object at a time, until it ends its claim or its lease runs out;
//! - health: the target answers, and its description names it without its password.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::Sandbox;
use csvgate::dictionary::{Dictionary, Keys, TableRef};
use csvgate::ledger::{Entry, Selection, Status};
use csvgate::sink::Target;
use csvgate::sink::claim::{Claim, Ticket};
use csvgate::sink::mirror::Mirrored;
use csvgate::store::ObjectVersion;
use datafusion::arrow::array::TimestampMicrosecondArray;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};

/// One target of each kind, each on storage of its own; what keeps that storage alive.
struct Case {
    name: &'static str,
    target: Arc<dyn Target>,
    _keep: Option<Sandbox>,
}

async fn every_target() -> Vec<Case> {
    let local = Sandbox::new();
    let s3 = common::s3::sandbox(&common::s3::bucket());
    let (_, mariadb) = common::mysql_database().await;
    let (_, primary) = common::mysql_database().await;
    let beside = Sandbox::new();
    let mirrored = Mirrored {
        primary: Arc::new(primary),
        mirror: Arc::new(beside.target.clone()),
    };
    vec![
        Case {
            name: "delta in a folder",
            target: Arc::new(local.target.clone()),
            _keep: Some(local),
        },
        Case {
            name: "delta on s3",
            target: Arc::new(s3.target.clone()),
            _keep: Some(s3),
        },
        Case {
            name: "mariadb",
            target: Arc::new(mariadb),
            _keep: None,
        },
        Case {
            name: "mariadb mirrored to delta",
            target: Arc::new(mirrored),
            _keep: Some(beside),
        },
    ]
}

fn table(name: &str) -> TableRef {
    Dictionary::hr_table(name)
}

fn object(key: &str, version: &str) -> ObjectVersion {
    ObjectVersion {
        location: "file:///landing/".into(),
        key: key.into(),
        version: version.into(),
        size: 100,
        modified: None,
    }
}

fn entry(run_id: &str, object: &ObjectVersion, table: &str, status: Status) -> Entry {
    Entry {
        status,
        error: (status == Status::Failed).then(|| "it broke".to_owned()),
        ..Entry::queued(run_id.to_owned(), object.clone(), table, Default::default())
    }
}

/// Rows of a table whose columns are an id and one text (`departments`, `jobs`).
fn named_rows(table: &csvgate::dictionary::Table, rows: &[(i64, &str)]) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.0)));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.1)));
    RecordBatch::try_new(table.typed_schema(), vec![ids, names]).unwrap()
}

/// One `hired_employees` row pointing at `department` and `job`.
fn employee(id: i64, department: i64, job: i64) -> RecordBatch {
    let hired = TimestampMicrosecondArray::from(vec![1_625_097_600_000_000]).with_timezone("UTC");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![id])),
        Arc::new(StringArray::from(vec!["Ada"])),
        Arc::new(hired),
        Arc::new(Int64Array::from(vec![department])),
        Arc::new(Int64Array::from(vec![job])),
    ];
    RecordBatch::try_new(table("hired_employees").typed_schema(), columns).unwrap()
}

/// Loads `rows` as the object `key` into `name`, committed with a `done` entry of `run_id`.
async fn load(target: &dyn Target, name: &str, key: &str, rows: RecordBatch, run_id: &str) {
    let (table, object) = (table(name), object(key, "1"));
    let mut load = target.begin(&table, &object).await.unwrap();
    load.write(rows).await.unwrap();
    load.commit(&[entry(run_id, &object, name, Status::Done)])
        .await
        .unwrap();
}

async fn ids(target: &dyn Target, name: &str) -> Vec<i64> {
    let ids = target.ids(&table(name)).await.unwrap().into_integers();
    ids.iter().map(|id| id as i64).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_are_invisible_until_commit_and_an_abort_leaves_the_table_as_it_was() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let departments = table("departments");
        let rows = named_rows(&departments, &[(1, "Sales"), (2, "Legal")]);
        load(target, "departments", "departments.csv", rows, "run-1").await;
        assert_eq!(ids(target, "departments").await, [1, 2], "{name}");

        let aborted = object("departments_2.csv", "1");
        let mut load = target.begin(&departments, &aborted).await.unwrap();
        load.write(named_rows(&departments, &[(3, "Ops")]))
            .await
            .unwrap();
        assert_eq!(
            ids(target, "departments").await,
            [1, 2],
            "{name}: before commit"
        );
        load.abort().await;
        assert_eq!(
            ids(target, "departments").await,
            [1, 2],
            "{name}: after abort"
        );
        assert!(
            !target.is_loaded(&departments, &aborted).await.unwrap(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_id_replaces_its_row_and_a_replace_swaps_the_whole_table() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let jobs = table("jobs");
        load(
            target,
            "jobs",
            "jobs.csv",
            named_rows(&jobs, &[(1, "Cook"), (2, "Clerk")]),
            "run-1",
        )
        .await;
        load(
            target,
            "jobs",
            "jobs_2.csv",
            named_rows(&jobs, &[(2, "Judge"), (3, "Pilot")]),
            "run-2",
        )
        .await;
        assert_eq!(ids(target, "jobs").await, [1, 2, 3], "{name}: id 2 once");

        let mut replace = target.begin_replace(&jobs, false).await.unwrap();
        replace
            .write(named_rows(&jobs, &[(7, "Baker")]))
            .await
            .unwrap();
        assert_eq!(
            ids(target, "jobs").await,
            [1, 2, 3],
            "{name}: before the swap"
        );
        let snapshot = object("backups/jobs/1.avro", "1");
        replace
            .commit(&[entry("run-3", &snapshot, "jobs", Status::Restored)])
            .await
            .unwrap();
        assert_eq!(ids(target, "jobs").await, [7], "{name}: after the swap");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_key_values_read_back_as_written() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        load(
            target,
            "departments",
            "d.csv",
            named_rows(&table("departments"), &[(5, "HR")]),
            "r1",
        )
        .await;
        load(
            target,
            "jobs",
            "j.csv",
            named_rows(&table("jobs"), &[(9, "Nurse")]),
            "r1",
        )
        .await;
        load(target, "hired_employees", "e.csv", employee(1, 5, 9), "r1").await;
        let employees = table("hired_employees");
        let departments = target
            .references(&employees, "department_id")
            .await
            .unwrap();
        let jobs = target.references(&employees, "job_id").await.unwrap();
        let expected = (Keys::from_iter([5]), Keys::from_iter([9]));
        assert_eq!((departments, jobs), expected, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_marks_exactly_its_object_version_loaded_and_records_its_entry() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let departments = table("departments");
        let version_1 = object("departments.csv", "1");
        assert!(
            !target.is_loaded(&departments, &version_1).await.unwrap(),
            "{name}"
        );
        load(
            target,
            "departments",
            "departments.csv",
            named_rows(&departments, &[(1, "HR")]),
            "run-1",
        )
        .await;
        assert!(
            target.is_loaded(&departments, &version_1).await.unwrap(),
            "{name}"
        );
        let version_2 = object("departments.csv", "2");
        assert!(
            !target.is_loaded(&departments, &version_2).await.unwrap(),
            "{name}: a new version"
        );
        // Whether a version loaded into one table counts as loaded for another is not promised
        // (the warehouse keeps markers per table, MySQL one ledger): not checked.
        let runs = target.select_runs(&Selection::run("run-1")).await.unwrap();
        let statuses: Vec<Status> = runs.iter().map(|entry| entry.status).collect();
        assert_eq!(statuses, [Status::Done], "{name}");
        // The ledger keeps an object version by location, key and version (not its size).
        let recorded = &runs[0].object;
        let recorded = (&recorded.location, &recorded.key, &recorded.version);
        let loaded = (&version_1.location, &version_1.key, &version_1.version);
        assert_eq!(recorded, loaded, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_of_several_objects_commits_them_all_or_none() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let jobs = table("jobs");
        let (first, second) = (object("jobs/a.csv", "1"), object("jobs/b.csv", "1"));
        let mut group = target.begin(&jobs, &first).await.unwrap();
        group.write(named_rows(&jobs, &[(1, "A")])).await.unwrap();
        group.add_object(&second).await.unwrap();
        group.write(named_rows(&jobs, &[(2, "B")])).await.unwrap();
        let entries = [
            entry("run-a", &first, "jobs", Status::Done),
            entry("run-b", &second, "jobs", Status::Done),
        ];
        group.commit(&entries).await.unwrap();
        assert_eq!(ids(target, "jobs").await, [1, 2], "{name}");
        for (object, run) in [(&first, "run-a"), (&second, "run-b")] {
            assert!(target.is_loaded(&jobs, object).await.unwrap(), "{name}");
            let runs = target.select_runs(&Selection::run(run)).await.unwrap();
            let statuses: Vec<Status> = runs.iter().map(|entry| entry.status).collect();
            assert_eq!(statuses, [Status::Done], "{name}: {run}");
        }

        // One object of the next group is loaded by another run before the group commits.
        let (third, fourth) = (object("jobs/c.csv", "1"), object("jobs/d.csv", "1"));
        let mut group = target.begin(&jobs, &third).await.unwrap();
        group.write(named_rows(&jobs, &[(3, "C")])).await.unwrap();
        group.add_object(&fourth).await.unwrap();
        group.write(named_rows(&jobs, &[(4, "D")])).await.unwrap();
        let rows = named_rows(&jobs, &[(5, "E")]);
        load(target, "jobs", "jobs/d.csv", rows, "run-x").await;
        let entries = [
            entry("run-c", &third, "jobs", Status::Done),
            entry("run-d", &fourth, "jobs", Status::Done),
        ];
        let refused = group.commit(&entries).await.unwrap_err().to_string();
        assert!(refused.contains("jobs/d.csv"), "{name}: {refused}");
        assert_eq!(
            ids(target, "jobs").await,
            [1, 2, 5],
            "{name}: nothing of the group"
        );
        assert!(!target.is_loaded(&jobs, &third).await.unwrap(), "{name}");
        let runs = target.select_runs(&Selection::run("run-c")).await.unwrap();
        assert!(runs.is_empty(), "{name}: {runs:?}");

        let mut restore = target.begin_replace(&jobs, false).await.unwrap();
        let refused = restore.add_object(&third).await.unwrap_err().to_string();
        assert!(refused.contains("restore"), "{name}: {refused}");
        restore.abort().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_that_load_nothing_are_recorded_and_selected_by_run_and_status() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let jobs = object("jobs.csv", "1");
        for (run, status) in [
            ("run-q", Status::Queued),
            ("run-s", Status::Skipped),
            ("run-f", Status::Failed),
        ] {
            target
                .record(&entry(run, &jobs, "jobs", status))
                .await
                .unwrap();
        }
        let failed = Selection {
            status: Some(Status::Failed),
            ..Selection::default()
        };
        let failed = target.select_runs(&failed).await.unwrap();
        assert_eq!(failed.len(), 1, "{name}: {failed:?}");
        assert_eq!(
            (failed[0].run_id.as_str(), failed[0].error.as_deref()),
            ("run-f", Some("it broke")),
            "{name}"
        );
        let queued = target.select_runs(&Selection::run("run-q")).await.unwrap();
        assert_eq!(
            queued.iter().map(|e| e.status).collect::<Vec<_>>(),
            [Status::Queued],
            "{name}"
        );
        assert_eq!(target.runs().await.unwrap().len(), 3, "{name}");
        assert!(
            !target.is_loaded(&table("jobs"), &jobs).await.unwrap(),
            "{name}: nothing loaded"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answers_and_its_description_shows_no_password() {
    for case in every_target().await {
        case.target.reachable().await.unwrap();
        let described = case.target.describe();
        assert!(
            !described.is_empty() && !described.contains(":csvgate@"),
            "{}: {described}",
            case.name
        );
    }
}

const LEASE: Duration = Duration::from_secs(1);

const LONG: Duration = Duration::from_secs(60);

async fn taken(target: &dyn Target, object: &ObjectVersion, run: &str, lease: Duration) -> Ticket {
    match target.claim(object, run, lease).await.unwrap() {
        Claim::Taken(ticket) => ticket,
        held => panic!("{run} could not claim {}: {held:?}", object.key),
    }
}

async fn holder(target: &dyn Target, object: &ObjectVersion, run: &str) -> Option<String> {
    match target.claim(object, run, LONG).await.unwrap() {
        Claim::Taken(_) => None,
        Claim::Held { run_id, .. } => Some(run_id),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_holds_an_object_at_a_time() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let jobs = object("jobs.csv", "1");
        let first = taken(target, &jobs, "run-a", LONG).await;
        assert_eq!(
            holder(target, &jobs, "run-b").await.as_deref(),
            Some("run-a"),
            "{name}"
        );
        // A run's own claim is its own to take again.
        let again = taken(target, &jobs, "run-a", LONG).await;
        let mut renewed = again.clone();
        assert!(target.renew(&mut renewed, LONG).await.unwrap(), "{name}");
        assert_eq!(
            holder(target, &jobs, "run-b").await.as_deref(),
            Some("run-a"),
            "{name}"
        );
        // Another object is free.
        taken(target, &object("departments.csv", "1"), "run-b", LONG).await;
        target.release(&renewed).await.unwrap();
        assert!(first.generation <= renewed.generation, "{name}");
        taken(target, &jobs, "run-b", LONG).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_taken_over_once_its_lease_ran_out() {
    for case in every_target().await {
        let (target, name) = (case.target.as_ref(), case.name);
        let jobs = object("hired_employees_07.csv", "1");
        let mut old = taken(target, &jobs, "run-a", LEASE).await;
        let Claim::Held { until, .. } = target.claim(&jobs, "run-b", LONG).await.unwrap() else {
            panic!("{name}: run-a's claim is live");
        };
        // Waits for the state: run-b asks until it gets the object.
        let new = common::eventually(Duration::from_secs(10), "run-b takes it over", || async {
            match target.claim(&jobs, "run-b", LONG).await.unwrap() {
                Claim::Taken(ticket) => Ok(ticket),
                Claim::Held { run_id, until } => Err(format!("held by {run_id} until {until}")),
            }
        })
        .await;
        assert!(
            Utc::now() >= until,
            "{name}: taken over before the lease ran out"
        );
        assert!(
            !target.renew(&mut old, LONG).await.unwrap(),
            "{name}: the old holder lost it"
        );
        target.release(&old).await.unwrap();
        assert_eq!(
            holder(target, &jobs, "run-c").await.as_deref(),
            Some("run-b"),
            "{name}"
        );
        target.release(&new).await.unwrap();
        assert_eq!(holder(target, &jobs, "run-c").await, None, "{name}");
    }
}
