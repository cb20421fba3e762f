//! The MySQL/MariaDB target.
//!
//! An object's valid rows stream batch by batch into a temporary staging table with
//! `LOAD DATA LOCAL INFILE` (each batch's bytes are handed to the driver from memory, no file
//! is written), then one transaction upserts the staging rows into the table
//! (`INSERT … SELECT … ON DUPLICATE KEY UPDATE`) and writes the ledger row. Either both are
//! committed or neither: a crash or a lost connection before `COMMIT` leaves the table as it
//! was, and the staging table dies with the connection. A server that refuses `LOCAL INFILE`
//! gets batched multi-row `INSERT`s instead, logged once.

pub mod ddl;
pub mod rows;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, Row, TxOpts, Value};

use crate::dictionary::Table;
use crate::ledger::{self, Entry};
use crate::sink::{Load, SinkError, Target};
use crate::store::ObjectVersion;
use ddl::RUNS_TABLE;

/// Rows per statement of the `INSERT` fallback.
const INSERT_CHUNK_ROWS: usize = 1000;
/// Server errors that mean "`LOCAL INFILE` is disabled": MariaDB 4166, MySQL 1148 and 3948.
const LOCAL_INFILE_REFUSED: [u16; 3] = [4166, 1148, 3948];
/// "Table doesn't exist".
const NO_SUCH_TABLE: u16 = 1146;

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

/// A MySQL database as a csvgate target.
#[derive(Clone)]
pub struct MysqlTarget {
    pool: Pool,
    /// The URL without its password: what messages show.
    display: String,
    local_infile: Arc<AtomicBool>,
}

impl std::fmt::Debug for MysqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlTarget")
            .field("target", &self.display)
            .finish()
    }
}

impl MysqlTarget {
    /// Connects lazily to `url` (`mysql://user@host:3306/database`); `password`, when given,
    /// replaces one in the URL. Neither is ever shown.
    pub fn new(url: &str, password: Option<&str>) -> Result<MysqlTarget, SinkError> {
        let display = redact(url);
        let invalid = |reason: String| SinkError::Config {
            target: display.clone(),
            reason,
        };
        let opts = Opts::from_url(url).map_err(|error| invalid(error.to_string()))?;
        if opts.db_name().is_none_or(str::is_empty) {
            return Err(invalid(
                "the URL names no database (mysql://user@host:3306/DATABASE)".into(),
            ));
        }
        let mut builder = OptsBuilder::from_opts(opts);
        if let Some(password) = password {
            builder = builder.pass(Some(password));
        }
        Ok(MysqlTarget {
            pool: Pool::new(builder),
            display,
            local_infile: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Loads with multi-row `INSERT`s only, as when the server refuses `LOCAL INFILE`.
    pub fn without_local_infile(self) -> Self {
        self.local_infile.store(false, Ordering::Relaxed);
        self
    }

    fn error(&self) -> impl Fn(mysql_async::Error) -> SinkError + use<> {
        let target = self.display.clone();
        move |source| match server_code(&source) {
            Some(NO_SUCH_TABLE) => SinkError::Config {
                target: target.clone(),
                reason: format!("{source} (is the database initialised? run `csvgate db init`)"),
            },
            _ => SinkError::Mysql {
                target: target.clone(),
                source: Box::new(source),
            },
        }
    }

    async fn conn(&self) -> Result<Conn, SinkError> {
        self.pool.get_conn().await.map_err(self.error())
    }

    /// Applies the schema (safe to repeat) and returns the recorded schema version.
    pub async fn init(&self) -> Result<u32, SinkError> {
        let mut conn = self.conn().await?;
        for statement in ddl::statements() {
            conn.query_drop(statement).await.map_err(self.error())?;
        }
        let version: Option<u32> = conn
            .query_first("SELECT MAX(version) FROM csvgate_schema")
            .await
            .map_err(self.error())?;
        Ok(version.unwrap_or_default())
    }

    /// Runs a query and returns its rows; for tests and ad-hoc SQL.
    pub async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, SinkError> {
        self.conn().await?.query(sql).await.map_err(self.error())
    }

    /// Runs a statement with parameters and returns its rows.
    pub async fn exec(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, SinkError> {
        self.conn()
            .await?
            .exec(sql, params)
            .await
            .map_err(self.error())
    }

    /// Runs `sql` in a read-only transaction: its column names and rows.
    pub async fn read_only(&self, sql: &str) -> Result<(Vec<String>, Vec<Row>), SinkError> {
        let error = self.error();
        let mut conn = self.conn().await?;
        let mut options = TxOpts::default();
        options.with_readonly(Some(true));
        let mut transaction = conn.start_transaction(options).await.map_err(&error)?;
        let mut result = transaction.query_iter(sql).await.map_err(&error)?;
        let names = result
            .columns_ref()
            .iter()
            .map(|column| column.name_str().into_owned())
            .collect();
        let rows: Vec<Row> = result.collect().await.map_err(&error)?;
        drop(result);
        transaction.rollback().await.map_err(error)?;
        Ok((names, rows))
    }

    /// Closes the pool's connections.
    pub async fn disconnect(self) -> Result<(), SinkError> {
        let error = self.error();
        self.pool.disconnect().await.map_err(error)
    }
}

/// The URL with its password removed.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "the configured MySQL target".to_owned(),
    }
}

fn server_code(error: &mysql_async::Error) -> Option<u16> {
    match error {
        mysql_async::Error::Server(server) => Some(server.code),
        _ => None,
    }
}

fn ledger_params(entry: &Entry) -> Vec<Value> {
    let time = |at: DateTime<Utc>| Value::from(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
    vec![
        entry.run_id.clone().into(),
        entry.object.location.clone().into(),
        entry.object.key.clone().into(),
        entry.object.version.clone().into(),
        entry.object.fingerprint().into(),
        entry.table.clone().into(),
        entry.status.as_str().into(),
        entry.rows_read.into(),
        entry.rows_valid.into(),
        entry.rows_invalid.into(),
        entry.invalid_object.clone().into(),
        time(entry.started_at),
        time(entry.finished_at),
        entry.error.clone().into(),
    ]
}

const LEDGER_INSERT: &str = "INSERT INTO csvgate_runs (run_id, location, object_key, object_version, fingerprint, \
     table_name, status, rows_read, rows_valid, rows_invalid, invalid_object, started_at, finished_at, error) \
     VALUES (?, ?, ?, ?, SHA2(?, 256), ?, ?, ?, ?, ?, ?, ?, ?, ?)";

fn entry_from_row(mut row: Row) -> Entry {
    let text = |row: &mut Row, index: usize| row.take::<String, _>(index).unwrap_or_default();
    let count = |row: &mut Row, index: usize| row.take::<u64, _>(index).unwrap_or_default();
    let time = |row: &mut Row, index: usize| {
        let text: String = row.take(index).unwrap_or_default();
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
            .map(|at| at.and_utc())
            .unwrap_or_default()
    };
    Entry {
        run_id: text(&mut row, 0),
        object: ObjectVersion {
            location: text(&mut row, 1),
            key: text(&mut row, 2),
            version: text(&mut row, 3),
            size: 0,
        },
        table: text(&mut row, 4),
        status: ledger::Status::parse(&text(&mut row, 5)),
        rows_read: count(&mut row, 6),
        rows_valid: count(&mut row, 7),
        rows_invalid: count(&mut row, 8),
        invalid_object: row.take::<Option<String>, _>(9).flatten(),
        started_at: time(&mut row, 10),
        finished_at: time(&mut row, 11),
        error: row.take::<Option<String>, _>(12).flatten(),
    }
}

#[async_trait]
impl Target for MysqlTarget {
    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn ids(&self, table: &'static Table) -> Result<Vec<i64>, SinkError> {
        let key = table.key_column().name;
        // In order, so the same ids give the same validation rules (which are kept per set).
        self.query(&format!("SELECT {key} FROM {} ORDER BY {key}", table.name))
            .await
    }

    async fn is_loaded(
        &self,
        _table: &'static Table,
        object: &ObjectVersion,
    ) -> Result<bool, SinkError> {
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT COUNT(*) FROM {RUNS_TABLE} WHERE fingerprint = SHA2(?, 256) AND status = 'done'"
        );
        let done: Option<u64> = conn
            .exec_first(sql, (object.fingerprint(),))
            .await
            .map_err(self.error())?;
        Ok(done.unwrap_or_default() > 0)
    }

    async fn begin(
        &self,
        table: &'static Table,
        _object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError> {
        let mut conn = self.conn().await?;
        if !table.is_referenced() {
            // Nothing points at these rows: load straight into the table inside one open
            // transaction (LOAD DATA … REPLACE is the upsert), committed with the ledger row.
            conn.query_drop("START TRANSACTION")
                .await
                .map_err(self.error())?;
            return Ok(Box::new(MysqlLoad {
                target: self.clone(),
                conn,
                table,
                into: table.name.to_owned(),
                direct: true,
            }));
        }
        // Referenced rows (departments, jobs) must be updated in place: stage them, then
        // upsert with INSERT … ON DUPLICATE KEY UPDATE at commit.
        let stage = format!("csvgate_stage_{}", table.name);
        // A pooled connection may still hold the staging table of an aborted load.
        conn.query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {stage}"))
            .await
            .map_err(self.error())?;
        let create = format!("CREATE TEMPORARY TABLE {stage} LIKE {}", table.name);
        conn.query_drop(create).await.map_err(self.error())?;
        Ok(Box::new(MysqlLoad {
            target: self.clone(),
            conn,
            table,
            into: stage,
            direct: false,
        }))
    }

    async fn record(&self, entry: &Entry) -> Result<(), SinkError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(LEDGER_INSERT, ledger_params(entry))
            .await
            .map_err(self.error())
    }

    async fn runs(&self) -> Result<Vec<Entry>, SinkError> {
        let sql = format!(
            "SELECT run_id, location, object_key, object_version, table_name, status, rows_read, rows_valid, \
             rows_invalid, invalid_object, CAST(started_at AS CHAR), CAST(finished_at AS CHAR), error \
             FROM {RUNS_TABLE} ORDER BY entry_id"
        );
        let rows: Vec<Row> = self.query(&sql).await?;
        Ok(rows.into_iter().map(entry_from_row).collect())
    }
}

/// One object's rows on one connection, invisible to others until the commit: either in an
/// open transaction on the table itself (`direct`) or in a temporary staging table.
struct MysqlLoad {
    target: MysqlTarget,
    conn: Conn,
    table: &'static Table,
    /// Where rows go as they come: the table (direct) or its staging table.
    into: String,
    direct: bool,
}

impl MysqlLoad {
    fn columns(&self) -> String {
        self.table.column_names().collect::<Vec<_>>().join(", ")
    }

    /// `ON DUPLICATE KEY UPDATE` of every column: a row with a known id replaces the old one.
    fn on_duplicate_update(&self) -> String {
        let updates: Vec<String> = self
            .table
            .column_names()
            .map(|name| format!("{name} = VALUES({name})"))
            .collect();
        format!("ON DUPLICATE KEY UPDATE {}", updates.join(", "))
    }

    /// Upsert, ledger row and `COMMIT`; on failure the transaction is rolled back.
    async fn finish(&mut self, entry: &Entry) -> Result<(), mysql_async::Error> {
        if !self.direct {
            self.conn.query_drop("START TRANSACTION").await?;
            let upsert = format!(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {update}",
                table = self.table.name,
                columns = self.columns(),
                stage = self.into,
                update = self.on_duplicate_update()
            );
            self.conn.query_drop(upsert).await?;
        }
        self.conn
            .exec_drop(LEDGER_INSERT, ledger_params(entry))
            .await?;
        self.conn.query_drop("COMMIT").await
    }

    /// Leaves the connection clean for the pool: no open transaction, no staging table.
    async fn clean_up(&mut self) -> Result<(), mysql_async::Error> {
        self.conn.query_drop("ROLLBACK").await?;
        if !self.direct {
            let drop = format!("DROP TEMPORARY TABLE IF EXISTS {}", self.into);
            self.conn.query_drop(drop).await?;
        }
        Ok(())
    }

    /// Streams one batch into the staging table through `LOAD DATA LOCAL INFILE`; `Ok(false)`
    /// when the server refuses it.
    async fn load_data(&mut self, rows: &RecordBatch) -> Result<bool, SinkError> {
        let mut tsv = Vec::with_capacity(rows.num_rows() * 64);
        rows::write_tsv(rows, &mut tsv);
        let data = Bytes::from(tsv);
        self.conn.set_infile_handler(async move {
            Ok(futures::stream::once(async move { Ok(data) }).boxed())
        });
        let sql = format!(
            "LOAD DATA LOCAL INFILE 'csvgate-batch' {replace} INTO TABLE {} {} ({})",
            self.into,
            rows::TSV_FORMAT,
            self.columns(),
            replace = if self.direct { "REPLACE" } else { "" },
        );
        match self.conn.query_drop(sql).await {
            Ok(()) => {}
            Err(error)
                if server_code(&error).is_some_and(|code| LOCAL_INFILE_REFUSED.contains(&code)) =>
            {
                return Ok(false);
            }
            Err(error) => return Err(self.target.error()(error)),
        }
        // LOCAL implies IGNORE: a row the server could not take is only a warning. (REPLACE
        // counts a replaced row twice: deleted and inserted.)
        let loaded = self.conn.affected_rows();
        if loaded < rows.num_rows() as u64 || self.conn.get_warnings() > 0 {
            let warnings: Vec<(String, u16, String)> = self
                .conn
                .query("SHOW WARNINGS LIMIT 3")
                .await
                .map_err(self.target.error())?;
            return Err(SinkError::Config {
                target: self.target.display.clone(),
                reason: format!(
                    "LOAD DATA took {loaded} of {} rows: {warnings:?}",
                    rows.num_rows()
                ),
            });
        }
        Ok(true)
    }

    async fn insert(&mut self, rows: &RecordBatch) -> Result<(), SinkError> {
        let columns = self.table.columns.len();
        let placeholders = format!("({})", vec!["?"; columns].join(", "));
        for start in (0..rows.num_rows()).step_by(INSERT_CHUNK_ROWS) {
            let end = (start + INSERT_CHUNK_ROWS).min(rows.num_rows());
            let values = vec![placeholders.as_str(); end - start].join(", ");
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {values} {update}",
                self.into,
                self.columns(),
                update = if self.direct {
                    self.on_duplicate_update()
                } else {
                    String::new()
                },
            );
            let params: Vec<Value> = (start..end)
                .flat_map(|row| rows::params(rows, row))
                .collect();
            self.conn
                .exec_drop(sql, params)
                .await
                .map_err(self.target.error())?;
        }
        Ok(())
    }
}

#[async_trait]
impl Load for MysqlLoad {
    async fn write(&mut self, rows: RecordBatch) -> Result<(), SinkError> {
        if rows.num_rows() == 0 {
            return Ok(());
        }
        if self.target.local_infile.load(Ordering::Relaxed) {
            if self.load_data(&rows).await? {
                return Ok(());
            }
            self.target.local_infile.store(false, Ordering::Relaxed);
            if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::warn!(target = %self.target.display, "the server refuses LOAD DATA LOCAL INFILE; loading with multi-row INSERT instead (slower)");
            }
        }
        self.insert(&rows).await
    }

    async fn commit(mut self: Box<Self>, entry: &Entry) -> Result<(), SinkError> {
        let error = self.target.error();
        if let Err(failed) = self.finish(entry).await {
            let _ = self.clean_up().await;
            return Err(error(failed));
        }
        self.clean_up().await.map_err(error)
    }

    async fn abort(mut self: Box<Self>) {
        if let Err(error) = self.clean_up().await {
            tracing::warn!(target = %self.target.display, %error, "could not roll back the load");
        }
    }
}
