//! `csvgate db`.

use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, Context};
use crate::sink::mysql::ddl;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the tables and the ledger in the MySQL target (safe to run twice).
    Init,
    /// Print the schema `init` applies (the text of sql/mysql/ddl.sql).
    Ddl,
}

pub async fn run(context: &Context, command: DbCommand) -> Result<ExitCode, CliError> {
    match command {
        DbCommand::Ddl => print!("{}", ddl::ddl(&*context.config.dictionary()?)),
        DbCommand::Init => {
            let deployment = context.deployment().await?;
            let mysql = deployment.mysql().ok_or_else(|| {
                CliError::Usage("db init needs a MySQL target (--target or CSVGATE_TARGET)".into())
            })?;
            let target = crate::sink::Health::describe(mysql);
            let version = mysql.init().await?;
            if !context.quiet {
                println!("{target}: schema version {version}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
