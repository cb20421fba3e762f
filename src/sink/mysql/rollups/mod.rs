//! Rollups ([`crate::rollup`]) on MySQL: each one the table `csvgate_rollup_<name>`, changed
//! in the same transaction as the rows it counts, so no reader ever sees the two apart.
//!
//! A load counts the groups of its new rows and of the stored rows they replace (read with
//! `FOR UPDATE` before the replace, inside the load's transaction: `LOAD DATA … REPLACE` would
//! hide them) and adds the difference at commit; a restore makes the rollup the groups of
//! its rows. `csvgate_rollups` records the fingerprint of the declaration each rollup was
//! computed by: a missing or older one is recomputed from the rows ([`recompute`]), and a
//! load that does not keep a rollup (rollups turned off) deletes its record, so nothing
//! reads it until it is recomputed.
//!
//! A group is keyed by a hash of its values ([`keys`]): group columns may be NULL, which a
//! primary key cannot hold.

mod keys;
mod lock;
mod read;
mod recompute;
mod replaced;
mod stored;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params};

use super::ddl::quoted;
use super::{MysqlTarget, rows};
use crate::dictionary::Table;
use crate::rollup::Rollup;
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use recompute::Rebuild;
pub(crate) use replaced::StoredKeys;

/// The hidden key column of a rollup's table.
const KEY_COLUMN: &str = "csvgate_group";
/// Groups per `INSERT` when changing a rollup.
const GROUPS_PER_STATEMENT: usize = 500;
/// Keys per statement that deletes emptied groups.
const GROUPS_PER_DELETE: usize = 4096;
/// Rows per batch read back from a table.
const BATCH_ROWS: usize = 8192;
/// The longest identifier MySQL takes.
const MAX_IDENTIFIER: usize = 64;

/// The table `rollup` is stored in.
pub fn table_name(rollup: &Rollup) -> String {
    format!("csvgate_rollup_{}", rollup.name)
}

/// The `CREATE TABLE` of `rollup`'s table, or why MySQL cannot hold it.
fn create_table(rollup: &Rollup) -> Result<String, String> {
    let name = table_name(rollup);
    if name.len() > MAX_IDENTIFIER {
        return Err(format!(
            "{name} is longer than MySQL's {MAX_IDENTIFIER} characters: shorten the rollup's name"
        ));
    }
    let mut lines = vec![format!(
        "  {} BINARY(16) NOT NULL PRIMARY KEY",
        quoted(KEY_COLUMN)
    )];
    for field in rollup.schema.fields() {
        let null = match rollup.measure(field.name()) {
            Some(_) => "NOT NULL",
            None => "NULL",
        };
        let kind = column_type(field.data_type()).ok_or_else(|| {
            format!(
                "column {} is {}, which csvgate does not store in MySQL: cast it to an integer, decimal, text, date or timestamp",
                field.name(),
                field.data_type()
            )
        })?;
        lines.push(format!("  {} {kind} {null}", quoted(field.name())));
    }
    lines.extend(groups_index(rollup));
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
        quoted(&name),
        lines.join(",\n")
    ))
}

/// The line of a covering index of `rollup`'s table: its group columns up to the first text
/// one (an index holds no `MEDIUMTEXT`), then its measures. A report that keeps one year reads
/// that year's groups from the index alone, not every group (the primary key is a hash).
fn groups_index(rollup: &Rollup) -> Option<String> {
    let fields = rollup.schema.fields();
    let leading: Vec<&str> = (rollup.groups.iter())
        .map(String::as_str)
        .take_while(|name| {
            let field = fields.iter().find(|field| field.name() == name);
            field.is_some_and(|field| field.data_type() != &DataType::Utf8)
        })
        .collect();
    if leading.is_empty() {
        return None;
    }
    let measures = rollup.measures.iter().map(|measure| measure.name.as_str());
    // InnoDB indexes at most 16 columns.
    let columns: Vec<String> = leading
        .into_iter()
        .chain(measures)
        .take(16)
        .map(quoted)
        .collect();
    Some(format!("  KEY `groups_idx` ({})", columns.join(", ")))
}

/// The MySQL type of a rollup's column of `data_type`: the types [`rows`] writes.
fn column_type(data_type: &DataType) -> Option<String> {
    Some(match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision},{scale})"),
        DataType::Utf8 => "MEDIUMTEXT COLLATE utf8mb4_bin".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, _) => {
            "DATETIME(6)".into()
        }
        DataType::Boolean => "BOOLEAN".into(),
        _ => return None,
    })
}

impl MysqlTarget {
    /// Counts the rows `sql` selects (the table's columns, in order) into `tally` on `side`,
    /// a batch at a time.
    pub(crate) async fn count_rows(
        &self,
        conn: &mut Conn,
        sql: &str,
        params: Params,
        tally: &mut Tally,
        side: Side,
    ) -> Result<(), SinkError> {
        let error = self.error();
        let schema = tally.rows();
        let mut result = conn.exec_iter(sql, params).await.map_err(&error)?;
        let mut rows = Vec::with_capacity(BATCH_ROWS);
        while let Some(row) = result.next().await.map_err(&error)? {
            rows.push(row);
            if rows.len() == BATCH_ROWS {
                let batch = self.batch(&schema, std::mem::take(&mut rows))?;
                tally.count(side, batch).await.map_err(self.query_error())?;
            }
        }
        if !rows.is_empty() {
            let batch = self.batch(&schema, rows)?;
            tally.count(side, batch).await.map_err(self.query_error())?;
        }
        Ok(())
    }

    /// Before a transaction on `conn` that changes `table`: the table's lock taken and its
    /// rollups brought to their declarations, and a tally for the change; `None` (and no
    /// lock) when the table has no rollup kept.
    pub(crate) async fn tally_for(
        &self,
        conn: &mut Conn,
        table: &Table,
    ) -> Result<Option<Tally>, SinkError> {
        let Some(tally) = Tally::for_table(&self.rollups, table) else {
            return Ok(None);
        };
        self.lock_table(conn, &table.name).await?;
        let ready = self
            .ready_rollups(conn, &table.name, Rebuild::BeforeLoad)
            .await;
        if let Err(error) = ready {
            let _ = Self::unlock_table(conn, &table.name).await;
            return Err(error);
        }
        Ok(Some(tally))
    }

    /// `csvgate db init`: every rollup of `table` that is not current made anew, holding the
    /// table's lock.
    pub(crate) async fn rebuild_rollups(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<(), SinkError> {
        if self.rollups_of(table).is_empty() {
            return Ok(());
        }
        self.lock_table(conn, table).await?;
        let rebuilt = self.ready_rollups(conn, table, Rebuild::ForInit).await;
        let unlocked = Self::unlock_table(conn, table).await;
        rebuilt?;
        unlocked.map_err(self.error())
    }

    /// The `CREATE TABLE` of `rollup`'s table, or why MySQL cannot hold it.
    pub(crate) fn rollup_ddl(&self, rollup: &Rollup) -> Result<String, SinkError> {
        create_table(rollup).map_err(|reason| SinkError::Config {
            target: self.display.clone(),
            reason: format!("rollup {}: {reason}", rollup.name),
        })
    }

    /// The rollups kept over `table`.
    pub(super) fn rollups_of(&self, table: &str) -> Vec<Rollup> {
        Rollup::of_table(&self.rollups, table).cloned().collect()
    }
}

/// Adds the groups `change` moves to `rollup`'s stored ones, inside the caller's transaction:
/// in key order, so two loads changing the same groups wait for each other, never deadlock.
/// A group whose count falls to 0 is deleted.
async fn add_groups(
    conn: &mut Conn,
    rollup: &Rollup,
    change: &[RecordBatch],
) -> Result<(), mysql_async::Error> {
    let mut keyed = keys::keyed(rollup, change);
    keyed.sort_unstable_by_key(|(key, ..)| *key);
    let columns: Vec<String> = std::iter::once(quoted(KEY_COLUMN))
        .chain(rollup.schema.fields().iter().map(|f| quoted(f.name())))
        .collect();
    let updates: Vec<String> = (rollup.measures.iter())
        .map(|measure| format!("{0} = {0} + VALUES({0})", quoted(&measure.name)))
        .collect();
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    for chunk in keyed.chunks(GROUPS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON DUPLICATE KEY UPDATE {}",
            quoted(&table_name(rollup)),
            columns.join(", "),
            vec![row.as_str(); chunk.len()].join(", "),
            updates.join(", ")
        );
        let params = chunk.iter().flat_map(|(key, batch, index)| {
            std::iter::once(mysql_async::Value::Bytes(key.to_vec()))
                .chain(rows::params(&change[*batch], *index))
        });
        conn.exec_drop(sql, params.collect::<Vec<_>>()).await?;
    }
    delete_emptied(conn, rollup, change, &keyed).await
}

/// Deletes the groups of `keyed` whose count fell (only those can have reached 0) and is
/// now 0, by their keys: a few statements of many keys each, which read and lock only those
/// groups (one statement per group cost a round trip each: 20,000 on a 10 % moved reload).
async fn delete_emptied(
    conn: &mut Conn,
    rollup: &Rollup,
    change: &[RecordBatch],
    keyed: &[keys::Keyed],
) -> Result<(), mysql_async::Error> {
    let count = rollup.count();
    let fell: Vec<mysql_async::Value> = (keyed.iter())
        .filter(|(_, batch, row)| {
            let counts = change[*batch].column_by_name(&count.name);
            let counts = counts.expect("a rollup's change has its count");
            counts.as_primitive::<Int64Type>().value(*row) < 0
        })
        .map(|(key, ..)| mysql_async::Value::Bytes(key.to_vec()))
        .collect();
    for chunk in fell.chunks(GROUPS_PER_DELETE) {
        let sql = format!(
            "DELETE FROM {} WHERE {} = 0 AND {} IN ({})",
            quoted(&table_name(rollup)),
            quoted(&count.name),
            quoted(KEY_COLUMN),
            vec!["?"; chunk.len()].join(", ")
        );
        conn.exec_drop(sql, chunk.to_vec()).await?;
    }
    Ok(())
}
