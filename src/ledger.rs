//! The ledger: which object versions were processed, by which run, with what result.
//!
//! # Guarantees
//! The truth about whether an object version's rows are loaded lives in the target's own
//! commit: the Delta target stores the object's fingerprint as an application transaction in
//! the very commit that adds its rows, and the MySQL target writes its ledger row in the
//! loading transaction. The ledger entry is written after that commit; if the process dies
//! between the two, the next run finds the commit, does not load the rows twice, and records
//! the object as `skipped`. So a row is never loaded without the ledger knowing, and the ledger
//! never marks `done` an object whose rows are not loaded.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;

use crate::shape::to_schema_by_name;
use crate::store::ObjectVersion;

/// Where an object version is: accepted and waiting, or how processing it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Accepted for processing (an upload stored it); a later entry of the same run ends it.
    Queued,
    /// Rows loaded and invalid rows written.
    Done,
    /// Already loaded by an earlier run; nothing was read.
    Skipped,
    /// Nothing was loaded; `error` says why.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    /// The status a stored text stands for (anything unknown reads as failed).
    pub fn parse(text: &str) -> Status {
        match text {
            "queued" => Status::Queued,
            "done" => Status::Done,
            "skipped" => Status::Skipped,
            _ => Status::Failed,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One processed object version.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub run_id: String,
    pub object: ObjectVersion,
    pub table: String,
    pub status: Status,
    pub rows_read: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    /// URL of the CSV holding the rejected rows, when there were any.
    pub invalid_object: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub error: Option<String>,
}

impl Entry {
    /// The first entry of a run that processes `object` later, written before work starts so
    /// that a restart finds it (see [`pending`]).
    pub fn queued(run_id: String, object: ObjectVersion, table: &str) -> Entry {
        let now = Utc::now();
        Entry {
            run_id,
            object,
            table: table.to_owned(),
            status: Status::Queued,
            rows_read: 0,
            rows_valid: 0,
            rows_invalid: 0,
            invalid_object: None,
            started_at: now,
            finished_at: now,
            error: None,
        }
    }
}

/// Queued entries that no later entry of the same run and object has ended: work accepted
/// but not finished, e.g. because the process died. Oldest first.
pub fn pending(entries: &[Entry]) -> Vec<Entry> {
    let ended: std::collections::HashSet<(&str, &str)> = entries
        .iter()
        .filter(|entry| entry.status != Status::Queued)
        .map(|entry| (entry.run_id.as_str(), entry.object.key.as_str()))
        .collect();
    entries
        .iter()
        .filter(|entry| entry.status == Status::Queued)
        .filter(|entry| !ended.contains(&(entry.run_id.as_str(), entry.object.key.as_str())))
        .cloned()
        .collect()
}

/// A run id: sortable by start time, unique enough for concurrent runs.
pub fn new_run_id(started_at: DateTime<Utc>) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", started_at.format("%Y%m%dT%H%M%SZ"), &suffix[..6])
}

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
        ],
    )
}

/// Entries from batches with the columns of [`schema`], as read back from a target (whose
/// engine may hand text back as views, hence the casts).
pub fn from_batches(batches: &[RecordBatch]) -> Result<Vec<Entry>, ArrowError> {
    let mut entries = Vec::new();
    for batch in batches {
        let batch = &to_schema_by_name(batch, &schema())?;
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
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        assert!(entry.run_id.starts_with("20231114T221320Z-"));
        let batch = to_batch(std::slice::from_ref(&entry)).unwrap();
        assert_eq!(from_batches(&[batch]).unwrap(), vec![entry]);
    }

    #[test]
    fn pending_is_what_was_queued_and_never_ended() {
        let object = |key: &str| ObjectVersion {
            location: "file:///landing/".into(),
            key: key.into(),
            version: "v1".into(),
            size: 1,
        };
        let finished = |queued: &Entry, status| Entry {
            status,
            ..queued.clone()
        };
        let a = Entry::queued("run-a".into(), object("jobs.csv"), "jobs");
        let b = Entry::queued("run-b".into(), object("jobs.csv"), "jobs");
        let c = Entry::queued("run-c".into(), object("departments.csv"), "departments");
        let ledger = [
            a.clone(),
            b.clone(),
            c.clone(),
            finished(&a, Status::Done),
            finished(&c, Status::Failed),
        ];
        assert_eq!(pending(&ledger), vec![b]);
        assert_eq!(Status::parse(Status::Queued.as_str()), Status::Queued);
    }
}
