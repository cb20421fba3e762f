//! `csvgate sql`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::report::Engine;
use crate::report::adhoc;
use crate::report::format::{self, Format};

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query. In DataFusion: warehouse tables by name, the ledger as `runs`, landing files
    /// as `landing.<table>` (rows that would load) and `landing.<table>_invalid` (rows that
    /// would be rejected, with line and reason).
    pub query: String,
    /// Engine to run it in; mysql runs it in a read-only transaction; ballista sees the
    /// warehouse tables, not the landing files.
    #[arg(long, value_enum, default_value = "datafusion")]
    pub engine: Engine,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The Ballista scheduler for `--engine ballista`, `df://HOST:PORT`.
    #[arg(long, env = "CSVGATE_BALLISTA_SCHEDULER")]
    pub scheduler: Option<String>,
}

pub async fn run(context: &Context, args: SqlArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let engines = (deployment.engines.clone()).with_scheduler(args.scheduler);
    let (schema, batches) = match args.engine {
        Engine::Datafusion => {
            let landing = &deployment.pipeline.buckets.landing;
            adhoc::datafusion(&engines.warehouse, landing, &args.query).await?
        }
        Engine::Mysql => adhoc::mysql(engines.mysql()?, &args.query).await?,
        Engine::Ballista => {
            let query = &args.query;
            (engines.on_cluster(|ctx| async move { adhoc::read_only(&ctx, query).await })).await?
        }
    };
    format::write(
        args.format,
        &schema,
        &batches,
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
