//! `csvgate db`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, Context};
use crate::deployment::Deployment;
use crate::sink::mysql::{MysqlTarget, ddl};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the tables and the ledger in the MySQL target (safe to run twice).
    Init,
    /// Print the schema `init` applies (the text of sql/mysql/ddl.sql).
    Ddl,
    /// Bring the database to the contract: print the CREATE TABLE / ALTER TABLE … ADD COLUMN
    /// statements it takes, or refuse a change that would not keep the stored rows (exit 2,
    /// nothing run); `--apply` runs them.
    Migrate {
        #[arg(long)]
        apply: bool,
    },
}

pub async fn run(context: &Context, command: DbCommand) -> Result<ExitCode, CliError> {
    match command {
        DbCommand::Ddl => {
            let config = context.contract_config().await?;
            let text = ddl::ddl(&*config.dictionary()?);
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        DbCommand::Init => {
            let deployment = context.deployment().await?;
            let mysql = mysql(&deployment, "init")?;
            let target = crate::sink::Health::describe(mysql);
            let version = mysql.init().await?;
            if !context.quiet {
                println!("{target}: schema version {version}");
            }
        }
        DbCommand::Migrate { apply } => {
            let deployment = context.deployment().await?;
            let mysql = mysql(&deployment, "migrate")?;
            let plan = match apply {
                true => mysql.migrate().await?,
                false => mysql.migration().await?,
            };
            let out = &mut std::io::stdout().lock();
            for statement in &plan {
                writeln!(out, "{statement};")?;
            }
            if !context.quiet {
                let done = if apply {
                    "applied"
                } else {
                    "to apply with --apply"
                };
                eprintln!("csvgate: {} statements {done}", plan.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mysql<'a>(deployment: &'a Deployment, command: &str) -> Result<&'a MysqlTarget, CliError> {
    deployment.mysql().ok_or_else(|| {
        CliError::Usage(format!(
            "db {command} needs a MySQL target (--target or CSVGATE_TARGET)"
        ))
    })
}
