//! The Lambda handler's logic, called in-process with S3 events about objects in the loopback
//! S3 server (the `csvgate-lambda` binary only adds the runtime around it).

mod common;

use common::s3::{bucket, land_fixtures, location, put};
use csvgate::config::{Config, Key};
use csvgate::deployment::Deployment;
use csvgate::dictionary::Dictionary;
use serde_json::{Value, json};

/// A deployment whose landing and backups locations are in `s3://{bucket}/` (as the SAM
/// template's), the rest local.
fn deployment(bucket: &str, dir: &std::path::Path) -> Deployment {
    let mut config = Config::in_folder(dir);
    config.set(Key::Landing, format!("s3://{bucket}/landing/"));
    config.set(Key::Backups, format!("s3://{bucket}/backups/"));
    config.set_s3(&common::s3::settings());
    Deployment::open(config).unwrap()
}

/// An `ObjectCreated:Put` notification of `keys` (below `landing/`) in `bucket`.
fn event(bucket: &str, keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| common::s3::put_record(bucket, &format!("landing/{key}")))
        .collect();
    json!({ "Records": records })
}

fn statuses(answer: &Value) -> Vec<&str> {
    let records = answer["records"].as_array().unwrap();
    records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_same_event_twice_loads_each_object_once() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(&bucket, dir.path());
    let files = ["hired_employees.csv", "departments.csv", "jobs.csv"];
    let first = csvgate::lambda::handle(&deployment, event(&bucket, &files))
        .await
        .unwrap();
    assert_eq!(statuses(&first), ["done", "done", "done"], "{first}");
    let again = csvgate::lambda::handle(&deployment, event(&bucket, &files))
        .await
        .unwrap();
    assert_eq!(
        statuses(&again),
        ["skipped", "skipped", "skipped"],
        "{again}"
    );
    let runs = deployment.pipeline.target.runs().await.unwrap();
    let done = runs
        .iter()
        .filter(|entry| entry.status == csvgate::ledger::Status::Done);
    assert_eq!(done.count(), 3);
}

#[tokio::test]
async fn a_missing_object_fails_the_invocation_and_loses_nothing() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(&bucket, dir.path());
    let files = ["departments.csv", "departments_late.csv"];
    let failed = csvgate::lambda::handle(&deployment, event(&bucket, &files)).await;
    let message = failed.unwrap_err().to_string();
    assert!(
        message.starts_with("1 of 2 records failed: ")
            && message.contains(&format!("s3://{bucket}/landing/departments_late.csv")),
        "{message}"
    );
    // The retry, once the object is there: the first object stays loaded once.
    let landing = location(&bucket, "landing");
    put(&landing, "departments_late.csv", b"13,Legal\n".to_vec()).await;
    let retried = csvgate::lambda::handle(&deployment, event(&bucket, &files))
        .await
        .unwrap();
    assert_eq!(statuses(&retried), ["skipped", "done"], "{retried}");
}

#[tokio::test]
async fn the_weekly_schedule_backs_up_every_table_into_s3_and_a_snapshot_restores() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(&bucket, dir.path());
    let files = ["hired_employees.csv", "departments.csv", "jobs.csv"];
    csvgate::lambda::handle(&deployment, event(&bucket, &files))
        .await
        .unwrap();
    let answer = csvgate::lambda::handle(&deployment, json!({"csvgate": "backup"}))
        .await
        .unwrap();
    let made: Vec<(String, u64)> = answer["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["table"].as_str().unwrap().to_owned(),
                m["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("departments", 12),
        ("jobs", 183),
        ("hired_employees", 1929),
    ];
    assert_eq!(made, expected.map(|(table, rows)| (table.to_owned(), rows)));
    assert_eq!(answer["pruned"], 0);
    let backups = deployment.backups.clone();
    assert_eq!(backups.list(None).await.unwrap().len(), 3);
    // A snapshot in S3 restores like a local one.
    let jobs = &Dictionary::hr_table("jobs");
    let target = deployment.pipeline.target.as_ref();
    let restored = backups.restore(target, jobs, None, false).await.unwrap();
    assert_eq!(restored.rows, 183);
}
