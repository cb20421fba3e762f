//! `csvgate config`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};

use super::{CliError, Context};
use crate::config::Shown;
use crate::report::format::{self, Format};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Each setting with its value and source (flag, env, file, ssm, default); secrets as ****.
    Show {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub async fn run(context: &Context, command: ConfigCommand) -> Result<ExitCode, CliError> {
    let ConfigCommand::Show { format } = command;
    let rows = context.full_config().await?.shown();
    let column = |value: fn(&Shown) -> String| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|row| Some(value(row)))
                .collect::<StringArray>(),
        )
    };
    let table = RecordBatch::try_from_iter([
        ("setting", column(|row| row.name.clone())),
        ("value", column(|row| row.value.clone())),
        (
            "source",
            column(|row| {
                let source = row.source.as_str();
                row.variable.map_or(source.to_owned(), |variable| {
                    format!("{source} ({variable})")
                })
            }),
        ),
    ])?;
    format::write(
        format,
        &table.schema(),
        &[table],
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
