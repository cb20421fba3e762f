//! `csvgate ballista scheduler|executor`.

use std::net::SocketAddr;
use std::path::PathBuf;
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
    Executor {
        /// The scheduler to join, `df://HOST:PORT`.
        #[arg(long, env = "CSVGATE_BALLISTA_SCHEDULER")]
        scheduler: String,
        /// Address to bind, which the scheduler and other executors reach this one at.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Arrow Flight port (results and shuffle data).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port the scheduler pushes tasks to.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once [default: one per core].
        #[arg(long, default_value_t = 0)]
        vcores: usize,
        /// Folder for shuffle files and spills [default: one of this process's in the
        /// system's temporary folder].
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
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
        BallistaCommand::Executor {
            scheduler,
            host,
            port,
            grpc_port,
            vcores,
            work_dir,
        } => {
            let settings = ExecutorSettings {
                scheduler,
                host,
                port,
                grpc_port,
                vcores,
                work_dir,
            };
            executor::run(settings, stores).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
