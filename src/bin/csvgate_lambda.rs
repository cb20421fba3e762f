//! `csvgate-lambda`: the AWS Lambda function of the first AWS version's architecture. Each
//! invocation is an S3 object event of the landing bucket (directly, from EventBridge, or through
//! SQS or SNS), the weekly backup or the database bootstrap (see `csvgate::lambda`).
//!
//! Configuration comes from the environment (`CSVGATE_*`, the AWS settings), `csvgate.toml`
//! when the package has one, and SSM Parameter Store (`CSVGATE_SSM_PREFIX`), read once per
//! process, as is the contract (`CSVGATE_CONTRACT`, an `s3://` URL in the template): a warm function reuses the deployment, its kept tables and its MySQL pool. Logs
//! are JSON lines for CloudWatch, each with the run id of the object it is about.

use csvgate::config::{Config, ConfigFile, Layers};
use csvgate::deployment::Deployment;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let logs = csvgate::logs::json_lines(csvgate::lambda::LOG_FILTER, std::io::stdout);
    tracing::subscriber::set_global_default(logs)?;
    let deployment = match deployment().await {
        Ok(deployment) => &*Box::leak(Box::new(deployment)),
        Err(error) => {
            tracing::error!(%error, "the function cannot start");
            return Err(error);
        }
    };
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

/// The deployment the configuration describes, its contract read.
async fn deployment() -> Result<Deployment, Error> {
    let layers = Layers::with_process_env(Default::default(), ConfigFile::load(None)?);
    let config = Config::resolve(layers)?
        .with_ssm()
        .await?
        .with_contract()
        .await?;
    Ok(Deployment::open(config)?)
}
