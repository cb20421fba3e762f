//! Dataset-level rules (`type: sql`, `rowCount`): read with their operator and placeholders,
//! or refused by place.

use super::Contract;
use super::tests::assert_all_refused;
use super::tests::small_with;
use crate::dictionary::{DatasetCheck, Expectation};

#[test]
fn sql_rules_and_row_counts_are_read_from_tables_and_properties() {
    let contract = small_with(
        "  - name: b\n",
        "  - name: b\n    quality:\n      - {metric: rowCount, name: b is loaded, mustBeGreaterThan: 0}\n      - {type: sql, query: 'SELECT MAX(id) FROM {object};', mustBeBetween: [1, 9]}\n",
    );
    let contract = contract.replacen(
        "{maxLength: 255}",
        "{maxLength: 255}\n        quality: [{type: sql, name: few labels, query: 'SELECT COUNT({property}) FROM {object}', mustBeLessThan: 10}]",
        1,
    );
    let contract = Contract::parse(&contract, "c.yaml").unwrap();
    let b = contract.dictionary.table("b").unwrap();
    assert_eq!(
        b.dataset_checks,
        [
            DatasetCheck {
                name: "b is loaded".into(),
                query: "SELECT COUNT(*) FROM {object}".into(),
                property: None,
                expect: Expectation::GreaterThan(0.0),
            },
            DatasetCheck {
                // A rule without a name is called by its place.
                name: "schema[1].quality[1]".into(),
                query: "SELECT MAX(id) FROM {object}".into(),
                property: None,
                expect: Expectation::Between(1.0, 9.0),
            },
        ]
    );
    let a = contract.dictionary.table("a").unwrap();
    assert_eq!(
        a.dataset_checks,
        [DatasetCheck {
            name: "few labels".into(),
            query: "SELECT COUNT({property}) FROM {object}".into(),
            property: Some("label".into()),
            expect: Expectation::LessThan(10.0),
        }]
    );
    assert!(a.checks.is_empty(), "a dataset rule judges no row");
}

#[test]
fn dataset_rules_csvgate_cannot_run_are_refused_by_place() {
    let cases = [
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: 'DELETE FROM {object}', mustBe: 0}]\n",
            ),
            "schema[1].quality[0].query",
            "one query (a SELECT of one value)",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: 'SELECT COUNT(* FROM {object}', mustBe: 0}]\n",
            ),
            "schema[1].quality[0].query",
            "not SQL csvgate can read",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: 'SELECT COUNT(*) FROM {object}', mustBe: 1, mustBeLessThan: 3}]\n",
            ),
            "schema[1].quality[0]",
            "give exactly one of",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: 'SELECT COUNT(*) FROM {object} WHERE {property} > 1', mustBe: 0}]\n",
            ),
            "schema[1].quality[0].query",
            "on a table, name the column",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{type: sql, query: 'SELECT COUNT(*) FROM {table}', mustBe: 0}]\n",
            ),
            "schema[1].quality[0].query",
            "{table}: csvgate fills in {object}",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{metric: rowCount, mustBeBetween: [5, 1]}]\n",
            ),
            "schema[1].quality[0].mustBeBetween",
            "low no more than high",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{metric: rowCount, mustBeLessThan: 5, unit: percent}]\n",
            ),
            "schema[1].quality[0].unit",
            "`unit: rows` or none",
        ),
        (
            small_with(
                "  - name: b\n",
                "  - name: b\n    quality: [{metric: nullValues, mustBe: 0}]\n",
            ),
            "schema[1].quality[0]",
            "`type: sql` and the rowCount metric",
        ),
    ];
    assert_all_refused(cases);
}
