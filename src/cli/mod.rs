//! The command line: parses flags, builds the deployment, prints. No decisions live here.

mod backup;
#[cfg(feature = "ballista")]
mod ballista;
mod config;
mod db;
mod generate;
mod handle_event;
mod history;
mod ingest;
mod report;
mod restore;
mod runs;
mod serve;
mod sql;
mod vacuum;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Config, ConfigError, FileConfig, Overrides};
use crate::deployment::{Deployment, DeploymentError};
use crate::pipeline::PipelineError;
use crate::sink::SinkError;
use crate::store::StoreError;

/// Validate CSV files from an object store and load them into a Delta Lake warehouse.
#[derive(Debug, Parser)]
#[command(name = "csvgate", version)]
pub struct Cli {
    /// Configuration file [default: ./csvgate.toml when it exists].
    #[arg(long, global = true, env = "CSVGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Landing bucket: a folder or URL [default: ./csvgate-data/landing].
    #[arg(long, global = true, env = "CSVGATE_LANDING")]
    pub landing: Option<String>,
    /// Invalid bucket, for rejected rows [default: ./csvgate-data/invalid].
    #[arg(long, global = true, env = "CSVGATE_INVALID")]
    pub invalid: Option<String>,
    /// Delta Lake warehouse root [default: ./csvgate-data/warehouse].
    #[arg(long, global = true, env = "CSVGATE_WAREHOUSE")]
    pub warehouse: Option<String>,
    /// Target for valid rows: `mysql://user@host:3306/db` [default: the Delta warehouse].
    #[arg(long, global = true, env = "CSVGATE_TARGET")]
    pub target: Option<String>,
    /// Password of the MySQL target (better from the environment than on a command line).
    #[arg(
        long,
        global = true,
        env = "CSVGATE_TARGET_PASSWORD",
        hide_env_values = true
    )]
    pub target_password: Option<String>,
    /// With a MySQL target, also keep the Delta warehouse loaded.
    #[arg(long, global = true, env = "CSVGATE_MIRROR_PARQUET")]
    pub mirror_parquet: bool,
    /// SSM Parameter Store path of the MySQL target's host, port, name, user and password
    /// (`/globant/db`), for what --target and --target-password leave unset.
    #[arg(long, global = true, env = "CSVGATE_SSM_PREFIX")]
    pub ssm_prefix: Option<String>,
    /// Where backups go: a folder or URL [default: ./csvgate-data/backups].
    #[arg(long, global = true, env = "CSVGATE_BACKUPS")]
    pub backups: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short, global = true, env = "CSVGATE_QUIET")]
    pub quiet: bool,
    /// Log lines as JSON (for log collectors) instead of text.
    #[arg(long, global = true, env = "CSVGATE_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
    /// The global settings above whose value came from a `CSVGATE_*` variable.
    #[arg(skip)]
    pub from_env: Vec<&'static str>,
}

impl Cli {
    /// Parses the command line (exiting on an error, as clap does), noting which global
    /// settings came from the environment, for `csvgate config show`.
    pub fn parse_noting_env() -> Cli {
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        cli.from_env = crate::config::OVERRIDABLE
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| matches.value_source(id) == Some(ValueSource::EnvVariable))
            .collect();
        cli
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and load files: each path is a file or a folder of `.csv` files.
    Ingest(ingest::IngestArgs),
    /// Process the objects an S3 event notification names (JSON from a file or stdin).
    HandleEvent(handle_event::HandleEventArgs),
    /// List processed object versions from the ledger.
    Runs(runs::RunsArgs),
    /// Write a deterministic hired_employees file with realistic invalid rows.
    Gen(generate::GenArgs),
    /// Answer a business question (q1, q2) from the warehouse or MySQL.
    Report(report::ReportArgs),
    /// Run SQL over the warehouse and the landing files (or on MySQL).
    Sql(sql::SqlArgs),
    /// Serve the HTTP API: uploads (PUT /{bucket}/{key}), runs, reports.
    Serve(serve::ServeArgs),
    /// Print the API's OpenAPI 3 document (the committed openapi.json).
    Openapi,
    /// Show the effective configuration: each setting, its value and where it came from.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Snapshot tables into the backups location (AVRO or Parquet, with a manifest).
    Backup(backup::BackupArgs),
    /// The snapshots in the backups location: list, verify, prune.
    #[command(subcommand)]
    Backups(backup::BackupsCommand),
    /// Replace a table's contents with one of its snapshots, verified first, in one commit,
    /// or (warehouse) with one of its earlier versions.
    Restore(restore::RestoreArgs),
    /// A warehouse table's versions: operation, time and the run that made each.
    History(history::HistoryArgs),
    /// Remove warehouse data files no version within the table's retention needs (files of
    /// replaced rows, orphans of failed commits).
    Vacuum(vacuum::VacuumArgs),
    /// Manage the MySQL schema.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Run a process of a Ballista cluster for `--engine ballista`: the scheduler or an
    /// executor, reading the warehouse this configuration names.
    #[cfg(feature = "ballista")]
    #[command(subcommand)]
    Ballista(ballista::BallistaCommand),
}

impl Command {
    /// Whether this command runs until stopped (a server or a cluster process), whose log
    /// is its record of what it did.
    pub fn is_long_running(&self) -> bool {
        match self {
            Command::Serve(_) => true,
            #[cfg(feature = "ballista")]
            Command::Ballista(_) => true,
            _ => false,
        }
    }
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    #[cfg(feature = "ballista")]
    #[error(transparent)]
    Cluster(#[from] crate::ballista::ClusterError),
    #[error("writing output: {0}")]
    Output(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the parsed command; the exit code says whether every object was processed.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let overrides = Overrides {
        landing: cli.landing,
        invalid: cli.invalid,
        warehouse: cli.warehouse,
        target: cli.target,
        target_password: cli.target_password,
        mirror_parquet: cli.mirror_parquet,
        ssm_prefix: cli.ssm_prefix,
        backups: cli.backups,
        from_env: cli.from_env,
    };
    let context = Context {
        config: Config::resolve(overrides, file),
        quiet: cli.quiet,
        interactive: std::io::stderr().is_terminal(),
    };
    match cli.command {
        Command::Ingest(args) => ingest::run(&context, args).await,
        Command::HandleEvent(args) => handle_event::run(&context, args).await,
        Command::Runs(args) => runs::run(&context, args).await,
        Command::Gen(args) => generate::run(&context, args),
        Command::Db(command) => db::run(&context, command).await,
        Command::Backup(args) => backup::run(&context, args).await,
        Command::Backups(command) => backup::backups(&context, command).await,
        Command::Restore(args) => restore::run(&context, args).await,
        Command::History(args) => history::run(&context, args).await,
        Command::Vacuum(args) => vacuum::run(&context, args).await,
        Command::Config(command) => config::run(&context, command).await,
        Command::Report(args) => report::run(&context, args).await,
        Command::Sql(args) => sql::run(&context, args).await,
        Command::Serve(args) => serve::run(&context, args).await,
        #[cfg(feature = "ballista")]
        Command::Ballista(command) => ballista::run(&context, command).await,
        Command::Openapi => {
            let document = crate::api::openapi::document();
            println!(
                "{}",
                serde_json::to_string_pretty(&document).expect("JSON values print")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What every command gets from the global flags.
struct Context {
    config: Config,
    quiet: bool,
    interactive: bool,
}

impl Context {
    /// The configuration with SSM's layer applied: asked for only by commands that need it.
    async fn full_config(&self) -> Result<Config, CliError> {
        Ok(self.config.clone().with_ssm().await?)
    }

    /// The deployment the configuration describes, built as every other entry point builds it.
    async fn deployment(&self) -> Result<Deployment, CliError> {
        Ok(Deployment::open(self.full_config().await?)?)
    }
}
