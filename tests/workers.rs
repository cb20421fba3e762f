//! Many workers on one warehouse: `csvgate ingest` processes started together over one landing
//! folder coordinate through the Delta log alone. Each file ends `done` exactly once (the
//! others' runs record it `skipped`), no run fails for contention, and every row is there once.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const WORKERS: usize = 4;
const FILES: u64 = 12;
const ROWS: u64 = 2_000;

fn csvgate(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_csvgate"));
    command.args(args).current_dir(dir);
    command
}

/// `land/` with the employees files; departments and jobs loaded first.
fn land(dir: &Path) {
    let folder = dir.join("land/hired_employees");
    std::fs::create_dir_all(&folder).unwrap();
    for file in 0..FILES {
        let rows: String = (0..ROWS)
            .map(|row| {
                let id = file * 100_000 + row + 1;
                let (department, job) = (1 + row % 12, 1 + row % 183);
                format!("{id},Person {id},2021-03-11T09:30:00Z,{department},{job}\n")
            })
            .collect();
        std::fs::write(folder.join(format!("part-{file:02}.csv")), rows).unwrap();
    }
    let fixtures = common::fixtures();
    let references = ["departments.csv", "jobs.csv"].map(|name| fixtures.join(name));
    let references = references.map(|path| path.display().to_string());
    common::succeeded(&mut csvgate(
        dir,
        &["ingest", "--quiet", &references[0], &references[1]],
    ));
}

#[test]
fn four_ingest_processes_over_one_folder_load_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    land(dir.path());
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            csvgate(dir.path(), &["ingest", "--quiet", "land"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a worker failed: {stderr}");
    }

    let runs = common::succeeded(&mut csvgate(dir.path(), &["runs", "--format", "json"]));
    let entries: Vec<Value> = serde_json::from_slice(&runs.stdout).unwrap();
    let mut statuses: HashMap<String, Vec<String>> = HashMap::new();
    for entry in &entries {
        let key = entry["key"].as_str().unwrap().to_owned();
        let status = entry["status"].as_str().unwrap().to_owned();
        statuses.entry(key).or_default().push(status);
    }
    let employees: Vec<_> = statuses
        .keys()
        .filter(|key| key.starts_with("hired"))
        .collect();
    assert_eq!(employees.len(), FILES as usize, "{statuses:?}");
    for (key, of_file) in &statuses {
        let done = of_file.iter().filter(|status| *status == "done").count();
        assert_eq!(done, 1, "{key}: {of_file:?}");
        let others_skipped = of_file
            .iter()
            .all(|status| status == "done" || status == "skipped");
        assert!(others_skipped, "{key}: {of_file:?}");
    }
    let counted = common::succeeded(&mut csvgate(
        dir.path(),
        &[
            "sql",
            "SELECT count(*) AS n, count(DISTINCT id) AS d FROM hired_employees",
            "--format",
            "csv",
        ],
    ));
    let n = FILES * ROWS;
    assert_eq!(
        String::from_utf8_lossy(&counted.stdout),
        format!("n,d\n{n},{n}\n")
    );
}
