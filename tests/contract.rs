//! Data contracts from the command line: `contract check`, `contract show`, a deployment that
//! enforces the contract it names, and datacontract-cli's agreement that each contract is one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{assert_fails_saying, csvgate, text};

/// A contract of one table of fruits, unrelated to the HR tables.
const FRUITS: &str = "
apiVersion: v3.1.0
kind: DataContract
id: fruits
name: Fruits
version: 1.0.0
status: active
schema:
  - name: fruits
    physicalType: table
    properties:
      - name: id
        logicalType: integer
        required: true
        primaryKey: true
        primaryKeyPosition: 1
        logicalTypeOptions:
          exclusiveMinimum: 0
      - name: fruit
        logicalType: string
        required: true
        logicalTypeOptions:
          maxLength: 255
      - name: picked_at
        logicalType: timestamp
        required: true
";

/// Four rows of fruits: one kept, one with a missing name, one with a bad time, one with a
/// repeated id.
const THREE_OF_FOUR_REJECTED: &str = "1,apple,2024-05-01T10:00:00Z\n2,,2024-05-01T10:00:00Z\n3,pear,yesterday\n1,plum,2024-05-02T09:00:00Z\n";

/// [`FRUITS`] with a reject budget: the custom property `property` set to `value`.
fn with_budget(property: &str, value: &str) -> String {
    let budget =
        format!("    customProperties:\n      - property: {property}\n        value: {value}\n");
    FRUITS.replace(
        "    physicalType: table\n",
        &format!("    physicalType: table\n{budget}"),
    )
}

fn hr_contract() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/hr.odcs.yaml")
}

/// `csvgate --contract CONTRACT args` in `dir`.
fn under_contract(dir: &Path, contract: &Path, args: &[&str]) -> Output {
    csvgate(
        dir,
        &[&["--contract", contract.to_str().unwrap()][..], args].concat(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_prints_what_is_enforced_and_the_mysql_schema() {
    let dir = tempfile::tempdir().unwrap();
    let contract = hr_contract();
    let output = csvgate(
        dir.path(),
        &["contract", "check", contract.to_str().unwrap()],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("contract csvgate-hr version 1.0.0: 3 tables enforced"),
        "{stdout}"
    );
    assert!(stdout.contains("departments.id"), "{stdout}");
    assert!(
        stdout.contains("CREATE TABLE IF NOT EXISTS `hired_employees`"),
        "{stdout}"
    );
}

#[test]
fn a_contract_csvgate_cannot_enforce_is_refused_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let format = FRUITS.replace("maxLength: 255", "maxLength: 255\n          format: email");
    let path = write(dir.path(), "fruits.yaml", &format);
    let output = csvgate(dir.path(), &["contract", "check", path.to_str().unwrap()]);
    let place = "fruits.yaml: schema[0].properties[1].logicalTypeOptions.format: `format` is a constraint csvgate does not enforce yet";
    assert_fails_saying(&output, 2, place);
    // A deployment named to it does not start either.
    let output = csvgate(
        dir.path(),
        &["--contract", path.to_str().unwrap(), "contract", "show"],
    );
    assert_fails_saying(&output, 2, place);
}

#[test]
fn a_deployment_enforces_the_contract_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let contract = write(dir.path(), "fruits.yaml", FRUITS);
    let file = write(dir.path(), "fruits.csv", THREE_OF_FOUR_REJECTED);
    let output = under_contract(dir.path(), &contract, &["ingest", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let runs = under_contract(dir.path(), &contract, &["runs", "--format", "csv"]);
    let runs = text(&runs.stdout);
    assert!(runs.contains(",fruits,done,4,1,3,"), "{runs}");
    let invalid = std::fs::read_dir(dir.path().join("csvgate-data/invalid/fruits")).unwrap();
    let invalid =
        std::fs::read_to_string(invalid.map(|e| e.unwrap().path()).next().unwrap()).unwrap();
    for reason in [
        "fruit: missing",
        "picked_at: not an ISO-8601 timestamp",
        "id: repeats the id of an earlier row in this file",
    ] {
        assert!(invalid.contains(reason), "{reason} not in {invalid}");
    }
    let shown = under_contract(
        dir.path(),
        &contract,
        &["contract", "show", "--format", "csv"],
    );
    let shown = text(&shown.stdout);
    assert!(
        shown.starts_with("table_name,column_name,type,primary_key,references,rule\n"),
        "{shown}"
    );
    assert!(
        shown.contains("fruits,picked_at,timestamp,false,,\"required;"),
        "{shown}"
    );

    // The built-in contract has no such table.
    let output = csvgate(dir.path(), &["ingest", file.to_str().unwrap()]);
    assert_fails_saying(&output, 1, "cannot tell which table");
}

/// A contract in S3 (where a function reads it): enforced, shown, and named with its version
/// in each run's ledger entry; one that is not there stops the command naming its URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_reads_its_contract_from_s3() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = common::s3::bucket();
    let contracts = common::s3::location(&bucket, "contracts/");
    common::s3::put(&contracts, "fruits.odcs.yaml", FRUITS.as_bytes().to_vec()).await;
    let file = write(dir.path(), "fruits.csv", THREE_OF_FOUR_REJECTED);
    let url = format!("s3://{bucket}/contracts/fruits.odcs.yaml");
    let run = |args: &[&str]| {
        let mut command =
            common::s3::csvgate(dir.path(), &[&["--contract", &url][..], args].concat());
        command.output().unwrap()
    };
    let output = run(&["ingest", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let runs = text(&run(&["runs", "--format", "csv"]).stdout);
    assert!(runs.contains(",fruits,done,4,1,3,"), "{runs}");
    assert!(
        runs.contains(",fruits,1.0.0,"),
        "the run names its contract: {runs}"
    );
    let shown = text(&run(&["contract", "show", "--format", "csv"]).stdout);
    assert!(shown.contains("fruits,picked_at,timestamp,"), "{shown}");

    let missing = format!("s3://{bucket}/contracts/absent.odcs.yaml");
    let mut command =
        common::s3::csvgate(dir.path(), &["--contract", &missing, "contract", "show"]);
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let said = text(&output.stderr);
    assert!(
        said.contains(&missing) && said.contains("cannot read it"),
        "{said}"
    );
}

/// A table's own file format: the contract's `csvgateDelimiter` and `csvgateHeader` over the
/// deployment's `[ingest]` settings for that table's files, and `[tables.<name>]` over both.
#[test]
fn a_table_reads_its_files_as_its_contract_or_the_configuration_says() {
    let dir = tempfile::tempdir().unwrap();
    let knobs = "    customProperties:\n      - property: csvgateDelimiter\n        value: ';'\n      \
                 - property: csvgateHeader\n        value: 'yes'\n";
    let contract = FRUITS.replace(
        "    physicalType: table\n",
        &format!("    physicalType: table\n{knobs}"),
    );
    let contract = write(dir.path(), "fruits.yaml", &contract);
    let ingest = |file: &Path| {
        let args = [
            "ingest",
            "--delimiter",
            ",",
            "--header",
            "no",
            file.to_str().unwrap(),
        ];
        let output = under_contract(dir.path(), &contract, &args);
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    let runs = || text(&under_contract(dir.path(), &contract, &["runs", "--format", "csv"]).stdout);
    let semicolons = "id;fruit;picked_at\n1;apple;2024-05-01T10:00:00Z\n\
                      2;pear;2024-05-01T11:00:00Z\n4;;2024-05-01T12:00:00Z\n";
    ingest(&write(dir.path(), "fruits.csv", semicolons));
    assert!(runs().contains(",fruits,done,3,2,1,"), "{}", runs());
    // Its invalid rows are written in its format, so the fixed file loads as it is.
    let rejected = first_invalid_file(dir.path());
    assert!(
        rejected.starts_with("id;fruit;picked_at;line;reason\n4;;"),
        "{rejected}"
    );
    let fixed = rejected.replace("4;;", "4;fig;");
    ingest(&write(dir.path(), "fruits_fixed.csv", &fixed));
    assert!(runs().contains(",fruits,done,1,1,0,"), "{}", runs());

    configure_table(dir.path(), "fruits", "delimiter = \"|\"");
    ingest(&write(
        dir.path(),
        "fruits_2.csv",
        "id|fruit|picked_at\n3|plum|2024-05-02T10:00:00Z\n",
    ));
    let loaded_one = runs().matches(",fruits,done,1,1,0,").count();
    assert_eq!(loaded_one, 2, "{}", runs());
    let shown = under_contract(dir.path(), &contract, &["contract", "show"]);
    let shown = text(&shown.stdout);
    let said = "fruits: files read with delimiter '|', header yes (from csvgate.toml [tables.fruits], over the contract)";
    assert!(shown.contains(said), "{shown}");
}

/// Spellings of a missing value: the contract's `csvgateNullValues` makes `NA` and `-` as
/// missing as an empty field (a required column rejects them, an optional one stores NULL),
/// matched after trimming and case included; the invalid file keeps the texts as they were;
/// `[tables.<name>] null_values` replaces the contract's list.
#[test]
fn a_table_s_own_spellings_of_a_missing_value_mean_no_value() {
    let dir = tempfile::tempdir().unwrap();
    let contract = write(dir.path(), "fruits.yaml", &with_null_values(&["NA", "-"]));
    let run = |args: &[&str]| {
        let output = under_contract(dir.path(), &contract, args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let rows = "1,apple,2024-05-01T10:00:00Z,NA\n2,NA,2024-05-01T10:00:00Z,Spain\n\
                3, - ,2024-05-01T10:00:00Z,-\n4,na,2024-05-01T10:00:00Z,na\n5,pear,NA,Italy\n";
    let ingest = |name: &str, rows: &str| {
        run(&["ingest", write(dir.path(), name, rows).to_str().unwrap()]);
        run(&["runs", "--format", "csv"])
    };
    let runs = ingest("fruits.csv", rows);
    assert!(runs.contains(",fruits,done,5,2,3,"), "{runs}");
    let query = "SELECT id, coalesce(origin, 'NULL') AS origin FROM fruits ORDER BY id";
    let stored = run(&["sql", query, "--format", "csv"]);
    assert_eq!(stored, "id,origin\n1,NULL\n4,na\n");
    let rejected = first_invalid_file(dir.path());
    for kept_as_it_was in [
        "2,NA,2024-05-01T10:00:00Z,Spain,2,fruit: missing",
        "3, - ,2024-05-01T10:00:00Z,-,3,fruit: missing",
        "5,pear,NA,Italy,5,picked_at: missing",
    ] {
        assert!(rejected.contains(kept_as_it_was), "{rejected}");
    }

    configure_table(dir.path(), "fruits", "null_values = [\"n/a\"]");
    let later = "6,fig,2024-05-02T10:00:00Z,NA\n7,n/a,2024-05-02T10:00:00Z,n/a\n";
    let runs = ingest("fruits_2.csv", later);
    assert!(runs.contains(",fruits,done,2,1,1,"), "{runs}");
    let query = "SELECT origin FROM fruits WHERE id = 6";
    assert_eq!(run(&["sql", query, "--format", "csv"]), "origin\nNA\n");
    let shown = run(&["contract", "show"]);
    let said = "fruits: files read with missing values also spelled [\"n/a\"] (from csvgate.toml [tables.fruits], over the contract)";
    assert!(shown.contains(said), "{shown}");

    for (setting, problem) in [
        ("null_values = \"n/a\"", "takes a list of texts"),
        ("null_values = [\" n/a\"]", "has no blanks around it"),
    ] {
        configure_table(dir.path(), "fruits", setting);
        let refused = under_contract(dir.path(), &contract, &["contract", "show"]);
        let said = text(&refused.stderr);
        assert!(
            !refused.status.success() && said.contains(problem),
            "{said}"
        );
    }
}

/// File-name patterns: the contract's `csvgateFileNames` tells a folder's files that do not
/// start with the table's name; `[tables.<name>] file_names` replaces them, and a pattern
/// that could match no file is refused naming its place.
#[test]
fn a_table_s_files_are_told_by_its_file_name_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let knob = "    customProperties:\n      - property: csvgateFileNames\n        value: ['*_harvest.csv']\n";
    let contract = FRUITS.replace(
        "    physicalType: table\n",
        &format!("    physicalType: table\n{knob}"),
    );
    let contract = write(dir.path(), "fruits.yaml", &contract);
    let drop = dir.path().join("drop");
    std::fs::create_dir(&drop).unwrap();
    write(
        &drop,
        "2024-05-01_harvest.csv",
        "1,apple,2024-05-01T10:00:00Z\n",
    );
    write(
        &drop,
        "picked-2024-05-02.csv",
        "2,pear,2024-05-02T10:00:00Z\n",
    );
    let ingest = || under_contract(dir.path(), &contract, &["ingest", drop.to_str().unwrap()]);
    let output = ingest();
    let said = text(&output.stderr);
    assert!(
        said.contains("picked-2024-05-02.csv: cannot tell which table"),
        "{said}"
    );
    let runs = text(&under_contract(dir.path(), &contract, &["runs", "--format", "csv"]).stdout);
    assert!(
        runs.contains("2024-05-01_harvest.csv,") && runs.contains(",fruits,done,1,1,0,"),
        "{runs}"
    );

    std::fs::remove_file(drop.join("2024-05-01_harvest.csv")).unwrap();
    configure_table(dir.path(), "fruits", "file_names = [\"picked-*.csv\"]");
    let output = ingest();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let runs = text(&under_contract(dir.path(), &contract, &["runs", "--format", "csv"]).stdout);
    assert!(runs.contains("picked-2024-05-02.csv,"), "{runs}");

    configure_table(dir.path(), "fruits", "file_names = [\"drop/*.csv\"]");
    let output = under_contract(dir.path(), &contract, &["contract", "show"]);
    let said = text(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("[tables.fruits] file_names") && said.contains("\"drop/*.csv\""),
        "{said}"
    );
}

/// Writes `settings` (TOML lines) as the `[tables.<table>]` of the deployment in `dir`.
fn configure_table(dir: &Path, table: &str, settings: &str) {
    write(
        dir,
        "csvgate.toml",
        &format!("[tables.{table}]\n{settings}\n"),
    );
}

/// The text of the first invalid-rows file of `fruits` in the deployment of `dir`.
fn first_invalid_file(dir: &Path) -> String {
    let invalid = std::fs::read_dir(dir.join("csvgate-data/invalid/fruits")).unwrap();
    let invalid = invalid.map(|entry| entry.unwrap().path()).next().unwrap();
    std::fs::read_to_string(&invalid).unwrap()
}

/// [`FRUITS`] with an optional `origin` and `spellings` of a missing value.
fn with_null_values(spellings: &[&str]) -> String {
    let listed: Vec<String> = spellings.iter().map(|text| format!("'{text}'")).collect();
    let knob = format!(
        "    customProperties:\n      - property: csvgateNullValues\n        value: [{}]\n",
        listed.join(", ")
    );
    let origin = "      - name: origin\n        logicalType: string\n";
    format!("{FRUITS}{origin}").replace(
        "    physicalType: table\n",
        &format!("    physicalType: table\n{knob}"),
    )
}

/// `csvgate contract check F | head`: output into a pipe whose reader is gone ends the command
/// with success and no panic, as for every other command.
#[test]
fn a_check_printed_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = common::csvgate_in(dir.path())
        .args(["contract", "check", hr_contract().to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    let said = text(&output.stderr);
    assert!(output.status.success() && said.is_empty(), "{said}");
}

/// datacontract-cli (an independent reader of ODCS) finds every contract csvgate reads valid.
#[test]
fn datacontract_lint_accepts_every_contract_csvgate_reads() {
    let dir = tempfile::tempdir().unwrap();
    let fruits = write(dir.path(), "fruits.yaml", FRUITS);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let in_repo = ["contracts", "examples/contracts"].map(|folder| root.join(folder));
    let mut contracts: Vec<PathBuf> = (in_repo
        .iter()
        .flat_map(|folder| std::fs::read_dir(folder).unwrap()))
    .map(|entry| entry.unwrap().path())
    .filter(|path| path.to_string_lossy().ends_with(".odcs.yaml"))
    .collect();
    assert!(
        contracts.len() >= 2,
        "the HR and retail contracts: {contracts:?}"
    );
    contracts.push(fruits);
    contracts.push(write(dir.path(), "nulls.yaml", &with_null_values(&["NA"])));
    for contract in contracts {
        let output = std::process::Command::new(common::contracts_tool("datacontract"))
            .arg("lint")
            .arg(&contract)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(output.status.success(), "{}: {said}", contract.display());
        let checked = csvgate(
            dir.path(),
            &["contract", "check", contract.to_str().unwrap()],
        );
        assert!(checked.status.success(), "{}", text(&checked.stderr));
    }
}

/// A file past its table's reject budget loads nothing, its run fails with its counts, and
/// its rejected rows are still written; a file within it loads. On the warehouse.
#[test]
fn a_file_over_its_table_s_reject_budget_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    over_budget_loads_nothing(dir.path(), &[], &[]);
}

/// The same on MariaDB, whose schema `db init` derives from the contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_its_table_s_reject_budget_loads_nothing_into_mysql() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "{}/{}",
        common::mysql_server(),
        common::empty_mysql_database().await
    );
    over_budget_loads_nothing(dir.path(), &["--target", &url], &["--engine", "mysql"]);
}

fn over_budget_loads_nothing(dir: &Path, target: &[&str], engine: &[&str]) {
    let budgeted = with_budget("csvgateMaxRejectedRows", "2");
    let contract = write(dir, "fruits.yaml", &budgeted);
    let flags = [&["--contract", contract.to_str().unwrap()][..], target].concat();
    let run = |args: &[&str]| csvgate(dir, &[&flags[..], args].concat());
    if !target.is_empty() {
        let init = run(&["db", "init"]);
        assert!(init.status.success(), "{}", text(&init.stderr));
    }
    let mostly_wrong = write(dir, "fruits.csv", THREE_OF_FOUR_REJECTED);
    let over = "nothing loaded: 3 of 4 rows rejected, more than the table's budget of 2";
    assert_fails_saying(&run(&["ingest", mostly_wrong.to_str().unwrap()]), 1, over);
    let runs = text(&run(&["runs", "--format", "csv"]).stdout);
    assert!(runs.contains(",fruits,failed,4,1,3,"), "{runs}");
    let invalid = dir.join("csvgate-data/invalid/fruits");
    assert_eq!(std::fs::read_dir(invalid).unwrap().count(), 1);

    let within = write(
        dir,
        "fruits_2.csv",
        "4,fig,2024-05-03T10:00:00Z\n5,kiwi,2024-05-03T11:00:00Z\n6,,2024-05-03T12:00:00Z\n",
    );
    let output = run(&["ingest", within.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let count = [
        &["sql", "SELECT count(*) AS n FROM fruits"][..],
        engine,
        &["--format", "csv"],
    ]
    .concat();
    let counted = run(&count);
    assert_eq!(text(&counted.stdout), "n\n2\n", "{}", text(&counted.stderr));
}

/// A share of the rows as the budget: a file exactly at it loads, one past it does not.
#[test]
fn a_ratio_budget_admits_a_file_at_it_and_refuses_one_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let budgeted = with_budget("csvgateMaxRejectedRatio", "0.5");
    let contract = write(dir.path(), "fruits.yaml", &budgeted);
    let ingest = |name: &str, rows: &str| {
        let file = write(dir.path(), name, rows);
        let args = [
            "--contract",
            contract.to_str().unwrap(),
            "ingest",
            file.to_str().unwrap(),
        ];
        csvgate(dir.path(), &args)
    };
    let half = "1,apple,2024-05-01T10:00:00Z\n2,,2024-05-01T10:00:00Z\n3,pear,x\n4,fig,2024-05-01T10:00:00Z\n";
    let output = ingest("fruits.csv", half);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let past = "5,kiwi,2024-05-01T10:00:00Z\n6,,2024-05-01T10:00:00Z\n7,lime,x\n8,,x\n";
    let over = "nothing loaded: 3 of 4 rows rejected, more than the table's budget of 50%";
    assert_fails_saying(&ingest("fruits_2.csv", past), 1, over);
}

/// `[tables.<name>]` of `csvgate.toml` sets a table's budget over its contract's (the
/// deployment wins), `contract show` says which applied, and a table the contract lacks is
/// refused by name.
#[test]
fn the_configuration_s_budget_wins_over_the_contract_s() {
    let dir = tempfile::tempdir().unwrap();
    let contract = write(
        dir.path(),
        "fruits.yaml",
        &with_budget("csvgateMaxRejectedRows", "2"),
    );
    configure_table(dir.path(), "fruits", "max_rejected_rows = 3");
    let shown = under_contract(dir.path(), &contract, &["contract", "show"]);
    let shown = text(&shown.stdout);
    assert!(
        shown.contains("(from csvgate.toml [tables.fruits], over the contract)"),
        "{shown}"
    );
    let file = write(dir.path(), "fruits.csv", THREE_OF_FOUR_REJECTED);
    let output = under_contract(dir.path(), &contract, &["ingest", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "3 rejected, within 3: {}",
        text(&output.stderr)
    );

    configure_table(dir.path(), "fruit", "max_rejected_rows = 3");
    let output = under_contract(dir.path(), &contract, &["contract", "show"]);
    assert_fails_saying(
        &output,
        2,
        "[tables.fruit]: the contract has no table fruit (its tables: fruits)",
    );
}

/// Two tables whose names, and their columns', are SQL reserved words.
const RESERVED: &str = "
apiVersion: v3.1.0
kind: DataContract
id: reserved
version: 1.0.0
status: draft
schema:
  - name: group
    properties:
      - name: key
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions: {minimum: 1}
      - name: desc
        logicalType: string
        logicalTypeOptions: {maxLength: 20}
  - name: order
    properties:
      - name: select
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions: {minimum: 1}
      - name: group
        logicalType: integer
        required: true
        logicalTypeOptions: {minimum: 1}
        relationships: [{to: group.key}]
";

/// Names that are reserved words (`order`, `group`, `key`, `select`, `desc`) work on both
/// targets, since csvgate quotes every identifier it writes: the tables are created, loaded
/// with their foreign key checked, queried and judged by `csvgate check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_words_are_names_on_both_targets() {
    let url = format!(
        "{}/{}",
        common::mysql_server(),
        common::empty_mysql_database().await
    );
    for (target, engine, quote) in [
        (&[][..], &[][..], '"'),
        (
            &["--target", url.as_str()][..],
            &["--engine", "mysql"][..],
            '`',
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let contract = write(dir.path(), "reserved.yaml", RESERVED);
        let landing = dir.path().join("landing");
        std::fs::create_dir(&landing).unwrap();
        write(&landing, "group.csv", "1,first\n2,\n");
        write(&landing, "order.csv", "10,1\n11,2\n12,3\n");
        let flags = [&["--contract", contract.to_str().unwrap()][..], target].concat();
        let run = |args: &[&str]| csvgate(dir.path(), &[&flags[..], args].concat());
        if !target.is_empty() {
            let init = run(&["db", "init"]);
            assert!(init.status.success(), "{}", text(&init.stderr));
        }
        let loaded = run(&["ingest", landing.to_str().unwrap()]);
        assert!(loaded.status.success(), "{}", text(&loaded.stderr));
        let query =
            format!("SELECT COUNT(*) AS n FROM {quote}order{quote} WHERE {quote}group{quote} = 2");
        let counted = run(&[&["sql", query.as_str(), "--format", "csv"][..], engine].concat());
        assert_eq!(text(&counted.stdout), "n\n1\n", "{}", text(&counted.stderr));
        let checked = run(&["check"]);
        assert!(
            checked.status.success(),
            "{}{}",
            text(&checked.stdout),
            text(&checked.stderr)
        );
        let invalid = dir.path().join("csvgate-data/invalid/order");
        let rejected = std::fs::read_dir(invalid).unwrap().count();
        assert_eq!(rejected, 1, "order 12 points at no group");
    }
}
