//! `csvgate vacuum`: warehouse data files past each table's retention removed, its rollups'
//! too, and the ledger's when every table is vacuumed.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{CliError, Context};
use crate::sink::delta::{LEDGER_TABLE, Vacuumed};

#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Tables to vacuum [default: every table, and the ledger].
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
        match vacuumed {
            Some(vacuumed) => print_vacuumed(&table.name, &vacuumed),
            None => println!("{}: not created yet", table.name),
        }
        let rollups = warehouse.vacuum_rollups(&table, retention, args.force, args.dry_run);
        for (folder, vacuumed) in rollups.await? {
            print_vacuumed(&folder, &vacuumed);
        }
    }
    if args.tables.is_empty() {
        let ledger = warehouse.vacuum_ledger(retention, args.force, args.dry_run);
        if let Some(vacuumed) = ledger.await? {
            print_vacuumed(LEDGER_TABLE, &vacuumed);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_vacuumed(folder: &str, vacuumed: &Vacuumed) {
    let verb = if vacuumed.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!("{folder}: {verb} {} files", vacuumed.files.len());
    for file in &vacuumed.files {
        println!("  {file}");
    }
}
