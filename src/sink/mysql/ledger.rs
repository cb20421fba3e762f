//! The MySQL target's ledger: rows of `csvgate_runs`, written inside the loading transaction
//! (so a file's rows and its `done` row commit together) or alone for entries that load
//! nothing. A version is loaded when a `done` row with its fingerprint exists.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::MysqlTarget;
use super::ddl::{RUNS_TABLE, SCHEMA_VERSION};
use crate::dictionary::{ContractStamp, Table};
use crate::ledger::{Entry, Selection, Status};
use crate::sink::{Ledger, SinkError};
use crate::store::ObjectVersion;

const LEDGER_INSERT: &str = "INSERT INTO csvgate_runs (run_id, location, object_key, object_version, fingerprint, \
     table_name, status, rows_read, rows_valid, rows_invalid, invalid_object, started_at, finished_at, error, \
     contract_id, contract_version, contract_hash) \
     VALUES (?, ?, ?, ?, SHA2(?, 256), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// "Unknown column".
const BAD_FIELD: u16 = 1054;

/// Writes `entry` on `conn` (of `target`), inside whatever transaction is open there.
pub(super) async fn insert(
    target: &MysqlTarget,
    conn: &mut Conn,
    entry: &Entry,
) -> Result<(), SinkError> {
    let inserted = conn.exec_drop(LEDGER_INSERT, params(entry)).await;
    inserted.map_err(target.ledger_error())
}

impl MysqlTarget {
    /// How a ledger statement's failure reads: a column it lacks means a database initialised
    /// by a csvgate before schema version 3.
    fn ledger_error(&self) -> impl Fn(mysql_async::Error) -> SinkError + use<> {
        let (display, error) = (self.display.clone(), self.error());
        move |source| match super::server_code(&source) {
            Some(BAD_FIELD) => SinkError::Config {
                target: display.clone(),
                reason: format!(
                    "{source}: the ledger is older than this csvgate (schema version {SCHEMA_VERSION}); run `csvgate db init` to upgrade it (behind the function: the event {{\"csvgate\": \"db-init\"}}, connected as the master user)"
                ),
            },
            _ => error(source),
        }
    }

    /// Whether a `done` entry with the object's fingerprint exists.
    pub(super) async fn has_done(&self, object: &ObjectVersion) -> Result<bool, SinkError> {
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

    /// The entries `selection` names, in the order written; a ledger older than schema
    /// version 3 reads them without a contract, so `runs` works before `db init` upgrades it.
    pub(super) async fn entries(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        let sql = |contract: &str| {
            format!(
                "SELECT run_id, location, object_key, object_version, table_name, status, rows_read, rows_valid, \
                 rows_invalid, invalid_object, CAST(started_at AS CHAR), CAST(finished_at AS CHAR), error, \
                 {contract} FROM {RUNS_TABLE} WHERE (? IS NULL OR status = ?) AND (? IS NULL OR run_id = ?) \
                 ORDER BY entry_id LIMIT ? OFFSET ?"
            )
        };
        let status = selection.status.map(|status| status.as_str());
        let run_id = selection.run_id.as_deref();
        let limit = selection.limit.map_or(u64::MAX, |limit| limit as u64);
        let params = (
            status,
            status,
            run_id,
            run_id,
            limit,
            selection.offset as u64,
        );
        let mut conn = self.conn().await?;
        let contract = "contract_id, contract_version, contract_hash";
        let rows: Vec<Row> = match conn.exec(sql(contract), params).await {
            Err(error) if super::server_code(&error) == Some(BAD_FIELD) => {
                conn.exec(sql("NULL, NULL, NULL"), params).await
            }
            read => read,
        }
        .map_err(self.error())?;
        Ok(rows.into_iter().map(entry_from_row).collect())
    }
}

fn params(entry: &Entry) -> Vec<Value> {
    let time = |at: DateTime<Utc>| Value::from(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
    let stamp = entry.contract.as_ref();
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
        stamp.map(|stamp| stamp.id.clone()).into(),
        stamp.map(|stamp| stamp.version.clone()).into(),
        stamp.map(|stamp| stamp.hash.clone()).into(),
    ]
}

fn entry_from_row(mut row: Row) -> Entry {
    let text = |row: &mut Row, index: usize| row.take::<String, _>(index).unwrap_or_default();
    let count = |row: &mut Row, index: usize| row.take::<u64, _>(index).unwrap_or_default();
    let time = |row: &mut Row, index: usize| {
        let text: String = row.take(index).unwrap_or_default();
        utc(&text).unwrap_or_default()
    };
    Entry {
        run_id: text(&mut row, 0),
        object: ObjectVersion {
            location: text(&mut row, 1),
            key: text(&mut row, 2),
            version: text(&mut row, 3),
            size: 0,
            modified: None,
        },
        table: text(&mut row, 4),
        status: Status::parse(&text(&mut row, 5)),
        rows_read: count(&mut row, 6),
        rows_valid: count(&mut row, 7),
        rows_invalid: count(&mut row, 8),
        invalid_object: row.take::<Option<String>, _>(9).flatten(),
        started_at: time(&mut row, 10),
        finished_at: time(&mut row, 11),
        error: row.take::<Option<String>, _>(12).flatten(),
        contract: stamp(&mut row),
    }
}

/// The contract columns of a ledger row (none in rows written before schema version 3).
fn stamp(row: &mut Row) -> Option<ContractStamp> {
    let mut text = |index: usize| row.take::<Option<String>, _>(index).flatten();
    Some(ContractStamp {
        id: text(13)?,
        version: text(14).unwrap_or_default(),
        hash: text(15).unwrap_or_default(),
    })
}

/// A `DATETIME(6)` in UTC, as `CAST(… AS CHAR)` gives it.
pub(super) fn utc(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some(naive.and_utc())
}

#[async_trait]
impl Ledger for MysqlTarget {
    async fn is_loaded(&self, _table: &Table, object: &ObjectVersion) -> Result<bool, SinkError> {
        self.has_done(object).await
    }

    async fn record(&self, entry: &Entry) -> Result<(), SinkError> {
        let mut conn = self.conn().await?;
        insert(self, &mut conn, entry).await
    }

    async fn select_runs(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        self.entries(selection).await
    }
}
