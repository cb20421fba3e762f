//! `csvgate serve`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{CliError, Context};
use crate::api::{self, Api, Auth, PublicPaths};
use crate::backup::Backups;
use crate::backup::schedule::{Job, Schedule};
use crate::config::BackupConfig;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; port 0 picks a free one].
    #[arg(long, env = "CSVGATE_LISTEN")]
    pub listen: Option<String>,
    /// The bucket name in `PUT /{bucket}/{key}` [default: an S3 landing location's bucket,
    /// else globant-landing].
    #[arg(long, env = "CSVGATE_API_BUCKET")]
    pub bucket: Option<String>,
    /// Largest upload accepted, in bytes [default: 1 GiB].
    #[arg(long, env = "CSVGATE_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// API keys accepted (comma-separated in the environment).
    #[arg(
        long = "api-key",
        env = "CSVGATE_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Let reads (runs, reports) through without a key.
    #[arg(long)]
    pub open_reads: bool,
    /// Accept every request without a key. For local use only.
    #[arg(long)]
    pub insecure_no_auth: bool,
}

pub async fn run(context: &Context, args: ServeArgs) -> Result<ExitCode, CliError> {
    let deployment = context.deployment().await?;
    let config = &deployment.config.api;
    let auth = auth(&args, config)?;
    let (queue, worker) = deployment.start_queue().await?;
    let listen = args
        .listen
        .or_else(|| config.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|error| CliError::Usage(format!("--listen {listen}: {error}")))?;
    eprintln!("csvgate: listening on http://{}", listener.local_addr()?);
    let limits = config.server_limits();
    let backups = Backups::open(&deployment.config)?;
    let buckets = &deployment.pipeline.buckets;
    let public_paths = PublicPaths::of(&[
        ("landing", &buckets.landing),
        ("invalid", &buckets.invalid),
        ("warehouse", &buckets.warehouse),
        ("backups", &backups.location),
    ]);
    let api = Api {
        queue: Arc::clone(&queue),
        engines: deployment.engines.clone(),
        bucket: args
            .bucket
            .or_else(|| config.bucket.clone())
            .or_else(|| s3_bucket_name(queue.landing()))
            .unwrap_or_else(|| api::DEFAULT_BUCKET.into()),
        max_upload_bytes: args
            .max_upload_bytes
            .or(config.max_upload_bytes)
            .unwrap_or(api::DEFAULT_MAX_UPLOAD_BYTES),
        auth,
        backups,
        target: Arc::clone(&deployment.pipeline.target),
        limits,
        upload_slots: Arc::new(tokio::sync::Semaphore::new(limits.max_uploads)),
        public_paths,
    };
    let scheduled = schedule_backups(&api, &deployment.config.backup)?;
    let stopping = Arc::clone(&queue);
    let (signalled, mut signal) = tokio::sync::oneshot::channel();
    api::serve(listener, api, async move {
        shutdown_signal().await;
        tracing::warn!("shutting down: no new requests; finishing the run in progress");
        stopping.close();
        let _ = signalled.send(tokio::time::Instant::now());
    })
    .await?;
    let deadline = signal.try_recv().map_or_else(
        |_| tokio::time::Instant::now(),
        |at| at + limits.shutdown_deadline,
    );
    // A scheduled backup in flight is dropped: without its manifest it is never listed.
    if let Some(scheduled) = scheduled {
        scheduled.abort();
    }
    // Runs still queued stay queued in the ledger and resume at the next start. A run still in
    // progress at the deadline is abandoned: its load never committed, so the next start
    // runs it again from its `queued` entry.
    if tokio::time::timeout_at(deadline, worker).await.is_err() {
        tracing::warn!(
            "shutdown deadline reached with a run in progress; it runs again at the next start"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the backup schedule of `[backup]`, unless it is `off`.
fn schedule_backups(
    api: &Api,
    config: &BackupConfig,
) -> Result<Option<tokio::task::JoinHandle<()>>, CliError> {
    let Some(schedule) = Schedule::parse(config.schedule())? else {
        return Ok(None);
    };
    let job = Job::configured(api.backups.clone(), api.engines.clone(), config);
    Ok(Some(tokio::spawn(job.run_on(schedule))))
}

/// An S3 landing location's bucket: the name clients PUT into unless told otherwise.
fn s3_bucket_name(landing: &crate::store::Location) -> Option<String> {
    landing
        .is_s3()
        .then(|| landing.url.host_str().map(str::to_owned))
        .flatten()
}

fn auth(args: &ServeArgs, config: &crate::config::ApiConfig) -> Result<Auth, CliError> {
    if args.insecure_no_auth {
        tracing::warn!(
            "--insecure-no-auth: API keys are OFF; anyone who can reach this port can upload and read"
        );
        eprintln!("csvgate: WARNING: --insecure-no-auth: no API key is checked");
        return Ok(Auth::Off);
    }
    let keys: Vec<String> = args
        .api_keys
        .iter()
        .chain(&config.api_keys)
        .filter(|key| !key.is_empty())
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(CliError::Usage(
            "serve needs an API key (--api-key, CSVGATE_API_KEYS or [api] api_keys), or --insecure-no-auth for local use".into(),
        ));
    }
    Ok(Auth::Keys {
        keys: Arc::new(keys),
        open_reads: args.open_reads || config.open_reads,
    })
}

/// Ctrl-C, or SIGTERM as a service manager sends it.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
