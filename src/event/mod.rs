//! S3 object events, the first AWS version's trigger: each `ObjectCreated:*` record names an
//! object of the landing bucket to process, through the same pipeline and ledger as any other
//! run, whichever envelope brought it (see [`envelope`]).
//!
//! A notification carries several records; each gets an outcome of its own, so one record
//! for an object deleted since, or for another bucket, does not stop the others. Handling an
//! event twice loads nothing twice: the ledger knows the object versions already loaded. A
//! record naming a version (`versionId`, in a versioned bucket) loads that version, not
//! whichever is current when it is handled, so two quick overwrites load both; one that
//! arrives after a newer version of its key was loaded ends `skipped`, superseded (see
//! [`Location::newer_versions`]).

mod envelope;

use std::sync::Arc;

use chrono::Utc;

use crate::dictionary::{Dictionary, TableRef};
use crate::ledger::{self, Entry, Status};
use crate::pipeline::{IngestOptions, Pipeline};
use crate::queue::Queue;
use crate::store::{Location, ObjectVersion};

pub use envelope::{Envelope, Unreadable};

/// Why an event could not be read at all (its records are never half-handled).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a valid event: {0}")]
    Malformed(String),
    #[error(
        "not an event csvgate handles (an S3 notification, EventBridge's Object Created, or either through SQS or SNS): received {0}"
    )]
    Unknown(String),
}

/// The object events of one payload, in the envelope they came in.
#[derive(Debug)]
pub struct Notification {
    pub envelope: Envelope,
    pub records: Vec<Record>,
    /// Queue messages that held no readable event: each fails on its own.
    pub unreadable: Vec<Unreadable>,
}

/// One event about one object.
#[derive(Debug, Clone)]
pub struct Record {
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
    pub event_name: String,
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// The version the event is about, in a versioned bucket.
    pub version_id: Option<String>,
    /// S3's order of the events of one key (hex; compared left-padded with zeros).
    pub sequencer: Option<String>,
    /// The queue message that carried it, for a partial batch failure answer.
    pub message_id: Option<String>,
}

/// What a record asks for, once checked against the landing bucket.
#[derive(Debug)]
pub enum Resolved {
    /// An object of the landing bucket to process: the version the record names (else the
    /// current one) and its table.
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
        let value = serde_json::from_slice(bytes)
            .map_err(|error| EventError::Malformed(format!("not JSON: {error}")))?;
        Self::from_json(value)
    }

    /// The notification in an already decoded JSON value (a Lambda payload).
    pub fn from_json(value: serde_json::Value) -> Result<Notification, EventError> {
        let read = envelope::read(value)?;
        Ok(Notification {
            envelope: read.envelope,
            records: read.records,
            unreadable: read.unreadable,
        })
    }

    /// One JSON object per record and its outcome: key, event, status, run id, error; and
    /// the unreadable queue messages, if any.
    pub fn outcomes_json(&self, outcomes: &[Outcome]) -> serde_json::Value {
        let records: Vec<serde_json::Value> = (self.records.iter().zip(outcomes))
            .map(|(record, outcome)| {
                serde_json::json!({
                    "key": record.key,
                    "version_id": record.version_id,
                    "event": record.event_name,
                    "status": outcome.status(),
                    "run_id": outcome.entry().map(|entry| entry.run_id.as_str()),
                    "error": outcome.error(),
                })
            })
            .collect();
        let mut answer = serde_json::json!({ "records": records });
        if !self.unreadable.is_empty() {
            let unreadable: Vec<serde_json::Value> = (self.unreadable.iter())
                .map(|m| serde_json::json!({"message_id": m.message_id, "error": m.error}))
                .collect();
            answer["unreadable"] = unreadable.into();
        }
        answer
    }

    /// The queue messages to retry, as Lambda's partial batch response wants them: each
    /// message with a failed record or nothing readable, once.
    pub fn failed_messages(&self, outcomes: &[Outcome]) -> Vec<String> {
        let failed = (self.records.iter().zip(outcomes))
            .filter(|(_, outcome)| outcome.failed())
            .filter_map(|(record, _)| record.message_id.clone());
        let unreadable = self.unreadable.iter().map(|m| m.message_id.clone());
        let mut ids: Vec<String> = Vec::new();
        for id in unreadable.chain(failed) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
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
        // Reference tables first; the versions of one key in S3's order of events.
        objects.sort_by_cached_key(|(index, _, table)| {
            let record = &self.records[*index];
            (
                table.load_rank(),
                record.key.clone(),
                record.sequence(),
                *index,
            )
        });
        let mut entries = Vec::with_capacity(objects.len());
        for (index, object, _) in objects {
            let entry = pipeline
                .ingest_object(&run_id, landing, object, options)
                .await;
            entries.push(entry.clone());
            outcomes[index] = Outcome::Processed(entry);
        }
        pipeline.target.flush().await;
        pipeline.after_run(&entries).await;
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
    /// The sequencer, left-padded with zeros so that text order is S3's order of the events
    /// of one key (sequencers differ in length); none sorts first.
    fn sequence(&self) -> String {
        let sequencer = self.sequencer.as_deref().unwrap_or_default();
        format!("{:0>32}", sequencer.to_ascii_uppercase())
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
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
        let head = match &self.version_id {
            Some(version) => landing.head_version(&key, version).await,
            None => landing.head(&key).await,
        };
        match head {
            Ok(object) => Resolved::Object(object, TableRef::clone(table)),
            Err(error) => Resolved::Failed(format!("{error} (deleted since the event?)")),
        }
    }

    /// The key relative to `landing`, when the record's object is inside it.
    fn key_in(&self, landing: &Location) -> Option<String> {
        let is_landing_bucket =
            landing.is_s3() && landing.url.host_str() == Some(self.bucket.as_str());
        let prefix = landing.url.path().trim_start_matches('/');
        let relative = self.key.strip_prefix(prefix)?;
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
mod tests;
