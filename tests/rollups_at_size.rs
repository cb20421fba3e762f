//! Rollups where every group fills up: a generated file of 100,000 hires (about 3.5 % of them
//! rejected), then a reload of 5 % of them moved to other quarters, departments and years,
//! into MariaDB with the Delta warehouse mirrored. After each load both stored rollups equal
//! the ones recomputed from the rows, and Q1/Q2 from each rollup equal the full scan, and
//! each other, for every year of the file.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::Sandbox;
use csvgate::dictionary::Dictionary;
use csvgate::report::named::Catalog;
use csvgate::report::{Engine, Engines, Report, Scan};
use csvgate::rollup::Rollup;
use csvgate::sink::mysql::MysqlTarget;

/// `landing/hired_employees_generated.csv`: `rows` generated hires (seed 42).
fn generated(sandbox: &Sandbox, rows: u64) -> PathBuf {
    let mut text = Vec::new();
    csvgate::generate::write_employees(&mut text, rows, 42).unwrap();
    sandbox.file("landing/hired_employees_generated.csv", &text)
}

#[tokio::test]
async fn a_hundred_thousand_hires_and_five_percent_replaced_keep_both_rollups_exact() {
    let (url, _) = common::mysql_database().await;
    let sandbox = Sandbox::mysql_mirrored(&url);
    let hr = Dictionary::hr();
    let rollups = Rollup::all(&hr, None).unwrap();
    let mysql = (MysqlTarget::new(&url, None, Arc::new(hr)).unwrap())
        .with_rollups(rollups.into())
        .unwrap();
    let fixtures = common::fixtures();
    let references = ["departments.csv", "jobs.csv"].map(|name| fixtures.join(name));
    sandbox.ingest(&[&references[0], &references[1]]).await;

    let entries = sandbox.ingest(&[&generated(&sandbox, 100_000)]).await;
    assert!(entries[0].rows_valid > 95_000, "{entries:?}");
    both_hold(&sandbox, &mysql, "100,000 generated hires").await;

    let moved = sandbox.moved_employees("hired_employees_moved.csv", 1, 5_000, 7);
    let entries = sandbox.ingest(&[&moved]).await;
    assert_eq!(entries[0].rows_valid, 5_000, "{entries:?}");
    both_hold(&sandbox, &mysql, "5 % of them replaced").await;
}

/// Both stored rollups equal their rows, and Q1/Q2 answer alike from each rollup and from
/// each full scan, for every year of the generated hires.
async fn both_hold(sandbox: &Sandbox, mysql: &MysqlTarget, when: &str) {
    let warehouse = &sandbox.target;
    common::rollups::warehouse_rollup_holds(warehouse, when).await;
    common::rollups::mysql_rollup_holds(mysql, 0, when).await;
    let engines = Engines {
        warehouse: warehouse.clone(),
        mysql: Some(mysql.clone()),
        ballista: None,
        reports: Arc::new(Catalog::built_in()),
    };
    for report in [Report::Q1, Report::Q2] {
        for year in 2020..=2022 {
            let mut answers = Vec::new();
            for engine in [Engine::Datafusion, Engine::Mysql] {
                for scan in [Scan::Rollups, Scan::Exact] {
                    let answer = engines.answer(report, year, Some(engine), scan).await;
                    answers.push((engine, scan, answer.unwrap()));
                }
            }
            let (_, _, first) = &answers[0];
            assert!(first.num_rows() > 0, "{when}: {report:?} {year} is empty");
            for (engine, scan, answer) in &answers[1..] {
                assert_eq!(
                    answer, first,
                    "{when}: {report:?} {year} {engine:?} {scan:?}"
                );
            }
        }
    }
}
