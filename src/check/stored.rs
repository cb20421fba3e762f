//! Stored rows a table's row rules would reject now: after a contract tightens a rule, the
//! rows loaded under the old one are read back (from MySQL when the engine is MySQL, else from
//! the warehouse), a batch at a time, written as text the way a file holds them, and judged by
//! the table's split query as it is now.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::TableReference;
use futures::StreamExt;
use mysql_async::Row;
use mysql_async::prelude::Queryable;

use super::Outcome;
use crate::dictionary::{ColumnKind, TableRef};
use crate::report::{Chosen, Engine, Engines, ReportError, adhoc};
use crate::sink::Target;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::quoted;
use crate::validate::rules::quote;
use crate::validate::{ReferenceIds, StoredRowJudge};

/// The name of the outcome that reports stored rows.
pub const STORED_ROWS_RULE: &str = "stored rows meet the row rules";
/// Rejected rows named in an outcome's message, at most.
const EXAMPLES: usize = 5;
/// Rows read from MySQL and judged at once.
const MYSQL_CHUNK: usize = 8192;

/// Whether every row `table` holds (in MySQL when the engine is MySQL, else in the warehouse)
/// meets its rules as they are now; the rows that do not are counted, the first few named by
/// key and reason. A table with nothing stored yet passes, and says so.
pub async fn stored_rows(engines: &Engines, engine: Option<Engine>, table: &TableRef) -> Outcome {
    let judged = rejected_rows(engines, engine, table).await;
    let (value, error) = match judged {
        Ok(None) => (Some(0.0), Some("nothing stored yet".to_owned())),
        Ok(Some((0, _))) => (Some(0.0), None),
        Ok(Some((count, examples))) => (Some(count as f64), Some(examples.join("; "))),
        Err(error) => (None, Some(error.to_string())),
    };
    Outcome {
        table: table.name.clone(),
        rule: STORED_ROWS_RULE.into(),
        expected: "= 0 rejected".into(),
        passed: value == Some(0.0),
        value,
        error,
    }
}

/// How many stored rows the rules reject, and the first few as `key: reason`, read in
/// `engine` (the deployment's default when `None`); `None` when the warehouse has no such
/// table yet.
async fn rejected_rows(
    engines: &Engines,
    engine: Option<Engine>,
    table: &TableRef,
) -> Result<Option<(u64, Vec<String>)>, ReportError> {
    let chosen = engines.choose(engine)?;
    // The keys a foreign key accepts are those of the same store as the rows.
    let source: &dyn Target = match &chosen {
        Chosen::Mysql(mysql) => *mysql,
        Chosen::Datafusion => &engines.warehouse,
        Chosen::Ballista => {
            return Err(ReportError::Param {
                report: STORED_ROWS_RULE.into(),
                reason: "stored rows are read from datafusion or mysql, not on a cluster".into(),
            });
        }
    };
    let references = crate::sink::reference_ids(source, table).await?;
    let mut tally = Tally::new(table, &references).await?;
    let stored = match chosen {
        Chosen::Mysql(mysql) => {
            mysql_rows(mysql, table, &mut tally).await?;
            true
        }
        _ => warehouse_rows(engines, table, &mut tally).await?,
    };
    Ok(stored.then_some((tally.count, tally.examples)))
}

/// The rejected stored rows counted so far, and the first few.
struct Tally {
    judge: StoredRowJudge,
    table: TableRef,
    count: u64,
    examples: Vec<String>,
}

impl Tally {
    async fn new(table: &TableRef, references: &ReferenceIds) -> Result<Tally, ReportError> {
        let judge = StoredRowJudge::new(table, references)
            .await
            .map_err(Box::new)?;
        Ok(Tally {
            judge,
            table: TableRef::clone(table),
            count: 0,
            examples: Vec::new(),
        })
    }

    /// Judges the rows of `columns` (the table's, as text).
    fn add(&mut self, columns: Vec<ArrayRef>) -> Result<(), ReportError> {
        let rejected = self.judge.rejected(columns).map_err(Box::new)?;
        self.count += rejected.num_rows() as u64;
        let keys = rejected.column(self.table.key_index()).as_string::<i32>();
        let reasons = rejected
            .column(self.table.columns.len() + 1)
            .as_string::<i32>();
        let room = EXAMPLES.saturating_sub(self.examples.len());
        for row in 0..rejected.num_rows().min(room) {
            let key = &self.table.key_column().name;
            (self.examples).push(format!("{key} {}: {}", keys.value(row), reasons.value(row)));
        }
        Ok(())
    }
}

/// Feeds the warehouse's rows of `table` to `tally`, a batch at a time; `false` when the
/// warehouse has no such table yet.
async fn warehouse_rows(
    engines: &Engines,
    table: &TableRef,
    tally: &mut Tally,
) -> Result<bool, ReportError> {
    let ctx = engines.warehouse.session().await?;
    if !ctx
        .table_exist(TableReference::bare(table.name.as_str()))
        .map_err(Box::new)?
    {
        return Ok(false);
    }
    let frame = ctx.sql(&as_text_query(table)).await.map_err(Box::new)?;
    let mut batches = frame.execute_stream().await.map_err(Box::new)?;
    while let Some(batch) = batches.next().await {
        tally.add(text_columns(&batch.map_err(Box::new)?)?)?;
    }
    Ok(true)
}

/// Feeds MySQL's rows of `table` to `tally`, [`MYSQL_CHUNK`] rows at a time.
async fn mysql_rows(
    mysql: &MysqlTarget,
    table: &TableRef,
    tally: &mut Tally,
) -> Result<(), ReportError> {
    let sink_error = mysql.error();
    let error = |error| ReportError::Target(sink_error(error));
    let mut conn = mysql.conn().await?;
    let mut result = conn
        .query_iter(mysql_text_query(table))
        .await
        .map_err(error)?;
    let Some(mut rows) = result.stream::<Row>().await.map_err(error)? else {
        return Ok(());
    };
    let mut chunk = Vec::with_capacity(MYSQL_CHUNK);
    while let Some(row) = rows.next().await {
        chunk.push(row.map_err(error)?);
        if chunk.len() == MYSQL_CHUNK {
            let rows = std::mem::take(&mut chunk);
            tally.add(adhoc::text_columns(&rows, table.columns.len()))?;
        }
    }
    if !chunk.is_empty() {
        tally.add(adhoc::text_columns(&chunk, table.columns.len()))?;
    }
    Ok(())
}

/// The table's columns as MySQL writes them as text: a timestamp as ISO 8601 (stored in
/// UTC), a boolean as 1 or 0, every other value as its canonical text.
fn mysql_text_query(table: &TableRef) -> String {
    let columns: Vec<String> = (table.columns.iter())
        .map(|column| match column.kind {
            ColumnKind::Timestamp => {
                format!(
                    "DATE_FORMAT({}, '%Y-%m-%dT%H:%i:%s.%fZ')",
                    quoted(&column.name)
                )
            }
            _ => format!("CAST({} AS CHAR)", quoted(&column.name)),
        })
        .collect();
    format!("SELECT {} FROM {}", columns.join(", "), quoted(&table.name))
}

/// The table's columns written as a file holds them: a timestamp as ISO 8601 in UTC, every
/// other value as its canonical text.
fn as_text_query(table: &TableRef) -> String {
    let columns: Vec<String> = (table.columns.iter())
        .map(|column| {
            let name = quote(&column.name);
            match column.kind {
                ColumnKind::Timestamp => {
                    format!("to_char({name}, '%Y-%m-%dT%H:%M:%S%.6fZ') AS {name}")
                }
                _ => format!("CAST({name} AS VARCHAR) AS {name}"),
            }
        })
        .collect();
    format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name))
}

/// `batch`'s columns as plain UTF-8 arrays (DataFusion may give string views).
fn text_columns(batch: &RecordBatch) -> Result<Vec<ArrayRef>, ReportError> {
    (batch.columns().iter())
        .map(|column| match column.data_type() {
            DataType::Utf8 => Ok(Arc::clone(column)),
            _ => Ok(cast(column.as_ref(), &DataType::Utf8)?),
        })
        .collect::<Result<Vec<_>, ReportError>>()
}
