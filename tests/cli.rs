//! The `csvgate` binary as a user runs it: exit codes, output formats, configuration layers.

mod common;

use std::path::Path;
use std::process::Output;

fn csvgate(dir: &Path, args: &[&str]) -> Output {
    common::csvgate_in(dir).args(args).output().unwrap()
}

/// `csvgate args` with `CSVGATE_WAREHOUSE` set to `warehouse`.
fn with_warehouse_env(dir: &Path, args: &[&str], warehouse: &str) -> Output {
    let mut command = common::csvgate_in(dir);
    command.args(args).env("CSVGATE_WAREHOUSE", warehouse);
    command.output().unwrap()
}

fn fixtures() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .to_str()
        .unwrap()
        .to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The command exited with `code` (1: some objects failed, 2: could not run) and its error
/// output says `message`.
fn assert_fails_saying(output: &Output, code: i32, message: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
}

#[test]
fn ingest_then_runs_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = csvgate(dir.path(), &["ingest", &fixtures(), "--format", "json"]);
    assert!(ingest.status.success(), "{}", text(&ingest.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&ingest.stdout).unwrap();
    let summary: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["table_name"].as_str().unwrap().to_owned(),
                row["status"].as_str().unwrap().to_owned(),
                row["rows_valid"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("departments".into(), "done".into(), 12),
            ("jobs".into(), "done".into(), 183),
            ("hired_employees".into(), "done".into(), 1929)
        ]
    );
    // The default buckets live under ./csvgate-data.
    assert!(
        dir.path()
            .join("csvgate-data/warehouse/hired_employees/_delta_log")
            .is_dir()
    );

    let again = csvgate(
        dir.path(),
        &["ingest", &fixtures(), "--format", "csv", "--quiet"],
    );
    assert!(again.status.success());
    assert!(again.stdout.is_empty(), "--quiet prints nothing");

    let runs = csvgate(dir.path(), &["runs", "--format", "csv"]);
    let lines: Vec<String> = text(&runs.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(lines[0].starts_with("run_id,location,key,object_version,table_name,status,rows_read"));
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.contains(",skipped,"))
            .count(),
        3
    );

    let table = csvgate(dir.path(), &["runs", "--last", "1"]);
    let table = text(&table.stdout);
    assert!(
        table.contains("| hired_employees ") && table.contains("| skipped "),
        "{table}"
    );
}

#[test]
fn a_file_that_cannot_be_loaded_makes_the_exit_code_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jobs.csv"), b"1,Caf\xE9 Manager\n").unwrap();
    let output = csvgate(dir.path(), &["ingest", "jobs.csv"]);
    assert_fails_saying(&output, 1, "1 of 1 objects could not be loaded");
    assert!(text(&output.stdout).contains("line 1, field `job`: bytes are not valid UTF-8"));

    let unknown = csvgate(dir.path(), &["ingest", "jobs.csv", "--table", "staff"]);
    assert_fails_saying(&unknown, 2, "--table staff: no such table");

    let missing = csvgate(dir.path(), &["ingest", "nowhere/"]);
    assert_fails_saying(&missing, 2, "nowhere/: no such file or folder");
}

#[test]
fn flags_beat_environment_which_beats_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("csvgate.toml"),
        "warehouse = \"from-file\"\n[ingest]\ndelimiter = \";\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("departments.csv"), "1;Sales\n").unwrap();
    let file = csvgate(dir.path(), &["ingest", "departments.csv", "--quiet"]);
    assert!(file.status.success(), "{}", text(&file.stderr));
    assert!(dir.path().join("from-file/departments/_delta_log").is_dir());

    let forced = ["ingest", "departments.csv", "--quiet", "--force"];
    let env = with_warehouse_env(dir.path(), &forced, "from-env");
    assert!(env.status.success());
    assert!(dir.path().join("from-env/departments/_delta_log").is_dir());

    let flag = with_warehouse_env(
        dir.path(),
        &[&forced[..], &["--warehouse", "from-flag"]].concat(),
        "from-env",
    );
    assert!(flag.status.success());
    assert!(dir.path().join("from-flag/departments/_delta_log").is_dir());

    std::fs::write(dir.path().join("csvgate.toml"), "warehous = \"typo\"\n").unwrap();
    let typo = csvgate(dir.path(), &["runs"]);
    assert_fails_saying(&typo, 2, "csvgate.toml: unknown setting `warehous`");
}

#[test]
fn sql_over_landing_files_and_the_warehouse_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("csvgate-data/landing");
    std::fs::create_dir_all(&landing).unwrap();
    for file in ["departments.csv", "jobs.csv", "hired_employees.csv"] {
        std::fs::copy(Path::new(&fixtures()).join(file), landing.join(file)).unwrap();
    }
    // Landing files are queryable before anything is loaded; without departments in the
    // warehouse every employee fails its foreign key.
    let query = "SELECT (SELECT count(*) FROM landing.departments) AS departments, (SELECT count(*) FROM landing.hired_employees_invalid) AS rejected";
    let before = csvgate(dir.path(), &["sql", query, "--format", "csv"]);
    assert!(before.status.success(), "{}", text(&before.stderr));
    assert_eq!(text(&before.stdout), "departments,rejected\n12,1999\n");

    assert!(csvgate(dir.path(), &["ingest", "--quiet"]).status.success());
    let after = csvgate(dir.path(), &["sql", query, "--format", "json"]);
    assert_eq!(
        text(&after.stdout),
        "[{\"departments\":12,\"rejected\":70}]\n"
    );
    let reasons = csvgate(
        dir.path(),
        &[
            "sql",
            "SELECT line, reason FROM landing.hired_employees_invalid ORDER BY line LIMIT 2",
        ],
    );
    let table = text(&reasons.stdout);
    assert!(
        table.contains("| 2    | job_id: missing        |")
            && table.contains("| 67   | department_id: missing |"),
        "{table}"
    );
    let loaded = csvgate(
        dir.path(),
        &[
            "sql",
            "SELECT count(*) AS n FROM hired_employees h JOIN runs r ON r.table_name = 'hired_employees'",
            "--format",
            "csv",
        ],
    );
    assert_eq!(text(&loaded.stdout), "n\n1929\n");

    let error = csvgate(dir.path(), &["sql", "SELECT nope FROM hired_employees"]);
    assert_eq!(error.status.code(), Some(2));
    let message = text(&error.stderr);
    assert!(
        message.starts_with("csvgate: query failed: Schema error: No field named nope."),
        "{message}"
    );
    assert_eq!(
        message.matches("No field named nope").count(),
        1,
        "said once: {message}"
    );
}

#[test]
fn config_show_names_each_source_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = "warehouse = \"/data/wh\"\ntarget = \"mysql://hr:file-pw@db:3306/hr\"\n[ingest]\ndelimiter = \";\"\n";
    std::fs::write(dir.path().join("csvgate.toml"), file).unwrap();
    let shown = common::csvgate_in(dir.path())
        .args(["--landing", "/flag/in", "config", "show", "--format", "csv"])
        .env("CSVGATE_INVALID", "/env/bad")
        .env("CSVGATE_TARGET_PASSWORD", "env-pw")
        .output()
        .unwrap();
    assert!(shown.status.success());
    let csv = text(&shown.stdout);
    for line in [
        "landing,/flag/in,flag",
        "invalid,/env/bad,env (CSVGATE_INVALID)",
        "warehouse,/data/wh,file",
        "target,mysql://hr:****@db:3306/hr,file",
        "target_password,****,env (CSVGATE_TARGET_PASSWORD)",
        "ingest.delimiter,;,file",
        "ingest.header,auto,default",
    ] {
        assert!(
            csv.lines().any(|shown| shown == line),
            "{line} not in\n{csv}"
        );
    }
    assert!(!csv.contains("file-pw") && !csv.contains("env-pw"), "{csv}");
}
