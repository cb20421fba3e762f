//! `csvgate handle-event`.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};

use super::{CliError, Context};
use crate::event::{Notification, Outcome};
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct HandleEventArgs {
    /// The S3 object event (JSON: an S3 notification, EventBridge's Object Created, or either
    /// through SQS or SNS): a file, or `-` for standard input.
    #[arg(default_value = "-")]
    pub event: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(context: &Context, args: HandleEventArgs) -> Result<ExitCode, CliError> {
    let bytes = read(&args.event)?;
    let notification = Notification::parse(&bytes)
        .map_err(|error| CliError::Usage(format!("{}: {error}", args.event)))?;
    let deployment = context.deployment().await?;
    let outcomes = notification
        .process(&deployment.pipeline, &deployment.options)
        .await;
    if !context.quiet {
        let summary = summary(&notification, &outcomes)?;
        let out = &mut std::io::stdout().lock();
        format::write(args.format, &summary.schema(), &[summary], out)?;
    }
    for message in &notification.unreadable {
        eprintln!(
            "csvgate: queue message {}: {}",
            message.message_id, message.error
        );
    }
    match outcomes.iter().filter(|outcome| outcome.failed()).count() {
        0 if notification.unreadable.is_empty() => Ok(ExitCode::SUCCESS),
        0 => Ok(ExitCode::from(super::SOME_FAILED)),
        failed => {
            eprintln!(
                "csvgate: {failed} of {} records could not be loaded (see the error column)",
                outcomes.len()
            );
            Ok(ExitCode::from(super::SOME_FAILED))
        }
    }
}

fn read(source: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let read = match source {
        "-" => std::io::stdin().read_to_end(&mut bytes).map(|_| ()),
        path => std::fs::read(path).map(|read| bytes = read),
    };
    read.map_err(|error| CliError::Usage(format!("{source}: {error}")))?;
    Ok(bytes)
}

/// One row per record: key, event, status, table, row counts, error.
fn summary(
    notification: &Notification,
    outcomes: &[Outcome],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let records = &notification.records;
    let text = |values: Vec<Option<String>>| Arc::new(StringArray::from(values)) as ArrayRef;
    let count = |get: fn(&crate::ledger::Entry) -> u64| {
        let values: Vec<Option<u64>> = outcomes.iter().map(|o| o.entry().map(get)).collect();
        Arc::new(UInt64Array::from(values)) as ArrayRef
    };
    RecordBatch::try_from_iter([
        (
            "key",
            text(records.iter().map(|r| Some(r.key.clone())).collect()),
        ),
        (
            "event",
            text(records.iter().map(|r| Some(r.event_name.clone())).collect()),
        ),
        (
            "status",
            text(
                outcomes
                    .iter()
                    .map(|o| Some(o.status().to_owned()))
                    .collect(),
            ),
        ),
        (
            "table_name",
            text(
                outcomes
                    .iter()
                    .map(|o| o.entry().map(|e| e.table.clone()))
                    .collect(),
            ),
        ),
        ("rows_read", count(|entry| entry.rows_read)),
        ("rows_valid", count(|entry| entry.rows_valid)),
        ("rows_invalid", count(|entry| entry.rows_invalid)),
        (
            "error",
            text(
                outcomes
                    .iter()
                    .map(|o| o.error().map(str::to_owned))
                    .collect(),
            ),
        ),
    ])
}
