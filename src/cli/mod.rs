//! The command line: parses flags, builds the pipeline, prints. No decisions live here.

mod db;
mod generate;
mod ingest;
mod report;
mod runs;
mod serve;
mod sql;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, FileConfig, Locations};
use crate::pipeline::{Pipeline, PipelineError};
use crate::report::Engines;
use crate::sink::mirror::Mirrored;
use crate::sink::mysql::MysqlTarget;
use crate::sink::{SinkError, Target, delta::DeltaTarget};
use crate::store::{Buckets, StoreError};
use std::sync::Arc;

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
    /// Print nothing but errors.
    #[arg(long, short, global = true, env = "CSVGATE_QUIET")]
    pub quiet: bool,
    /// Log lines as JSON (for log collectors) instead of text.
    #[arg(long, global = true, env = "CSVGATE_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and load files: each path is a file or a folder of `.csv` files.
    Ingest(ingest::IngestArgs),
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
    /// Manage the MySQL schema.
    #[command(subcommand)]
    Db(db::DbCommand),
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
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
    #[error("writing output: {0}")]
    Output(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the parsed command; the exit code says whether every object was processed.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let target = TargetChoice {
        url: cli.target.or_else(|| file.target.clone()),
        password: cli.target_password.or_else(|| file.target_password.clone()),
        mirror_parquet: cli.mirror_parquet || file.mirror_parquet,
    };
    let context = Context {
        target,
        quiet: cli.quiet,
        interactive: std::io::stderr().is_terminal(),
        locations: Locations::resolve([cli.landing, cli.invalid, cli.warehouse], &file),
        file,
    };
    match cli.command {
        Command::Ingest(args) => ingest::run(&context, args).await,
        Command::Runs(args) => runs::run(&context, args).await,
        Command::Gen(args) => generate::run(&context, args),
        Command::Db(command) => db::run(&context, command).await,
        Command::Report(args) => report::run(&context, args).await,
        Command::Sql(args) => sql::run(&context, args).await,
        Command::Serve(args) => serve::run(&context, args).await,
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

/// Where valid rows go, after flags, environment and file.
struct TargetChoice {
    url: Option<String>,
    password: Option<String>,
    mirror_parquet: bool,
}

/// What every command gets from the global flags.
struct Context {
    target: TargetChoice,
    quiet: bool,
    interactive: bool,
    locations: Locations,
    file: FileConfig,
}

impl Context {
    fn pipeline(&self) -> Result<Pipeline, CliError> {
        let Locations {
            landing,
            invalid,
            warehouse,
        } = &self.locations;
        let buckets = Buckets::open(landing, invalid, warehouse)?;
        let delta: Arc<dyn Target> = Arc::new(DeltaTarget::new(buckets.warehouse.clone()));
        let target: Arc<dyn Target> = match self.mysql()? {
            None => delta,
            Some(mysql) if self.target.mirror_parquet => Arc::new(Mirrored {
                primary: Arc::new(mysql),
                mirror: delta,
            }),
            Some(mysql) => Arc::new(mysql),
        };
        Ok(Pipeline { buckets, target })
    }

    /// The engines reports and queries can run in.
    fn engines(&self) -> Result<Engines, CliError> {
        Ok(Engines {
            warehouse: DeltaTarget::new(crate::store::Location::parse(
                &self.locations.warehouse,
                true,
            )?),
            mysql: self.mysql()?,
        })
    }

    /// The MySQL target, when one is configured.
    fn mysql(&self) -> Result<Option<MysqlTarget>, CliError> {
        match &self.target.url {
            None => Ok(None),
            Some(url) if url.starts_with("mysql://") => Ok(Some(MysqlTarget::new(
                url,
                self.target.password.as_deref(),
            )?)),
            Some(other) => Err(CliError::Usage(format!(
                "target {other:?}: expected mysql://user@host:3306/database, or no target for the Delta warehouse"
            ))),
        }
    }
}
