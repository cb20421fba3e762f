//! `csvgate check`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::check;
use crate::report::Engine;
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check this table only [default: every table].
    #[arg(long)]
    pub table: Option<String>,
    /// Engine the rules' queries run in [default: mysql when a MySQL target is configured,
    /// else datafusion].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(context: &Context, args: CheckArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let dictionary = deployment.dictionary();
    let tables = match &args.table {
        Some(name) => vec![dictionary.find(name)?.clone()],
        None => dictionary.tables().to_vec(),
    };
    let mut outcomes = Vec::new();
    let mut could_not_run = 0;
    for table in &tables {
        outcomes.extend(check::check_table(&deployment.engines, args.engine, table).await);
        outcomes.push(check::stored_rows(&deployment.engines, args.engine, table).await);
        for (outcome, not_run) in
            check::check_rollups(&deployment.engines, args.engine, table).await
        {
            could_not_run += usize::from(not_run);
            outcomes.push(outcome);
        }
    }
    let batch = check::to_batch(&outcomes)?;
    format::write(
        args.format,
        &check::schema(),
        &[batch],
        &mut std::io::stdout().lock(),
    )?;
    if could_not_run > 0 {
        eprintln!("csvgate: {could_not_run} rollups could not be checked (see the error column)");
        return Ok(ExitCode::from(super::COULD_NOT_RUN));
    }
    let failed = outcomes.iter().filter(|outcome| !outcome.passed).count();
    if failed > 0 {
        eprintln!(
            "csvgate: {failed} of {} checks do not hold (see the value and error columns)",
            outcomes.len()
        );
        return Ok(ExitCode::from(super::SOME_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
