//! Validates a `hired_employees` file against its reference files, loading nothing, and prints
//! the rejected rows with their line and reason: what to run on a file from a new source.
//!
//! ```sh
//! cargo run --example validate_file -- fixtures   # a folder with the three tables' files
//! ```
//!
//! The reference tables are validated first, and their valid ids become the ids the foreign-key
//! rules of `hired_employees` accept, as `csvgate ingest` does with the ids already loaded.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use csvgate::dictionary::{Dictionary, TableRef};
use csvgate::validate::{self, Dialect, ReferenceIds};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, UInt64Type};

/// Rejected rows printed at most.
const SHOWN: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let folder = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fixtures".into()));
    let mut references = ReferenceIds::new();
    for name in ["departments", "jobs"] {
        let (valid, _) = split(&folder, name, &ReferenceIds::new()).await?;
        let ids = valid.iter().flat_map(ids).collect();
        references.insert(name.to_owned(), std::sync::Arc::new(ids));
    }
    let (_, rejected) = split(&folder, "hired_employees", &references).await?;
    println!("first {SHOWN} rejected rows of hired_employees.csv:");
    for (line, reason) in rejected.iter().flat_map(line_and_reason).take(SHOWN) {
        println!("  line {line}: {reason}");
    }
    Ok(())
}

/// Splits `<folder>/<name>.csv` into its valid and rejected batches, and prints the counts.
async fn split(
    folder: &Path,
    name: &str,
    references: &ReferenceIds,
) -> anyhow::Result<(Vec<RecordBatch>, Vec<RecordBatch>)> {
    let path = folder.join(format!("{name}.csv"));
    let file = File::open(&path).with_context(|| format!("{}", path.display()))?;
    let label = format!("{name}.csv");
    let mut rows =
        validate::split(&label, file, &table(name)?, &Dialect::default(), references).await?;
    let (mut valid, mut rejected) = (Vec::new(), Vec::new());
    while let Some(batch) = rows.next().await {
        let batch = batch?;
        valid.push(batch.valid);
        rejected.push(batch.invalid);
    }
    let summary = rows.finish().await?;
    let count = |batches: &[RecordBatch]| batches.iter().map(RecordBatch::num_rows).sum::<usize>();
    println!(
        "{label}: {} rows, {} valid, {} rejected",
        summary.rows,
        count(&valid),
        count(&rejected)
    );
    Ok((valid, rejected))
}

fn table(name: &str) -> anyhow::Result<TableRef> {
    let hr = Dictionary::hr();
    Ok(TableRef::clone(hr.find(name)?))
}

/// The `id` column of valid rows.
fn ids(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

/// The source line and the reason of each rejected row.
fn line_and_reason(batch: &RecordBatch) -> Vec<(u64, String)> {
    let schema = batch.schema();
    let column = |name: &str| batch.column(schema.index_of(name).expect("rejected rows' column"));
    let (lines, reasons) = (column("line"), column("reason"));
    let lines = lines.as_primitive::<UInt64Type>().values();
    let reasons = reasons.as_string::<i32>().iter().flatten();
    lines
        .iter()
        .copied()
        .zip(reasons.map(str::to_owned))
        .collect()
}
