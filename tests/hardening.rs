//! What no input, client or crash may do to a running csvgate (issue 14): each test is one
//! way in.

mod common;

use common::server::{Server, fixture, get_json, put};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn a_panicking_run_is_recorded_failed_and_the_worker_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let panic_at = [("CSVGATE_PANIC_AT", "run jobs.csv".to_owned())];
    let server = Server::start_with_env(dir.path(), &[], &panic_at);

    let crashed = put(&server, "jobs.csv", fixture("jobs.csv"), true).await;
    assert_eq!(crashed.status(), StatusCode::OK, "the waiter is answered");
    let crashed: Value = crashed.json().await.unwrap();
    assert_eq!(crashed["status"], "failed");
    let error = crashed["entries"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("the run crashed: injected panic at run jobs.csv"),
        "{crashed}"
    );

    let next = put(&server, "departments.csv", fixture("departments.csv"), true).await;
    let next: Value = next.json().await.unwrap();
    assert_eq!(next["status"], "done", "{next}");
    assert_eq!(get_json(&server, "/healthz").await["status"], "ok");
    let runs = get_json(&server, "/runs").await;
    let ended: Vec<&str> = (runs.as_array().unwrap().iter())
        .filter(|entry| entry["status"] != "queued")
        .map(|entry| entry["status"].as_str().unwrap())
        .collect();
    assert_eq!(ended, ["failed", "done"]);
}

/// `csvgate sql QUERY` in `dir`, with `flags` first and `engine` (if any) after.
fn sql(dir: &std::path::Path, flags: &[&str], query: &str) -> std::process::Output {
    let engine: &[&str] = match flags.contains(&"--target") {
        true => &["--engine", "mysql"],
        false => &[],
    };
    csvgate(dir, &[flags, &["sql", query], engine].concat())
}

#[tokio::test]
async fn sql_only_reads_on_either_engine() {
    let sandbox = common::Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    let dir = sandbox.dir.path();
    let outside = dir.join("written.csv");
    let flags = ["--warehouse", "warehouse", "--landing", "landing"];
    let refused = [
        format!("COPY (SELECT 1) TO '{}'", outside.display()),
        "CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '/etc/hostname'".to_owned(),
        "INSERT INTO jobs VALUES (999, 'Past the rules')".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
    ];
    for query in &refused {
        let out = sql(dir, &flags, query);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{query}");
        assert!(said.contains("not supported"), "{query}: {said}");
    }
    assert!(!outside.exists());
    assert_eq!(sandbox.count("jobs").await, 183);

    let (url, target) = common::mysql_database().await;
    let on_mysql = ["--target", url.as_str()];
    let out = sql(
        dir,
        &on_mysql,
        "SELECT 1; COMMIT; DELETE FROM csvgate_schema",
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("one statement at a time"), "{said}");
    let kept: Vec<u64> = common::mysql_rows(&target, "SELECT COUNT(*) FROM csvgate_schema").await;
    assert_eq!(kept, [1]);
    let out = sql(dir, &on_mysql, "DELETE FROM csvgate_schema");
    assert!(!out.status.success());
    let kept: Vec<u64> = common::mysql_rows(&target, "SELECT COUNT(*) FROM csvgate_schema").await;
    assert_eq!(kept, [1], "a read-only transaction refuses writes");
    let out = sql(dir, &on_mysql, "SELECT ';' AS semicolon;");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn files_told_apart_by_a_dotted_part_keep_their_own_invalid_rows() {
    let sandbox = common::Sandbox::new();
    let first = sandbox.file("jobs.2021.csv", b"1,Analyst\n,no id in 2021\n");
    let second = sandbox.file("jobs.2022.csv", b"2,Clerk\n,no id in 2022\n");
    let entries = sandbox.ingest(&[&first, &second]).await;
    assert!(
        entries.iter().all(|entry| entry.rows_invalid == 1),
        "{entries:?}"
    );
    let folder = sandbox.path("invalid").join("jobs");
    let mut kept: Vec<String> = (std::fs::read_dir(folder).unwrap().flatten())
        .map(|file| std::fs::read_to_string(file.path()).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2);
    assert!(
        kept[0].contains("no id in 2021") && kept[1].contains("no id in 2022"),
        "{kept:?}"
    );
}

#[tokio::test]
async fn keys_with_accents_spaces_and_reserved_characters_load_from_a_folder_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("csvgate-data/landing/jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for (name, row) in [
        ("contrataciones_año.csv", "1,Analyst\n"),
        ("a#b.csv", "2,Clerk\n"),
        ("c%d e.csv", "3,Boss\n"),
    ] {
        std::fs::write(jobs.join(name), row).unwrap();
    }
    common::succeeded(
        common::csvgate_in(dir.path()).args(["ingest", "csvgate-data/landing/jobs/"]),
    );

    let server = Server::start(dir.path(), &[]);
    let spanish = put(
        &server,
        "jobs/altas%20de%20a%C3%B1o%20%231.csv",
        b"4,Cook\n".to_vec(),
        true,
    )
    .await;
    let spanish: Value = spanish.json().await.unwrap();
    assert_eq!(spanish["status"], "done", "{spanish}");
    assert!(
        jobs.join("altas de año #1.csv").exists(),
        "stored under the key as sent"
    );

    let long_segment = format!("jobs/{}.csv", "x".repeat(300));
    let refused = put(&server, &long_segment, b"5,Too long\n".to_vec(), true).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let said: Value = refused.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("longer than 255"),
        "{said}"
    );
    let runs = get_json(&server, "/runs").await;
    let done = (runs.as_array().unwrap().iter()).filter(|run| run["status"] == "done");
    assert_eq!(done.count(), 4, "{runs}");
}

#[tokio::test]
async fn rows_posted_to_a_server_reading_semicolons_without_header_load_with_right_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[ingest]\ndelimiter = \";\"\nheader = \"no\"\n";
    std::fs::write(dir.path().join("csvgate.toml"), config).unwrap();
    let server = Server::start(dir.path(), &[]);
    let rows = serde_json::json!([
        {"id": 1, "job": "Cook"},
        {"id": 2, "job": "Two\nlines"},
        {"job": "no id"},
        {"id": 4, "job": "Clerk"},
    ]);
    let request = common::server::client()
        .post(server.url("/tables/jobs/rows"))
        .header("x-api-key", common::server::KEY);
    let answer: Value = request
        .json(&rows)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(
        answer["rejected"],
        serde_json::json!([{"index": 2, "reason": "id: missing"}])
    );
}

#[tokio::test]
async fn errors_axum_answers_itself_are_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = common::server::client();
    let bad_year = client
        .get(server.url("/reports/hires-by-quarter?year=abc"))
        .header("x-api-key", common::server::KEY);
    let wrong_method = client
        .delete(server.url("/runs"))
        .header("x-api-key", common::server::KEY);
    for (request, status) in [
        (bad_year, StatusCode::BAD_REQUEST),
        (wrong_method, StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        let answer: Value = response.json().await.unwrap();
        assert!(!answer["error"].as_str().unwrap().is_empty(), "{answer}");
    }
}

/// `csvgate ARGS` in `dir`.
#[tokio::test]
async fn answers_show_local_folders_by_role_never_by_their_server_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let server = Server::start(dir.path(), &[]);
    let response = put(&server, "jobs.csv", b"1,Analyst\nx,Bad\n".to_vec(), true).await;
    let run: Value = response.json().await.unwrap();
    let entry = &run["entries"][0];
    assert_eq!(entry["location"], "landing/", "{run}");
    let invalid = entry["invalid_object"].as_str().unwrap();
    assert!(invalid.starts_with("invalid/jobs/"), "{invalid}");
    assert!(dir.path().join("csvgate-data").join(invalid).is_file());
    let runs = get_json(&server, "/runs").await.to_string();
    assert!(!runs.contains(&root), "{runs}");

    // A table whose log is broken: the error names it by role, in one line.
    let log = dir.path().join("csvgate-data/warehouse/jobs/_delta_log");
    let next = std::fs::read_dir(&log).unwrap().count();
    std::fs::write(log.join(format!("{next:020}.json")), "{broken\n").unwrap();
    let response = common::server::client()
        .get(server.url("/reports/hires-by-quarter"))
        .header("x-api-key", common::server::KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error: Value = response.json().await.unwrap();
    let error = error["error"].as_str().unwrap();
    assert!(error.contains("warehouse/jobs"), "{error}");
    assert!(!error.contains(&root) && !error.contains('\n'), "{error}");
}

fn csvgate(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::csvgate_in(dir).args(args).output().unwrap()
}

/// The Parquet files in the warehouse folder of `jobs`.
fn jobs_files(dir: &std::path::Path) -> Vec<String> {
    let folder = dir.join("csvgate-data/warehouse/jobs");
    let mut names: Vec<String> = (std::fs::read_dir(folder).unwrap().flatten())
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    names.sort();
    names
}

#[test]
fn vacuum_keeps_what_the_retention_needs_and_then_removes_replaced_files_and_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("jobs.csv"), "1,Cook\n2,Clerk\n").unwrap();
    assert!(csvgate(path, &["ingest", "jobs.csv"]).status.success());
    // Job 2 renamed: its file is rewritten, the old one only removed from the table.
    std::fs::write(path.join("jobs.csv"), "2,Head clerk\n").unwrap();
    assert!(csvgate(path, &["ingest", "jobs.csv"]).status.success());
    let after_loads = jobs_files(path);
    let orphan = path.join("csvgate-data/warehouse/jobs/part-orphan-of-a-failed-commit.parquet");
    std::fs::copy(
        path.join("csvgate-data/warehouse/jobs")
            .join(&after_loads[0]),
        &orphan,
    )
    .unwrap();

    let kept = csvgate(path, &["vacuum", "--table", "jobs"]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stdout),
        "jobs: removed 0 files\n"
    );
    let short = csvgate(
        path,
        &["vacuum", "--table", "jobs", "--retention-hours", "0"],
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("retention"),
        "{short:?}"
    );
    let args = [
        "vacuum",
        "--table",
        "jobs",
        "--retention-hours",
        "0",
        "--force",
    ];
    let dry = csvgate(path, &[&args[..], &["--dry-run"]].concat());
    assert!(
        String::from_utf8_lossy(&dry.stdout).starts_with("jobs: would remove 2 files"),
        "{dry:?}"
    );
    assert_eq!(jobs_files(path).len(), after_loads.len() + 1);

    let removed = csvgate(path, &args);
    assert!(
        String::from_utf8_lossy(&removed.stdout).starts_with("jobs: removed 2 files"),
        "{removed:?}"
    );
    assert!(!orphan.exists());
    assert_eq!(jobs_files(path).len(), after_loads.len() - 1);
    let rows = sql(path, &[], "SELECT id, job FROM jobs ORDER BY id");
    let rows = String::from_utf8_lossy(&rows.stdout);
    assert!(
        rows.contains("Cook") && rows.contains("Head clerk") && !rows.contains("| Clerk"),
        "{rows}"
    );
}
