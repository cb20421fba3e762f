//! `csvgate restore`: a table's contents replaced by one of its snapshots, or (warehouse) by
//! one of its own earlier versions.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::backup;
use crate::sink::delta::AsOf;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The table to restore.
    pub table: String,
    /// The snapshot's id (see `csvgate backups list`), or `latest`.
    #[arg(long, default_value = "latest")]
    pub snapshot: String,
    /// Instead of a snapshot, put the warehouse's table back to one of its versions (see
    /// `csvgate history`): a version number, or an RFC 3339 time for the version then.
    #[arg(long, conflicts_with = "snapshot")]
    pub as_of: Option<AsOf>,
    /// Restore even if rows would be left pointing at ids that are not there (the restore
    /// says which).
    #[arg(long)]
    pub force: bool,
}

pub async fn run(context: &Context, args: RestoreArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let table = deployment.dictionary().find(&args.table)?;
    let restored = match args.as_of {
        Some(as_of) => backup::restore_as_of(&deployment.engines, table, as_of, args.force).await?,
        None => {
            let target = deployment.pipeline.target.as_ref();
            let snapshot = Some(args.snapshot.as_str());
            (deployment.backups)
                .restore(target, table, snapshot, args.force)
                .await?
        }
    };
    for problem in &restored.dangling {
        eprintln!("csvgate: warning: restored with --force: {problem}");
    }
    if !context.quiet {
        println!(
            "{} restored from {}: {} rows (run {})",
            table.name, restored.from, restored.rows, restored.run_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
