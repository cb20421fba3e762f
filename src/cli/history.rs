//! `csvgate history`: a warehouse table's versions, with the operation and the csvgate run
//! that made each.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};

use super::{CliError, Context};
use crate::report::format::{self, Format};
use crate::sink::delta::Commit;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub table: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(context: &Context, args: HistoryArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let table = deployment.dictionary().find(&args.table)?;
    let commits = deployment.engines.warehouse.history(table).await?;
    let batch = to_batch(&commits)?;
    let mut out = std::io::stdout().lock();
    format::write(args.format, &batch.schema(), &[batch], &mut out)?;
    Ok(ExitCode::SUCCESS)
}

/// Commits as a table, newest first.
fn to_batch(commits: &[Commit]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let text = |value: fn(&Commit) -> Option<String>| -> ArrayRef {
        Arc::new(commits.iter().map(value).collect::<StringArray>())
    };
    let versions: UInt64Array = commits.iter().map(|commit| commit.version).collect();
    RecordBatch::try_from_iter([
        ("version", Arc::new(versions) as ArrayRef),
        ("timestamp", text(|c| c.timestamp.map(|at| at.to_rfc3339()))),
        ("operation", text(|c| Some(c.operation.clone()))),
        ("run_id", text(|c| c.run.clone())),
        ("object", text(|c| c.object.clone())),
    ])
}
