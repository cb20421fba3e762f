//! `csvgate ballista executor`: runs the tasks a scheduler hands it, reading the warehouse's
//! files from the shared location.

use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use super::ClusterError;
use super::stores::Stores;

/// Where an executor listens and which scheduler it joins.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorSettings {
    /// The scheduler to join, `df://HOST:PORT`.
    #[arg(long, env = "CSVGATE_BALLISTA_SCHEDULER")]
    pub scheduler: String,
    /// Address to bind, which the scheduler, other executors (they fetch shuffle data from
    /// this one) and clients reach this executor at.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Arrow Flight port (results and shuffle data).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port the scheduler pushes tasks to.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks run at once [default: one per core].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub vcores: usize,
    /// Folder for shuffle files and spills [default: one of this process's in the system's
    /// temporary folder, so that executors on one host never share one].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// Runs an executor until the process ends.
pub async fn run(settings: ExecutorSettings, stores: Stores) -> Result<(), ClusterError> {
    let (scheduler_host, scheduler_port) = super::scheduler_address(&settings.scheduler)?;
    let work_dir = match &settings.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("csvgate-executor-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir).map_err(|source| ClusterError::WorkDir {
        path: work_dir.clone(),
        source,
    })?;
    let spill_dir = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: settings.host.clone(),
        external_host: Some(settings.host),
        port: settings.port,
        grpc_port: settings.grpc_port,
        scheduler_host,
        scheduler_port,
        vcores: settings.vcores,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        override_runtime_producer: Some(Arc::new(move |_config| {
            let runtime = RuntimeEnvBuilder::new()
                .with_temp_file_path(spill_dir.clone())
                .build()?;
            stores.register_in(&runtime);
            Ok(Arc::new(runtime))
        })),
        ..ExecutorProcessConfig::default()
    };
    Ok(start_executor_process(Arc::new(config)).await?)
}
