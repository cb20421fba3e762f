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

/// A bucket holding the fixtures below `landing/`, and a deployment over it (in a folder kept
/// as long as the returned handle).
async fn landed() -> (String, tempfile::TempDir, Deployment) {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(&bucket, dir.path());
    (bucket, dir, deployment)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_twice_loads_each_object_once() {
    let (bucket, _dir, deployment) = landed().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_fails_the_invocation_and_loses_nothing() {
    let (bucket, _dir, deployment) = landed().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_schedule_backs_up_every_table_into_s3_and_a_snapshot_restores() {
    let (bucket, _dir, deployment) = landed().await;
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

/// `fixtures/events/{name}`, as JSON.
fn event_fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(common::fixtures().join("events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The notification S3 sends a queue or a topic about `landing/{key}` of `bucket`, as text.
fn notification_text(bucket: &str, key: &str) -> String {
    event(bucket, &[key]).to_string()
}

/// An SQS message (shaped as `fixtures/events/sqs.json`'s) with this id and body.
fn queue_message(id: &str, body: String) -> Value {
    let mut message = event_fixture("sqs.json")["Records"][0].clone();
    message["messageId"] = id.into();
    message["body"] = body.into();
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_batch_answers_with_the_messages_to_retry() {
    let (bucket, _dir, deployment) = landed().await;
    // An object's notification, then S3's test event (sqs.json's second message).
    let test_event = event_fixture("sqs.json")["Records"][1].clone();
    let loaded = queue_message("m-loaded", notification_text(&bucket, "departments.csv"));
    let batch = json!({ "Records": [loaded.clone(), test_event] });
    let answer = csvgate::lambda::handle(&deployment, batch).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));

    // A missing object and an unreadable body fail their own messages only.
    let missing = queue_message("m-missing", notification_text(&bucket, "gone.csv"));
    let unreadable = queue_message("m-unreadable", "not json".into());
    let batch = json!({ "Records": [loaded, missing, unreadable] });
    let answer = csvgate::lambda::handle(&deployment, batch).await.unwrap();
    let retried = json!([{"itemIdentifier": "m-unreadable"}, {"itemIdentifier": "m-missing"}]);
    assert_eq!(answer["batchItemFailures"], retried, "{answer}");
    let departments = &Dictionary::hr_table("departments");
    let ids = deployment.pipeline.target.ids(departments).await.unwrap();
    assert_eq!(ids.into_integers().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_sns_and_topic_to_queue_events_load_their_objects() {
    let (bucket, _dir, deployment) = landed().await;

    let text =
        std::fs::read_to_string(common::fixtures().join("events/eventbridge_object_created.json"))
            .unwrap();
    let mut eventbridge: Value = serde_json::from_str(&text).unwrap();
    eventbridge["detail"]["bucket"]["name"] = bucket.clone().into();
    eventbridge["detail"]["object"]["key"] = "landing/departments.csv".into();
    eventbridge["detail"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("version-id");
    let answer = csvgate::lambda::handle(&deployment, eventbridge)
        .await
        .unwrap();
    assert_eq!(statuses(&answer), ["done"], "{answer}");

    let mut sns = event_fixture("sns.json");
    sns["Records"][0]["Sns"]["Message"] = notification_text(&bucket, "jobs.csv").into();
    let answer = csvgate::lambda::handle(&deployment, sns).await.unwrap();
    assert_eq!(statuses(&answer), ["done"], "{answer}");

    // A topic delivering to a queue, without raw delivery: the body is the SNS notification.
    let body = event_fixture("sqs_sns.json")["Records"][0]["body"].clone();
    let mut topic_notification: Value = serde_json::from_str(body.as_str().unwrap()).unwrap();
    topic_notification["Message"] = notification_text(&bucket, "hired_employees.csv").into();
    let message = queue_message("m-topic", topic_notification.to_string());
    let through_a_topic = json!({ "Records": [message] });
    let answer = csvgate::lambda::handle(&deployment, through_a_topic)
        .await
        .unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    let runs = deployment.pipeline.target.runs().await.unwrap();
    let mut done: Vec<&str> = (runs.iter())
        .filter(|entry| entry.status == csvgate::ledger::Status::Done)
        .map(|entry| entry.object.key.as_str())
        .collect();
    done.sort();
    assert_eq!(done, ["departments.csv", "hired_employees.csv", "jobs.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_payload_fails_the_invocation_naming_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(&bucket(), dir.path());
    for (payload, named) in [
        (json!({"Records": []}), "[\"Records\"]"),
        (
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
            "aws.events",
        ),
        (json!({"csvgate": "vacuum"}), "[\"csvgate\"]"),
    ] {
        let error = csvgate::lambda::handle(&deployment, payload)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not an event csvgate handles") && error.contains(named),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_event_creates_the_schema_in_the_mysql_target() {
    let dir = tempfile::tempdir().unwrap();
    let without = deployment(&bucket(), dir.path());
    let error = csvgate::lambda::handle(&without, json!({"csvgate": "db-init"}))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no MySQL target"), "{error}");

    let database = common::empty_mysql_database().await;
    let mut config = Config::in_folder(dir.path());
    config.set(
        Key::Target,
        format!("{}/{database}", common::mysql_server()),
    );
    let deployment = Deployment::open(config).unwrap();
    let answer = csvgate::lambda::handle(&deployment, json!({"csvgate": "db-init"}))
        .await
        .unwrap();
    assert!(
        answer["schema_version"].as_u64().is_some_and(|v| v >= 1),
        "{answer}"
    );
    let mysql = deployment.mysql().unwrap();
    let tables: Vec<String> = mysql.query("SHOW TABLES").await.unwrap();
    for table in ["departments", "jobs", "hired_employees", "csvgate_runs"] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    // Twice is harmless.
    let again = csvgate::lambda::handle(&deployment, json!({"csvgate": "db-init"}))
        .await
        .unwrap();
    assert_eq!(again["schema_version"], answer["schema_version"]);

    // A migration through the function: nothing to do, then a dropped column planned and
    // put back (the table is empty, so a required column may be added).
    let migrate = |apply: bool| {
        csvgate::lambda::handle(
            &deployment,
            json!({"csvgate": "db-migrate", "apply": apply}),
        )
    };
    assert_eq!(migrate(false).await.unwrap()["statements"], json!([]));
    let _: Vec<String> = mysql
        .query("ALTER TABLE jobs DROP COLUMN job")
        .await
        .unwrap();
    let planned = migrate(false).await.unwrap();
    assert_eq!(
        planned["statements"],
        json!(["ALTER TABLE `jobs` ADD COLUMN `job` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL"]),
        "{planned}"
    );
    assert_eq!(migrate(true).await.unwrap()["applied"], true);
    let columns: Vec<String> = mysql.query("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'jobs'").await.unwrap();
    assert!(columns.iter().any(|column| column == "job"), "{columns:?}");
}

/// Enables versioning on a moto bucket, as the template's landing bucket has.
async fn enable_versioning(bucket: &str) {
    let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    let answer = reqwest::Client::new()
        .put(format!("{}/{bucket}?versioning", common::s3::MOTO))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// A versioned landing bucket in moto, a deployment reading it, and the version ids of
/// `contents` put one after the other at `landing/departments.csv` (the deployment's folder is
/// kept as long as the returned handle).
async fn versioned_departments(
    contents: &[&str],
) -> (String, tempfile::TempDir, Deployment, Vec<String>) {
    let bucket = common::s3::moto_bucket().await;
    enable_versioning(&bucket).await;
    let settings = csvgate::store::S3Settings {
        endpoint: Some(common::s3::MOTO.into()),
        ..common::s3::settings()
    };
    let landing =
        csvgate::store::Location::open(&format!("s3://{bucket}/landing"), false, &settings)
            .unwrap();
    let mut versions = Vec::new();
    for rows in contents {
        put(&landing, "departments.csv", rows.as_bytes().to_vec()).await;
        let head = landing.head("departments.csv").await.unwrap();
        versions.push(head.version_id().unwrap().to_owned());
    }
    // A longer key the listing of the key's versions also matches, to be told apart.
    put(&landing, "departments.csv.bak", b"9,Old\n".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::in_folder(dir.path());
    config.set(Key::Landing, format!("s3://{bucket}/landing/"));
    config.set_s3(&settings);
    (bucket, dir, Deployment::open(config).unwrap(), versions)
}

/// The answer to an event for `version` of `landing/departments.csv`.
async fn handle_version(deployment: &Deployment, bucket: &str, version: &str) -> Value {
    let mut record = common::s3::put_record(bucket, "landing/departments.csv");
    record["s3"]["object"]["versionId"] = version.into();
    csvgate::lambda::handle(deployment, json!({"Records": [record]}))
        .await
        .unwrap()
}

/// The department ids the deployment holds.
async fn department_ids(deployment: &Deployment) -> Vec<u64> {
    let departments = &Dictionary::hr_table("departments");
    let ids = deployment.pipeline.target.ids(departments).await.unwrap();
    ids.into_integers().iter().collect()
}

/// Defect: a record's `versionId` was ignored and the current object read, so of two quick
/// overwrites the first version was never loaded (its event loaded the second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_quick_overwrites_of_a_versioned_key_load_each_version() {
    let contents = [
        "1,Supply Chain\n2,Maintenance\n3,Staff\n",
        "4,Legal\n5,Sales\n",
    ];
    let (bucket, _dir, deployment, versions) = versioned_departments(&contents).await;
    assert_ne!(versions[0], versions[1]);
    for version in &versions {
        let answer = handle_version(&deployment, &bucket, version).await;
        assert_eq!(statuses(&answer), ["done"], "{answer}");
    }
    let runs = deployment.pipeline.target.runs().await.unwrap();
    let mut read: Vec<(String, u64)> = (runs.iter())
        .filter(|entry| entry.status == csvgate::ledger::Status::Done)
        .map(|entry| {
            (
                entry.object.version_id().unwrap().to_owned(),
                entry.rows_read,
            )
        })
        .collect();
    read.sort_by_key(|(version, _)| versions.iter().position(|v| v == version));
    assert_eq!(read, [(versions[0].clone(), 3), (versions[1].clone(), 2)]);
    assert_eq!(department_ids(&deployment).await, [1, 2, 3, 4, 5]);
}

/// An event for an older version that arrives after a newer one of its key was loaded (an
/// async retry, an unordered queue) loads nothing: its rows would go over newer ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_for_a_version_older_than_one_loaded_is_skipped_as_superseded() {
    let contents = ["1,Supply Chain\n2,Maintenance\n", "1,Legal\n", "3,Sales\n"];
    let (bucket, _dir, deployment, versions) = versioned_departments(&contents).await;
    let answer = handle_version(&deployment, &bucket, &versions[1]).await;
    assert_eq!(statuses(&answer), ["done"], "{answer}");

    let late = handle_version(&deployment, &bucket, &versions[0]).await;
    assert_eq!(statuses(&late), ["skipped"], "{late}");
    let reason = late["records"][0]["error"].as_str().unwrap_or_default();
    assert!(reason.starts_with("superseded"), "{late}");
    assert!(reason.contains(&versions[1]), "{late}");
    assert_eq!(department_ids(&deployment).await, [1]);

    // A version newer than the loaded one loads.
    let answer = handle_version(&deployment, &bucket, &versions[2]).await;
    assert_eq!(statuses(&answer), ["done"], "{answer}");
    assert_eq!(department_ids(&deployment).await, [1, 3]);
}

/// A newer version loaded by an `ingest` of the landing prefix (whose listing names no version
/// ids) supersedes an older version's late event too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_older_than_one_an_ingest_loaded_is_superseded_too() {
    let contents = ["1,Supply Chain\n", "2,Legal\n"];
    let (bucket, _dir, deployment, versions) = versioned_departments(&contents).await;
    let pipeline = &deployment.pipeline;
    let entries = pipeline.ingest(&[], &deployment.options).await.unwrap();
    let statuses_of = entries.iter().map(|entry| entry.status).collect::<Vec<_>>();
    assert_eq!(statuses_of, [csvgate::ledger::Status::Done]);
    let late = handle_version(&deployment, &bucket, &versions[0]).await;
    assert_eq!(statuses(&late), ["skipped"], "{late}");
    assert_eq!(department_ids(&deployment).await, [2]);
}
