//! Q1 and Q2 in both engines: DataFusion over the Delta warehouse and MariaDB, loaded by one
//! mirrored ingest. Expected tables are worked out by hand from tests/data/reports/ (see the
//! comments), and on the real fixtures the two engines must agree cell by cell.

mod common;

use std::path::{Path, PathBuf};

use common::{Sandbox, csv_lines as lines, fixtures, mysql_rows};
use csvgate::config::Key;
use csvgate::report::Report;
use csvgate::sink::mysql::MysqlTarget;
use datafusion::arrow::array::RecordBatch;

/// Loads `folder` into MariaDB with the Delta warehouse mirrored.
async fn both_engines(folder: &Path) -> (Sandbox, MysqlTarget) {
    let (url, mysql) = common::mysql_database().await;
    let sandbox = Sandbox::with_config(|config| {
        config.set(Key::Target, url);
        config.set(Key::MirrorParquet, "true");
    });
    let entries = sandbox.ingest(&[folder]).await;
    assert!(
        entries.iter().all(|entry| entry.error.is_none()),
        "{entries:?}"
    );
    (sandbox, mysql)
}

async fn answers(
    sandbox: &Sandbox,
    mysql: &MysqlTarget,
    report: Report,
    year: i32,
) -> (RecordBatch, RecordBatch) {
    let ctx = sandbox.target.session().await.unwrap();
    let datafusion = report.datafusion(&ctx, year).await.unwrap();
    let mariadb = report.mysql(mysql, year).await.unwrap();
    (datafusion, mariadb)
}

fn hand_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reports")
}

#[tokio::test]
async fn both_engines_give_the_hand_worked_answers_including_edge_cases() {
    let (sandbox, mysql) = both_engines(&hand_fixture()).await;
    // 2021 in UTC: B (03-31 23:59:59) is Q1 and C (04-01 00:00) Q2; D (04-01 01:30+02:00) is
    // 03-31 23:30 UTC, Q1; E (2020-12-31 23:00-02:00) is 2021-01-01 01:00 UTC, Q1; K
    // (2021-12-31 22:30-02:00) is 2022; J is 2022; H is 2020 (Legal's only hire); Archive has none.
    let q1_2021 = [
        "Engineering,Analyst,1,0,0,1",
        "Engineering,Manager,0,0,1,0",
        "Sales,Analyst,2,1,0,0",
        "Sales,Manager,1,0,1,0",
    ];
    // Hires 2021: Sales 5 (A B C D I), Engineering 3 (E F G), Legal 0, Archive 0: mean 2.
    let q2_2021 = ["1,Sales,5", "2,Engineering,3"];
    // Hires 2020: Legal 1 (H), the rest 0: mean 0.25.
    let q1_2020 = ["Legal,Analyst,0,1,0,0"];
    let q2_2020 = ["3,Legal,1"];
    let cases: [(Report, i32, &[&str]); 6] = [
        (Report::Q1, 2021, &q1_2021),
        (Report::Q2, 2021, &q2_2021),
        (Report::Q1, 2020, &q1_2020),
        (Report::Q2, 2020, &q2_2020),
        (Report::Q1, 2019, &[]),
        (Report::Q2, 2019, &[]),
    ];
    for (report, year, expected) in cases {
        let (datafusion, mariadb) = answers(&sandbox, &mysql, report, year).await;
        assert_eq!(
            lines(&datafusion),
            expected,
            "{report:?} {year} in DataFusion"
        );
        assert_eq!(lines(&mariadb), expected, "{report:?} {year} in MariaDB");
    }
}

#[tokio::test]
async fn on_the_real_fixtures_both_engines_agree_cell_by_cell() {
    let (sandbox, mysql) = both_engines(&fixtures()).await;
    for report in [Report::Q1, Report::Q2] {
        let (datafusion, mariadb) = answers(&sandbox, &mysql, report, 2021).await;
        assert!(datafusion.num_rows() > 0, "{report:?}");
        assert_eq!(datafusion, mariadb, "{report:?}");
    }
    // A hand check of Q2 on the real data: the mean of 2021 hires over all 12 departments.
    let hires: Vec<(i64, i64)> = mysql
        .query("SELECT d.id, COUNT(e.id) FROM departments d LEFT JOIN hired_employees e ON e.department_id = d.id AND YEAR(e.datetime) = 2021 GROUP BY d.id")
        .await
        .unwrap();
    assert_eq!(hires.len(), 12);
    let mean = hires.iter().map(|(_, count)| *count as f64).sum::<f64>() / 12.0;
    let above = hires
        .iter()
        .filter(|(_, count)| *count as f64 > mean)
        .count();
    let (q2, _) = answers(&sandbox, &mysql, Report::Q2, 2021).await;
    assert_eq!(q2.num_rows(), above);
}

#[tokio::test]
async fn sql_on_mysql_is_read_only_and_the_report_command_prints_the_same_answer() {
    let (sandbox, mysql) = both_engines(&hand_fixture()).await;
    let url = csvgate::sink::Target::describe(&mysql)
        .replace("mysql://csvgate@", "mysql://csvgate:csvgate@");
    let run = |args: &[&str]| {
        common::csvgate_in(sandbox.dir.path())
            .args(args)
            .args([
                "--target",
                &url,
                "--warehouse",
                sandbox.path("warehouse").to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let count = run(&[
        "sql",
        "--engine",
        "mysql",
        "SELECT COUNT(*) AS n FROM hired_employees",
        "--format",
        "csv",
    ]);
    assert_eq!(String::from_utf8_lossy(&count.stdout), "n\n11\n");
    let write = run(&["sql", "--engine", "mysql", "DELETE FROM hired_employees"]);
    assert_eq!(write.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&write.stderr).contains("READ ONLY"),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    assert_eq!(
        mysql_rows::<u64>(&mysql, "SELECT COUNT(*) FROM hired_employees").await,
        [11]
    );

    for engine in ["mysql", "datafusion"] {
        let q2 = run(&["report", "q2", "--engine", engine, "--format", "csv"]);
        assert_eq!(
            String::from_utf8_lossy(&q2.stdout),
            "id,department,hired\n1,Sales,5\n2,Engineering,3\n",
            "{engine}"
        );
    }
}
