//! The one-time database bootstrap a deployer runs through the function (`{"csvgate":
//! "db-init"}`), since the database admits nothing else: the schema, as `csvgate db init`, and
//! on request a least-privilege application user. CloudFormation cannot create SecureString
//! parameters, so the user's generated password goes into SSM from here, as SecureStrings below
//! the deployment's prefix (`app/user`, `app/password`); the function then reads them when
//! told to (`CSVGATE_SSM_USER=app/user`, `CSVGATE_SSM_PASSWORD=app/password`). The master
//! user's parameters stay the deployer's, and the password is never printed.

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use serde_json::{Value, json};

use crate::config::Key;
use crate::deployment::Deployment;
use crate::sink::{Health, SinkError};

/// Below the SSM prefix: where the application user's name and password go.
pub const APP_USER: &str = "app/user";
pub const APP_PASSWORD: &str = "app/password";

/// Why the bootstrap stopped.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("db-init: no MySQL target is configured (CSVGATE_TARGET or the SSM prefix)")]
    NoDatabase,
    #[error("db-init: {0}")]
    Database(#[from] SinkError),
    #[error(
        "db-init: an app user's credentials go below the SSM prefix, and none is set (CSVGATE_SSM_PREFIX)"
    )]
    NoPrefix,
    #[error("db-init: storing {name} in SSM Parameter Store: {reason}")]
    Store { name: String, reason: String },
    #[error("db-migrate: {0}")]
    Migrate(SinkError),
}

/// Creates the schema and, when `app_user` names one, the application user and its SSM
/// parameters; what was done, without any secret.
pub async fn run(deployment: &Deployment, app_user: Option<&str>) -> Result<Value, BootstrapError> {
    let mysql = deployment.mysql().ok_or(BootstrapError::NoDatabase)?;
    let version = mysql.init().await?;
    let database = mysql.describe();
    tracing::info!(database, version, "schema ready");
    let mut answer = json!({ "database": database, "schema_version": version });
    if let Some(name) = app_user {
        let prefix = (deployment.config.get(Key::SsmPrefix)).ok_or(BootstrapError::NoPrefix)?;
        let password = mysql.create_app_user(name).await?;
        let stored = store(
            prefix,
            [(APP_USER, name), (APP_PASSWORD, password.as_str())],
        )
        .await?;
        answer["app_user"] = name.into();
        answer["ssm_parameters"] = stored.into();
    }
    Ok(answer)
}

/// `csvgate db migrate` through the function (`{"csvgate": "db-migrate", "apply": true}`), for
/// a database nothing else reaches: the statements that bring it to the contract, run when
/// `apply`. Altering tables takes the master user's grants, not the application user's.
pub async fn migrate(deployment: &Deployment, apply: bool) -> Result<Value, BootstrapError> {
    let mysql = deployment.mysql().ok_or(BootstrapError::NoDatabase)?;
    let statements = match apply {
        true => mysql.migrate().await,
        false => mysql.migration().await,
    };
    let statements = statements.map_err(BootstrapError::Migrate)?;
    let database = mysql.describe();
    tracing::info!(database, statements = statements.len(), apply, "migration");
    Ok(json!({ "database": database, "statements": statements, "applied": apply }))
}

/// Puts each value as a SecureString (the account's `aws/ssm` key) at `prefix/name`, replacing
/// an older one; the full names.
async fn store(prefix: &str, values: [(&str, &str); 2]) -> Result<Vec<String>, BootstrapError> {
    let client = crate::config::ssm_client().await;
    let mut names = Vec::new();
    for (name, value) in values {
        let full = format!("{}/{name}", prefix.trim_end_matches('/'));
        let put = client
            .put_parameter()
            .name(&full)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send();
        put.await.map_err(|error| BootstrapError::Store {
            name: full.clone(),
            reason: DisplayErrorContext(error).to_string(),
        })?;
        names.push(full);
    }
    Ok(names)
}
