//! S3 event notifications, the first AWS version's trigger: each `ObjectCreated:*` record names an object
//! of the landing bucket to process, through the same pipeline and ledger as any other run.
//!
//! A notification carries several records; each gets an outcome of its own, so one record
//! for an object deleted since, or for another bucket, does not stop the others. Handling an
//! event twice loads nothing twice: the ledger knows the object versions already loaded.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;

use crate::dictionary::{Dictionary, TableRef};
use crate::ledger::{self, Entry, Status};
use crate::pipeline::{IngestOptions, Pipeline};
use crate::queue::Queue;
use crate::store::{Location, ObjectVersion};

/// Why a notification could not be read at all (its records are never half-handled).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not an S3 event notification: {0}")]
    Malformed(String),
}

/// An S3 event notification: `{"Records": [...]}`.
#[derive(Debug, Deserialize)]
pub struct Notification {
    #[serde(rename = "Records", default)]
    pub records: Vec<Record>,
}

/// One record of a notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub s3: Entity,
}

/// The bucket and object a record is about.
#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    pub bucket: Bucket,
    pub object: Object,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bucket {
    pub name: String,
}

/// The object as the event saw it; its key is URL-encoded, `+` standing for a space.
#[derive(Debug, Clone, Deserialize)]
pub struct Object {
    pub key: String,
    #[serde(rename = "eTag")]
    pub e_tag: Option<String>,
    pub size: Option<u64>,
    #[serde(rename = "versionId")]
    pub version_id: Option<String>,
}

/// What a record asks for, once checked against the landing bucket.
#[derive(Debug)]
pub enum Resolved {
    /// An object of the landing bucket to process: its current version and table.
    Object(ObjectVersion, TableRef),
    /// Not an object-created event: nothing to do.
    Ignored,
    /// The record cannot be acted on, and why.
    Failed(String),
}

/// How one record ended.
#[derive(Debug)]
pub enum Outcome {
    /// Processed now: its ledger entry (`done`, `skipped` or `failed`).
    Processed(Entry),
    /// Accepted for later: its `queued` entry.
    Queued(Entry),
    Ignored,
    Failed(String),
}

impl Notification {
    pub fn parse(bytes: &[u8]) -> Result<Notification, EventError> {
        serde_json::from_slice(bytes).map_err(|error| EventError::Malformed(error.to_string()))
    }

    /// The notification in an already decoded JSON value (a Lambda payload).
    pub fn from_json(value: serde_json::Value) -> Result<Notification, EventError> {
        serde_json::from_value(value).map_err(|error| EventError::Malformed(error.to_string()))
    }

    /// One JSON object per record and its outcome: key, event, status, run id, error.
    pub fn outcomes_json(&self, outcomes: &[Outcome]) -> serde_json::Value {
        let records: Vec<serde_json::Value> = (self.records.iter().zip(outcomes))
            .map(|(record, outcome)| {
                serde_json::json!({
                    "key": record.key(),
                    "event": record.event_name,
                    "status": outcome.status(),
                    "run_id": outcome.entry().map(|entry| entry.run_id.as_str()),
                    "error": outcome.error(),
                })
            })
            .collect();
        serde_json::json!({ "records": records })
    }

    /// Processes every record now (a CLI run, a Lambda invocation), under one run id and
    /// reference tables first, as `ingest` orders files. Outcomes are in record order.
    pub async fn process(&self, pipeline: &Pipeline, options: &IngestOptions) -> Vec<Outcome> {
        let landing = &pipeline.buckets.landing;
        let run_id = ledger::new_run_id(Utc::now());
        let mut outcomes = Vec::with_capacity(self.records.len());
        let mut objects = Vec::new();
        for (index, record) in self.records.iter().enumerate() {
            outcomes.push(
                match record.resolve(landing, pipeline.target.dictionary()).await {
                    Resolved::Object(object, table) => {
                        objects.push((index, object, table));
                        Outcome::Ignored
                    }
                    Resolved::Ignored => Outcome::Ignored,
                    Resolved::Failed(error) => Outcome::Failed(error),
                },
            );
        }
        objects.sort_by_key(|(index, _, table)| (table.load_rank(), *index));
        for (index, object, _) in objects {
            let entry = pipeline.ingest_object(&run_id, landing, object, options);
            outcomes[index] = Outcome::Processed(entry.await);
        }
        outcomes
    }

    /// Queues every record for `queue`'s worker (the server): each becomes a run of its own.
    pub async fn enqueue(&self, queue: &Arc<Queue>) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(self.records.len());
        for record in &self.records {
            outcomes.push(
                match record.resolve(queue.landing(), queue.dictionary()).await {
                    Resolved::Object(object, table) => {
                        match queue.accept(object, &table.name).await {
                            Ok(entry) => Outcome::Queued(entry),
                            Err(error) => Outcome::Failed(error.to_string()),
                        }
                    }
                    Resolved::Ignored => Outcome::Ignored,
                    Resolved::Failed(error) => Outcome::Failed(error),
                },
            );
        }
        outcomes
    }
}

impl Record {
    /// The object key, decoded.
    pub fn key(&self) -> String {
        let spaced = self.s3.object.key.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.s3.bucket.name, self.key())
    }

    /// The object this record asks to process, checked against `landing` and `dictionary`.
    pub async fn resolve(&self, landing: &Location, dictionary: &Dictionary) -> Resolved {
        if !self.event_name.starts_with("ObjectCreated:") {
            tracing::info!(
                event = self.event_name,
                object = self.url(),
                "not an object-created event, ignored"
            );
            return Resolved::Ignored;
        }
        let Some(key) = self.key_in(landing) else {
            return Resolved::Failed(format!(
                "{}: not inside the landing location {}",
                self.url(),
                landing.url
            ));
        };
        let Some(table) = dictionary.table_for_key(&format!("{}{key}", landing.url.path())) else {
            return Resolved::Failed(format!(
                "{}: cannot tell which table this file holds (name it after a table, e.g. `jobs.csv` or `jobs/…`)",
                self.url()
            ));
        };
        match landing.head(&key).await {
            Ok(object) => Resolved::Object(object, TableRef::clone(table)),
            Err(error) => Resolved::Failed(format!("{error} (deleted since the event?)")),
        }
    }

    /// The key relative to `landing`, when the record's object is inside it.
    fn key_in(&self, landing: &Location) -> Option<String> {
        let is_landing_bucket =
            landing.is_s3() && landing.url.host_str() == Some(self.s3.bucket.name.as_str());
        let prefix = landing.url.path().trim_start_matches('/');
        let key = self.key();
        let relative = key.strip_prefix(prefix)?;
        (is_landing_bucket && !relative.is_empty()).then(|| relative.to_owned())
    }
}

impl Outcome {
    /// `done`, `skipped`, `failed`, `queued` or `ignored`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Processed(entry) | Outcome::Queued(entry) => entry.status.as_str(),
            Outcome::Ignored => "ignored",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Whether the record failed (and makes its command or invocation fail).
    pub fn failed(&self) -> bool {
        self.status() == Status::Failed.as_str()
    }

    /// Why the record failed, if it did.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Processed(entry) => entry.error.as_deref(),
            Outcome::Failed(error) => Some(error),
            Outcome::Queued(_) | Outcome::Ignored => None,
        }
    }

    /// The run the record became, if any.
    pub fn entry(&self) -> Option<&Entry> {
        match self {
            Outcome::Processed(entry) | Outcome::Queued(entry) => Some(entry),
            Outcome::Ignored | Outcome::Failed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded_with_plus_as_space() {
        let json = r#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": "globant-landing"},
            "object": {"key": "contrataciones/hired_employees+2021+a%C3%B1o.csv", "size": 3}}}]}"#;
        let notification = Notification::parse(json.as_bytes()).unwrap();
        let record = &notification.records[0];
        assert_eq!(record.key(), "contrataciones/hired_employees 2021 año.csv");
        assert_eq!(
            record.url(),
            "s3://globant-landing/contrataciones/hired_employees 2021 año.csv"
        );
        assert!(Notification::parse(b"[1, 2]").is_err());
    }
}
