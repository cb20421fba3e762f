//! `csvgate runs`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::ledger;
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Show only the most recent entries.
    #[arg(long)]
    pub last: Option<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(context: &Context, args: RunsArgs) -> Result<ExitCode, CliError> {
    let mut entries = context.deployment().await?.pipeline.target.runs().await?;
    if let Some(last) = args.last {
        entries.drain(..entries.len().saturating_sub(last));
    }
    let batch = ledger::to_batch(&entries)?;
    format::write(
        args.format,
        &ledger::schema(),
        &[batch],
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
