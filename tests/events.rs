//! S3 event notifications: the example events of `fixtures/events/` through
//! `csvgate handle-event`, and `POST /events/s3` of a `csvgate serve` whose landing bucket is
//! in the loopback S3 server.

mod common;

use std::path::Path;

use common::fixtures;
use common::s3::{bucket, csvgate, location, output, put};
use common::server::{Server, client, fixture, send, wait_for_run};
use reqwest::StatusCode;
use serde_json::Value;

/// An example event of `fixtures/events/`, naming `bucket` instead of `globant-landing`.
fn event(name: &str, bucket: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("events").join(name)).unwrap();
    text.replace("globant-landing", bucket)
}

/// The objects the example events name, in `s3://{bucket}/`.
async fn land_event_objects(bucket: &str) {
    let landing = location(bucket, "");
    let fixture = |name: &str| std::fs::read(fixtures().join(name)).unwrap();
    put(&landing, "departments.csv", fixture("departments.csv")).await;
    put(&landing, "jobs/jobs 2021 año.csv", fixture("jobs.csv")).await;
    put(
        &landing,
        "departments_2022.csv",
        b"13,Legal\n14,Procurement\n".to_vec(),
    )
    .await;
    put(&landing, "jobs_2022.csv", b"184,Paralegal\n".to_vec()).await;
    put(
        &landing,
        "hired_employees.csv",
        fixture("hired_employees.csv"),
    )
    .await;
}

/// `csvgate handle-event` of `event` (JSON) on stdin, its summary as CSV.
fn handle_event(dir: &std::path::Path, bucket: &str, event: &str) -> (bool, String, String) {
    use std::io::Write;
    let landing = format!("s3://{bucket}/");
    let args = [
        "--landing",
        &landing,
        "handle-event",
        "-",
        "--format",
        "csv",
    ];
    let mut command = csvgate(dir, &args);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The `status` column of a handle-event summary.
fn event_statuses(summary: &str) -> Vec<String> {
    let mut rows = csv::Reader::from_reader(summary.as_bytes());
    rows.records()
        .map(|row| row.unwrap()[2].to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_example_event_handled_twice_loads_its_objects_once() {
    let bucket = bucket();
    land_event_objects(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let expected = [
        ("put.json", vec!["done"]),
        ("key_with_spaces.json", vec!["done"]),
        ("two_records.json", vec!["done", "done"]),
        ("complete_multipart.json", vec!["done"]),
        ("delete.json", vec!["ignored"]),
    ];
    for (name, first) in expected {
        let (ok, summary, stderr) = handle_event(dir.path(), &bucket, &event(name, &bucket));
        assert!(ok, "{name}: {summary}{stderr}");
        assert_eq!(event_statuses(&summary), first, "{name}: {summary}");
        let (ok, again, _) = handle_event(dir.path(), &bucket, &event(name, &bucket));
        let skipped: Vec<&str> = first
            .iter()
            .map(|s| if *s == "done" { "skipped" } else { s })
            .collect();
        assert!(
            ok && event_statuses(&again) == skipped,
            "{name} again: {again}"
        );
    }
    let (_, summary, _) =
        handle_event(dir.path(), &bucket, &event("key_with_spaces.json", &bucket));
    assert!(summary.starts_with("key,event,status,table_name,rows_read,rows_valid,rows_invalid,error\njobs/jobs 2021 año.csv,ObjectCreated:Put,skipped,jobs,"), "{summary}");
    let query = "SELECT (SELECT count(*) FROM departments) AS d, (SELECT count(*) FROM jobs) AS j, (SELECT count(*) FROM hired_employees) AS h";
    let (_, counts, _) = output(&mut csvgate(dir.path(), &["sql", query, "--format", "csv"]));
    assert_eq!(counts, "d,j,h\n14,184,1929\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_and_a_deletion_do_not_stop_the_other_records() {
    let bucket = bucket();
    land_event_objects(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let records = |name: &str| -> Vec<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_str(&event(name, &bucket)).unwrap();
        value["Records"].as_array().unwrap().clone()
    };
    let mut missing = records("put.json");
    missing[0]["s3"]["object"]["key"] = "departments_gone.csv".into();
    let mixed: Vec<serde_json::Value> =
        [missing, records("delete.json"), records("put.json")].concat();
    let mixed = serde_json::json!({ "Records": mixed }).to_string();
    let (ok, summary, stderr) = handle_event(dir.path(), &bucket, &mixed);
    assert!(!ok, "a failed record fails the command");
    assert_eq!(
        event_statuses(&summary),
        ["failed", "ignored", "done"],
        "{summary}"
    );
    assert!(
        summary.contains("departments_gone.csv") && summary.contains("not found"),
        "{summary}"
    );
    assert!(
        stderr.contains("1 of 3 records could not be loaded"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_s3_landing_bucket_uploads_and_events_load() {
    let bucket = common::s3::bucket();
    let dir = tempfile::tempdir().unwrap();
    let settings = common::s3::settings();
    let config = format!(
        "landing = \"s3://{bucket}/\"\n[s3]\nendpoint = \"{}\"\nallow_http = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        settings.endpoint.unwrap(),
        settings.access_key_id.unwrap(),
        settings.secret_access_key.unwrap()
    );
    std::fs::write(dir.path().join("csvgate.toml"), config).unwrap();
    let server = Server::start(dir.path(), &[]);
    let landing = common::s3::location(&bucket, "");

    // PUT /{bucket}/{key}: the bucket is the S3 landing bucket's name.
    let url = server.url(&format!("/{bucket}/departments.csv?wait=true"));
    let stored = send(client().put(url), "*/csv", fixture("departments.csv")).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.json::<Value>().await.unwrap()["status"], "done");
    let in_s3 = common::s3::get(&landing, "departments.csv").await;
    assert_eq!(in_s3, fixture("departments.csv"));
    let other = send(
        client().put(server.url("/globant-landing/jobs.csv")),
        "*/csv",
        fixture("jobs.csv"),
    )
    .await;
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "only the landing bucket takes uploads"
    );

    // POST /events/s3: an object put straight into the bucket, announced by its event.
    common::s3::put(&landing, "jobs.csv", fixture("jobs.csv")).await;
    let event = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/put.json"),
    )
    .unwrap();
    let event = event
        .replace("globant-landing", &bucket)
        .replace("departments.csv", "jobs.csv");
    let answer = send(
        client().post(server.url("/events/s3")),
        "application/json",
        event,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let answer: Value = answer.json().await.unwrap();
    let record = &answer["records"][0];
    assert_eq!(
        (&record["key"], &record["status"]),
        (&Value::from("jobs.csv"), &Value::from("queued")),
        "{answer}"
    );
    let run = wait_for_run(
        &server,
        &format!("/runs/{}", record["run_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(run["status"], "done", "{run}");
    let unknown = send(
        client().post(server.url("/events/s3")),
        "application/json",
        "{\"Records\": 1}",
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}
