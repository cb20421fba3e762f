use super::*;
use crate::dictionary::{Column, ColumnKind, RejectBudget};

/// Two tables, `b` referencing `a`.
const SMALL: &str = "
apiVersion: v3.1.0
kind: DataContract
id: small
version: 2.0.0
status: draft
schema:
  - name: a
    properties:
      - name: id
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions: {exclusiveMinimum: 0}
      - name: label
        logicalType: string
        required: true
        logicalTypeOptions: {maxLength: 255}
  - name: b
    properties:
      - name: id
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions: {minimum: 1}
      - name: a_id
        logicalType: integer
        required: true
        logicalTypeOptions: {exclusiveMinimum: 0}
        relationships: [{to: a.id}]
      - name: at
        logicalType: timestamp
        required: true
";

/// `SMALL` with `from` replaced by `to` (which must be there).
fn small_with(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "{from:?} not in the test contract");
    SMALL.replacen(from, to, 1)
}

#[test]
fn the_built_in_contract_declares_the_hr_tables() {
    let hr = Contract::hr();
    assert_eq!(
        (hr.id.as_str(), hr.version.as_str()),
        ("csvgate-hr", "1.0.0")
    );
    let declared: Vec<(&str, Vec<Column>)> = (hr.dictionary.tables().iter())
        .map(|table| (table.name.as_str(), table.columns.clone()))
        .collect();
    let text = |name| Column::text(name, 255);
    assert_eq!(
        declared,
        [
            ("departments", vec![Column::id("id"), text("department")]),
            ("jobs", vec![Column::id("id"), text("job")]),
            (
                "hired_employees",
                vec![
                    Column::id("id"),
                    text("name"),
                    Column::new("datetime", ColumnKind::Timestamp),
                    Column::reference("department_id", "departments"),
                    Column::reference("job_id", "jobs"),
                ]
            ),
        ]
    );
}

#[test]
fn a_small_contract_is_read() {
    let contract = Contract::parse(SMALL, "small.yaml").unwrap();
    assert_eq!(contract.dictionary.names(), ["a", "b"]);
    let b = contract.dictionary.table("b").unwrap();
    assert_eq!(
        b.references()
            .map(|(c, t)| (c.name.as_str(), t))
            .collect::<Vec<_>>(),
        [("a_id", "a")]
    );
    // What only documents the data is accepted.
    let described = small_with(
        "status: draft\n",
        "status: draft\ndescription: {purpose: tests}\ntags: [x]\nservers: [{server: local, type: local}]\ncustomProperties: [{property: owner, value: me}]\n",
    );
    Contract::parse(&described, "described.yaml").unwrap();
    // ODCS's default position, -1, on a column outside the key.
    let default_position = small_with(
        "      - name: label\n",
        "      - name: label\n        primaryKeyPosition: -1\n",
    );
    Contract::parse(&default_position, "position.yaml").unwrap();
}

/// Each contract csvgate cannot enforce, refused with the place to look at.
#[test]
fn what_cannot_be_enforced_is_refused_by_place() {
    let cases = [
        (
            small_with("logicalType: string", "logicalType: text"),
            "schema[0].properties[1].logicalType",
            "unknown logicalType \"text\"",
        ),
        (
            small_with("{to: a.id}", "{to: c.id}"),
            "schema[1].properties[1].relationships[0].to",
            "no table \"c\"",
        ),
        (
            small_with("{to: a.id}", "{to: a.label}"),
            "schema[1].properties[1].relationships[0].to",
            "not the key of a",
        ),
        (
            small_with(
                "      - name: label\n",
                "      - name: label\n        unique: true\n",
            ),
            "schema[0].properties[1].unique",
            "not the primary key",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: x}]\n",
            ),
            "schema[1].quality",
            "does not enforce yet",
        ),
        (
            small_with("name: label", "name: reason"),
            "schema[0].properties[1].name",
            "a column csvgate adds",
        ),
        (
            small_with("name: label", "name: \"a,b\""),
            "schema[0].properties[1].name",
            "letters, digits and _",
        ),
        (
            small_with("- name: a\n", "- name: \"my table\"\n"),
            "schema[0].name",
            "letters, digits and _",
        ),
        (
            small_with("- name: b\n", "- name: a\n"),
            "schema[1].name",
            "declared twice",
        ),
        (
            small_with("name: label", "name: id"),
            "schema[0].properties[1].name",
            "declared twice",
        ),
        (
            format!(
                "{SMALL}  - name: c\n    properties:\n      - name: note\n        logicalType: string\n        required: true\n        logicalTypeOptions: {{maxLength: 255}}\n"
            ),
            "schema[2]",
            "no primary key",
        ),
        (
            small_with("apiVersion: v3.1.0", "apiVersion: v2.2.2"),
            "apiVersion",
            "csvgate reads ODCS",
        ),
        (
            small_with(
                "status: draft\n",
                "status: draft\ncustomProperties: [{property: csvgateDelimiter, value: ';'}]\n",
            ),
            "customProperties[0].property",
            "csvgate reads none here",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateMaxRejectedRatio, value: 1.5}]\n",
            ),
            "schema[1].customProperties[0].value",
            "from 0 to 1",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateMaxRejects, value: 1}]\n",
            ),
            "schema[1].customProperties[0].property",
            "csvgate reads csvgateMaxRejectedRows, csvgateMaxRejectedRatio",
        ),
        (
            small_with("apiVersion: v3.1.0", "apiVersion: v3.0.2"),
            "apiVersion",
            "csvgate reads ODCS v3.1.0",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties:\n      - {property: csvgateMaxRejectedRows, value: 1}\n      - {property: csvgateMaxRejectedRows, value: 2}\n",
            ),
            "schema[1].customProperties[1].value",
            "given twice",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateMaxRejectedRows, value: -1}]\n",
            ),
            "schema[1].customProperties[0].value",
            "expected a count",
        ),
        (
            small_with(
                "{to: a.id}",
                "{to: a.id, customProperties: [{property: csvgateMaxRejectedRows, value: 1}]}",
            ),
            "schema[1].properties[1].relationships[0].customProperties[0].property",
            "csvgate reads none here",
        ),
        (
            small_with("{to: a.id}", "{to: [a.id]}"),
            "schema[1].properties[1].relationships[0].to",
            "expected text",
        ),
        (
            small_with("{to: a.id}", "{from: b.a_id, to: a.id}"),
            "schema[1].properties[1].relationships[0].from",
            "does not enforce yet",
        ),
        (
            small_with(
                "        logicalType: timestamp\n",
                "        logicalType: timestamp\n        logicalTypeOptions: {timezone: true}\n",
            ),
            "schema[1].properties[2].logicalTypeOptions.timezone",
            "for this logicalType csvgate enforces no option",
        ),
        (
            small_with("{exclusiveMinimum: 0}", "{exclusiveMinimum: 0, minimum: 1}"),
            "schema[0].properties[0].logicalTypeOptions.exclusiveMinimum",
            "bound the same end",
        ),
        (
            small_with(
                "        primaryKey: true\n",
                "        primaryKey: true\n        primaryKeyPosition: 2\n",
            ),
            "schema[0].properties[0].primaryKeyPosition",
            "composite primary key",
        ),
        (
            small_with(
                "      - name: label\n",
                "      - name: label\n        physicalType: VARCHAR(255)\n",
            ),
            "schema[0].properties[1].physicalType",
            "read on a number only",
        ),
        (
            small_with("  - name: b\n", "  - name: b\n    physicalName: b_table\n"),
            "schema[1].physicalName",
            "physicalName: b",
        ),
        (
            small_with("name: label", "name: typed_id"),
            "schema[0].properties[1].name",
            "a column csvgate adds",
        ),
        (
            small_with("name: label", "name: ID"),
            "schema[0].properties[1].name",
            "declared twice",
        ),
        (
            small_with("kind: DataContract", "kind: DataProduct"),
            "kind",
            "expected DataContract",
        ),
        (
            small_with("status: draft\n", "status: draft\nquality: []\n"),
            "quality",
            "not a field csvgate knows",
        ),
        (
            small_with("logicalType: string", "logicalType: time"),
            "schema[0].properties[1].logicalType",
            "Delta Lake has no time type",
        ),
        (
            small_with("{maxLength: 255}", "{pattern: '^\\d+$'}"),
            "schema[0].properties[1].logicalTypeOptions.pattern",
            "\\d matches more than ASCII",
        ),
        (
            small_with("{maxLength: 255}", "{pattern: '^(?=a)'}"),
            "schema[0].properties[1].logicalTypeOptions.pattern",
            "lookaround and back-references are not supported",
        ),
        (
            small_with("{maxLength: 255}", "{minimum: 1}"),
            "schema[0].properties[1].logicalTypeOptions.minimum",
            "csvgate enforces minLength, maxLength, pattern",
        ),
        (
            small_with(
                "        logicalType: timestamp\n",
                "        logicalType: number\n        physicalType: DECIMAL(40,2)\n",
            ),
            "schema[1].properties[2].physicalType",
            "1 ≤ p ≤ 38",
        ),
        (
            small_with(
                "        logicalType: timestamp\n",
                "        logicalType: date\n        logicalTypeOptions: {format: dd/MM/yyyy}\n",
            ),
            "schema[1].properties[2].logicalTypeOptions.format",
            "yyyy-MM-dd only",
        ),
        (
            small_with(
                "        required: true\n        primaryKey: true\n        logicalTypeOptions: {exclusiveMinimum: 0}",
                "        primaryKey: true\n        logicalTypeOptions: {exclusiveMinimum: 0}",
            ),
            "schema[0].properties[0]",
            "a primary key cannot be empty",
        ),
        (
            small_with(
                "        logicalType: integer\n        required: true\n        primaryKey: true\n        logicalTypeOptions: {exclusiveMinimum: 0}",
                "        logicalType: string\n        required: true\n        primaryKey: true",
            ),
            "schema[0].properties[0]",
            "a primary key that is not an integer",
        ),
        (
            small_with("logicalType: string", "logicalType: array"),
            "schema[0].properties[1].logicalType",
            "flat CSV rows",
        ),
    ];
    for (text, place, reason) in cases {
        let error = Contract::parse(&text, "c.yaml").unwrap_err().to_string();
        let expected = format!("c.yaml: {place}: ");
        assert!(
            error.starts_with(&expected),
            "{error:?} does not start with {expected:?}"
        );
        assert!(error.contains(reason), "{error:?} does not say {reason:?}");
    }
}

#[test]
fn a_cycle_of_relationships_is_refused() {
    let cycle = small_with(
        "        logicalTypeOptions: {maxLength: 255}\n",
        "        logicalTypeOptions: {maxLength: 255}\n      - name: b_id\n        logicalType: integer\n        required: true\n        logicalTypeOptions: {exclusiveMinimum: 0}\n        relationships: [{to: b.id}]\n",
    );
    let error = Contract::parse(&cycle, "c.yaml").unwrap_err().to_string();
    assert!(
        error.contains("a, b reference each other in a circle"),
        "{error}"
    );
}

#[test]
fn yaml_errors_name_the_line() {
    let broken = small_with("  - name: b\n", "  - name: b\n   properties: [\n");
    let error = Contract::parse(&broken, "c.yaml").unwrap_err().to_string();
    assert!(error.starts_with("c.yaml: not valid YAML: "), "{error}");
    assert!(error.contains("line "), "{error}");
}

#[test]
fn a_table_s_reject_budget_is_read_from_its_custom_properties() {
    let budgeted = small_with(
        "  - name: b\n",
        "  - name: b\n    customProperties:\n      - {property: csvgateMaxRejectedRows, value: 10}\n      - {property: csvgateMaxRejectedRatio, value: 0.05}\n      - {property: steward, value: hr-team}\n",
    );
    let contract = Contract::parse(&budgeted, "c.yaml").unwrap();
    let budget = |table| contract.dictionary.table(table).unwrap().budget;
    let expected = RejectBudget {
        max_rows: Some(10),
        max_ppm: Some(50_000),
    };
    assert_eq!(budget("b"), expected);
    assert_eq!(budget("a"), RejectBudget::default());
}
