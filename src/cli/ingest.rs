//! `csvgate ingest`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::deployment::Deployment;
use crate::ledger::{self, Status};
use crate::pipeline::IngestOptions;
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders to load [default: the landing bucket].
    pub paths: Vec<String>,
    /// Load into this table instead of telling it from each file's name or folder.
    #[arg(long)]
    pub table: Option<String>,
    /// Process files again even when the ledger says they are loaded.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Columns of a ledger entry worth showing right after a run.
const SUMMARY_COLUMNS: [&str; 8] = [
    "key",
    "table_name",
    "status",
    "rows_read",
    "rows_valid",
    "rows_invalid",
    "invalid_object",
    "error",
];

pub async fn run(context: &Context, args: IngestArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let options = options(context, &deployment, &args)?;
    let entries = deployment.pipeline.ingest(&args.paths, &options).await?;
    if !context.quiet {
        let batch = ledger::to_batch(&entries)?;
        let indices: Vec<usize> = SUMMARY_COLUMNS
            .iter()
            .map(|name| batch.schema().index_of(name))
            .collect::<Result<_, _>>()?;
        let summary = batch.project(&indices)?;
        format::write(
            args.format,
            &summary.schema(),
            &[summary],
            &mut std::io::stdout().lock(),
        )?;
    }
    let failed = entries
        .iter()
        .filter(|entry| entry.status == Status::Failed)
        .count();
    if failed > 0 {
        eprintln!(
            "csvgate: {failed} of {} objects could not be loaded (see the error column)",
            entries.len()
        );
        return Ok(ExitCode::from(super::SOME_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The deployment's options with this command's flags over them.
fn options(
    context: &Context,
    deployment: &Deployment,
    args: &IngestArgs,
) -> Result<IngestOptions, CliError> {
    let table = match &args.table {
        Some(name) => Some(
            deployment
                .dictionary()
                .find(name)
                .cloned()
                .map_err(|unknown| CliError::Usage(format!("--table {name}: {unknown}")))?,
        ),
        None => None,
    };
    let workers = deployment.options.workers;
    Ok(IngestOptions {
        table,
        force: args.force,
        // One bar at a time: bars of loads running together would overwrite each other.
        progress: context.interactive && !context.quiet && workers <= 1,
        ..deployment.options.clone()
    })
}
