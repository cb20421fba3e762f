//! `csvgate backup` and `csvgate backups list|verify|prune`.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::backup::{self, Backups, Retention, manifest};
use crate::dictionary::{NoSuchTable, Table};
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A table to back up (repeat for more) [default: every table].
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// The snapshot's file format.
    #[arg(long, value_enum, default_value_t)]
    pub format: backup::Format,
    /// How the list of snapshots made is printed.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// The complete snapshots in the backups location, oldest first.
    List {
        #[arg(long)]
        table: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check a snapshot: its schema against the dictionary, its file's size and SHA-256
    /// against the manifest, and its rows by decoding it.
    Verify {
        table: String,
        /// The snapshot's id [default: the table's latest].
        #[arg(long)]
        snapshot: Option<String>,
    },
    /// Remove old snapshots: keep each table's last N, and the newest of each of its W most
    /// recent ISO weeks (UTC) that have one; prints what it removes.
    Prune {
        #[arg(long, default_value_t = 0)]
        keep_last: usize,
        #[arg(long, default_value_t = 0)]
        keep_weekly: usize,
        /// Only this table's snapshots.
        #[arg(long)]
        table: Option<String>,
        /// Print what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub async fn run(context: &Context, args: BackupArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let tables = deployment.dictionary().select(&args.tables)?;
    let made = (deployment.backups)
        .backup_target(&deployment.engines, &tables, args.format)
        .await?;
    print(&made, args.output)
}

pub async fn backups(context: &Context, command: BackupsCommand) -> Result<ExitCode, CliError> {
    let backups = context.deployment_without_ssm().await?.backups;
    match command {
        BackupsCommand::List { table, format } => {
            let table = only(&backups, table.as_deref())?;
            print(&backups.list(table).await?, format)
        }
        BackupsCommand::Verify { table, snapshot } => {
            let table = backups.dictionary.find(&table)?;
            let manifest = backups.find(table, snapshot.as_deref()).await?;
            let rows = backups.verify(&manifest).await?;
            if !context.quiet {
                println!("{} snapshot {}: ok, {rows} rows", table.name, manifest.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupsCommand::Prune {
            keep_last,
            keep_weekly,
            table,
            dry_run,
            format,
        } => {
            let retention = Retention {
                keep_last,
                keep_weekly,
            };
            let table = only(&backups, table.as_deref())?;
            print(&backups.prune(table, retention, dry_run).await?, format)
        }
    }
}

/// The table `--table` names, if it names one.
fn only<'a>(backups: &'a Backups, name: Option<&str>) -> Result<Option<&'a Table>, NoSuchTable> {
    let table = name.map(|name| backups.dictionary.find(name));
    Ok(table.transpose()?.map(AsRef::as_ref))
}

fn print(manifests: &[backup::Manifest], format: Format) -> Result<ExitCode, CliError> {
    let batch = manifest::to_batch(manifests)?;
    format::write(
        format,
        &batch.schema(),
        &[batch],
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
