//! Reading a MySQL target's tables for a backup: every table inside one
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`, so a backup of all tables is one point in
//! time even while loads go on; rows streamed a batch at a time.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::BackupError;
use super::write::Rows;
use crate::dictionary::{ColumnKind, Table};
use crate::sink::mysql::MysqlTarget;

/// Rows a batch.
const BATCH_ROWS: usize = 8192;

/// One read-only transaction over the target.
pub(super) struct Snapshot {
    conn: Conn,
    /// The last ledger entry the snapshot holds: what it was read at.
    pub ledger_entry: u64,
    /// For its errors, which name the target and hint at `db init`.
    target: MysqlTarget,
}

impl Snapshot {
    pub(super) async fn begin(target: &MysqlTarget) -> Result<Snapshot, BackupError> {
        let mut conn = target.conn().await?;
        let error = target.error();
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(&error)?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .map_err(&error)?;
        let ledger_entry: Option<u64> = conn
            .query_first("SELECT COALESCE(MAX(entry_id), 0) FROM csvgate_runs")
            .await
            .map_err(&error)?;
        Ok(Snapshot {
            conn,
            ledger_entry: ledger_entry.unwrap_or(0),
            target: target.clone(),
        })
    }

    /// Every row of `table` as the snapshot sees it, timestamps as microseconds (cast to the
    /// dictionary's type by the writer).
    pub(super) async fn rows(&mut self, table: &Table) -> Result<Rows<'_>, BackupError> {
        let error = self.target.error();
        let selected: Vec<String> = (table.columns.iter())
            .map(|column| match column.kind {
                ColumnKind::Timestamp => format!(
                    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', `{0}`) AS `{0}`",
                    column.name
                ),
                _ => format!("`{}`", column.name),
            })
            .collect();
        let sql = format!("SELECT {} FROM `{}`", selected.join(", "), table.name);
        let schema = read_schema(table);
        let result = self.conn.query_iter(sql).await.map_err(&error)?;
        let stream = result.stream_and_drop::<Row>().await.map_err(&error)?;
        let Some(stream) = stream else {
            return Ok(futures::stream::empty().boxed());
        };
        let batches = stream.chunks(BATCH_ROWS).map(move |rows| {
            let rows = rows
                .into_iter()
                .collect::<Result<Vec<Row>, _>>()
                .map_err(|error| error.to_string())?;
            to_batch(&schema, &rows).map_err(|error| error.to_string())
        });
        Ok(batches.boxed())
    }

    pub(super) async fn end(mut self) -> Result<(), BackupError> {
        let error = self.target.error();
        self.conn.query_drop("COMMIT").await.map_err(error)?;
        Ok(())
    }
}

/// The columns as the SELECT gives them: numbers (timestamps too) and text.
fn read_schema(table: &Table) -> SchemaRef {
    let fields: Vec<Field> = (table.columns.iter())
        .map(|column| {
            let kind = match column.kind {
                ColumnKind::Text => DataType::Utf8,
                _ => DataType::Int64,
            };
            Field::new(column.name, kind, false)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn to_batch(
    schema: &SchemaRef,
    rows: &[Row],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let columns = (schema.fields().iter().enumerate())
        .map(|(index, field)| -> ArrayRef {
            match field.data_type() {
                DataType::Utf8 => Arc::new(
                    (rows.iter())
                        .map(|row| row.get::<String, _>(index))
                        .collect::<StringArray>(),
                ),
                _ => Arc::new(
                    (rows.iter())
                        .map(|row| row.get::<i64, _>(index))
                        .collect::<Int64Array>(),
                ),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), columns)
}
