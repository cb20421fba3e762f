//! `csvgate-lambda`: the AWS Lambda function of the seed's architecture. Each invocation is an
//! S3 event notification of the landing bucket (see `csvgate::lambda`).
//!
//! Configuration comes from the environment (`CSVGATE_*`, the AWS settings) and
//! `csvgate.toml` when the package has one, read once per process: a warm function reuses the
//! deployment, its kept tables and its MySQL pool. Logs are JSON lines for CloudWatch.

use csvgate::config::{Config, FileConfig, Overrides};
use csvgate::deployment::Deployment;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let filter = EnvFilter::try_from_env("CSVGATE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,csvgate=info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .init();
    let file = FileConfig::load(None)?;
    let config = Config::resolve(Overrides::from_env(), file);
    let deployment = &*Box::leak(Box::new(Deployment::open(config)?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let request_id = event.context.request_id.clone();
        let outcome = csvgate::lambda::handle(deployment, event.payload).await;
        if let Err(error) = &outcome {
            tracing::error!(request_id, %error, "invocation failed");
        }
        outcome.map_err(Error::from)
    }))
    .await
}
