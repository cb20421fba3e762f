//! Group commit: uploads of one table waiting together in the queue are committed as one (one
//! Delta commit, one MySQL transaction), each still with its own run, ledger entry and
//! invalid file; of two objects with one key the later wins; an object that fails fails alone
//! and the others are grouped again.
//! On the embedded warehouse and on MariaDB mirrored to it.

mod common;

use common::Sandbox;
use common::uploads::{upload_together, upload_together_with};
use csvgate::dictionary::Dictionary;
use csvgate::ledger::{Entry, Selection, Status};
use csvgate::pipeline::IngestOptions;
use csvgate::sink::mysql::MysqlTarget;

/// A sandbox per target, with the reference tables loaded; the MySQL target when there is one.
async fn every_target() -> Vec<(Sandbox, Option<MysqlTarget>)> {
    let (url, _) = common::mysql_database().await;
    let targets = [
        (Sandbox::new(), None),
        (
            Sandbox::mysql_mirrored(&url),
            Some(common::rollups::mysql_with_rollups(&url)),
        ),
    ];
    for (sandbox, _) in &targets {
        let fixtures = common::fixtures();
        let references = ["departments.csv", "jobs.csv"].map(|name| fixtures.join(name));
        sandbox.ingest(&[&references[0], &references[1]]).await;
    }
    targets.into()
}

/// `hired_employees` rows `first..=last`, each named `{name} {id}`, then `bad` lines.
fn employees(first: u32, last: u32, name: &str, bad: &[&str]) -> Vec<u8> {
    let mut text: String = (first..=last)
        .map(|id| {
            format!(
                "{id},{name} {id},2021-0{}-15T12:00:00Z,{},1\n",
                1 + id % 9,
                1 + id % 12
            )
        })
        .collect();
    text.extend(bad.iter().map(|line| format!("{line}\n")));
    text.into_bytes()
}

fn upload(name: &str, bytes: Vec<u8>) -> (String, Vec<u8>) {
    (format!("hired_employees_{name}.csv"), bytes)
}

/// The rollups on each engine equal the rows.
async fn the_rollups_hold(sandbox: &Sandbox, mysql: &Option<MysqlTarget>, when: &str) {
    common::rollups::warehouse_rollup_holds(&sandbox.target, when).await;
    if let Some(mysql) = mysql {
        common::rollups::mysql_rollup_holds(mysql, 0, when).await;
    }
}

/// The names of hires `first..=last` in the warehouse, and in MySQL when there is one.
async fn names(
    sandbox: &Sandbox,
    mysql: &Option<MysqlTarget>,
    first: u32,
    last: u32,
) -> Vec<Vec<String>> {
    let query =
        format!("SELECT name FROM hired_employees WHERE id BETWEEN {first} AND {last} ORDER BY id");
    let mut found = vec![common::strings(&sandbox.sql(&query).await)];
    if let Some(mysql) = mysql {
        found.push(mysql.query::<String>(&query).await.unwrap());
    }
    found
}

/// The statuses of run `run_id`'s ending entries (all but `queued`), oldest first, from the
/// ledger.
async fn ending_statuses(sandbox: &Sandbox, run_id: &str) -> Vec<Status> {
    let entries = sandbox
        .pipeline
        .target
        .select_runs(&Selection::run(run_id))
        .await;
    let statuses = entries.unwrap().into_iter().map(|entry| entry.status);
    statuses
        .filter(|status| *status != Status::Queued)
        .collect()
}

#[tokio::test]
async fn uploads_waiting_together_commit_once_each_with_its_own_run() {
    for (sandbox, mysql) in every_target().await {
        let uploads = vec![
            upload(
                "a",
                employees(1, 100, "A", &["101,,2021-01-01T00:00:00Z,1,1"]),
            ),
            upload("b", employees(201, 350, "B", &[])),
            upload(
                "c",
                [
                    employees(401, 450, "C", &["x,Bad,2021-01-01T00:00:00Z,1,1"]),
                    employees(51, 60, "C", &["451,Late,never,1,1"]),
                ]
                .concat(),
            ),
        ];
        let ended = upload_together(&sandbox.pipeline, uploads).await;
        let counts: Vec<(Status, u64, u64)> = (ended.iter())
            .map(|entry| (entry.status, entry.rows_valid, entry.rows_invalid))
            .collect();
        assert_eq!(
            counts,
            [
                (Status::Done, 100, 1),
                (Status::Done, 150, 0),
                (Status::Done, 60, 2)
            ]
        );
        let invalid: Vec<bool> = ended
            .iter()
            .map(|entry| entry.invalid_object.is_some())
            .collect();
        assert_eq!(
            invalid,
            [true, false, true],
            "each run its own invalid file"
        );
        for entry in &ended {
            assert_eq!(
                ending_statuses(&sandbox, &entry.run_id).await,
                [Status::Done]
            );
        }
        let runs: Vec<&str> = ended.iter().map(|entry| entry.run_id.as_str()).collect();
        let employees = Dictionary::hr_table("hired_employees");
        let history = sandbox.target.history(&employees).await.unwrap();
        let grouped = history
            .iter()
            .filter(|commit| commit.run.as_deref() == Some(&runs.join(",")));
        assert_eq!(
            grouped.count(),
            1,
            "one commit carries the three runs: {history:?}"
        );
        assert_eq!(sandbox.count("hired_employees").await, 300);
        let later: Vec<String> = (51..=60).map(|id| format!("C {id}")).collect();
        for found in names(&sandbox, &mysql, 51, 60).await {
            assert_eq!(found, later, "the later upload's rows win within the group");
        }
        the_rollups_hold(&sandbox, &mysql, "three uploads committed as one").await;
    }
}

#[tokio::test]
async fn an_object_that_fails_fails_alone_the_rest_regroup_and_of_one_key_the_later_wins() {
    for (sandbox, mysql) in every_target().await {
        let mut broken = employees(61, 62, "Broken", &[]);
        broken.extend_from_slice(b"63,Jos\xE9,2021-01-01T00:00:00Z,1,1\n");
        let uploads = vec![
            upload("first", employees(1, 50, "First", &[])),
            upload("broken", broken),
            upload("second", employees(40, 60, "Second", &[])),
            upload("third", employees(100, 110, "Third", &[])),
        ];
        let ended = upload_together(&sandbox.pipeline, uploads).await;
        let statuses: Vec<Status> = ended.iter().map(|entry| entry.status).collect();
        assert_eq!(
            statuses,
            [Status::Done, Status::Failed, Status::Done, Status::Done],
            "{ended:?}"
        );
        for entry in &ended {
            assert_eq!(
                ending_statuses(&sandbox, &entry.run_id).await,
                [entry.status]
            );
        }
        // The broken upload runs alone; the one before it too, and the two after it as one.
        let employees = Dictionary::hr_table("hired_employees");
        let history = sandbox.target.history(&employees).await.unwrap();
        let runs: Vec<&str> = (history.iter())
            .filter_map(|commit| commit.run.as_deref())
            .collect();
        let after = [&ended[2], &ended[3]].map(|entry| entry.run_id.as_str());
        assert!(runs.contains(&after.join(",").as_str()), "{runs:?}");
        assert!(runs.contains(&ended[0].run_id.as_str()), "{runs:?}");
        let failed: &Entry = &ended[1];
        let error = failed.error.as_deref().unwrap_or_default();
        assert!(error.contains("line 3, field `name`"), "{error}");
        assert_eq!(sandbox.count("hired_employees").await, 50 + 10 + 11);
        let later: Vec<String> = (40..=50).map(|id| format!("Second {id}")).collect();
        for found in names(&sandbox, &mysql, 40, 50).await {
            assert_eq!(
                found, later,
                "the later upload's rows replace the earlier's"
            );
        }
        the_rollups_hold(&sandbox, &mysql, "a group that failed in part").await;
    }
}

#[tokio::test]
async fn with_a_group_of_at_most_two_five_uploads_take_three_commits() {
    let (sandbox, _) = every_target().await.swap_remove(0);
    let uploads = (0..5)
        .map(|file| {
            let first = file * 100 + 1;
            upload(&file.to_string(), employees(first, first + 9, "P", &[]))
        })
        .collect();
    let options = IngestOptions {
        group_max: 2,
        ..IngestOptions::default()
    };
    let ended = upload_together_with(&sandbox.pipeline, uploads, options).await;
    assert!(
        ended.iter().all(|entry| entry.status == Status::Done),
        "{ended:?}"
    );
    let employees = Dictionary::hr_table("hired_employees");
    let history = sandbox.target.history(&employees).await.unwrap();
    let mut runs_per_commit: Vec<usize> = (history.iter())
        .filter_map(|commit| commit.run.as_deref())
        .map(|runs| runs.split(',').count())
        .collect();
    runs_per_commit.sort();
    assert_eq!(runs_per_commit, [1, 2, 2], "{history:?}");
    assert_eq!(sandbox.count("hired_employees").await, 50);
}

/// Uploads of many batches each (100 rows a batch here) are read and validated side by side
/// while the group's writer takes one upload's rows at a time, newest first: every row
/// arrives, and of two rows with one id the later upload's wins.
#[tokio::test]
async fn uploads_of_many_batches_stage_side_by_side_and_the_later_id_wins() {
    for (sandbox, mysql) in every_target().await {
        // Upload k holds ids k·1,000 + 1 ..= k·1,000 + 2,000: each overlaps the next by 1,000.
        let uploads = (0..4)
            .map(|file| {
                let (first, name) = (file * 1000 + 1, format!("U{file}"));
                upload(&name, employees(first, first + 1999, &name, &[]))
            })
            .collect();
        let mut options = IngestOptions::default();
        options.dialect.limits.batch_rows = 100;
        let ended = upload_together_with(&sandbox.pipeline, uploads, options).await;
        let counts: Vec<(Status, u64)> = (ended.iter())
            .map(|entry| (entry.status, entry.rows_valid))
            .collect();
        assert_eq!(counts, [(Status::Done, 2000); 4], "{ended:?}");
        let employees = Dictionary::hr_table("hired_employees");
        let history = sandbox.target.history(&employees).await.unwrap();
        let runs: Vec<&str> = ended.iter().map(|entry| entry.run_id.as_str()).collect();
        let grouped =
            (history.iter()).filter(|commit| commit.run.as_deref() == Some(&runs.join(",")));
        assert_eq!(grouped.count(), 1, "one commit: {history:?}");
        assert_eq!(sandbox.count("hired_employees").await, 5000);
        for (file, first, last) in [
            (0, 1, 1000),
            (1, 1001, 2000),
            (2, 2001, 3000),
            (3, 3001, 5000),
        ] {
            let latest: Vec<String> = (first..=last).map(|id| format!("U{file} {id}")).collect();
            for found in names(&sandbox, &mysql, first, last).await {
                assert_eq!(found, latest, "ids {first}..={last} are upload {file}'s");
            }
        }
        the_rollups_hold(&sandbox, &mysql, "four uploads of many batches").await;
    }
}
