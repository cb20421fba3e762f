//! Every bucket in S3, through the `csvgate` binary and the standard AWS settings: flags,
//! environment and file, errors that say how to fix them, conditional writes, two processes.

mod common;

use common::s3::{self, bucket, csvgate, land_fixtures, location, output, put};

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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
