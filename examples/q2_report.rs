//! Answers Q2 (departments that hired more than the mean of 2021) from a warehouse loaded with
//! the fixtures in a temporary folder, and prints it as a table.
//!
//! ```sh
//! cargo run --example q2_report
//! ```
//!
//! The same [`Engines`](csvgate::report::Engines) answer from MySQL when the configuration names
//! a MySQL target; the query files are in `queries/`.

use csvgate::config::Config;
use csvgate::deployment::Deployment;
use csvgate::pipeline::IngestOptions;
use csvgate::report::Report;
use csvgate::report::format::{self, Format};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let deployment = Deployment::open(Config::in_folder(scratch.path()))?;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").to_owned();
    let options = IngestOptions::default();
    deployment.pipeline.ingest(&[fixtures], &options).await?;
    let answer = deployment.engines.answer(Report::Q2, 2021, None).await?;
    println!("departments that hired more than the mean of 2021:");
    format::write(
        Format::Table,
        &answer.schema(),
        &[answer],
        &mut std::io::stdout().lock(),
    )?;
    Ok(())
}
