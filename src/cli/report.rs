//! `csvgate report`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};

use super::{CliError, Context};
use crate::report::format::{self, Format};
use crate::report::named::Catalog;
use crate::report::{Engine, Scan};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report: its file's name (`q1_hires_by_quarter`, or a team's own from the
    /// `queries` folder) or q1 / q2; `--list` shows them.
    #[arg(required_unless_present = "list")]
    pub report: Option<String>,
    /// A parameter the report declares, NAME=VALUE; may repeat.
    #[arg(long = "param", value_parser = name_and_value)]
    pub params: Vec<(String, String)>,
    /// Short for `--param year=YEAR`.
    #[arg(long)]
    pub year: Option<i32>,
    /// List the reports, their engines and parameters.
    #[arg(long)]
    pub list: bool,
    /// Engine to ask [default: mysql when a MySQL target is configured, else datafusion].
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Scan the rows even where the report reads a rollup (the same answer, to compare).
    #[arg(long)]
    pub exact_scan: bool,
    /// The Ballista scheduler for `--engine ballista`, `df://HOST:PORT`.
    #[arg(long, env = "CSVGATE_BALLISTA_SCHEDULER")]
    pub scheduler: Option<String>,
}

fn name_and_value(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or("expected NAME=VALUE")?;
    Ok((name.to_owned(), value.to_owned()))
}

pub async fn run(context: &Context, args: ReportArgs) -> Result<ExitCode, CliError> {
    let engines = (context.deployment().await?.engines).with_scheduler(args.scheduler.clone());
    let out = &mut std::io::stdout().lock();
    let Some(name) = args.report.as_deref().filter(|_| !args.list) else {
        let listed = listing(&engines.reports)?;
        format::write(args.format, &listed.schema(), &[listed], out)?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut given: BTreeMap<String, String> = args.params.iter().cloned().collect();
    if let Some(year) = args.year {
        given.insert("year".into(), year.to_string());
    }
    let scan = Scan::exact_when(args.exact_scan);
    let (schema, batches) = engines.report(name, &given, args.engine, scan).await?;
    format::write(args.format, &schema, &batches, out)?;
    Ok(ExitCode::SUCCESS)
}

/// One row per report: its name, title, engines and parameters.
fn listing(catalog: &Catalog) -> Result<RecordBatch, CliError> {
    let reports: Vec<_> = catalog.reports().collect();
    let column = |text: &dyn Fn(&crate::report::named::NamedReport) -> String| -> ArrayRef {
        Arc::new(
            reports
                .iter()
                .map(|r| Some(text(r)))
                .collect::<StringArray>(),
        )
    };
    Ok(RecordBatch::try_from_iter([
        ("name", column(&|report| report.name.clone())),
        ("title", column(&|report| report.title.clone())),
        (
            "engines",
            column(&|report| {
                let engines = [("datafusion", &report.datafusion), ("mysql", &report.mysql)];
                let written: Vec<&str> = (engines.iter())
                    .filter(|(_, sql)| sql.is_some())
                    .map(|(engine, _)| *engine)
                    .collect();
                written.join(", ")
            }),
        ),
        (
            "params",
            column(&|report| {
                let params = report.params.iter().map(|param| match &param.default {
                    Some(default) => {
                        format!("{} ({}, default {default})", param.name, param.kind.word())
                    }
                    None => format!("{} ({})", param.name, param.kind.word()),
                });
                params.collect::<Vec<_>>().join(", ")
            }),
        ),
    ])?)
}
