//! The ledger as Arrow columns: how the Delta warehouse stores entries, and how `csvgate runs`
//! and the API print them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;

use super::{Entry, Status};
use crate::dictionary::ContractStamp;
use crate::shape::to_schema_by_name_or_null;
use crate::store::ObjectVersion;

/// Arrow schema of the ledger, as stored and as printed by `csvgate runs`.
pub fn schema() -> SchemaRef {
    let text = |name| Field::new(name, DataType::Utf8, false);
    let optional_text = |name| Field::new(name, DataType::Utf8, true);
    let count = |name| Field::new(name, DataType::Int64, false);
    let time = |name| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        text("run_id"),
        text("location"),
        text("key"),
        text("object_version"),
        text("table_name"),
        text("status"),
        count("rows_read"),
        count("rows_valid"),
        count("rows_invalid"),
        optional_text("invalid_object"),
        time("started_at"),
        time("finished_at"),
        optional_text("error"),
        optional_text("contract_id"),
        optional_text("contract_version"),
        optional_text("contract_hash"),
    ]))
}

/// Entries as one batch shaped like [`schema`].
pub fn to_batch(entries: &[Entry]) -> Result<RecordBatch, ArrowError> {
    let text = |get: fn(&Entry) -> &str| -> ArrayRef {
        Arc::new(
            entries
                .iter()
                .map(|entry| Some(get(entry)))
                .collect::<StringArray>(),
        )
    };
    let optional = |get: fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(entries.iter().map(get).collect::<StringArray>())
    };
    let count = |get: fn(&Entry) -> u64| -> ArrayRef {
        Arc::new(
            entries
                .iter()
                .map(|entry| i64::try_from(get(entry)).unwrap_or(i64::MAX))
                .collect::<Int64Array>(),
        )
    };
    let time = |get: fn(&Entry) -> DateTime<Utc>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                entries.iter().map(|entry| get(entry).timestamp_micros()),
            )
            .with_timezone("UTC"),
        )
    };
    RecordBatch::try_new(
        schema(),
        vec![
            text(|entry| &entry.run_id),
            text(|entry| &entry.object.location),
            text(|entry| &entry.object.key),
            text(|entry| &entry.object.version),
            text(|entry| &entry.table),
            text(|entry| entry.status.as_str()),
            count(|entry| entry.rows_read),
            count(|entry| entry.rows_valid),
            count(|entry| entry.rows_invalid),
            optional(|entry| entry.invalid_object.as_deref()),
            time(|entry| entry.started_at),
            time(|entry| entry.finished_at),
            optional(|entry| entry.error.as_deref()),
            optional(|entry| Some(entry.contract.as_ref()?.id.as_str())),
            optional(|entry| Some(entry.contract.as_ref()?.version.as_str())),
            optional(|entry| Some(entry.contract.as_ref()?.hash.as_str())),
        ],
    )
}

/// Entries from batches with the columns of [`schema`], as read back from a target (whose
/// engine may hand text back as views, hence the casts; a ledger an older csvgate wrote lacks
/// the contract's columns).
pub fn from_batches(batches: &[RecordBatch]) -> Result<Vec<Entry>, ArrowError> {
    let mut entries = Vec::new();
    for batch in batches {
        let batch = &to_schema_by_name_or_null(batch, &schema())?;
        let text = |index: usize| batch.column(index).as_string::<i32>().clone();
        let count = |index: usize| batch.column(index).as_primitive::<Int64Type>().clone();
        let time = |index: usize| {
            batch
                .column(index)
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
        };
        let (run, location, key, version, table, status) =
            (text(0), text(1), text(2), text(3), text(4), text(5));
        let (read, valid, invalid) = (count(6), count(7), count(8));
        let (invalid_object, started, finished, error) = (text(9), time(10), time(11), text(12));
        let (contract_id, contract_version, contract_hash) = (text(13), text(14), text(15));
        let optional =
            |array: &StringArray, row| array.is_valid(row).then(|| array.value(row).to_owned());
        let instant = |array: &TimestampMicrosecondArray, row| {
            DateTime::from_timestamp_micros(array.value(row)).unwrap_or_default()
        };
        for row in 0..batch.num_rows() {
            entries.push(Entry {
                run_id: run.value(row).to_owned(),
                object: ObjectVersion {
                    location: location.value(row).to_owned(),
                    key: key.value(row).to_owned(),
                    version: version.value(row).to_owned(),
                    size: 0,
                    modified: None,
                },
                table: table.value(row).to_owned(),
                status: Status::parse(status.value(row)),
                rows_read: read.value(row).try_into().unwrap_or(0),
                rows_valid: valid.value(row).try_into().unwrap_or(0),
                rows_invalid: invalid.value(row).try_into().unwrap_or(0),
                invalid_object: optional(&invalid_object, row),
                started_at: instant(&started, row),
                finished_at: instant(&finished, row),
                error: optional(&error, row),
                contract: contract_id.is_valid(row).then(|| ContractStamp {
                    id: contract_id.value(row).to_owned(),
                    version: contract_version.value(row).to_owned(),
                    hash: contract_hash.value(row).to_owned(),
                }),
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::new_run_id;

    #[test]
    fn entries_survive_a_trip_through_arrow() {
        let now = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let entry = Entry {
            run_id: new_run_id(now),
            object: ObjectVersion {
                location: "file:///landing/".into(),
                key: "jobs.csv".into(),
                version: "abc".into(),
                size: 0,
                modified: None,
            },
            table: "jobs".into(),
            status: Status::Failed,
            rows_read: 3,
            rows_valid: 2,
            rows_invalid: 1,
            invalid_object: None,
            started_at: now,
            finished_at: now,
            error: Some("boom".into()),
            contract: Some(crate::dictionary::Dictionary::hr().stamp()),
        };
        assert!(entry.run_id.starts_with("20231114T221320Z-"));
        let batch = to_batch(std::slice::from_ref(&entry)).unwrap();
        assert_eq!(
            from_batches(std::slice::from_ref(&batch)).unwrap(),
            vec![entry.clone()]
        );
        let older = batch.project(&(0..13).collect::<Vec<_>>()).unwrap();
        let before_contracts = Entry {
            contract: None,
            ..entry
        };
        assert_eq!(from_batches(&[older]).unwrap(), vec![before_contracts]);
    }
}
