//! Typed Arrow rows as MySQL input: tab-separated bytes for `LOAD DATA LOCAL INFILE`, or
//! parameters for the multi-row `INSERT` fallback.

use std::io::Write;

use chrono::{DateTime, Datelike, Timelike};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use mysql_async::Value;

/// The clause that reads what [`write_tsv`] writes; spelled out because the defaults differ
/// between servers.
pub const TSV_FORMAT: &str =
    "FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'";

/// One value of one row, whatever its column type.
enum Cell<'a> {
    Null,
    Integer(i64),
    Float(f64),
    /// An exact decimal, as its digits.
    Decimal(String),
    Boolean(bool),
    Text(&'a str),
    Micros(i64),
    /// Days since 1970-01-01.
    Date(i32),
}

fn cell(batch: &RecordBatch, column: usize, row: usize) -> Cell<'_> {
    let array = batch.column(column);
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Int64 => Cell::Integer(array.as_primitive::<Int64Type>().value(row)),
        // A rollup's groups may be narrower (`CAST(… AS INT)`).
        DataType::Int32 => Cell::Integer(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int16 => Cell::Integer(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int8 => Cell::Integer(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, _) => {
            Cell::Decimal(array.as_primitive::<Decimal128Type>().value_as_string(row))
        }
        DataType::Boolean => Cell::Boolean(array.as_boolean().value(row)),
        DataType::Date32 => Cell::Date(array.as_primitive::<Date32Type>().value(row)),
        DataType::Timestamp(_, _) => {
            Cell::Micros(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        _ => Cell::Text(array.as_string::<i32>().value(row)),
    }
}

/// Appends every row of `batch` as a tab-separated line to `out`.
pub fn write_tsv(batch: &RecordBatch, out: &mut Vec<u8>) {
    for row in 0..batch.num_rows() {
        for column in 0..batch.num_columns() {
            if column > 0 {
                out.push(b'\t');
            }
            let _ = match cell(batch, column, row) {
                Cell::Null => write!(out, "\\N"),
                Cell::Integer(value) => write!(out, "{value}"),
                Cell::Float(value) => write!(out, "{value:?}"),
                Cell::Decimal(digits) => write!(out, "{digits}"),
                Cell::Boolean(value) => write!(out, "{}", u8::from(value)),
                Cell::Text(text) => {
                    escape_into(text, out);
                    Ok(())
                }
                Cell::Micros(micros) => write!(out, "{}", datetime(micros)),
                Cell::Date(days) => write!(out, "{}", date(days)),
            };
        }
        out.push(b'\n');
    }
}

/// Row `row` of `batch` as statement parameters.
pub fn params(batch: &RecordBatch, row: usize) -> impl Iterator<Item = Value> + '_ {
    (0..batch.num_columns()).map(move |column| value(cell(batch, column, row)))
}

/// Column `column` of `batch` as statement parameters, one per row.
pub fn column_values(batch: &RecordBatch, column: usize) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|row| value(cell(batch, column, row)))
        .collect()
}

fn value(cell: Cell<'_>) -> Value {
    match cell {
        Cell::Null => Value::NULL,
        Cell::Integer(value) => Value::Int(value),
        Cell::Float(value) => Value::Double(value),
        Cell::Decimal(digits) => Value::Bytes(digits.into_bytes()),
        Cell::Boolean(value) => Value::Int(value.into()),
        Cell::Text(text) => Value::Bytes(text.as_bytes().to_vec()),
        Cell::Micros(micros) => Value::Bytes(datetime(micros).into_bytes()),
        Cell::Date(days) => Value::Bytes(date(days).into_bytes()),
    }
}

/// Days since the epoch as a MySQL `DATE` literal.
fn date(days: i32) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    let day = epoch + chrono::Duration::days(days.into());
    day.format("%Y-%m-%d").to_string()
}

/// A UTC instant as a MySQL `DATETIME(6)` literal.
pub fn datetime(micros: i64) -> String {
    let at = DateTime::from_timestamp_micros(micros).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_micros()
    )
}

fn escape_into(text: &str, out: &mut Vec<u8>) {
    for &byte in text.as_bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn values_that_would_break_a_line_are_escaped() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![7])),
                Arc::new(StringArray::from(vec!["a\tb\\c\nd"])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_636_253_322_000_001])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        write_tsv(&batch, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7\ta\\tb\\\\c\\nd\t2021-11-07 02:48:42.000001\n"
        );
        let values: Vec<Value> = params(&batch, 0).collect();
        assert_eq!(values[0], Value::Int(7));
        assert_eq!(
            values[2],
            Value::Bytes(b"2021-11-07 02:48:42.000001".to_vec())
        );
    }

    #[test]
    fn nulls_decimals_dates_and_booleans_are_written_as_mysql_reads_them() {
        use datafusion::arrow::array::{BooleanArray, Date32Array, Decimal128Array, Float64Array};
        let decimals = Decimal128Array::from(vec![Some(750), None])
            .with_precision_and_scale(6, 2)
            .unwrap();
        let batch = RecordBatch::try_from_iter([
            ("price", Arc::new(decimals) as _),
            (
                "since",
                Arc::new(Date32Array::from(vec![Some(18_686), None])) as _,
            ),
            (
                "active",
                Arc::new(BooleanArray::from(vec![Some(true), None])) as _,
            ),
            (
                "weight",
                Arc::new(Float64Array::from(vec![Some(-25.5), None])) as _,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        write_tsv(&batch, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7.50\t2021-02-28\t1\t-25.5\n\\N\t\\N\t\\N\t\\N\n"
        );
        let first: Vec<Value> = params(&batch, 0).collect();
        assert_eq!(first[0], Value::Bytes(b"7.50".to_vec()));
        assert_eq!(first[2], Value::Int(1));
        assert!(params(&batch, 1).all(|value| value == Value::NULL));
    }
}
