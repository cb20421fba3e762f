use super::*;
use crate::dictionary::{Column, ColumnKind, RejectBudget};

/// Two tables, `b` referencing `a`.
pub(super) const SMALL: &str = "
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
pub(super) fn small_with(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "{from:?} not in the test contract");
    SMALL.replacen(from, to, 1)
}

#[test]
fn the_built_in_contract_declares_the_hr_tables() {
    let hr = Contract::hr();
    let stamp = hr.dictionary.stamp();
    assert_eq!(
        (stamp.id.as_str(), stamp.version.as_str()),
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

#[test]
fn a_custom_rule_must_be_a_condition_over_the_typed_row() {
    let rule = |implementation: &str| {
        small_with(
            "{maxLength: 255}",
            &format!(
                "{{maxLength: 255}}\n        quality: [{{type: custom, engine: datafusion, name: x, implementation: '{implementation}'}}]"
            ),
        )
    };
    let error = Contract::parse(&rule("id + 1"), "c.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("c.yaml: schema[0].properties[1].quality[0].implementation: ")
            && error.contains("this gives a value of type Int64"),
        "{error}"
    );
    let error = Contract::parse(&rule("label > 1 AND id"), "c.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("DataFusion cannot plan it over the row"),
        "{error}"
    );
    let holds = Contract::parse(&rule("length(label) > id"), "c.yaml").unwrap();
    let a = holds.dictionary.table("a").unwrap();
    assert_eq!(a.column("label").checks[0].holds, "length(label) > id");
}

/// csvgate's own custom properties (`csvgate…`): read where a table may hold them, with
/// their values checked; any other of that prefix refused by name.
#[test]
fn csvgate_s_custom_properties_are_checked() {
    let cases = [
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
                "  - name: b\n    customProperties: [{property: csvgateDelimiter, value: ';;'}]\n",
            ),
            "schema[1].customProperties[0].value",
            "a delimiter is one ASCII character",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateHeader, value: maybe}]\n",
            ),
            "schema[1].customProperties[0].value",
            "expected auto, yes or no",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateMaxRejects, value: 1}]\n",
            ),
            "schema[1].customProperties[0].property",
            "csvgate reads csvgateMaxRejectedRows, csvgateMaxRejectedRatio, csvgateDelimiter, csvgateHeader, csvgateNullValues, csvgateFileNames",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateFileNames, value: ['*_b.csv', 'exports/*.csv']}]\n",
            ),
            "schema[1].customProperties[0].value[1]",
            "'/' is not part of a file-name pattern",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateNullValues, value: [NA, ' n/a']}]\n",
            ),
            "schema[1].customProperties[0].value[1]",
            "\" n/a\": a missing value's spelling is not empty and has no blanks around it",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    customProperties: [{property: csvgateNullValues, value: NA}]\n",
            ),
            "schema[1].customProperties[0].value",
            "expected a list",
        ),
    ];
    assert_all_refused(cases);
}

/// Each `(contract, place, reason)` is refused at that place, for that reason.
pub(super) fn assert_all_refused<const N: usize>(cases: [(String, &str, &str); N]) {
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

/// `SMALL` with `b`'s relationship written on the table instead, as `relationships`.
fn small_with_table_relationship(relationship: &str) -> String {
    let table_level = format!("  - name: b\n    relationships: [{relationship}]\n");
    small_with("        relationships: [{to: a.id}]\n", "").replacen(
        "  - name: b\n",
        &table_level,
        1,
    )
}

/// A relationship written on the table (`from: b.a_id`) is the same foreign key as one on the
/// property; what csvgate cannot keep of it is refused by place.
#[test]
fn a_relationship_on_the_table_is_the_property_s_foreign_key() {
    let on_property = Contract::parse(SMALL, "small.yaml").unwrap();
    let text = small_with_table_relationship("{type: foreignKey, from: b.a_id, to: a.id}");
    let on_table = Contract::parse(&text, "small.yaml").unwrap();
    let columns = |contract: &Contract| contract.dictionary.table("b").unwrap().columns.clone();
    assert_eq!(columns(&on_table), columns(&on_property));
    assert_eq!(
        columns(&on_table)[1].referenced_table(),
        Some("a"),
        "b.a_id points at a"
    );
    let both = SMALL.replacen(
        "  - name: b\n",
        "  - name: b\n    relationships: [{from: b.a_id, to: a.id}]\n",
        1,
    );
    assert_all_refused([
        (
            small_with_table_relationship("{from: a.id, to: a.id}"),
            "schema[1].relationships[0].from",
            "csvgate reads `from: b.<column>`, a column of this table",
        ),
        (
            small_with_table_relationship("{from: b.nope, to: a.id}"),
            "schema[1].relationships[0].from",
            "a column of this table",
        ),
        (
            small_with_table_relationship("{from: [b.a_id, b.id], to: [a.id, a.label]}"),
            "schema[1].relationships[0].from",
            "a composite key) is not enforced yet",
        ),
        (
            small_with_table_relationship("{from: b.a_id, to: a.id}, {from: b.a_id, to: a.id}"),
            "schema[1].relationships[1].from",
            "a_id has a relationship already",
        ),
        (
            small_with_table_relationship("{from: b.a_id, to: c.id}"),
            "schema[1].relationships[0].to",
            "no table \"c\"",
        ),
        (
            both,
            "schema[1].properties[1].relationships[0]",
            "a relationship on its table too",
        ),
    ]);
}
