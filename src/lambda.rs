//! One AWS Lambda invocation: the S3 event notification it carries, processed through the same
//! pipeline as `csvgate handle-event`.
//!
//! The invocation fails when any record failed, naming each, so Lambda's retries and its
//! on-failure destination apply; a retry loads nothing twice, since the objects already done
//! are in the ledger and come back `skipped`. The runtime glue is the `csvgate-lambda` binary
//! (feature `lambda`); this module has no dependency on it, so it is tested like the rest.

use serde_json::{Value, json};

use crate::deployment::Deployment;
use crate::event::{Notification, Outcome};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Malformed(#[from] crate::event::EventError),
    #[error("{failed} of {records} records failed: {}", .reasons.join("; "))]
    Records {
        failed: usize,
        records: usize,
        reasons: Vec<String>,
    },
}

/// Processes the notification in `payload`; the outcome of each record, or why some failed.
pub async fn handle(deployment: &Deployment, payload: Value) -> Result<Value, InvocationError> {
    let bytes = serde_json::to_vec(&payload).expect("a JSON value serialises");
    let notification = Notification::parse(&bytes)?;
    let outcomes = notification
        .process(&deployment.pipeline, &deployment.options)
        .await;
    let records: Vec<Value> = notification
        .records
        .iter()
        .zip(&outcomes)
        .map(|(record, outcome)| {
            json!({
                "key": record.key(),
                "status": outcome.status(),
                "run_id": outcome.entry().map(|entry| entry.run_id.as_str()),
                "error": outcome.error(),
            })
        })
        .collect();
    let reasons: Vec<String> = notification
        .records
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome.status(), "failed"))
        .map(|(record, outcome)| format!("{}: {}", record.url(), reason(outcome)))
        .collect();
    match reasons.is_empty() {
        true => Ok(json!({ "records": records })),
        false => Err(InvocationError::Records {
            failed: reasons.len(),
            records: outcomes.len(),
            reasons,
        }),
    }
}

fn reason(outcome: &Outcome) -> &str {
    outcome.error().unwrap_or("failed")
}
