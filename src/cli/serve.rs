//! `csvgate serve`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::api::Auth;
use crate::config::Key;
use crate::deployment::Shutdown;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Accept every request without a key. For local use only.
    #[arg(long)]
    pub insecure_no_auth: bool,
}

pub async fn run(context: &Context, args: ServeArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let auth = Auth::configured(&deployment.config, args.insecure_no_auth).ok_or_else(|| {
        let keys = Key::ApiKeys.setting().ways_to_set();
        CliError::Usage(format!(
            "serve needs an API key ({keys}), or --insecure-no-auth for local use"
        ))
    })?;
    if matches!(auth, Auth::Off) {
        eprintln!("csvgate: WARNING: --insecure-no-auth: no API key is checked");
    }
    let listen = deployment.config.value(Key::Listen);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| CliError::Usage(format!("api.listen {listen}: {error}")))?;
    eprintln!("csvgate: listening on http://{}", listener.local_addr()?);
    deployment
        .serve(listener, auth, Shutdown::on_signals())
        .await?;
    Ok(ExitCode::SUCCESS)
}
