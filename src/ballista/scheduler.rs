//! `csvgate ballista scheduler`: plans queries and hands their tasks to the executors.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use ballista_scheduler::state::SchedulerState;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use super::ClusterError;
use super::stores::Stores;

/// How often the scheduler looks at which executors are registered, to log changes.
const EXECUTOR_WATCH: Duration = Duration::from_millis(250);

/// Serves a scheduler on `listen` (port 0 picks a free one) until the process ends. `announce`
/// gets the address once it accepts connections.
pub async fn serve(
    listen: SocketAddr,
    stores: Stores,
    announce: impl FnOnce(SocketAddr),
) -> Result<(), ClusterError> {
    let bind_error = |source| ClusterError::Bind {
        address: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    // The scheduler plans over the files a client lists, so it reaches them as executors do.
    let config = SchedulerConfig::default()
        .with_hostname(address.ip().to_string())
        .with_port(address.port())
        // Ballista's default fills one executor's slots first; spreading the tasks lets every
        // executor read its share of the files.
        .with_task_distribution(TaskDistributionPolicy::RoundRobin)
        .with_override_session_builder(Arc::new(move |config| {
            let state = default_session_builder(config)?;
            stores.register_in(state.runtime_env());
            Ok(state)
        }));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config)).await?;
    tokio::spawn(log_executors(Arc::clone(&scheduler.state)));
    announce(address);
    Ok(start_grpc_service_with_listener(listener, scheduler).await?)
}

/// Logs the registered executors each time they change: how an operator (or a test) knows
/// the cluster is ready to run on all of them.
async fn log_executors(state: Arc<SchedulerState<LogicalPlanNode, PhysicalPlanNode>>) {
    let mut known = BTreeSet::new();
    loop {
        if let Ok(executors) = state.executor_manager.get_executors_state().await {
            let now: BTreeSet<String> = (executors.into_iter())
                .map(|(metadata, ..)| {
                    format!("{}@{}:{}", metadata.id, metadata.host, metadata.port)
                })
                .collect();
            if now != known {
                tracing::info!(executors = ?now, "{} executors registered", now.len());
                known = now;
            }
        }
        tokio::time::sleep(EXECUTOR_WATCH).await;
    }
}
