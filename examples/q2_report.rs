//! Answers Q2 (departments that hired more than the mean of 2021) from a warehouse loaded with
//! the fixtures in a temporary folder, and prints it as a table.
//!
//! ```sh
//! cargo run --example q2_report
//! ```
//!
//! The same [`Engines`](csvgate::report::Engines) answer from MySQL when the configuration names
//! a MySQL target; the query files are in `queries/`, the rollup's in `queries/rollups/`.

use csvgate::config::Config;
use csvgate::deployment::Deployment;
use csvgate::pipeline::IngestOptions;
use csvgate::report::format::{self, Format};
use csvgate::report::{Report, Scan};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let deployment = Deployment::open(Config::in_folder(scratch.path()))?;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").to_owned();
    let options = IngestOptions::default();
    deployment.pipeline.ingest(&[fixtures], &options).await?;
    // From the hires_by_quarter rollup the load kept up to date (`Scan::Exact` reads the rows).
    let answer = (deployment.engines).answer(Report::Q2, 2021, None, Scan::Rollups);
    let answer = answer.await?;
    println!("departments that hired more than the mean of 2021:");
    format::write(
        Format::Table,
        &answer.schema(),
        &[answer],
        &mut std::io::stdout().lock(),
    )?;
    Ok(())
}
