//! Q1, Q2 and ad-hoc SQL in both engines: DataFusion over the Delta warehouse and MariaDB,
//! loaded by one mirrored ingest. Expected tables are worked out by hand from
//! tests/data/reports/ (see the comments), and on the real fixtures the two engines must agree
//! cell by cell. `csvgate sql` reads landing files and the warehouse in each format, and only
//! reads, on either engine.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{csvgate, sql, text};
use common::{Sandbox, csv_lines as lines, fixtures, mysql_rows};
use csvgate::report::Report;
use csvgate::sink::mysql::MysqlTarget;
use datafusion::arrow::array::RecordBatch;

/// Loads `folder` into MariaDB with the Delta warehouse mirrored.
async fn both_engines(folder: &Path) -> (Sandbox, MysqlTarget) {
    let (url, mysql) = common::mysql_database().await;
    let sandbox = Sandbox::mysql_mirrored(&url);
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

/// MariaDB counts the hires of a year from the index on (datetime, department_id, job_id)
/// alone, never reading a row (EXPLAIN's "Using index"): what keeps Q1 and Q2 fast when a
/// year holds millions of hires (benches/mysql_reports.sh).
#[tokio::test]
async fn mariadb_reports_count_hires_from_the_covering_index_alone() {
    let (_, mysql) = both_engines(&fixtures()).await;
    for report in [Report::Q1, Report::Q2] {
        let text = report.built_in().mysql.as_deref().unwrap();
        let employees = common::explained_reads(&mysql, text, "hired_employees").await;
        for (key, extra) in employees {
            assert_eq!(key, "hired_employees_datetime_idx", "{report:?}: {extra}");
            assert!(extra.contains("Using index"), "{report:?}: {extra}");
        }
    }
}

/// A database whose index an older csvgate made (on `datetime` alone) gets the covering one
/// from `db init`, which `db migrate` plans too; then there is nothing left to change.
#[tokio::test]
async fn db_init_rebuilds_the_index_an_older_csvgate_made() {
    let (_, mysql) = common::mysql_database().await;
    let older = "ALTER TABLE hired_employees DROP INDEX hired_employees_datetime_idx, \
                 ADD KEY hired_employees_datetime_idx (datetime)";
    mysql.query::<u64>(older).await.unwrap();
    assert_eq!(
        mysql.migration().await.unwrap(),
        [
            "ALTER TABLE `hired_employees` DROP INDEX `hired_employees_datetime_idx`, ADD KEY `hired_employees_datetime_idx` (`datetime`, `department_id`, `job_id`)"
        ]
    );
    mysql.init().await.unwrap();
    let columns: Vec<String> = mysql
        .query(
            "SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE() \
                AND index_name = 'hired_employees_datetime_idx' ORDER BY seq_in_index",
        )
        .await
        .unwrap();
    assert_eq!(columns, ["datetime", "department_id", "job_id"]);
    assert!(mysql.migration().await.unwrap().is_empty());
}

#[tokio::test]
async fn sql_on_mysql_is_read_only_and_the_report_command_prints_the_same_answer() {
    let (sandbox, mysql) = both_engines(&hand_fixture()).await;
    let url = csvgate::sink::Health::describe(&mysql)
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
