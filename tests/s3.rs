//! Every bucket in S3, through the library: the loopback S3 server `scripts/services` starts.
//! `s3_cli.rs` drives the binary, `s3_events.rs` the S3 event notifications.

mod common;

use common::s3::{self, bucket, get, land_fixtures, location, put};
use common::{Sandbox, fixtures, strings};
use csvgate::ledger::Status;
use csvgate::pipeline::IngestOptions;
use csvgate::report::Report;

/// A new bucket with the fixtures landed and loaded: the bucket, its sandbox, the entries.
async fn fixtures_loaded_in_s3() -> (String, Sandbox, Vec<csvgate::ledger::Entry>) {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let sandbox = s3::sandbox(&bucket);
    let entries = sandbox
        .pipeline
        .ingest(&[], &IngestOptions::default())
        .await
        .unwrap();
    (bucket, sandbox, entries)
}

fn statuses(entries: &[csvgate::ledger::Entry]) -> Vec<(String, Status, u64, u64)> {
    let summary = |entry: &csvgate::ledger::Entry| {
        (
            entry.table.clone(),
            entry.status,
            entry.rows_valid,
            entry.rows_invalid,
        )
    };
    entries.iter().map(summary).collect()
}

#[tokio::test]
async fn fixtures_go_from_an_s3_landing_bucket_into_an_s3_warehouse_once() {
    let (bucket, sandbox, entries) = fixtures_loaded_in_s3().await;
    let options = IngestOptions::default();
    let done = |table: &str, valid, invalid| (table.to_owned(), Status::Done, valid, invalid);
    assert_eq!(
        statuses(&entries),
        [
            done("departments", 12, 0),
            done("jobs", 183, 0),
            done("hired_employees", 1929, 70)
        ]
    );
    assert_eq!(sandbox.count("hired_employees").await, 1929);
    let invalid_url = entries[2].invalid_object.clone().unwrap();
    let prefix = format!("s3://{bucket}/invalid/");
    assert!(invalid_url.starts_with(&prefix), "{invalid_url}");
    let invalid = get(&location(&bucket, "invalid"), &invalid_url[prefix.len()..]).await;
    let mut rows = csv::Reader::from_reader(invalid.as_slice());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[5..], ["line", "reason"]);
    let first = rows.records().next().unwrap().unwrap();
    assert_eq!((&first[5], &first[6]), ("2", "job_id: missing"));
    assert_eq!(rows.records().count(), 69);

    let again = sandbox.pipeline.ingest(&[], &options).await.unwrap();
    assert!(
        again.iter().all(|entry| entry.status == Status::Skipped),
        "{again:?}"
    );
}

#[tokio::test]
async fn reports_from_an_s3_warehouse_equal_those_of_a_local_one() {
    let (_, remote, _) = fixtures_loaded_in_s3().await;
    let local = Sandbox::new();
    local.ingest(&[&fixtures()]).await;
    for report in [Report::Q1, Report::Q2] {
        let answer = |sandbox: &Sandbox| {
            let target = sandbox.target.clone();
            async move {
                let ctx = target.session().await.unwrap();
                report.datafusion(&ctx, 2021).await.unwrap()
            }
        };
        let (from_s3, from_disk) = (answer(&remote).await, answer(&local).await);
        assert!(from_s3.num_rows() > 0);
        assert_eq!(from_s3, from_disk, "{report:?}");
    }
}

#[tokio::test]
async fn an_overwritten_object_is_a_new_version_and_replaces_its_row() {
    let (bucket, sandbox, _) = fixtures_loaded_in_s3().await;
    let options = IngestOptions::default();
    let landing = location(&bucket, "landing");
    let jobs = std::fs::read_to_string(fixtures().join("jobs.csv")).unwrap();
    let changed = jobs.replacen("1,Marketing Assistant", "1,Chief Marketing Assistant", 1);
    assert_ne!(changed, jobs);
    put(&landing, "jobs.csv", changed.into_bytes()).await;

    let entries = sandbox.pipeline.ingest(&[], &options).await.unwrap();
    let by_table: Vec<_> = statuses(&entries)
        .into_iter()
        .map(|(t, s, ..)| (t, s))
        .collect();
    assert_eq!(
        by_table,
        [
            ("departments".to_owned(), Status::Skipped),
            ("jobs".to_owned(), Status::Done),
            ("hired_employees".to_owned(), Status::Skipped)
        ]
    );
    assert_eq!(sandbox.count("jobs").await, 183);
    let job = sandbox.sql("SELECT job FROM jobs WHERE id = 1").await;
    assert_eq!(strings(&job), ["Chief Marketing Assistant"]);
}

#[tokio::test]
async fn an_object_larger_than_a_batch_streams_in_several_with_the_local_result() {
    let bucket = bucket();
    let mut bytes = Vec::new();
    csvgate::generate::write_employees(&mut bytes, 5_000, 7).unwrap();
    put(
        &location(&bucket, "landing"),
        "hired_employees.csv",
        bytes.clone(),
    )
    .await;
    let mut options = IngestOptions::default();
    options.dialect.limits.batch_rows = 1_000;
    let remote = s3::sandbox(&bucket);
    let local = Sandbox::new();
    for sandbox in [&remote, &local] {
        let reference = fixtures();
        let references = [
            reference.join("departments.csv"),
            reference.join("jobs.csv"),
        ];
        let paths: Vec<&std::path::Path> = references.iter().map(|p| p.as_path()).collect();
        sandbox.ingest(&paths).await;
    }
    let from_s3 = remote.pipeline.ingest(&[], &options).await.unwrap();
    let file = local.file("hired_employees.csv", &bytes);
    let from_disk = local.ingest_with(&[&file], &options).await;
    assert_eq!(statuses(&from_s3), statuses(&from_disk));
    assert!(from_s3[0].rows_invalid > 0 && from_s3[0].rows_valid > 1_000);
    let query = "SELECT count(*), sum(id), min(name), max(datetime) FROM hired_employees";
    assert_eq!(remote.sql(query).await, local.sql(query).await);
}

/// Every object key below `s3://{bucket}/{prefix}`.
async fn keys_below(bucket: &str, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let listed: Vec<_> = location(bucket, prefix)
        .store
        .list(None)
        .try_collect()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .into_iter()
        .map(|meta| meta.location.to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_failure_late_in_a_large_object_leaves_nothing_half_written_in_s3() {
    let (bucket, sandbox, _) = fixtures_loaded_in_s3().await;
    let options = IngestOptions::default();
    let (table_before, invalid_before) = (
        keys_below(&bucket, "warehouse/hired_employees").await,
        keys_below(&bucket, "invalid").await,
    );
    // Rows for several batches, invalid ones among them, before the byte that fails the file.
    let mut bytes = Vec::new();
    csvgate::generate::write_employees(&mut bytes, 100_000, 3).unwrap();
    bytes.extend_from_slice(b"100001,Jos\xE9,2021-01-01T00:00:00Z,1,1\n");
    put(
        &location(&bucket, "landing"),
        "hired_employees_big.csv",
        bytes,
    )
    .await;

    let entries = sandbox.pipeline.ingest(&[], &options).await.unwrap();
    let big = entries
        .iter()
        .find(|entry| entry.object.key == "hired_employees_big.csv")
        .unwrap();
    assert_eq!(big.status, Status::Failed);
    assert!(
        big.error
            .as_deref()
            .unwrap()
            .contains("line 100001, field `name`"),
        "{big:?}"
    );
    assert_eq!(sandbox.count("hired_employees").await, 1929);
    assert_eq!(
        keys_below(&bucket, "warehouse/hired_employees").await,
        table_before
    );
    assert_eq!(keys_below(&bucket, "invalid").await, invalid_before);
}

#[tokio::test]
async fn a_large_object_reads_back_byte_for_byte() {
    let bucket = bucket();
    let landing = location(&bucket, "landing");
    let mut bytes = Vec::new();
    csvgate::generate::write_employees(&mut bytes, 200_000, 11).unwrap();
    assert!(bytes.len() > 8 << 20, "many chunks of the GET stream");
    put(&landing, "hired_employees.csv", bytes.clone()).await;
    let reader = landing.reader("hired_employees.csv").await.unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut { reader }, &mut read).unwrap();
        read
    });
    assert!(read.await.unwrap() == bytes);
}
