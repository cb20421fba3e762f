//! Every bucket in S3 (the loopback S3 server `scripts/services` starts), through the library
//! and through the `csvgate` binary with the standard AWS settings: loads, reports, versions,
//! streaming, flags, environment and file, errors that say how to fix them, conditional
//! writes, two processes. S3 event notifications are `events.rs`'s.

mod common;

use common::s3::{self, bucket, csvgate, get, land_fixtures, location, output, put};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_locations_work_from_flags_environment_and_file() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("s3://{bucket}/{name}");
    let flags = [
        "--landing",
        &url("landing"),
        "--invalid",
        &url("invalid"),
        "--warehouse",
        &url("wh-flag"),
    ];
    let departments = url("landing/departments.csv");
    let by_flag = [&flags[..], &["ingest", &departments, "--format", "csv"]].concat();
    let (ok, stdout, stderr) = output(&mut csvgate(dir.path(), &by_flag));
    assert!(
        ok && stdout.contains("departments.csv,departments,done,12,12,0"),
        "{stdout}{stderr}"
    );

    let mut by_env = csvgate(dir.path(), &["ingest", &departments, "--format", "csv"]);
    by_env
        .env("CSVGATE_INVALID", url("invalid"))
        .env("CSVGATE_WAREHOUSE", url("wh-env"));
    let (ok, stdout, stderr) = output(&mut by_env);
    assert!(ok && stdout.contains(",done,12,12,0"), "{stdout}{stderr}");

    let file = format!(
        "landing = \"{}\"\ninvalid = \"{}\"\nwarehouse = \"{}\"\n[s3]\nendpoint = \"{}\"\nallow_http = true\n",
        url("landing"),
        url("invalid"),
        url("wh-file"),
        s3::endpoint()
    );
    std::fs::write(dir.path().join("csvgate.toml"), file).unwrap();
    let mut by_file = csvgate(dir.path(), &["ingest", "--format", "csv"]);
    by_file.env_remove("AWS_ENDPOINT_URL");
    let (ok, stdout, stderr) = output(&mut by_file);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout.matches(",done,").count(), 3, "{stdout}");
    let (ok, stdout, _) = output(&mut csvgate(
        dir.path(),
        &["report", "q2", "--format", "csv"],
    ));
    assert!(
        ok && stdout.starts_with("id,department,hired\n8,Support,216\n"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_endpoints_buckets_and_keys_fail_clearly() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    put(
        &location(&bucket, "landing"),
        "notes.txt",
        b"not a table".to_vec(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("s3://{bucket}/warehouse");
    let ingest = |source: String| {
        let args = [
            "--warehouse",
            &warehouse,
            "--invalid",
            &warehouse,
            "ingest",
            &source,
        ];
        let mut command = csvgate(
            dir.path(),
            &args.map(str::to_owned).each_ref().map(String::as_str),
        );
        command.arg("--quiet");
        command
    };
    let departments = format!("s3://{bucket}/landing/departments.csv");

    let mut wrong_secret = ingest(departments.clone());
    wrong_secret.env("AWS_SECRET_ACCESS_KEY", "not-the-secret-123");
    let (ok, stdout, stderr) = output(&mut wrong_secret);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("s3://{bucket}/")) && stderr.contains("AWS_SECRET_ACCESS_KEY"),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("not-the-secret-123"));

    let mut unreachable = ingest(departments.clone());
    unreachable.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let (ok, _, stderr) = output(&mut unreachable);
    assert!(!ok && stderr.contains("AWS_ENDPOINT_URL"), "{stderr}");

    let missing = format!("s3://no-such-bucket-{}/landing/", &bucket[10..]);
    let (ok, _, stderr) = output(&mut ingest(missing.clone()));
    assert!(
        !ok && stderr.contains(&missing[..20]) && stderr.contains("bucket"),
        "{stderr}"
    );

    let (ok, _, stderr) = output(&mut ingest(format!("s3://{bucket}/landing/notes.txt")));
    assert!(!ok && stderr.contains("could not be loaded"), "{stderr}");

    // Nothing of the failures is in the warehouse: its ledger, if any, holds no `done`.
    let (ok, stdout, _) = output(&mut csvgate(
        dir.path(),
        &["--warehouse", &warehouse, "runs", "--format", "csv"],
    ));
    assert!(ok && !stdout.contains(",done,"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_conditional_writes_keeps_no_warehouse() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("s3://{bucket}/warehouse");
    let departments = format!("s3://{bucket}/landing/departments.csv");
    let mut ingest = csvgate(
        dir.path(),
        &["--warehouse", &warehouse, "ingest", &departments],
    );
    // object_store's switch for servers without conditional writes: creates are then refused.
    ingest.env("AWS_CONDITIONAL_PUT", "disabled");
    let (ok, _, stderr) = output(&mut ingest);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("does not refuse a second create"),
        "{stderr}"
    );
    let listed = location(&bucket, "warehouse").csv_objects().await.unwrap();
    assert!(listed.is_empty());
    let tables = std::fs::read_dir(
        std::path::Path::new(&std::env::var("HOME").unwrap())
            .join(".cache/csvgate-s3")
            .join(&bucket)
            .join("warehouse"),
    );
    assert!(tables.map_or(true, |entries| {
        entries.flatten().all(|e| e.file_name() == "_csvgate_probe")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_load_into_one_s3_warehouse_at_once() {
    // On moto: its conditional writes are atomic, which this race needs (see `s3::MOTO`).
    let bucket = s3::moto_bucket().await;
    s3::land_fixtures_on_moto(&bucket).await;
    let csvgate = |dir: &std::path::Path, args: &[&str]| {
        let mut command = csvgate(dir, args);
        command.env("AWS_ENDPOINT_URL", s3::MOTO);
        command
    };
    let dir = tempfile::tempdir().unwrap();
    let warehouse = format!("s3://{bucket}/warehouse");
    let invalid = format!("s3://{bucket}/invalid");
    let start = |name: &str| {
        let source = format!("s3://{bucket}/landing/{name}");
        let args = [
            "--warehouse",
            &warehouse,
            "--invalid",
            &invalid,
            "ingest",
            &source,
            "--quiet",
        ];
        csvgate(dir.path(), &args).spawn().unwrap()
    };
    let (first, second) = (start("departments.csv"), start("jobs.csv"));
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (ok, stdout, _) = output(&mut csvgate(
        dir.path(),
        &["--warehouse", &warehouse, "runs", "--format", "csv"],
    ));
    assert!(ok);
    assert_eq!(stdout.matches(",done,").count(), 2, "{stdout}");
    let (_, counts, _) = output(&mut csvgate(
        dir.path(),
        &[
            "--warehouse",
            &warehouse,
            "sql",
            "SELECT (SELECT count(*) FROM departments) AS d, (SELECT count(*) FROM jobs) AS j",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(counts, "d,j\n12,183\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_region_come_from_an_aws_cli_profile_or_its_credential_process() {
    let bucket = bucket();
    land_fixtures(&bucket).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    let settings = s3::settings();
    let credentials = format!(
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n[hr]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        settings.access_key_id.unwrap(),
        settings.secret_access_key.unwrap()
    );
    std::fs::write(home.path().join(".aws/credentials"), credentials).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile hr]\nregion = us-east-1\n",
    )
    .unwrap();
    // `ingest` of one landing file with nothing but the profile `profile` to go by.
    let ingest_as = |profile: &str, file: &str| {
        let source = format!("s3://{bucket}/landing/{file}");
        let mut ingest = csvgate(home.path(), &["ingest", &source, "--format", "csv"]);
        ingest.env("HOME", home.path()).env("AWS_PROFILE", profile);
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
            ingest.env_remove(name);
        }
        output(&mut ingest)
    };
    let (ok, stdout, stderr) = ingest_as("hr", "departments.csv");
    assert!(ok && stdout.contains(",done,12,12,0"), "{stdout}{stderr}");

    // A profile whose keys come from a credential process, as SSO helpers and vaults give
    // them: read through the AWS SDK's profile provider.
    let process = format!(
        "[profile vault]\nregion = us-east-1\ncredential_process = printf '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
        s3::settings().access_key_id.unwrap(),
        s3::settings().secret_access_key.unwrap()
    );
    std::fs::write(home.path().join(".aws/config"), process).unwrap();
    let (ok, stdout, stderr) = ingest_as("vault", "jobs.csv");
    assert!(ok && stdout.contains(",done,183,183,0"), "{stdout}{stderr}");
}
