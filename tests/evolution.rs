//! A contract in use changes. Adding an optional column and a table works on both targets:
//! the warehouse adds the column at the next load (Delta schema evolution), MySQL by
//! `csvgate db migrate --apply`; the rows loaded before read the new column as NULL. Removing a
//! column, changing a type or adding a required one is refused before anything is written,
//! naming the column, and leaves the warehouse and the database as they were.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{csvgate, text};

/// The retail example's contract, and the files generated for it, loaded into `target` (the
/// warehouse when empty).
fn loaded_retail(dir: &Path, target: &[&str]) -> Vec<String> {
    let landing = dir.join("landing");
    std::fs::create_dir(&landing).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/retail.py");
    let generated = std::process::Command::new(common::venv_tool("python"))
        .arg(script)
        .args(["generate", landing.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let contract =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contracts/retail.odcs.yaml");
    let flags: Vec<String> = [&["--contract", contract.to_str().unwrap()][..], target]
        .concat()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !target.is_empty() {
        succeeds(dir, &flags, &["db", "init"]);
    }
    succeeds(dir, &flags, &["ingest", landing.to_str().unwrap()]);
    flags
}

/// The retail contract with `edit` applied, written to `name` in `dir`.
fn contract_with(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contracts/retail.odcs.yaml"),
    )
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

const NOTE: &str = "      - name: note
        logicalType: string
        logicalTypeOptions:
          maxLength: 200
";

/// Version 2: orders gain an optional `channel`, a `returns` table points at orders, and a
/// customer's name may be longer (150 characters, was 100).
fn version_2(text: String) -> String {
    assert!(
        text.ends_with(NOTE),
        "orders.note ends the example contract"
    );
    let name = "          maxLength: 100\n";
    assert_eq!(text.matches(name).count(), 1, "customers.name's limit");
    text.replace(name, "          maxLength: 150\n")
        + "      - name: channel
        logicalType: string
        logicalTypeOptions:
          maxLength: 20
  - name: returns
    properties:
      - name: return_id
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions:
          minimum: 1
      - name: order_id
        logicalType: integer
        required: true
        logicalTypeOptions:
          minimum: 1
        relationships:
          - to: orders.order_id
      - name: why
        logicalType: string
        logicalTypeOptions:
          maxLength: 100
"
}

/// A change of the contract: its name, the edit, and what its refusal must say.
type Change = (&'static str, fn(String) -> String, &'static str);

/// Changes of version 2 that stored rows cannot follow, each with the column a refusal names.
fn refused_changes() -> [Change; 5] {
    [
        (
            "removed",
            |text| version_2(text).replace(NOTE, ""),
            "column note",
        ),
        (
            "relaxed",
            |text| {
                let quantity = "      - name: quantity\n        logicalType: integer\n";
                let required = format!("{quantity}        required: true\n");
                assert!(text.contains(&required), "orders.quantity is required");
                version_2(text).replace(&required, quantity)
            },
            "column quantity was required and the contract makes it optional",
        ),
        (
            "retyped",
            |text| {
                let quantity = "      - name: quantity\n        logicalType: integer";
                version_2(text).replace(
                    quantity,
                    "      - name: quantity\n        logicalType: number",
                )
            },
            "column quantity",
        ),
        (
            "required",
            |text| {
                let received = "      - name: received\n        logicalType: boolean\n        required: true\n";
                version_2(text).replace(NOTE, &format!("{NOTE}{received}"))
            },
            "column received is new and required",
        ),
        (
            "rekeyed",
            |text| {
                let keyed = "        primaryKey: true\n        primaryKeyPosition: 1\n";
                let order_id = format!(
                    "      - name: order_id\n        logicalType: integer\n        required: true\n{keyed}"
                );
                let quantity = "      - name: quantity\n        logicalType: integer\n        required: true\n";
                assert!(
                    text.contains(&order_id) && text.contains(quantity),
                    "orders is keyed by order_id"
                );
                let rekeyed = version_2(text).replace(&order_id, &order_id.replace(keyed, ""));
                // Returns point at orders by a column that is no longer its key.
                let returned = "        relationships:\n          - to: orders.order_id\n";
                let rekeyed = rekeyed.replace(returned, "");
                rekeyed.replace(quantity, &format!("{quantity}{keyed}"))
            },
            "changing a table's key is refused",
        ),
    ]
}

fn succeeds(dir: &Path, flags: &[String], args: &[&str]) -> String {
    let all: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    let output = csvgate(dir, &all);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// `flags` with the contract replaced by `contract`.
fn under(flags: &[String], contract: &Path) -> Vec<String> {
    let mut flags = flags.to_vec();
    flags[1] = contract.to_str().unwrap().to_owned();
    flags
}

/// Files of version 2: a later order with a channel, and returns (one of an unknown order).
fn later_files(dir: &Path) -> PathBuf {
    let later = dir.join("later");
    std::fs::create_dir_all(&later).unwrap();
    std::fs::write(
        later.join("orders_later.csv"),
        "5001,C0001,ABC-001,2,10.00,2024-06-01,,web\n",
    )
    .unwrap();
    std::fs::write(later.join("returns.csv"), "1,5001,damaged\n2,999999,lost\n").unwrap();
    later
}

/// One value of `query`, as `csvgate sql` prints it in CSV.
fn value(dir: &Path, flags: &[String], engine: &[&str], query: &str) -> String {
    let out = succeeds(
        dir,
        flags,
        &[&["sql", query, "--format", "csv"][..], engine].concat(),
    );
    out.lines().nth(1).unwrap_or_default().to_owned()
}

fn the_new_shape_holds(dir: &Path, flags: &[String], engine: &[&str]) {
    let old_rows = value(
        dir,
        flags,
        engine,
        "SELECT COUNT(*) AS n FROM orders WHERE channel IS NULL",
    );
    assert_eq!(
        old_rows, "1464",
        "the rows loaded before read the new column as NULL"
    );
    let channel = value(
        dir,
        flags,
        engine,
        "SELECT channel FROM orders WHERE order_id = 5001",
    );
    assert_eq!(channel, "web");
    let returns = value(dir, flags, engine, "SELECT COUNT(*) AS n FROM returns");
    assert_eq!(returns, "1", "the return of an unknown order is rejected");
}

#[test]
fn the_warehouse_takes_an_added_column_and_table_and_refuses_other_changes_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let flags = loaded_retail(dir.path(), &[]);
    let v2 = under(&flags, &contract_with(dir.path(), "v2.yaml", version_2));
    succeeds(
        dir.path(),
        &v2,
        &["ingest", later_files(dir.path()).to_str().unwrap()],
    );
    the_new_shape_holds(dir.path(), &v2, &[]);

    let orders_log = dir.path().join("csvgate-data/warehouse/orders/_delta_log");
    let commits = || std::fs::read_dir(&orders_log).unwrap().count();
    let before = commits();
    let more = dir.path().join("more");
    std::fs::create_dir(&more).unwrap();
    std::fs::write(
        more.join("orders_more.csv"),
        "5002,C0001,ABC-001,1,1.00,2024-06-02,,shop\n",
    )
    .unwrap();
    for (name, edit, column) in refused_changes() {
        let changed = under(
            &flags,
            &contract_with(dir.path(), &format!("{name}.yaml"), edit),
        );
        let all: Vec<&str> = changed
            .iter()
            .map(String::as_str)
            .chain(["ingest", more.to_str().unwrap()])
            .collect();
        let output = csvgate(dir.path(), &all);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: {}",
            text(&output.stderr)
        );
        let said = text(&output.stdout);
        assert!(
            said.contains(column) && said.contains("nothing was changed"),
            "{name}: {said}"
        );
        assert_eq!(commits(), before, "{name}: the orders table is as it was");
    }
    the_new_shape_holds(dir.path(), &v2, &[]);
}

#[tokio::test]
async fn mysql_migrates_to_an_added_column_and_table_and_refuses_other_changes_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "{}/{}",
        common::mysql_server(),
        common::empty_mysql_database().await
    );
    let flags = loaded_retail(dir.path(), &["--target", &url]);
    let v2 = under(&flags, &contract_with(dir.path(), "v2.yaml", version_2));
    let plan = succeeds(dir.path(), &v2, &["db", "migrate"]);
    assert!(
        plan.contains(
            "ALTER TABLE `orders` ADD COLUMN `channel` VARCHAR(20) COLLATE utf8mb4_bin NULL;"
        ),
        "{plan}"
    );
    assert!(
        plan.contains(
            "ALTER TABLE `customers` MODIFY COLUMN `name` VARCHAR(150) COLLATE utf8mb4_bin NOT NULL;"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("CREATE TABLE IF NOT EXISTS `returns` ("),
        "{plan}"
    );
    assert_eq!(
        succeeds(dir.path(), &v2, &["db", "migrate", "--apply"]),
        plan
    );
    assert_eq!(
        succeeds(dir.path(), &v2, &["db", "migrate"]),
        "",
        "nothing left to change"
    );
    succeeds(
        dir.path(),
        &v2,
        &["ingest", later_files(dir.path()).to_str().unwrap()],
    );
    let mysql = ["--engine", "mysql"];
    the_new_shape_holds(dir.path(), &v2, &mysql);

    let columns =
        "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = DATABASE()";
    let before = value(dir.path(), &v2, &mysql, columns);
    for (name, edit, column) in refused_changes() {
        let changed = under(
            &flags,
            &contract_with(dir.path(), &format!("{name}.yaml"), edit),
        );
        for args in [&["db", "migrate"][..], &["db", "migrate", "--apply"]] {
            let all: Vec<&str> = changed
                .iter()
                .map(String::as_str)
                .chain(args.iter().copied())
                .collect();
            let output = csvgate(dir.path(), &all);
            assert_eq!(output.status.code(), Some(2), "{name}");
            let said = text(&output.stderr);
            assert!(
                said.contains(column) && said.contains("nothing was changed"),
                "{name}: {said}"
            );
        }
        assert_eq!(
            value(dir.path(), &v2, &mysql, columns),
            before,
            "{name}: the schema is as it was"
        );
    }
    the_new_shape_holds(dir.path(), &v2, &mysql);
}
