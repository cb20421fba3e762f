//! `csvgate vacuum`: warehouse data files past each table's retention removed.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{CliError, Context};

#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Tables to vacuum [default: every table].
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// Keep what versions of the last HOURS need [default: the table's
    /// `delta.deletedFileRetentionDuration`, 7 days].
    #[arg(long)]
    pub retention_hours: Option<u64>,
    /// Accept a retention shorter than the table's: older versions stop being restorable.
    #[arg(long)]
    pub force: bool,
    /// Print what would be removed, removing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(context: &Context, args: VacuumArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let tables = deployment.dictionary().select(&args.tables)?;
    let retention = args
        .retention_hours
        .map(|hours| Duration::from_secs(hours * 3600));
    let warehouse = &deployment.engines.warehouse;
    for table in tables {
        let vacuumed = (warehouse.vacuum(&table, retention, args.force, args.dry_run)).await?;
        let verb = if vacuumed.dry_run {
            "would remove"
        } else {
            "removed"
        };
        println!("{}: {verb} {} files", table.name, vacuumed.files.len());
        for file in &vacuumed.files {
            println!("  {file}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
