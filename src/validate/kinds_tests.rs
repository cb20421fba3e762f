//! Each kind of column a contract may declare, and its quality rules, through the whole split:
//! which fields pass, what a rejected one is told, and the typed value a valid one is loaded as.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Decimal128Type, Float64Type};

use super::{Dialect, HeaderMode, ReferenceIds, split};
use crate::contract::Contract;

const KINDS: &str = "
apiVersion: v3.1.0
kind: DataContract
id: kinds
version: 1.0.0
status: draft
schema:
  - name: items
    quality:
      - type: custom
        engine: datafusion
        name: an active item has a code
        implementation: NOT active OR code IS NOT NULL
    properties:
      - name: sku
        logicalType: integer
        required: true
        primaryKey: true
        logicalTypeOptions: {minimum: 1, maximum: 1000}
        quality: [{metric: duplicateValues, mustBe: 0}]
      - name: price
        logicalType: number
        physicalType: DECIMAL(6,2)
        required: true
        logicalTypeOptions: {exclusiveMinimum: 0}
      - name: weight
        logicalType: number
        logicalTypeOptions: {maximum: 50.5}
        quality:
          - type: custom
            engine: datafusion
            name: heavier than ten times its price
            implementation: weight <= price * 10
      - name: code
        logicalType: string
        logicalTypeOptions: {minLength: 3, maxLength: 5, pattern: '^[A-Z]+$'}
        quality:
          - {metric: invalidValues, arguments: {validValues: [ABC, ABCD, XYZ]}, mustBe: 0}
      - name: since
        logicalType: date
      - name: active
        logicalType: boolean
";

/// Rows and the reason each is rejected with (`None`: valid).
const ROWS: [(&str, Option<&str>); 22] = [
    ("1,9.99,1.5,ABC,2021-02-28,true", None),
    ("2,10,,,,", None),
    (
        "3,1.234,,,,",
        Some("price: more than 2 digits after the point"),
    ),
    (
        "4,12345.6,,,,",
        Some("price: more than 4 digits before the point"),
    ),
    ("5,0,,,,", Some("price: must be greater than 0")),
    ("6,abc,,,,", Some("price: not a decimal number")),
    ("7,1,51,,,", Some("weight: must be at most 50.5")),
    ("8,1,NaN,,,", Some("weight: not a number")),
    ("9,1,,AB,,", Some("code: shorter than 3 characters")),
    ("10,1,,ABCDEF,,", Some("code: longer than 5 characters")),
    ("11,1,,abc,,", Some("code: does not match ^[A-Z]+$")),
    ("12,1,,,2021-02-30,", Some("since: not a date (yyyy-MM-dd)")),
    ("13,1,,,,maybe", Some("active: not true or false")),
    ("1001,1,,,,", Some("sku: must be at most 1000")),
    ("0,1,,,,", Some("sku: must be at least 1")),
    ("16,0007.50,-2.5e1,,2020-12-31,FALSE", None),
    ("17,,,,,", Some("price: missing")),
    ("18,1,,XYZW,,", Some("code: not one of ABC, ABCD, XYZ")),
    (
        "19,1,20,,,",
        Some("weight: heavier than ten times its price"),
    ),
    ("20,1,1e999,,,", Some("weight: not a number")),
    ("21,1,,,0999-12-31,", Some("since: not a date (yyyy-MM-dd)")),
    ("22,1,,,,true", Some("row: an active item has a code")),
];

async fn split_rows() -> (Vec<RecordBatch>, BTreeMap<u64, String>) {
    let text: String = ROWS.iter().map(|(row, _)| format!("{row}\n")).collect();
    split_text(KINDS, "items", text).await
}

/// The valid batches and each rejected line's reason of `text`, as rows of `table` of
/// `contract`, headerless and comma-separated.
async fn split_text(
    contract: &str,
    table: &str,
    text: String,
) -> (Vec<RecordBatch>, BTreeMap<u64, String>) {
    let contract = Contract::parse(contract, "kinds.yaml").unwrap();
    let table = contract.dictionary.find(table).unwrap().clone();
    let dialect = Dialect {
        delimiter: Some(b','),
        header: HeaderMode::No,
        ..Dialect::default()
    };
    let input = std::io::Cursor::new(text.into_bytes());
    let mut stream = split("kinds.csv", input, &table, &dialect, &ReferenceIds::new())
        .await
        .unwrap();
    let (mut valid, mut reasons) = (Vec::new(), BTreeMap::new());
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        let invalid = &batch.invalid;
        let lines = invalid
            .column_by_name("line")
            .unwrap()
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        let why = invalid.column_by_name("reason").unwrap().as_string::<i32>();
        for row in 0..invalid.num_rows() {
            reasons.insert(lines.value(row), why.value(row).to_owned());
        }
        valid.push(batch.valid);
    }
    stream.finish().await.unwrap();
    (valid, reasons)
}

#[tokio::test]
async fn each_kind_rejects_what_breaks_its_rule_and_nothing_else() {
    let (_, reasons) = split_rows().await;
    let expected: BTreeMap<u64, String> = (ROWS.iter().enumerate())
        .filter_map(|(index, (_, reason))| Some((index as u64 + 1, (*reason)?.to_owned())))
        .collect();
    assert_eq!(reasons, expected);
}

#[tokio::test]
async fn valid_fields_load_as_their_type_and_empty_optional_ones_as_null() {
    let (valid, _) = split_rows().await;
    let valid = datafusion::arrow::compute::concat_batches(&valid[0].schema(), &valid).unwrap();
    assert_eq!(valid.num_rows(), 3);
    let price = valid.column(1).as_primitive::<Decimal128Type>();
    let prices: Vec<String> = (0..3).map(|row| price.value_as_string(row)).collect();
    assert_eq!(prices, ["9.99", "10.00", "7.50"]);
    let weight = valid.column(2).as_primitive::<Float64Type>();
    assert_eq!(
        (weight.value(0), weight.is_null(1), weight.value(2)),
        (1.5, true, -25.0)
    );
    let code = valid.column(3).as_string::<i32>();
    assert_eq!((code.value(0), code.is_null(1)), ("ABC", true));
    let since = valid.column(4).as_primitive::<Date32Type>();
    assert_eq!(
        since.value(0),
        18_686,
        "2021-02-28 is day 18,686 of the epoch"
    );
    let active = valid.column(5).as_boolean();
    assert_eq!(
        (active.value(0), active.is_null(1), active.value(2)),
        (true, true, false)
    );
    assert!(valid.schema().field(2).is_nullable() && !valid.schema().field(1).is_nullable());
}

/// A table's spellings of a missing value: as missing as an empty field in every kind, and a
/// key spelled so twice is told `missing` alone, not also repeated.
#[tokio::test]
async fn spellings_of_a_missing_value_are_missing_in_every_kind() {
    let contract = "
apiVersion: v3.1.0
kind: DataContract
id: nulls
version: 1.0.0
status: draft
schema:
  - name: things
    customProperties: [{property: csvgateNullValues, value: [NA]}]
    properties:
      - {name: k, logicalType: string, required: true, primaryKey: true, logicalTypeOptions: {maxLength: 9}}
      - {name: n, logicalType: integer}
      - {name: flag, logicalType: boolean}
";
    let text = "NA,1,true\nNA,2,true\na,NA,NA\na,3,true\nb,x,true\n".to_owned();
    let (valid, reasons) = split_text(contract, "things", text).await;
    let expected = [
        (1, "k: missing"),
        (2, "k: missing"),
        (4, "k: repeats the id of an earlier row in this file"),
        (5, "n: not an integer"),
    ];
    let expected: BTreeMap<u64, String> = (expected.iter())
        .map(|(line, reason)| (*line, reason.to_string()))
        .collect();
    assert_eq!(reasons, expected);
    let kept: Vec<&RecordBatch> = valid.iter().filter(|batch| batch.num_rows() > 0).collect();
    assert_eq!(kept.len(), 1);
    let n = kept[0].column_by_name("n").unwrap();
    let flag = kept[0].column_by_name("flag").unwrap();
    assert!(
        n.is_null(0) && flag.is_null(0),
        "NA stored as NULL: {:?}",
        kept[0]
    );
}
