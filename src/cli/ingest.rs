//! `csvgate ingest`.

use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::dictionary::Table;
use crate::ledger::{self, Status};
use crate::pipeline::IngestOptions;
use crate::report::format::{self, Format};
use crate::validate::{Dialect, HeaderMode};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders to load [default: the landing bucket].
    pub paths: Vec<String>,
    /// Load into this table instead of telling it from each file's name or folder.
    #[arg(long)]
    pub table: Option<String>,
    /// Whether files start with a header line.
    #[arg(long, value_enum)]
    pub header: Option<HeaderMode>,
    /// Field delimiter, one character [default: sniffed from the first line].
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Process files again even when the ledger says they are loaded.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Columns of a ledger entry worth showing right after a run.
const SUMMARY_COLUMNS: [&str; 8] = [
    "key",
    "table_name",
    "status",
    "rows_read",
    "rows_valid",
    "rows_invalid",
    "invalid_object",
    "error",
];

pub async fn run(context: &Context, args: IngestArgs) -> Result<ExitCode, CliError> {
    let options = options(context, &args)?;
    let pipeline = context.pipeline()?;
    let entries = pipeline.ingest(&args.paths, &options).await?;
    if !context.quiet {
        let batch = ledger::to_batch(&entries)?;
        let indices: Vec<usize> = SUMMARY_COLUMNS
            .iter()
            .map(|name| batch.schema().index_of(name))
            .collect::<Result<_, _>>()?;
        let summary = batch.project(&indices)?;
        format::write(
            args.format,
            &summary.schema(),
            &[summary],
            &mut std::io::stdout().lock(),
        )?;
    }
    let failed = entries
        .iter()
        .filter(|entry| entry.status == Status::Failed)
        .count();
    if failed > 0 {
        eprintln!(
            "csvgate: {failed} of {} objects could not be loaded (see the error column)",
            entries.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Ingest options from the configuration alone, for runs no command line shaped (uploads).
pub(super) fn configured_options(context: &Context) -> Result<IngestOptions, CliError> {
    let mut options = options(
        context,
        &IngestArgs {
            paths: Vec::new(),
            table: None,
            header: None,
            delimiter: None,
            force: false,
            format: Format::default(),
        },
    )?;
    options.progress = false;
    Ok(options)
}

fn options(context: &Context, args: &IngestArgs) -> Result<IngestOptions, CliError> {
    let table = match &args.table {
        Some(name) => Some(Table::named(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--table {name}: no such table (known: departments, jobs, hired_employees)"
            ))
        })?),
        None => None,
    };
    let file = &context.file.ingest;
    let delimiter = match args.delimiter.or(file.delimiter) {
        Some(delimiter) => Some(u8::try_from(delimiter).map_err(|_| {
            CliError::Usage(format!(
                "--delimiter {delimiter:?}: must be a single ASCII character"
            ))
        })?),
        None => None,
    };
    let defaults = Dialect::default();
    Ok(IngestOptions {
        table,
        dialect: Dialect {
            delimiter,
            header: args.header.or(file.header).unwrap_or_default(),
            batch_rows: file.batch_rows.unwrap_or(defaults.batch_rows),
        },
        force: args.force,
        progress: context.interactive && !context.quiet,
    })
}
