//! Loads the three fixture files into a Delta Lake warehouse in a temporary folder, twice, and
//! prints the ledger entry of each file: the second run finds every version loaded and skips it.
//!
//! ```sh
//! cargo run --example load_warehouse
//! ```
//!
//! The deployment is built from a configuration exactly as `csvgate ingest` and
//! `csvgate serve` build theirs; `config.set(Key::Target, url)` with a `mysql://` URL to load MySQL.

use csvgate::config::Config;
use csvgate::deployment::Deployment;
use csvgate::pipeline::IngestOptions;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let deployment = Deployment::open(Config::in_folder(scratch.path()))?;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").to_owned();
    for run in ["first", "second"] {
        println!("{run} run:");
        let entries = deployment
            .pipeline
            .ingest(std::slice::from_ref(&fixtures), &IngestOptions::default())
            .await?;
        for entry in entries {
            println!(
                "  {:<20} {:<16} {:<8} read {:>5}  valid {:>5}  invalid {:>3}",
                entry.object.key,
                entry.table,
                entry.status.as_str(),
                entry.rows_read,
                entry.rows_valid,
                entry.rows_invalid
            );
        }
    }
    Ok(())
}
