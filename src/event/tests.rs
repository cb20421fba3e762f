//! Every envelope an S3 object event arrives in (the files of `fixtures/events`), and the
//! shapes that must be refused by name.

use super::*;

fn fixture(name: &str) -> Notification {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    Notification::parse(&std::fs::read(&path).unwrap()).unwrap()
}

/// (event, key, version, message) of each record.
fn records(notification: &Notification) -> Vec<(&str, &str, Option<&str>, Option<&str>)> {
    (notification.records.iter())
        .map(|r| {
            let version = r.version_id.as_deref();
            (
                r.event_name.as_str(),
                r.key.as_str(),
                version,
                r.message_id.as_deref(),
            )
        })
        .collect()
}

#[test]
fn keys_are_url_decoded_with_plus_as_space() {
    let json = r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-26T08:00:00.000Z", "userIdentity": {"principalId": "A"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"}, "s3": {
        "bucket": {"name": "globant-landing"},
        "object": {"key": "contrataciones/hired_employees+2021+a%C3%B1o.csv", "size": 3}}}]}"#;
    let notification = Notification::parse(json.as_bytes()).unwrap();
    let record = &notification.records[0];
    assert_eq!(record.key, "contrataciones/hired_employees 2021 año.csv");
    assert_eq!(
        record.url(),
        "s3://globant-landing/contrataciones/hired_employees 2021 año.csv"
    );
    assert_eq!(notification.envelope, Envelope::S3);
}

#[test]
fn eventbridge_object_created_reads_as_a_notification_would() {
    let notification = fixture("eventbridge_object_created.json");
    assert_eq!(notification.envelope, Envelope::EventBridge);
    let version = Some("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd");
    assert_eq!(
        records(&notification),
        [(
            "ObjectCreated:PutObject",
            "jobs/jobs 2021 año+1.csv",
            version,
            None
        )]
    );
    assert_eq!(notification.records[0].bucket, "globant-landing");
    assert_eq!(
        notification.records[0].sequencer.as_deref(),
        Some("0062E99A88DC407460")
    );
}

#[test]
fn queue_messages_carry_their_events_and_the_test_event_holds_none() {
    let notification = fixture("sqs.json");
    assert_eq!(notification.envelope, Envelope::Sqs);
    let message = Some("059f36b4-87a3-44ab-83d2-661975830a7d");
    assert_eq!(
        records(&notification),
        [("ObjectCreated:Put", "jobs.csv", None, message)]
    );
    assert!(notification.unreadable.is_empty());

    let through_a_topic = fixture("sqs_sns.json");
    let message = Some("7b3e2a4c-5d1f-4e6a-9c8b-0a1b2c3d4e5f");
    assert_eq!(
        records(&through_a_topic),
        [("ObjectCreated:Put", "jobs.csv", None, message)]
    );
}

#[test]
fn topic_records_carry_their_events() {
    let notification = fixture("sns.json");
    assert_eq!(notification.envelope, Envelope::Sns);
    assert_eq!(
        records(&notification),
        [("ObjectCreated:Put", "departments.csv", None, None)]
    );
}

#[test]
fn an_unreadable_queue_message_fails_alone() {
    let mut batch: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}/fixtures/events/sqs.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    batch["Records"][1]["body"] = r#"{"hello": "world"}"#.into();
    let notification = Notification::from_json(batch).unwrap();
    assert_eq!(notification.records.len(), 1);
    let unreadable = &notification.unreadable;
    assert_eq!(unreadable.len(), 1);
    assert_eq!(
        unreadable[0].message_id,
        "2e1424d4-f796-459a-8184-9c92662be6da"
    );
    assert!(
        unreadable[0].error.contains("[\"hello\"]"),
        "{}",
        unreadable[0].error
    );

    let outcomes = [Outcome::Failed("boom".into())];
    let retried = notification.failed_messages(&outcomes);
    let both = [
        "2e1424d4-f796-459a-8184-9c92662be6da",
        "059f36b4-87a3-44ab-83d2-661975830a7d",
    ];
    assert_eq!(retried, both);
    assert_eq!(notification.failed_messages(&[Outcome::Ignored]), both[..1]);
}

#[test]
fn unknown_shapes_are_errors_naming_what_arrived() {
    for (payload, named) in [
        (r#"{"Records": []}"#, r#"["Records"]"#),
        (
            r#"{"Records": [{"eventSource": "aws:kinesis"}]}"#,
            "\"aws:kinesis\"",
        ),
        (
            r#"{"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}"#,
            "aws.events (Scheduled Event)",
        ),
        (r#"{"csvgate": "restore"}"#, r#"["csvgate"]"#),
        ("[1, 2]", "a JSON array"),
    ] {
        let error = Notification::parse(payload.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains(named), "{payload}: {error}");
    }
    let error = Notification::parse(b"{").unwrap_err().to_string();
    assert!(error.starts_with("not a valid event: not JSON"), "{error}");
    let missing = r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}"#;
    let error = Notification::parse(missing.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("an S3 notification: missing field"),
        "{error}"
    );
}

#[test]
fn sequencers_of_different_lengths_order_as_s3_orders_them() {
    let mut record = fixture("put.json").records.remove(0);
    let mut sequence = |sequencer: Option<&str>| {
        record.sequencer = sequencer.map(str::to_owned);
        record.sequence()
    };
    let ordered = [
        None,
        Some("FF"),
        Some("0100"),
        Some("0055aed6dcd90281e5"),
        Some("0055AED6DCD90281E6"),
    ];
    let sequences: Vec<String> = ordered.iter().map(|s| sequence(*s)).collect();
    let mut sorted = sequences.clone();
    sorted.sort();
    assert_eq!(sorted, sequences);
}
