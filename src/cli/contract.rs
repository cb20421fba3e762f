//! `csvgate contract`: what a contract file makes csvgate enforce, before a deployment uses it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::error::ArrowError;

use super::{CliError, Context};
use crate::contract::Contract;
use crate::dictionary::{Column, Dictionary};
use crate::report::format::{self, Format};
use crate::sink::mysql::ddl;

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Read a contract file (ODCS v3): the columns and rules csvgate enforces of it and the
    /// MySQL schema it derives, or the first thing refused, where and why (exit 2).
    Check { file: PathBuf },
    /// The tables and columns of the configured contract, as enforced.
    Show {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub async fn run(context: &Context, command: ContractCommand) -> Result<ExitCode, CliError> {
    let out = &mut std::io::stdout().lock();
    match command {
        ContractCommand::Check { file } => {
            let contract = Contract::read(&file)?;
            let stamp = contract.dictionary.stamp();
            writeln!(
                out,
                "{}: contract {} version {}: {} tables enforced",
                contract.origin,
                stamp.id,
                stamp.version,
                contract.dictionary.tables().len()
            )?;
            for table in contract.dictionary.tables() {
                let knobs = [table.budget.describe(), table.file_format.describe()];
                for knob in knobs.into_iter().flatten() {
                    writeln!(out, "{}: {knob}", table.name)?;
                }
                for check in &table.checks {
                    writeln!(
                        out,
                        "{}: every row: {} (else `row: {}`)",
                        table.name, check.holds, check.reason
                    )?;
                }
                for check in &table.dataset_checks {
                    writeln!(
                        out,
                        "{}: after each load and by `csvgate check`: {}: value of `{}` {}",
                        table.name,
                        check.name,
                        check.sql(&table.name, str::to_owned),
                        check.expect,
                    )?;
                }
            }
            show(&contract.dictionary, Format::Table, out)?;
            write!(out, "\n{}", ddl::ddl(&contract.dictionary))?;
        }
        ContractCommand::Show { format } => {
            let config = context.contract_config().await?;
            let dictionary = config.dictionary()?;
            if format == Format::Table {
                knobs(&config, out)?;
            }
            show(&dictionary, format, out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each table's knobs (reject budget, file format), and whether the contract or the
/// configuration set each.
fn knobs(config: &crate::config::Config, out: &mut dyn Write) -> Result<(), CliError> {
    for table in config.contract_dictionary()?.tables() {
        let (knobs, configured) = config.knobs_of(table);
        let source = |configured: bool| match configured {
            true => format!("csvgate.toml [tables.{}], over the contract", table.name),
            false => "the contract".to_owned(),
        };
        let described = [
            (knobs.budget.describe(), configured.budget),
            (knobs.file_format.describe(), configured.file_format),
        ];
        for (knob, configured) in described {
            if let Some(knob) = knob {
                writeln!(out, "{}: {knob} (from {})", table.name, source(configured))?;
            }
        }
    }
    Ok(())
}

/// One row per column: its table, name, type, key, reference and the rule a value must meet.
fn show(
    dictionary: &Dictionary,
    format: Format,
    out: &mut dyn std::io::Write,
) -> Result<(), ArrowError> {
    let columns: Vec<(&str, &Column)> = (dictionary.tables().iter())
        .flat_map(|table| (table.columns.iter()).map(|column| (table.name.as_str(), column)))
        .collect();
    let text = |get: &dyn Fn(&str, &Column) -> Option<String>| -> ArrayRef {
        let values = columns.iter().map(|(table, column)| get(table, column));
        Arc::new(values.collect::<StringArray>())
    };
    let batch = RecordBatch::try_from_iter([
        ("table_name", text(&|table, _| Some(table.to_owned()))),
        ("column_name", text(&|_, column| Some(column.name.clone()))),
        (
            "type",
            text(&|_, column| Some(column.kind.logical_type().to_owned())),
        ),
        (
            "primary_key",
            Arc::new(BooleanArray::from_iter(
                (columns.iter()).map(|(_, column)| Some(column.key)),
            )) as ArrayRef,
        ),
        (
            "references",
            text(&|_, column| referenced_key(dictionary, column)),
        ),
        ("rule", text(&|_, column| Some(column.rule()))),
    ])?;
    format::write(format, &batch.schema(), &[batch], out)
}

/// `table.key` for a reference column.
fn referenced_key(dictionary: &Dictionary, column: &Column) -> Option<String> {
    let table = dictionary.table(column.referenced_table()?)?;
    Some(format!("{}.{}", table.name, table.key_column().name))
}
