//! The shapes an S3 object event arrives in, read into [`Record`]s with the types of
//! `aws_lambda_events`:
//! - an S3 notification, `{"Records": [{"eventSource": "aws:s3", …}]}`, sent to a function,
//!   a queue or a topic;
//! - EventBridge's `Object Created` (`{"source": "aws.s3", "detail-type": …}`);
//! - either of those in the body of SQS messages (`"eventSource": "aws:sqs"`), or in the
//!   message of SNS records (`"EventSource": "aws:sns"`); an SQS body may also be an SNS
//!   notification (a topic delivering to a queue without raw delivery).
//!
//! S3's `s3:TestEvent`, sent once when a bucket's notification is configured, holds no object.
//! Anything else is an error that names what arrived: an unknown shape never reads as an empty
//! success. One unreadable SQS message fails alone, so the rest of its batch still loads.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_lambda_events::event::sns::{SnsEvent, SnsMessage};
use aws_lambda_events::event::sqs::SqsEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{EventError, Record};

/// The envelope a notification came in: it decides how an invoker is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    S3,
    EventBridge,
    Sns,
    /// A batch of queue messages: answered per message (`batchItemFailures`).
    Sqs,
}

/// An SQS message with no event csvgate can read, and why.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub message_id: String,
    pub error: String,
}

/// What one payload holds: its records, and the queue messages that hold none readable.
pub struct Read {
    pub envelope: Envelope,
    pub records: Vec<Record>,
    pub unreadable: Vec<Unreadable>,
}

/// Reads `value`, whichever envelope it came in.
pub fn read(value: Value) -> Result<Read, EventError> {
    let plain = |envelope, records| Read {
        envelope,
        records,
        unreadable: Vec::new(),
    };
    match record_source(&value) {
        Some("aws:sqs") => Ok(queue_messages(typed::<SqsEvent>(value, "an SQS event")?)),
        Some("aws:sns") => {
            sns_records(typed(value, "an SNS event")?).map(|r| plain(Envelope::Sns, r))
        }
        _ => {
            let envelope = match value.get("detail-type") {
                Some(_) => Envelope::EventBridge,
                None => Envelope::S3,
            };
            inner(value).map(|records| plain(envelope, records))
        }
    }
}

/// The records of an event that is not a batch of messages: an S3 notification, EventBridge,
/// S3's test event, or an SNS notification as a queue receives it.
fn inner(value: Value) -> Result<Vec<Record>, EventError> {
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        tracing::info!("S3's test event: nothing to load");
        return Ok(Vec::new());
    }
    if record_source(&value) == Some("aws:s3") {
        let event: S3Event = typed(value, "an S3 notification")?;
        return event.records.into_iter().map(s3_record).collect();
    }
    if value.get("detail-type").is_some() {
        return eventbridge(typed(value, "an EventBridge event")?);
    }
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message: SnsMessage = typed(value, "an SNS notification")?;
        return inner(json_text(&message.message, "the SNS message")?);
    }
    Err(EventError::Unknown(describe(&value)))
}

/// The `eventSource` of the first record, which tells S3, SQS and SNS batches apart.
fn record_source(value: &Value) -> Option<&str> {
    let first = value.get("Records")?.as_array()?.first()?;
    (first
        .get("eventSource")
        .or_else(|| first.get("EventSource")))?
    .as_str()
}

fn queue_messages(event: SqsEvent) -> Read {
    let mut read = Read {
        envelope: Envelope::Sqs,
        records: Vec::new(),
        unreadable: Vec::new(),
    };
    for message in event.records {
        let id = message.message_id.unwrap_or_default();
        let body = message.body.unwrap_or_default();
        match json_text(&body, "the message body").and_then(inner) {
            Ok(records) => read
                .records
                .extend(records.into_iter().map(|record| Record {
                    message_id: Some(id.clone()),
                    ..record
                })),
            Err(error) => {
                tracing::warn!(message_id = id, %error, "unreadable queue message");
                read.unreadable.push(Unreadable {
                    message_id: id,
                    error: error.to_string(),
                });
            }
        }
    }
    read
}

fn sns_records(event: SnsEvent) -> Result<Vec<Record>, EventError> {
    let mut records = Vec::new();
    for record in event.records {
        records.extend(inner(json_text(&record.sns.message, "the SNS message")?)?);
    }
    Ok(records)
}

fn s3_record(record: S3EventRecord) -> Result<Record, EventError> {
    let missing = |field: &str| EventError::Malformed(format!("an S3 record without {field}"));
    let object = record.s3.object;
    let key = object.key.ok_or_else(|| missing("s3.object.key"))?;
    Ok(Record {
        event_name: record.event_name.ok_or_else(|| missing("eventName"))?,
        bucket: record
            .s3
            .bucket
            .name
            .ok_or_else(|| missing("s3.bucket.name"))?,
        key: decoded(&key),
        version_id: object.version_id,
        sequencer: object.sequencer,
        message_id: None,
    })
}

/// The `detail` of EventBridge's S3 events (kebab-case, unlike notifications).
#[derive(Deserialize)]
struct ObjectDetail {
    bucket: DetailBucket,
    object: DetailObject,
    /// `PutObject`, `CopyObject`, `CompleteMultipartUpload`, …
    reason: Option<String>,
}

#[derive(Deserialize)]
struct DetailBucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DetailObject {
    key: String,
    version_id: Option<String>,
    sequencer: Option<String>,
}

/// `Object Created` becomes `ObjectCreated:<reason>`, as notifications name it; other S3 event
/// types keep their name and are ignored. Its keys are encoded unlike notifications' (a space
/// is `%20`, a `+` stays), as seen in practice; AWS's documentation does not say.
fn eventbridge(event: EventBridgeEvent<Value>) -> Result<Vec<Record>, EventError> {
    if event.source != "aws.s3" {
        return Err(EventError::Unknown(format!(
            "an EventBridge event from {} ({}), not from S3",
            event.source, event.detail_type
        )));
    }
    let detail: ObjectDetail = typed(event.detail, "the detail of an S3 EventBridge event")?;
    let event_name = match event.detail_type.as_str() {
        "Object Created" => format!(
            "ObjectCreated:{}",
            detail.reason.as_deref().unwrap_or("Put")
        ),
        other => other.to_owned(),
    };
    Ok(vec![Record {
        event_name,
        bucket: detail.bucket.name,
        key: percent_decoded(&detail.object.key),
        version_id: detail.object.version_id,
        sequencer: detail.object.sequencer,
        message_id: None,
    }])
}

/// `value` as `T`, or why not, naming what it was read as.
fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, EventError> {
    serde_json::from_value(value).map_err(|error| EventError::Malformed(format!("{what}: {error}")))
}

fn json_text(text: &str, what: &str) -> Result<Value, EventError> {
    serde_json::from_str(text)
        .map_err(|error| EventError::Malformed(format!("{what} is not JSON: {error}")))
}

/// S3 notifications write keys URL-encoded, `+` standing for a space.
fn decoded(key: &str) -> String {
    percent_decoded(&key.replace('+', " "))
}

/// EventBridge writes keys percent-encoded, a space as `%20` and a `+` as itself.
fn percent_decoded(key: &str) -> String {
    percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .into_owned()
}

/// What an unknown payload looks like, for its error: its type, or an object's keys.
fn describe(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let keys: Vec<&str> = fields.keys().map(String::as_str).take(8).collect();
            match record_source(value) {
                Some(source) => format!("records from {source:?}"),
                None => format!("an object with the keys {keys:?}"),
            }
        }
        Value::Array(_) => "a JSON array".into(),
        Value::Null => "null".into(),
        other => format!("the JSON value {other}"),
    }
}
