//! `csvgate gen`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CliError, Context};
use crate::generate;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of rows.
    #[arg(long)]
    pub rows: u64,
    /// Seed: the same seed and row count give the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// File to write (a name starting with hired_employees keeps table detection working).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(context: &Context, args: GenArgs) -> Result<ExitCode, CliError> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&args.out)?);
    let counts = generate::write_employees(&mut out, args.rows, args.seed)?;
    if !context.quiet {
        eprintln!(
            "{}: {} rows, {} valid, {} invalid",
            args.out.display(),
            args.rows,
            counts.valid,
            counts.invalid
        );
    }
    Ok(ExitCode::SUCCESS)
}
