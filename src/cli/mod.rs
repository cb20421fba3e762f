//! The command line: parses flags, builds the deployment, prints. No decisions live here.

mod backup;
#[cfg(feature = "ballista")]
mod ballista;
mod check;
mod config;
mod contract;
mod db;
mod flags;
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

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{FromArgMatches, Parser, Subcommand};

use crate::config::{Config, ConfigError, ConfigFile, Layers, Raw};
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
    /// Print nothing but errors.
    #[arg(long, short, global = true, env = "CSVGATE_QUIET")]
    pub quiet: bool,
    /// Log lines as JSON (for log collectors) instead of text.
    #[arg(long, global = true, env = "CSVGATE_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
    /// The settings given as flags (each setting's flag comes from the settings list).
    #[arg(skip)]
    pub flags: BTreeMap<&'static str, Raw>,
}

impl Cli {
    /// Parses the command line, exiting on an error as clap does.
    pub fn parse_with_settings() -> Cli {
        let matches = flags::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        cli.flags = flags::given(&matches);
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
    /// Answer a named report (q1, q2, or a team's own; --list) from the warehouse or MySQL.
    Report(report::ReportArgs),
    /// Check the contract's dataset rules (`type: sql`, `rowCount`) against the stored
    /// tables; exit status 1 when one does not hold.
    Check(check::CheckArgs),
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
    /// Data contracts: check a file, show the configured one.
    #[command(subcommand)]
    Contract(contract::ContractCommand),
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

/// Some objects were not loaded (their ledger entries say why), or dataset rules do not hold.
pub const SOME_FAILED: u8 = 1;
/// A bad flag, configuration or path, or an unreachable target: nothing was attempted, or a
/// command other than a load failed. Clap's own usage errors exit 2 too.
pub const COULD_NOT_RUN: u8 = 2;

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Contract(#[from] crate::contract::ContractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    NoSuchTable(#[from] crate::dictionary::NoSuchTable),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    Serve(#[from] crate::deployment::ServeError),
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
    let file = ConfigFile::load(cli.config.as_deref())?;
    let context = Context {
        config: Config::resolve(Layers::with_process_env(cli.flags, file))?,
        quiet: cli.quiet,
        interactive: std::io::stderr().is_terminal(),
    };
    match cli.command {
        Command::Ingest(args) => ingest::run(&context, args).await,
        Command::HandleEvent(args) => handle_event::run(&context, args).await,
        Command::Runs(args) => runs::run(&context, args).await,
        Command::Gen(args) => generate::run(&context, args),
        Command::Db(command) => db::run(&context, command).await,
        Command::Contract(command) => contract::run(&context, command).await,
        Command::Backup(args) => backup::run(&context, args).await,
        Command::Backups(command) => backup::backups(&context, command).await,
        Command::Restore(args) => restore::run(&context, args).await,
        Command::History(args) => history::run(&context, args).await,
        Command::Vacuum(args) => vacuum::run(&context, args).await,
        Command::Config(command) => config::run(&context, command).await,
        Command::Report(args) => report::run(&context, args).await,
        Command::Sql(args) => sql::run(&context, args).await,
        Command::Check(args) => check::run(&context, args).await,
        Command::Serve(args) => serve::run(&context, args).await,
        #[cfg(feature = "ballista")]
        Command::Ballista(command) => ballista::run(&context, command).await,
        Command::Openapi => {
            let document =
                crate::api::openapi::document(&*context.contract_config().await?.dictionary()?);
            let text = serde_json::to_string_pretty(&document).expect("JSON values print");
            std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                format!("{text}\n").as_bytes(),
            )?;
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
    /// The configuration with SSM's layer applied and its contract fetched: asked for only by
    /// commands that need it.
    async fn full_config(&self) -> Result<Config, CliError> {
        Ok(self
            .config
            .clone()
            .with_ssm()
            .await?
            .with_contract()
            .await?)
    }

    /// The configuration with its contract fetched, without asking SSM.
    async fn contract_config(&self) -> Result<Config, CliError> {
        Ok(self.config.clone().with_contract().await?)
    }

    /// The deployment the configuration describes, built as every other entry point builds it.
    async fn deployment(&self) -> Result<Deployment, CliError> {
        Ok(Deployment::open(self.full_config().await?)?)
    }

    /// The deployment without asking SSM: for commands that never reach the target.
    async fn deployment_without_ssm(&self) -> Result<Deployment, CliError> {
        Ok(Deployment::open(self.contract_config().await?)?)
    }
}
