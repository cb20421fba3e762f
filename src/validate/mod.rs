//! Validation: one pass over an object that yields its valid rows, typed, and its invalid rows,
//! with their source line and the reasons they were rejected.
//!
//! ```text
//!  bytes ──read.rs──▶ text batches ──rules.rs (DataFusion SQL)──▶ split ──▶ valid (typed)
//!        (blocking thread,  (+ line, field_count,   (a second blocking   └─▶ invalid (text,
//!         bounded channel)   id_repeated)            thread: reason,            line, reason)
//!                                                     typed_* columns)
//! ```
//!
//! Reading, judging and whatever the caller does with the split rows (a load encoding Parquet)
//! each take about a third of the work, so each has its own thread and bounded channel: on two
//! cores the three overlap instead of the rules waiting on the writer.
//!
//! Reading is `read.rs` driving the `csv` crate, with [`dialect`] telling delimiter and header
//! and [`text_rows`] building the batches. The SQL is planned once per table and set of
//! reference ids ([`compiled`]), and its projections are applied to each batch as it arrives;
//! foreign keys are checked by a set lookup ([`key_lookup`]).

mod compiled;
mod dialect;
mod key_lookup;
mod limits;
mod read;
pub mod rules;
mod stored;
mod text_rows;

use std::fmt;
use std::io::Read;

use datafusion::arrow::compute::{filter_record_batch, is_not_null, is_null};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::dictionary::{Table, TableRef};
use crate::shape::to_schema;
use compiled::CompiledRules;
pub use dialect::{Dialect, HeaderMode, INVALID_FILE_EXTRA_COLUMNS};
pub use key_lookup::ReferenceIds;
pub use limits::Limits;
pub use read::{ReadError, ReadSummary};
pub use stored::StoredRowJudge;

/// Batches buffered between the reader thread and the rules, and between the rules and the
/// caller.
const CHANNEL_BATCHES: usize = 4;

/// Why an object could not be validated.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{file}: validation query failed: {source}")]
    Query {
        file: String,
        source: Box<DataFusionError>,
    },
    #[error("{file}: splitting a batch failed: {source}")]
    Split { file: String, source: ArrowError },
    #[error("{file}: the {stage} thread stopped unexpectedly: {message}")]
    Crashed {
        file: String,
        stage: &'static str,
        message: String,
    },
}

impl ValidateError {
    fn query(file: &str, source: DataFusionError) -> Self {
        ValidateError::Query {
            file: file.to_owned(),
            source: Box::new(source),
        }
    }
}

/// The two halves of one batch.
#[derive(Debug)]
pub struct SplitBatch {
    /// Rows that passed every rule, shaped like [`Table::typed_schema`].
    pub valid: RecordBatch,
    /// Rows that failed a rule: the original text fields, `line` and `reason`.
    pub invalid: RecordBatch,
}

/// Valid and invalid rows of one object, batch by batch, as the reader produces them.
pub struct SplitStream {
    file: String,
    /// Split batches from the rules' thread, in file order; an error ends them.
    rows: mpsc::Receiver<Result<SplitBatch, ValidateError>>,
    reader: JoinHandle<Result<ReadSummary, ReadError>>,
    judge: JoinHandle<()>,
}

impl fmt::Debug for SplitStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitStream")
            .field("file", &self.file)
            .finish()
    }
}

/// Starts validating `input` as rows of `table`. `file` names the input in messages;
/// `references` holds the ids the foreign-key rules accept.
pub async fn split(
    file: &str,
    input: impl Read + Send + 'static,
    table: &TableRef,
    dialect: &Dialect,
    references: &ReferenceIds,
) -> Result<SplitStream, ValidateError> {
    let rules = CompiledRules::get(table, references)
        .await
        .map_err(|source| ValidateError::query(file, source))?;
    let (sender, text_rows) = mpsc::channel(CHANNEL_BATCHES);
    let reader = {
        let (file, dialect, table) = (file.to_owned(), dialect.clone(), TableRef::clone(table));
        tokio::task::spawn_blocking(move || {
            read::read_text_batches(&file, input, &table, &dialect, sender)
        })
    };
    let (sender, rows) = mpsc::channel(CHANNEL_BATCHES);
    let judge = {
        let (file, table) = (file.to_owned(), TableRef::clone(table));
        tokio::task::spawn_blocking(move || judge(&file, &table, &rules, text_rows, sender))
    };
    Ok(SplitStream {
        file: file.to_owned(),
        rows,
        reader,
        judge,
    })
}

/// Applies `rules` to each text batch and sends on its split, until the input ends, the
/// receiver is gone or a batch fails (its error is the last thing sent).
fn judge(
    file: &str,
    table: &Table,
    rules: &CompiledRules,
    mut text_rows: mpsc::Receiver<RecordBatch>,
    split_rows: mpsc::Sender<Result<SplitBatch, ValidateError>>,
) {
    while let Some(text) = text_rows.blocking_recv() {
        let split = (rules
            .apply(&text)
            .map_err(|source| ValidateError::query(file, source)))
        .and_then(|batch| {
            split_batch(table, &batch).map_err(|source| ValidateError::Split {
                file: file.to_owned(),
                source,
            })
        });
        let failed = split.is_err();
        if split_rows.blocking_send(split).is_err() || failed {
            return;
        }
    }
}

impl SplitStream {
    /// The next batch of rows, split; `None` once the input is exhausted.
    pub async fn next(&mut self) -> Option<Result<SplitBatch, ValidateError>> {
        self.rows.recv().await
    }

    /// Waits for the reader and the rules' thread and returns what the reader learnt; call after [`SplitStream::next`] gave
    /// `None`. A file the reader gave up on (say, bytes that are not UTF-8) ends the stream
    /// early, and its error comes from here.
    pub async fn finish(self) -> Result<ReadSummary, ValidateError> {
        let SplitStream {
            file,
            rows,
            reader,
            judge,
        } = self;
        // Rows not taken are not waited for: closing their channel ends both threads.
        drop(rows);
        let crashed = |stage, crash: tokio::task::JoinError| ValidateError::Crashed {
            file: file.clone(),
            stage,
            message: crash.to_string(),
        };
        let summary = reader.await.map_err(|crash| crashed("reader", crash))?;
        judge.await.map_err(|crash| crashed("rules'", crash))?;
        Ok(summary?)
    }
}

/// Splits one output batch of [`rules::split_sql`] on `reason`.
fn split_batch(table: &Table, batch: &RecordBatch) -> Result<SplitBatch, ArrowError> {
    let columns = table.columns.len();
    let reason = batch.column(columns + 1);
    let invalid_part = batch.project(&(0..columns + 2).collect::<Vec<_>>())?;
    let invalid_rows = filter_record_batch(&invalid_part, &is_not_null(reason.as_ref())?)?;
    let typed_part = batch.project(&(columns + 2..2 * columns + 2).collect::<Vec<_>>())?;
    let valid_rows = filter_record_batch(&typed_part, &is_null(reason.as_ref())?)?;
    Ok(SplitBatch {
        valid: to_schema(&valid_rows, &table.typed_schema())?,
        invalid: to_schema(&invalid_rows, &table.rejected_schema())?,
    })
}

#[cfg(test)]
mod kinds_tests;
