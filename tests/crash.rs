//! Randomized crash test: `csvgate ingest` killed with SIGKILL at a moment chosen by a seed,
//! on the Delta warehouse and on MariaDB, then run again to the end. Whatever the moment, no
//! row is lost or doubled, and no file is `done` twice or left unloaded. A failure names its seed;
//! `CSVGATE_CRASH_SEEDS=7` replays seed 7 alone.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Files of hired employees, each of `ROWS` rows with ids of their own.
const FILES: u64 = 4;
const ROWS: u64 = 3_000;
/// Kills happen within this many milliseconds of the start (a whole run takes about 1.1 s in
/// a debug build here, so most kills land mid-run: before, in and after commits).
const KILL_WINDOW_MS: u64 = 1_200;

/// The landing folder: the fixtures' departments and jobs, and the employees files.
fn land(dir: &Path) {
    let land = dir.join("land");
    std::fs::create_dir_all(land.join("hired_employees")).unwrap();
    for table in ["departments.csv", "jobs.csv"] {
        std::fs::copy(common::fixtures().join(table), land.join(table)).unwrap();
    }
    for file in 0..FILES {
        let rows: String = (0..ROWS)
            .map(|row| {
                let id = file * 100_000 + row + 1;
                format!(
                    "{id},Person {id},2021-0{}-11T09:30:00Z,{},{}\n",
                    1 + row % 9,
                    1 + row % 12,
                    1 + row % 183
                )
            })
            .collect();
        std::fs::write(land.join(format!("hired_employees/part-{file}.csv")), rows).unwrap();
    }
}

/// A deterministic stream of numbers from a seed (splitmix64).
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn csvgate(dir: &Path, target: &[String], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_csvgate"));
    command.args(target).args(args).current_dir(dir);
    command
}

/// Runs one seed: kill an ingest at its moment, ingest again, check the outcome.
fn crash_and_recover(seed: u64, target: &[String]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    land(dir.path());
    let kill_after = Duration::from_millis(mix(seed) % KILL_WINDOW_MS);
    let mut first = csvgate(dir.path(), target, &["ingest", "land", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The random moment is the point of this test: it is a kill time, not a wait for a state.
    std::thread::sleep(kill_after);
    let _ = first.kill();
    let _ = first.wait();
    let again = csvgate(dir.path(), target, &["ingest", "land", "--quiet"])
        .output()
        .unwrap();
    if !again.status.success() {
        return Err(format!(
            "the ingest after the kill failed: {}",
            String::from_utf8_lossy(&again.stderr)
        ));
    }
    check(dir.path(), target).map_err(|why| format!("killed after {kill_after:?}: {why}"))
}

/// Every employee once, and every file loaded once by the ledger's account.
fn check(dir: &Path, target: &[String]) -> Result<(), String> {
    let engine: &[&str] = if target.is_empty() {
        &[]
    } else {
        &["--engine", "mysql"]
    };
    let query = "SELECT count(*) AS n, count(DISTINCT id) AS d FROM hired_employees";
    let counts = csvgate(
        dir,
        target,
        &[&["sql", query, "--format", "csv"], engine].concat(),
    )
    .output()
    .unwrap();
    let counts = String::from_utf8_lossy(&counts.stdout).into_owned();
    let expected = format!("n,d\n{n},{n}\n", n = FILES * ROWS);
    if counts != expected {
        return Err(format!("rows: {counts:?}, expected {expected:?}"));
    }
    let runs = csvgate(dir, target, &["runs", "--format", "csv"])
        .output()
        .unwrap();
    let runs = String::from_utf8_lossy(&runs.stdout).into_owned();
    let mut ended: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = csv::Reader::from_reader(runs.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|header| header == name).unwrap();
    let (key, status) = (column("key"), column("status"));
    for row in rows.records().map(Result::unwrap) {
        ended
            .entry(row[key].to_owned())
            .or_default()
            .push(row[status].to_owned());
    }
    // Each file loaded once: `done` at most once, and the rerun found it `done` or, when the
    // kill fell between the data commit and the ledger append, already loaded (`skipped`).
    let loaded_once = |statuses: &Vec<String>| {
        let done = statuses.iter().filter(|status| *status == "done").count();
        done <= 1
            && statuses
                .iter()
                .any(|status| status == "done" || status == "skipped")
    };
    if ended.len() != 2 + FILES as usize || !ended.values().all(loaded_once) {
        return Err(format!("ledger statuses per file: {ended:?}"));
    }
    Ok(())
}

fn seeds() -> Vec<u64> {
    match std::env::var("CSVGATE_CRASH_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|seed| seed.trim().parse().unwrap())
            .collect(),
        Err(_) => (0..20).collect(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_at_any_moment_loses_and_doubles_no_row() {
    let mut failures = Vec::new();
    for seed in seeds() {
        // Even seeds on the warehouse, odd ones on a MariaDB database of their own.
        let target = match seed % 2 {
            0 => Vec::new(),
            _ => vec!["--target".to_owned(), common::mysql_database().await.0],
        };
        let outcome = tokio::task::spawn_blocking(move || crash_and_recover(seed, &target))
            .await
            .unwrap();
        if let Err(why) = outcome {
            failures.push(format!(
                "seed {seed} ({}): {why}",
                if seed % 2 == 0 { "delta" } else { "mariadb" }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "replay with CSVGATE_CRASH_SEEDS=<seed>:\n{}",
        failures.join("\n")
    );
}
