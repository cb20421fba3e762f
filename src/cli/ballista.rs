//! `csvgate ballista scheduler|executor`.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, Context};
use crate::ballista::executor::{self, ExecutorSettings};
use crate::ballista::scheduler;
use crate::ballista::stores::Stores;

#[derive(Debug, Subcommand)]
pub enum BallistaCommand {
    /// Plan queries and hand their tasks to the executors.
    Scheduler {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:50050")]
        listen: SocketAddr,
    },
    /// Run the tasks of a scheduler's queries.
    Executor(ExecutorSettings),
}

pub async fn run(context: &Context, command: BallistaCommand) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let stores = Stores::of(&deployment.pipeline.buckets.warehouse)?;
    match command {
        BallistaCommand::Scheduler { listen } => {
            let announce =
                |address| eprintln!("csvgate: ballista scheduler listening on df://{address}");
            scheduler::serve(listen, stores, announce).await?;
        }
        BallistaCommand::Executor(settings) => executor::run(settings, stores).await?,
    }
    Ok(ExitCode::SUCCESS)
}
