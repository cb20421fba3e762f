//! One AWS Lambda invocation: the S3 object events it carries (directly, from EventBridge, or
//! through SQS or SNS), processed through the same pipeline as `csvgate handle-event`; the
//! weekly schedule's `{"csvgate": "backup"}`, which runs `csvgate backup` of every table; or
//! the deployer's one-time `{"csvgate": "db-init"}` (with `"app_user": "name"` for a
//! least-privilege user), which sets the database up ([`crate::bootstrap`]) since only the
//! function can reach it.
//!
//! An invocation fails when any record failed, naming each, so Lambda's retries and its
//! on-failure destination apply; a retry loads nothing twice, since the objects already done
//! are in the ledger and come back `skipped`. A batch of SQS messages instead succeeds with the
//! messages to retry (`batchItemFailures`, for `ReportBatchItemFailures`), so one bad object
//! does not send its whole batch back. The runtime glue is the `csvgate-lambda` binary
//! (feature `lambda`); this module has no dependency on it, so it is tested like the rest.

use serde_json::{Value, json};

use crate::backup::BackupError;

use crate::bootstrap::BootstrapError;
use crate::deployment::Deployment;
use crate::event::{Envelope, Notification};

/// What the function logs unless `CSVGATE_LOG` says otherwise: one line per object processed.
pub const LOG_FILTER: &str = "warn,csvgate=info,aws_config=error";

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Malformed(#[from] crate::event::EventError),
    #[error("backup: {0}")]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error("{failed} of {records} records failed: {}", .reasons.join("; "))]
    Records {
        failed: usize,
        records: usize,
        reasons: Vec<String>,
    },
}

/// Processes the notification in `payload`, or the weekly schedule's `{"csvgate": "backup"}`;
/// the outcome of each record (or the snapshots made), or why some failed.
pub async fn handle(deployment: &Deployment, payload: Value) -> Result<Value, InvocationError> {
    match payload.get("csvgate").and_then(Value::as_str) {
        Some("backup") => return backup(deployment).await,
        Some("db-init") => {
            let app_user = payload.get("app_user").and_then(Value::as_str);
            return Ok(crate::bootstrap::run(deployment, app_user).await?);
        }
        Some("db-migrate") => {
            let apply = payload.get("apply").and_then(Value::as_bool) == Some(true);
            return Ok(crate::bootstrap::migrate(deployment, apply).await?);
        }
        _ => {}
    }
    let notification = Notification::from_json(payload)?;
    let outcomes = notification
        .process(&deployment.pipeline, &deployment.options)
        .await;
    if notification.envelope == Envelope::Sqs {
        let failures: Vec<Value> = (notification.failed_messages(&outcomes).into_iter())
            .map(|id| json!({ "itemIdentifier": id }))
            .collect();
        if !failures.is_empty() {
            let outcomes = notification.outcomes_json(&outcomes);
            tracing::error!(%outcomes, "some queue messages failed and will be retried");
        }
        return Ok(json!({ "batchItemFailures": failures }));
    }
    let reasons: Vec<String> = (notification.records.iter().zip(&outcomes))
        .filter(|(_, outcome)| outcome.failed())
        .map(|(record, outcome)| {
            format!("{}: {}", record.url(), outcome.error().unwrap_or("failed"))
        })
        .collect();
    match reasons.is_empty() {
        true => Ok(notification.outcomes_json(&outcomes)),
        false => Err(InvocationError::Records {
            failed: reasons.len(),
            records: outcomes.len(),
            reasons,
        }),
    }
}

/// The scheduled job `csvgate serve` runs: a snapshot of every table into the backups location
/// (`CSVGATE_BACKUPS`), in `[backup] format` (AVRO by default), then a prune by its retention.
async fn backup(deployment: &Deployment) -> Result<Value, InvocationError> {
    let backups = deployment.backups.clone();
    let engines = deployment.engines.clone();
    let job = deployment.config.backup_job(backups, engines);
    let (made, pruned) = job.run().await?;
    tracing::info!(snapshots = made.len(), pruned = pruned.len(), "backup done");
    let snapshots: Vec<Value> = (made.iter())
        .map(|m| json!({"table": m.table, "id": m.id, "rows": m.rows}))
        .collect();
    Ok(json!({ "backups": snapshots, "pruned": pruned.len() }))
}
