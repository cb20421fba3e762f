use super::*;

fn declared(sql: &str) -> Result<Rollup, String> {
    Rollup::declare(
        &Dictionary::hr(),
        "test_rollup",
        sql,
        "rollups/test_rollup.sql",
    )
    .map_err(|error| error.to_string())
}

fn refusal(sql: &str) -> String {
    let refused = declared(sql).expect_err(sql);
    assert!(
        refused.starts_with("rollup rollups/test_rollup.sql: "),
        "{refused}"
    );
    refused
}

#[test]
fn the_built_in_rollup_counts_hires_per_year_quarter_department_and_job() {
    let rollups = Rollup::all(&Dictionary::hr(), None).unwrap();
    let [rollup] = rollups.as_slice() else {
        panic!("{rollups:?}")
    };
    assert_eq!(rollup.name, "hires_by_quarter");
    assert_eq!(rollup.table, "hired_employees");
    assert_eq!(
        rollup.groups,
        ["year", "quarter", "department_id", "job_id"]
    );
    let count = Measure {
        name: "hires".into(),
        kind: MeasureKind::Count,
    };
    assert_eq!(rollup.measures, [count]);
}

#[test]
fn groups_and_measures_may_be_selected_in_any_order_under_an_alias() {
    let rollup = declared(
        "SELECT COUNT(*) AS n, SUM(e.job_id) AS job_sum, e.department_id AS department \
         FROM hired_employees AS e GROUP BY e.department_id",
    )
    .unwrap();
    assert_eq!(rollup.groups, ["department"]);
    let names: Vec<_> = rollup
        .measures
        .iter()
        .map(|m| (m.name.as_str(), m.kind))
        .collect();
    assert_eq!(
        names,
        [("n", MeasureKind::Count), ("job_sum", MeasureKind::Sum)]
    );
}

#[test]
fn every_other_shape_is_refused_by_what_it_has() {
    let from = "FROM hired_employees";
    let cases = [
        (format!("SELECT department_id, COUNT(*) AS n {from} WHERE job_id > 1 GROUP BY department_id"), "a WHERE clause"),
        (format!("SELECT department_id, COUNT(*) AS n {from} GROUP BY department_id HAVING COUNT(*) > 1"), "HAVING"),
        (format!("SELECT department_id, COUNT(*) AS n {from} GROUP BY department_id ORDER BY n"), "ORDER BY"),
        (format!("SELECT department_id, COUNT(*) AS n {from} GROUP BY department_id LIMIT 3"), "LIMIT"),
        ("SELECT d.department, COUNT(*) AS n FROM hired_employees e JOIN departments d ON d.id = e.department_id GROUP BY d.department".into(), "a join"),
        (format!("SELECT department_id, COUNT(*) AS n FROM (SELECT * {from}) GROUP BY department_id"), "a subquery"),
        (format!("SELECT DISTINCT department_id {from}"), "DISTINCT"),
        (format!("SELECT COUNT(*) AS n {from}"), "no GROUP BY"),
        (format!("SELECT department_id, SUM(job_id) AS s {from} GROUP BY department_id"), "no COUNT(*)"),
        (format!("SELECT department_id, COUNT(*) AS n, MAX(datetime) AS last {from} GROUP BY department_id"), "cannot be known without a scan"),
        (format!("SELECT department_id, COUNT(*) AS n, AVG(job_id) AS a {from} GROUP BY department_id"), "divide in the report"),
        (format!("SELECT department_id, COUNT(DISTINCT job_id) AS n {from} GROUP BY department_id"), "DISTINCT"),
        (format!("SELECT department_id, COUNT(job_id) AS n {from} GROUP BY department_id"), "COUNT(*)"),
        (format!("SELECT random() > 0.5 AS coin, COUNT(*) AS n {from} GROUP BY 1"), "another time"),
        (format!("SELECT datetime > now() AS recent, COUNT(*) AS n {from} GROUP BY 1"), "another time"),
        (format!("SELECT department_id, COUNT(*) + 1 AS n {from} GROUP BY department_id"), "as it is"),
        (format!("SELECT department_id % 2, COUNT(*) AS n {from} GROUP BY department_id % 2"), "name each column"),
        (format!("SELECT job_id, COUNT(*) AS n {from} GROUP BY department_id, job_id"), "not selected"),
        (format!("SELECT department_id, COUNT(*) AS n {from} GROUP BY ROLLUP (department_id)"), "grouping sets"),
        (format!("SELECT department_id, COUNT(*) AS n, SUM(job_id * 2) AS s {from} GROUP BY department_id"), "sum one column as it is"),
        ("SELECT id, COUNT(*) AS n FROM nowhere GROUP BY id".into(), "nowhere"),
    ];
    for (sql, said) in cases {
        let refused = refusal(&sql);
        assert!(
            refused.contains(said),
            "{sql}\n  said: {refused}\n  expected: {said}"
        );
    }
}

#[test]
fn a_rollup_named_like_a_table_or_a_built_in_is_refused() {
    let sql = "SELECT department_id, COUNT(*) AS n FROM hired_employees GROUP BY department_id";
    let refused = Rollup::declare(&Dictionary::hr(), "jobs", sql, "rollups/jobs.sql");
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("is a table of the contract")
    );
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join(FOLDER)).unwrap();
    std::fs::write(folder.path().join("rollups/hires_by_quarter.sql"), sql).unwrap();
    let refused = Rollup::all(&Dictionary::hr(), Some(folder.path()));
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("is a built-in rollup")
    );
    std::fs::rename(
        folder.path().join("rollups/hires_by_quarter.sql"),
        folder.path().join("rollups/by_department.sql"),
    )
    .unwrap();
    let all = Rollup::all(&Dictionary::hr(), Some(folder.path())).unwrap();
    let names: Vec<_> = all.iter().map(|rollup| rollup.name.as_str()).collect();
    assert_eq!(names, ["hires_by_quarter", "by_department"]);
}

/// A sum the stored decimal cannot hold fails the update instead of storing NULL.
#[tokio::test]
async fn a_sum_past_its_stored_precision_is_an_error_not_a_null() {
    use datafusion::arrow::array::{Decimal128Array, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, true),
        Field::new("n", DataType::Int64, true),
        Field::new("total", DataType::Decimal128(3, 0), true),
    ]));
    let measure = |name: &str, kind| Measure {
        name: name.into(),
        kind,
    };
    let rollup = Rollup {
        name: "totals".into(),
        table: "orders".into(),
        sql: String::new(),
        groups: vec!["g".into()],
        measures: vec![
            measure("n", MeasureKind::Count),
            measure("total", MeasureKind::Sum),
        ],
        schema: Arc::clone(&schema),
    };
    let group = |total: i128| {
        let total = Decimal128Array::from(vec![total]).with_precision_and_scale(3, 0);
        let columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(total.unwrap()),
        ];
        RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
    };
    let fits = merge::apply(&rollup, vec![group(500)], vec![group(200)], vec![]).await;
    let fits = fits.unwrap();
    let total = fits[0].column(2).as_any().downcast_ref::<Decimal128Array>();
    assert_eq!(total.unwrap().value(0), 700);
    let past = merge::apply(&rollup, vec![group(900)], vec![group(200)], vec![]).await;
    assert!(past.is_err(), "{past:?}");
}
