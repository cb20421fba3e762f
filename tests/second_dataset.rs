//! A second dataset, unrelated to the HR tables: the retail example contract
//! (`examples/contracts/retail.odcs.yaml`: string keys and a relationship on one, exact decimals,
//! dates, booleans, bounds, lengths, patterns, an enum, rules in SQL on a row and on a table,
//! optional columns) over generated files with every kind of violation, on the warehouse and on
//! MariaDB. What csvgate keeps and rejects, reason by reason, the exact sum of a decimal column
//! and the values of the dataset rules equal what `tests/data/retail.py` computes from the
//! contract without csvgate's code; backups restore
//! the tables value for value; and datacontract-cli, another reader of the contract, tests the
//! live Parquet files the warehouse holds and passes every check it derives.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::cli::{csvgate, text};
use common::server::{Server, client, get_json, send};
use serde_json::{Value, json};

const TABLES: [&str; 3] = ["customers", "products", "orders"];

/// How `csvgate check` names its judgement of the stored rows.
const STORED_ROWS: &str = csvgate::check::STORED_ROWS_RULE;

/// What some generated row breaks, each (checked on the independent reading, so the generator
/// cannot drift into testing less).
const EVERY_KIND_OF_VIOLATION: [&str; 21] = [
    "missing",
    "longer than",
    "shorter than",
    "does not match",
    "not one of",
    "not a date",
    "not true or false",
    "not an integer",
    "not a number",
    "not a decimal number",
    "digits after the point",
    "digits before the point",
    "must be greater than 0",
    "must be at least",
    "must be at most",
    "is not an id in customers",
    "is not an id in products",
    "repeats the id of an earlier row",
    "order total above 15000",
    "row: expected 7 fields",
    "row: a vip has an email",
];

fn retail_contract() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contracts/retail.odcs.yaml")
}

/// The example's report files (`datafusion/` and `mysql/`).
fn example_queries() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queries")
}

/// `tests/data/retail.py COMMAND FOLDER`'s standard output.
fn retail_py(command: &str, folder: &Path) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/retail.py");
    let output = std::process::Command::new(common::venv_tool("python"))
        .arg(script)
        .args([command, folder.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    output.stdout
}

/// The rows kept, the rejected ones per reason and the sum of each decimal column, per table,
/// as csvgate left them: counted by `csvgate sql`, read from the invalid files.
fn as_csvgate_left_them(dir: &Path, flags: &[&str]) -> Value {
    let query = |query: &str| sql_value(dir, flags, query);
    let mut tables = serde_json::Map::new();
    for table in TABLES {
        let kept: u64 = query(&format!("SELECT count(*) AS n FROM {table}"))
            .parse()
            .unwrap_or_else(|_| panic!("a count of {table}"));
        let sums = match table {
            "customers" => json!({}),
            _ => {
                json!({ "unit_price": query(&format!("SELECT SUM(unit_price) AS s FROM {table}")) })
            }
        };
        let rejected = rejected_by_reason(&dir.join("csvgate-data/invalid").join(table));
        tables.insert(
            table.into(),
            json!({ "kept": kept, "rejected": rejected, "sums": sums }),
        );
    }
    Value::Object(tables)
}

/// How many rows of the invalid files in `folder` each reason names.
fn rejected_by_reason(folder: &Path) -> BTreeMap<String, u64> {
    let mut reasons = BTreeMap::new();
    for file in std::fs::read_dir(folder).unwrap() {
        for row in common::data_rows(&file.unwrap().path()) {
            *reasons.entry(row[row.len() - 1].to_owned()).or_default() += 1;
        }
    }
    reasons
}

/// Generates the files, loads them with the retail contract (`target` empty: the warehouse),
/// and compares with the independent computation; then loads them again, which changes nothing.
fn agrees_with_the_independent_computation(dir: &Path, target: &[&str]) {
    let landing = dir.join("landing");
    std::fs::create_dir(&landing).unwrap();
    retail_py("generate", &landing);
    let expected: Value = serde_json::from_slice(&retail_py("expect", &landing)).unwrap();
    let contract = retail_contract();
    let flags = [&["--contract", contract.to_str().unwrap()][..], target].concat();
    let run = |args: &[&str]| {
        let output = csvgate(dir, &[&flags[..], args].concat());
        assert!(output.status.success(), "{}", text(&output.stderr));
        output
    };
    if !target.is_empty() {
        run(&["db", "init"]);
    }
    run(&["ingest", landing.to_str().unwrap()]);
    let loaded = as_csvgate_left_them(dir, &flags);
    assert_eq!(loaded, expected);
    let measured: BTreeMap<String, f64> =
        serde_json::from_slice(&retail_py("measure", &landing)).unwrap();
    assert_eq!(
        rule_values(&recorded_outcomes(dir)),
        measured,
        "the dataset rules recorded with the load"
    );
    let checked = run(&["check", "--format", "json"]);
    let checked: Value = serde_json::from_slice(&checked.stdout).unwrap();
    let mut expected_checks = measured.clone();
    for table in TABLES {
        expected_checks.insert(format!("{table}: {STORED_ROWS}"), 0.0);
    }
    assert_eq!(rule_values(&checked), expected_checks, "csvgate check");
    stricter_rules_fail_the_check(dir, &flags);
    let queries = example_queries();
    let revenue = run(&[
        "--queries",
        queries.to_str().unwrap(),
        "report",
        "revenue_by_month",
        "--param",
        "year=2024",
        "--format",
        "csv",
    ]);
    assert_eq!(
        text(&revenue.stdout),
        text(&retail_py("revenue", &landing)),
        "a named report of the team's own, exact to the cent"
    );
    assert_eq!(
        loaded["orders"]["kept"], 1464,
        "the generator's rows as generated"
    );
    let reasons = expected.to_string();
    for kind in EVERY_KIND_OF_VIOLATION {
        assert!(
            reasons.contains(kind),
            "no row of the generated files is rejected for {kind}"
        );
    }

    run(&["ingest", landing.to_str().unwrap()]);
    assert_eq!(
        as_csvgate_left_them(dir, &flags),
        expected,
        "a re-ingest loads nothing"
    );
    for format in ["avro", "parquet"] {
        a_backup_restores_what_it_saved(dir, &flags, format);
    }
}

/// The outcomes of the dataset rules recorded with the runs (in the invalid bucket), all of
/// them, as one JSON array.
fn recorded_outcomes(dir: &Path) -> Value {
    let records = dir.join("csvgate-data/invalid/_csvgate_checks");
    let mut outcomes = Vec::new();
    for table in std::fs::read_dir(&records).unwrap() {
        for record in std::fs::read_dir(table.unwrap().path()).unwrap() {
            let record: Value =
                serde_json::from_slice(&std::fs::read(record.unwrap().path()).unwrap()).unwrap();
            outcomes.extend(record.as_array().unwrap().iter().cloned());
        }
    }
    Value::Array(outcomes)
}

/// Each rule's value by `table: rule`, from outcomes that must all have passed, each rule
/// once.
fn rule_values(outcomes: &Value) -> BTreeMap<String, f64> {
    let outcomes = outcomes.as_array().unwrap();
    assert!(
        outcomes.iter().all(|outcome| outcome["passed"] == true),
        "{outcomes:?}"
    );
    let values: BTreeMap<String, f64> = (outcomes.iter())
        .map(|outcome| {
            let (table, rule) = (outcome["table"].as_str(), outcome["rule"].as_str());
            let key = format!("{}: {}", table.unwrap(), rule.unwrap());
            (key, outcome["value"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(
        values.len(),
        outcomes.len(),
        "a rule given twice: {outcomes:?}"
    );
    values
}

/// Rules made stricter fail `csvgate check` (exit 1): a dataset rule that no longer holds
/// gives its value, and a row rule the stored rows no longer meet gives how many it would now
/// reject; neither reaches a row that is stored.
fn stricter_rules_fail_the_check(dir: &Path, flags: &[&str]) {
    let tightened = dir.join("tightened.odcs.yaml");
    let contract = std::fs::read_to_string(retail_contract()).unwrap();
    let (rule, name) = (
        "        mustBeLessThan: 300\n",
        "          maxLength: 100\n",
    );
    assert!(
        contract.contains(rule) && contract.contains(name),
        "the rules to tighten"
    );
    let stricter = (contract.replace(rule, "        mustBeLessThan: 100\n"))
        .replace(name, "          maxLength: 10\n");
    std::fs::write(&tightened, stricter).unwrap();
    let mut flags = flags.to_vec();
    flags[1] = tightened.to_str().unwrap();
    let args = [&flags[..], &["check", "--format", "json"]].concat();
    let output = csvgate(dir, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let outcomes: Value = serde_json::from_slice(&output.stdout).unwrap();
    let broken: Vec<(&str, &str, f64)> = (outcomes.as_array().unwrap().iter())
        .filter(|outcome| outcome["passed"] == false)
        .map(|o| {
            (
                o["table"].as_str().unwrap(),
                o["rule"].as_str().unwrap(),
                o["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let long_names = sql_value(
        dir,
        &flags,
        "SELECT COUNT(*) AS n FROM customers WHERE CHAR_LENGTH(name) > 10",
    );
    assert_eq!(
        broken,
        [
            ("customers", STORED_ROWS, long_names.parse::<f64>().unwrap()),
            ("orders", "few orders above 10000", 208.0),
        ],
        "{outcomes}"
    );
    let examples = outcomes.to_string();
    assert!(
        examples.contains("name: longer than 10 characters"),
        "{examples}"
    );
}

/// The one value `query` answers, by `csvgate sql` (MySQL's when it is the target).
fn sql_value(dir: &Path, flags: &[&str], query: &str) -> String {
    let engine: &[&str] = match flags.contains(&"--target") {
        true => &["--engine", "mysql"],
        false => &[],
    };
    let output = csvgate(
        dir,
        &[flags, &["sql", query, "--format", "csv"], engine].concat(),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    // A header line, then the value.
    let csv = text(&output.stdout);
    csv.lines().nth(1).unwrap_or_default().to_owned()
}

/// Backs every table up in `format`, changes orders (a row replaced with other values and
/// NULLs, a row added), restores orders, and finds every table as it was, value for value.
fn a_backup_restores_what_it_saved(dir: &Path, flags: &[&str], format: &str) {
    let run = |args: &[&str]| {
        let output = csvgate(dir, &[flags, args].concat());
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let engine: &[&str] = match flags.contains(&"--target") {
        true => &["--engine", "mysql"],
        false => &[],
    };
    let contents = || {
        TABLES.map(|table| {
            // The first column is each table's key.
            let query = format!("SELECT * FROM {table} ORDER BY 1");
            run(&[&["sql", query.as_str(), "--format", "csv"][..], engine].concat())
        })
    };
    let before = contents();
    assert!(
        before[2].contains(",gift\n") && before[2].lines().count() == 1465,
        "{}",
        &before[2][..200]
    );
    run(&["backup", "--format", format]);
    run(&["backups", "verify", "orders"]);
    let changes = dir.join(format!("changes-{format}"));
    std::fs::create_dir_all(&changes).unwrap();
    let later = "1,C0002,ABC-002,3,12.34,2024-02-02,\n5000,C0001,ABC-001,1,1.00,2024-01-01,later\n";
    std::fs::write(changes.join("orders_later.csv"), later).unwrap();
    run(&["ingest", changes.to_str().unwrap()]);
    assert_ne!(contents(), before, "the change landed");
    run(&["restore", "orders", "--snapshot", "latest"]);
    assert_eq!(contents(), before, "restored from {format}");
}

#[test]
fn the_retail_contract_keeps_and_rejects_what_an_independent_reading_does_on_the_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    agrees_with_the_independent_computation(dir.path(), &[]);

    let tested = datacontract_test(dir.path(), &[]);
    let checks = tested["checks"].as_array().unwrap();
    let not_passed: Vec<&Value> = (checks.iter())
        .filter(|check| check["result"] != "passed")
        .collect();
    assert!(
        not_passed
            .iter()
            .all(|check| check["result"] == "warning" && check["type"] == "field_type"),
        "only the types datacontract cannot check in Parquet may stay unchecked: {not_passed:?}"
    );
    for derived in DERIVED_CHECKS {
        let passed = |check: &&Value| check["type"] == derived && check["result"] == "passed";
        assert!(
            checks.iter().any(|check| passed(&check)),
            "no {derived} check passed"
        );
    }
    let tampered = datacontract_test(dir.path(), &["--tamper", "orders", "quantity", "0"]);
    let failed: Vec<&Value> = (tampered["checks"].as_array().unwrap().iter())
        .filter(|check| check["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["field"], "quantity", "{failed:?}");
}

/// Checks datacontract-cli derives from the retail contract, each of which must pass.
const DERIVED_CHECKS: [&str; 11] = [
    "field_required",
    "field_primary_key_unique",
    "field_min_length",
    "field_max_length",
    "field_regex",
    "field_invalid_values",
    "field_minimum",
    "field_maximum",
    "row_count",
    "model_quality_sql",
    "field_quality_sql",
];

/// `datacontract test`'s JSON report on the live Parquet files of each retail table (copied
/// by `tests/data/live_parquet.py`, which reads the Delta log itself), `extra` passed to it.
fn datacontract_test(dir: &Path, extra: &[&str]) -> Value {
    let live = dir.join(format!("live-{}", extra.len()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/live_parquet.py");
    let warehouse = dir.join("csvgate-data/warehouse");
    let copied = std::process::Command::new(common::venv_tool("python"))
        .arg(script)
        .args([warehouse.to_str().unwrap(), live.to_str().unwrap()])
        .args(TABLES)
        .args(extra)
        .output()
        .unwrap();
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    let server = format!(
        "\nservers:\n  - server: local\n    type: local\n    format: parquet\n    path: {}/{{model}}/*.parquet\nschema:\n",
        live.display()
    );
    let contract = std::fs::read_to_string(retail_contract()).unwrap();
    let with_server = live.join("retail.odcs.yaml");
    std::fs::write(&with_server, contract.replacen("\nschema:\n", &server, 1)).unwrap();
    let report = live.join("report.json");
    let tested = std::process::Command::new(common::contracts_tool("datacontract"))
        .args([
            "test",
            with_server.to_str().unwrap(),
            "--output-format",
            "json",
        ])
        .args(["--output", report.to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap();
    let report = std::fs::read(&report).unwrap_or_else(|_| {
        panic!(
            "no report: {}{}",
            text(&tested.stdout),
            text(&tested.stderr)
        )
    });
    serde_json::from_slice(&report).unwrap()
}

#[tokio::test]
async fn the_retail_contract_keeps_and_rejects_what_an_independent_reading_does_on_mariadb() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "{}/{}",
        common::mysql_server(),
        common::empty_mysql_database().await
    );
    agrees_with_the_independent_computation(dir.path(), &["--target", &url]);
}

/// Rows posted as JSON to `POST /tables/orders/rows` of a server enforcing the retail
/// contract meet the same rules, and `GET /openapi.json` describes the contract's tables.
#[tokio::test]
async fn posted_retail_rows_meet_the_contract_and_the_openapi_describes_it() {
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir(&landing).unwrap();
    retail_py("generate", &landing);
    std::fs::remove_file(landing.join("orders.csv")).unwrap();
    let contract = retail_contract();
    let with_contract = ["--contract", contract.to_str().unwrap()];
    let loaded = csvgate(
        dir.path(),
        &[&with_contract[..], &["ingest", landing.to_str().unwrap()]].concat(),
    );
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let queries = example_queries();
    let with_queries = [
        &with_contract[..],
        &["--queries", queries.to_str().unwrap()],
    ]
    .concat();
    let server = Server::start(dir.path(), &with_queries);

    let order = |id: u64, customer: &str, quantity: u64, price: &str, day: &str| {
        json!({"order_id": id, "customer_id": customer, "sku": "ABC-001", "quantity": quantity,
               "unit_price": price, "ordered_on": day, "note": null})
    };
    let rows = json!([
        order(9001, "C0001", 2, "19.99", "2024-05-01"),
        order(9002, "C0001", 1, "1.999", "2024-05-01"),
        order(9003, "C0999", 1, "1.00", "2024-05-01"),
        order(9004, "C0002", 20, "999.99", "2024-05-01"),
        order(9005, "C0002", 1, "1.00", "2024-02-30"),
    ]);
    let url = server.url("/tables/orders/rows");
    let response = send(client().post(url), "application/json", rows.to_string()).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["accepted"], 1, "{answer}");
    let reasons: Vec<&str> = (answer["rejected"].as_array().unwrap().iter())
        .map(|rejected| rejected["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "unit_price: more than 2 digits after the point",
            "customer_id: C0999 is not an id in customers",
            "unit_price: order total above 15000",
            "ordered_on: not a date (yyyy-MM-dd)",
        ]
    );
    let as_number = json!([{"order_id": 9006, "customer_id": "C0001", "sku": "ABC-001",
        "quantity": 1, "unit_price": 12345678.91, "ordered_on": "2024-05-01"}]);
    let url = server.url("/tables/orders/rows");
    let response = send(
        client().post(url),
        "application/json",
        as_number.to_string(),
    )
    .await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused = response.text().await.unwrap();
    assert!(
        refused.contains("row 0: unit_price is an exact decimal: send it as text"),
        "{refused}"
    );
    let kept = csvgate(
        dir.path(),
        &[
            &with_contract[..],
            &[
                "sql",
                "SELECT unit_price, note IS NULL AS no_note FROM orders",
                "--format",
                "csv",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        text(&kept.stdout),
        "unit_price,no_note\n19.99,true\n",
        "{}",
        text(&kept.stderr)
    );

    let revenue = get_json(&server, "/reports/revenue_by_month?year=2024").await;
    let revenue = revenue.as_array().unwrap();
    assert_eq!(revenue.len(), 1, "the one posted order: {revenue:?}");
    assert_eq!(
        (revenue[0]["month"].clone(), revenue[0]["orders"].clone()),
        (json!(5), json!(1))
    );
    assert_eq!(revenue[0]["revenue"].to_string().trim_matches('"'), "39.98");
    let url = server.url("/reports/revenue_by_month?yaer=2024");
    let response = send(client().get(url), "text/plain", "").await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused = response.text().await.unwrap();
    assert!(
        refused.contains("no parameter yaer (it takes: year)"),
        "{refused}"
    );
    let url = server.url("/reports/revenue_by_week");
    let response = send(client().get(url), "text/plain", "").await;
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);

    let openapi = get_json(&server, "/openapi.json").await;
    let orders = &openapi["components"]["schemas"]["orders"];
    assert_eq!(orders["properties"]["note"]["nullable"], true, "{orders}");
    assert_eq!(
        orders["properties"]["unit_price"]["type"], "string",
        "exact decimals travel as text"
    );
    assert_eq!(orders["properties"]["quantity"]["maximum"], 1000);
    assert!(
        !orders["required"]
            .as_array()
            .unwrap()
            .contains(&json!("note"))
    );
    let customers = &openapi["components"]["schemas"]["customers"];
    assert_eq!(
        customers["properties"]["customer_id"]["pattern"],
        "^C[0-9]{4}$"
    );
    assert_eq!(customers["properties"]["signed_up"]["format"], "date");
}
