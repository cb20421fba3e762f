//! Reading a MySQL target's tables for a backup: every table inside one
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`, so a backup of all tables is one point in
//! time even while loads go on; rows streamed a batch at a time.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::BackupError;
use super::write::Rows;
use crate::dictionary::{Table, TableRef};
use crate::sink::Health;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::quoted;
use crate::sink::mysql::fetch::to_batch;

/// Rows a batch.
const BATCH_ROWS: usize = 8192;

/// Batches in flight between the task that reads a table and the snapshot's writer.
const BATCHES_IN_FLIGHT: usize = 2;

/// One read-only transaction over the target.
pub(super) struct Snapshot {
    /// The transaction's connection, while no table is being read on it.
    conn: Option<Conn>,
    /// The task reading a table on the connection, which hands it back when done.
    reading: Option<tokio::task::JoinHandle<Conn>>,
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
            conn: Some(conn),
            reading: None,
            ledger_entry: ledger_entry.unwrap_or(0),
            target: target.clone(),
        })
    }

    /// Every row of `table` as the snapshot sees it, in the dictionary's typed schema.
    ///
    /// Read on a task of its own, a few batches ahead of the writer, so decoding rows and
    /// encoding the snapshot file use both cores; and through the binary protocol (a prepared
    /// statement), so numbers and timestamps arrive binary and neither the server formats nor
    /// the client parses them as text (reading text rows on the writer's task made a backup
    /// 1.5× as slow as `mysqldump` of the same table).
    pub(super) async fn rows(&mut self, table: &TableRef) -> Result<Rows<'static>, BackupError> {
        let mut conn = self.connection().await?;
        let (sender, batches) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
        let target = self.target.describe();
        let table = TableRef::clone(table);
        self.reading = Some(tokio::spawn(async move {
            if let Err(error) = read_table(&mut conn, &table, &sender).await {
                let _ = sender.send(Err(format!("{target}: {error}"))).await;
            }
            conn
        }));
        Ok(futures::stream::unfold(batches, |mut batches| async move {
            let batch = batches.recv().await?;
            Some((batch, batches))
        })
        .boxed())
    }

    pub(super) async fn end(mut self) -> Result<(), BackupError> {
        let error = self.target.error();
        let mut conn = self.connection().await?;
        conn.query_drop("COMMIT").await.map_err(error)?;
        Ok(())
    }

    /// The connection, once the table read before has handed it back.
    async fn connection(&mut self) -> Result<Conn, BackupError> {
        if let Some(reading) = self.reading.take() {
            let conn = reading
                .await
                .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));
            return Ok(conn);
        }
        Ok(self
            .conn
            .take()
            .expect("the connection is here or with a reading task"))
    }
}

/// Streams every row of `table` into `sender`, a batch at a time, until the receiver goes.
async fn read_table(
    conn: &mut Conn,
    table: &Table,
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch, String>>,
) -> Result<(), mysql_async::Error> {
    let columns: Vec<String> = table.column_names().map(quoted).collect();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), quoted(&table.name));
    let schema = table.typed_schema();
    let mut result = conn.exec_iter(sql, ()).await?;
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut open = true;
    while open && let Some(row) = result.next().await? {
        rows.push(row);
        if rows.len() == BATCH_ROWS {
            open = send(sender, table, &schema, std::mem::take(&mut rows)).await;
        }
    }
    if open && !rows.is_empty() {
        send(sender, table, &schema, rows).await;
    }
    result.drop_result().await
}

/// Sends `rows` as a batch; whether to go on (the receiver is there, the batch was right).
async fn send(
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch, String>>,
    table: &Table,
    schema: &SchemaRef,
    rows: Vec<Row>,
) -> bool {
    let batch = to_batch(schema, rows).map_err(|problem| format!("{}: {problem}", table.name));
    let failed = batch.is_err();
    sender.send(batch).await.is_ok() && !failed
}
