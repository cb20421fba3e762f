//! Contracts csvgate refuses, one case each: the place named and the reason given.

use super::tests::{SMALL, assert_all_refused, small_with};

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
            "a composite key) is not enforced yet",
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
            "needs `maxLength` of at most 255",
        ),
        (
            small_with("{exclusiveMinimum: 0}", "{minimum: -5}"),
            "schema[0].properties[0]",
            "a lower bound of 0 or more",
        ),
        (
            small_with(
                "        logicalType: integer\n        required: true\n        logicalTypeOptions: {exclusiveMinimum: 0}\n        relationships",
                "        logicalType: string\n        required: true\n        logicalTypeOptions: {maxLength: 9}\n        relationships",
            ),
            "schema[1].properties[1].relationships[0].to",
            "\"a.id\" holds integer keys and this column is a string",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{metric: invalidValues, arguments: {validValues: [a]}, mustBe: 1}]",
            ),
            "schema[0].properties[1].quality[0]",
            "only `mustBe: 0`",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{metric: rowCount, mustBe: 0}]",
            ),
            "schema[0].properties[1].quality[0].metric",
            "not enforced as a row rule",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{metric: duplicateValues, mustBe: 0}]",
            ),
            "schema[0].properties[1].quality[0]",
            "on the primary key only",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: sql, query: 'SELECT 1'}]",
            ),
            "schema[0].properties[1].quality[0]",
            "give exactly one of",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: soda, name: x, implementation: 'label <> 1'}]",
            ),
            "schema[0].properties[1].quality[0].engine",
            "engine: datafusion",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'label >'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "not a SQL condition",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'true; DROP TABLE a'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "not a SQL condition",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{metric: invalidValues, arguments: {validValues: []}, mustBe: 0}]",
            ),
            "schema[0].properties[1].quality[0].arguments.validValues",
            "admits no value",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'Label <> id AND nope > 1'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "\"nope\" is not a column of this table",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'id IN (SELECT id FROM b)'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "no subquery",
        ),
        (
            small_with("{maxLength: 255}", "{pattern: '(?i)^a'}"),
            "schema[0].properties[1].logicalTypeOptions.pattern",
            "sets flags inside the pattern",
        ),
        (
            small_with("{maxLength: 255}", "{pattern: '^\\p{L}+$'}"),
            "schema[0].properties[1].logicalTypeOptions.pattern",
            "means something else in ECMA-262",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255, pattern: '^[A-Z]'}\n        quality: [{metric: invalidValues, arguments: {validValues: [a]}, mustBe: 0, severity: warning}]",
            ),
            "schema[0].properties[1].quality[0].severity",
            "`severity: error`",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{metric: invalidValues, arguments: {validValues: [' a']}, mustBe: 0}]",
            ),
            "schema[0].properties[1].quality[0].arguments.validValues[0]",
            "no field can equal this value",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'sum(id) > 1'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "sum judges many rows",
        ),
        (
            small_with(
                "{maxLength: 255}",
                "{maxLength: 255}\n        quality: [{type: custom, engine: datafusion, name: x, implementation: 'is_key_of_a(id)'}]",
            ),
            "schema[0].properties[1].quality[0].implementation",
            "is_key_of_a is not a function of DataFusion's SQL",
        ),
        (
            small_with("logicalType: string", "logicalType: array"),
            "schema[0].properties[1].logicalType",
            "flat CSV rows",
        ),
    ];
    assert_all_refused(cases);
}
