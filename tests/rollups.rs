//! Rollups kept in step with their tables: after every kind of change (a first load, a reload
//! whose rows move between quarters, departments and years, a forced reload, a load refused
//! whole, a restore of a snapshot, a table put back to an older version) the stored
//! `hires_by_quarter` equals, group by group, the rollup recomputed from the rows, and it
//! reflects the table's current version.

mod common;

use std::fmt::Write;
use std::path::PathBuf;

use common::Sandbox;
use common::cli::{csvgate, text};
use csvgate::pipeline::IngestOptions;
use datafusion::arrow::util::pretty::pretty_format_batches;

/// The stored rollup reflects the table's current version and equals the recomputed one.
async fn the_rollup_holds(sandbox: &Sandbox, when: &str) -> usize {
    let rollup = &sandbox.target.rollups()[0];
    assert_eq!(rollup.name, "hires_by_quarter");
    let check = sandbox.target.check_rollup(rollup).await.unwrap();
    let check = check.unwrap_or_else(|| panic!("{when}: no rollup stored"));
    assert_eq!(
        check.reflects, check.current,
        "{when}: the rollup was brought up to date with the commit"
    );
    assert!(
        check.differences.is_empty(),
        "{when}: the stored rollup differs from the rows:\n{}",
        pretty_format_batches(&check.differences).unwrap()
    );
    check.groups
}

/// `count` employees from id `first` on, hired on `day` of 2021 and later years in turn,
/// spread over departments and jobs: with ids of loaded rows, they move their counts.
fn employees(sandbox: &Sandbox, name: &str, first: u32, count: u32, shift: u32) -> PathBuf {
    let mut lines = String::new();
    for id in first..first + count {
        let (year, month) = (2020 + (id + shift) % 3, 1 + (id * 5 + shift) % 12);
        let (department, job) = (1 + (id + shift) % 12, 1 + (id * 7 + shift) % 183);
        writeln!(
            lines,
            "{id},Moved {id},{year}-{month:02}-15T12:00:00Z,{department},{job}"
        )
        .unwrap();
    }
    sandbox.file(&format!("landing/{name}"), lines.as_bytes())
}

#[tokio::test]
async fn the_rollup_equals_the_rows_after_every_kind_of_change() {
    let sandbox = Sandbox::new();
    let fixtures = common::fixtures();
    sandbox.ingest(&[&fixtures]).await;
    let groups = the_rollup_holds(&sandbox, "first load").await;
    assert!(groups > 100, "{groups} groups from 1,999 hires");

    let moved = employees(&sandbox, "hired_employees_moved.csv", 1, 300, 1);
    sandbox.ingest(&[&moved]).await;
    the_rollup_holds(&sandbox, "300 hires moved by a reload").await;

    let mixed = employees(&sandbox, "hired_employees_mixed.csv", 1900, 300, 2);
    sandbox.ingest(&[&mixed]).await;
    the_rollup_holds(&sandbox, "100 hires moved and 200 new").await;

    let force = IngestOptions {
        force: true,
        ..IngestOptions::default()
    };
    sandbox.ingest_with(&[&moved], &force).await;
    the_rollup_holds(&sandbox, "a forced reload").await;

    // A file of unknown departments only: every row rejected, nothing committed.
    let rejected = sandbox.file(
        "landing/hired_employees_rejected.csv",
        b"5,Nobody,2021-01-01T00:00:00Z,999,1\n",
    );
    sandbox.ingest(&[&rejected]).await;
    the_rollup_holds(&sandbox, "a load with no valid row").await;

    let dir = sandbox.dir.path();
    let cli = |args: &[&str]| {
        let folders = ["landing", "invalid", "warehouse", "backups"].map(|name| {
            (
                format!("--{name}"),
                dir.join(name).to_str().unwrap().to_owned(),
            )
        });
        let flags = folders
            .iter()
            .flat_map(|(flag, path)| [flag.as_str(), path.as_str()]);
        csvgate(dir, &flags.chain(args.iter().copied()).collect::<Vec<_>>())
    };
    let backed_up = cli(&["backup", "--table", "hired_employees"]);
    assert!(backed_up.status.success(), "{}", text(&backed_up.stderr));
    sandbox
        .ingest(&[&employees(&sandbox, "hired_employees_after.csv", 10, 50, 3)])
        .await;
    let restored = cli(&["restore", "hired_employees"]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    the_rollup_holds(&sandbox, "a restored snapshot").await;

    let back = cli(&["restore", "hired_employees", "--as-of", "0"]);
    assert!(back.status.success(), "{}", text(&back.stderr));
    the_rollup_holds(&sandbox, "the table put back to its first version").await;
}
