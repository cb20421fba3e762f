//! Engines csvgate does not contain read its warehouse as it is: Python deltalake and Polars
//! (PyPI, in the venv `scripts/services` makes) see each table's current version, through a
//! plain Delta protocol, with the same row counts and the same Q2 answer as csvgate's engine.

mod common;

use common::{Sandbox, csv_lines};
use csvgate::dictionary::TABLES;
use csvgate::report::Report;
use serde_json::Value;

/// Twenty real employees moved into department 5 with a 2021 hire date: a load whose rows
/// replace rows already in the table, so the files that held them stop being live.
fn moved_employees(sandbox: &Sandbox) -> std::path::PathBuf {
    let real = std::fs::read_to_string(common::fixtures().join("hired_employees.csv")).unwrap();
    let moved: String = (real.lines())
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields.len() == 5 && fields.iter().all(|field| !field.is_empty()))
        .take(20)
        .map(|f| format!("{},{},2021-06-01T12:00:00Z,5,{}\n", f[0], f[1], f[4]))
        .collect();
    sandbox.file("moved/hired_employees_moved.csv", moved.as_bytes())
}

fn read_with_python(sandbox: &Sandbox, year: i32) -> Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/read_warehouse.py");
    let out = std::process::Command::new(common::venv_tool("python"))
        .arg(script)
        .arg(sandbox.path("warehouse"))
        .arg(year.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn python_deltalake_and_polars_see_the_tables_and_q2_as_csvgate_does() {
    let sandbox = Sandbox::new();
    sandbox.ingest(&[&common::fixtures()]).await;
    let moved = moved_employees(&sandbox);
    let entries = sandbox.ingest(&[&moved]).await;
    assert_eq!(entries[0].rows_valid, 20, "{entries:?}");

    let seen = read_with_python(&sandbox, 2021);
    for table in TABLES.iter() {
        let found = &seen["tables"][table.name];
        let rows = sandbox.count(table.name).await;
        assert_eq!(found["deltalake_rows"], rows, "{}: {found}", table.name);
        assert_eq!(found["polars_rows"], rows, "{}: {found}", table.name);
        // The protocol any Delta reader knows: no table features to opt into.
        assert_eq!(found["reader_version"], 1, "{}: {found}", table.name);
        assert_eq!(found["reader_features"], serde_json::json!([]));
    }
    assert_eq!(
        sandbox.count("hired_employees").await,
        1929,
        "replaced, not added"
    );
    assert_eq!(
        seen["datetime_type"],
        "Datetime(time_unit='us', time_zone='UTC')"
    );

    let ctx = sandbox.target.session().await.unwrap();
    let q2 = Report::Q2.datafusion(&ctx, 2021).await.unwrap();
    let expected = csv_lines(&q2);
    assert!(
        expected.iter().any(|line| line.starts_with("5,")),
        "{expected:?}"
    );
    assert_eq!(seen["q2"], serde_json::json!(expected));
}
