//! MySQL rows back as Arrow: the binary protocol's values as a batch of the dictionary's (or a
//! rollup's) typed schema, for backups, checks and rollups.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use mysql_async::{Row, Value};

/// `rows` as a batch of `schema`, moving each value out of its row.
pub fn to_batch(schema: &SchemaRef, mut rows: Vec<Row>) -> Result<RecordBatch, String> {
    let len = rows.len();
    let columns = (schema.fields().iter().enumerate())
        .map(|(index, field)| {
            let values = rows.iter_mut().map(|row| row.take::<Value, _>(index));
            column(field, values, len).map_err(|problem| format!("{}: {problem}", field.name()))
        })
        .collect::<Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|error| error.to_string())
}

/// One column of the dictionary's types from the binary protocol's values.
fn column(
    field: &Field,
    values: impl Iterator<Item = Option<Value>>,
    len: usize,
) -> Result<ArrayRef, String> {
    let unexpected = |value: Option<Value>| format!("unexpected value {value:?}");
    match field.data_type() {
        DataType::Timestamp(_, zone) => {
            let micros = values
                .map(|value| match value {
                    Some(Value::NULL) => Ok(None),
                    value => {
                        (micros_since_epoch(&value).map(Some)).ok_or_else(|| unexpected(value))
                    }
                })
                .collect::<Result<Vec<Option<i64>>, String>>()?;
            Ok(Arc::new(
                TimestampMicrosecondArray::from(micros).with_timezone_opt(zone.clone()),
            ))
        }
        DataType::Int64 => {
            let numbers = values
                .map(|value| match value {
                    Some(Value::NULL) => Ok(None),
                    Some(Value::Int(number)) => Ok(Some(number)),
                    Some(Value::UInt(number)) => {
                        i64::try_from(number).map(Some).map_err(|e| e.to_string())
                    }
                    other => Err(unexpected(other)),
                })
                .collect::<Result<Vec<Option<i64>>, String>>()?;
            Ok(Arc::new(Int64Array::from(numbers)))
        }
        typed => {
            let texts: ArrayRef = Arc::new(texts(values, len)?);
            match typed {
                DataType::Utf8 => Ok(texts),
                // Decimals arrive as their digits, so the cast keeps them exact.
                // Unsafe: a value that does not convert is an error, never a NULL.
                _ => {
                    let strict = CastOptions {
                        safe: false,
                        ..CastOptions::default()
                    };
                    cast_with_options(&texts, typed, &strict).map_err(|error| error.to_string())
                }
            }
        }
    }
}

/// Values as text: strings and decimals as sent, numbers and dates written out.
fn texts(values: impl Iterator<Item = Option<Value>>, len: usize) -> Result<StringArray, String> {
    let mut texts = StringBuilder::with_capacity(len, len * 16);
    for value in values {
        match value {
            Some(Value::NULL) => texts.append_null(),
            Some(Value::Bytes(bytes)) => {
                texts.append_value(std::str::from_utf8(&bytes).map_err(|e| e.to_string())?)
            }
            Some(Value::Int(number)) => texts.append_value(number.to_string()),
            Some(Value::UInt(number)) => texts.append_value(number.to_string()),
            Some(Value::Double(number)) => texts.append_value(format!("{number:?}")),
            Some(Value::Float(number)) => texts.append_value(format!("{number:?}")),
            Some(Value::Date(year, month, day, 0, 0, 0, 0)) => {
                texts.append_value(format!("{year:04}-{month:02}-{day:02}"))
            }
            other => return Err(format!("unexpected value {other:?}")),
        }
    }
    Ok(texts.finish())
}

/// A `DATETIME` (stored in UTC) as microseconds since the epoch.
fn micros_since_epoch(value: &Option<Value>) -> Option<i64> {
    let Some(Value::Date(year, month, day, hour, minute, second, micro)) = *value else {
        return None;
    };
    let date = chrono::NaiveDate::from_ymd_opt(year.into(), month.into(), day.into())?;
    let time = date.and_hms_micro_opt(hour.into(), minute.into(), second.into(), micro)?;
    Some(time.and_utc().timestamp_micros())
}
