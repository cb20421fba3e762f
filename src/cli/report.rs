//! `csvgate report`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::report::format::{self, Format};
use crate::report::{DEFAULT_YEAR, Engine, Report};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// q1: hires by department, job and quarter; q2: departments hiring above the mean.
    #[arg(value_enum)]
    pub report: Report,
    #[arg(long, default_value_t = DEFAULT_YEAR)]
    pub year: i32,
    /// Engine to ask [default: mysql when a MySQL target is configured, else datafusion].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The Ballista scheduler for `--engine ballista`, `df://HOST:PORT`.
    #[arg(long, env = "CSVGATE_BALLISTA_SCHEDULER")]
    pub scheduler: Option<String>,
}

pub async fn run(context: &Context, args: ReportArgs) -> Result<ExitCode, CliError> {
    let engines = (context.deployment().await?.engines).with_scheduler(args.scheduler);
    let answer = engines.answer(args.report, args.year, args.engine).await?;
    format::write(
        args.format,
        &answer.schema(),
        &[answer],
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
