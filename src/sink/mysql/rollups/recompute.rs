//! A rollup computed from every row of its table: when none is stored, when it was computed
//! by another declaration, or when a load that did not keep it deleted its record.
//!
//! It runs holding the table's lock ([`super::lock`]), so no load that keeps the rollup runs
//! meanwhile; the rows are also read with `LOCK IN SHARE MODE`, so a load by a deployment that
//! keeps no rollups (and takes no lock) is waited for, and cannot commit before the rollup is.

use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params};

use super::tally::{Side, Tally};
use super::{add_groups, create_table, table_name};
use crate::rollup::Rollup;
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::ROLLUPS_TABLE;
use crate::sink::mysql::ddl::quoted;

impl MysqlTarget {
    /// Recomputes, on `conn`, every rollup of `table` whose stored record is missing or older
    /// than its declaration; returns the names of those it recomputed. `conn` holds the
    /// table's lock ([`MysqlTarget::lock_table`]) and no open transaction.
    pub(crate) async fn ready_rollups(
        &self,
        conn: &mut Conn,
        table: &str,
    ) -> Result<Vec<String>, SinkError> {
        let mut recomputed = Vec::new();
        for rollup in self.rollups_of(table) {
            let done = self.recompute_unless_current(conn, &rollup).await;
            if done.is_err() {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            if done? {
                recomputed.push(rollup.name.clone());
            }
        }
        Ok(recomputed)
    }

    /// The fingerprint `rollup`'s stored groups were computed by, if any.
    pub(crate) async fn stored_fingerprint(
        &self,
        rollup: &Rollup,
    ) -> Result<Option<String>, SinkError> {
        let mut conn = self.conn().await?;
        fingerprint_on(&mut conn, rollup)
            .await
            .map_err(self.error())
    }

    /// Recomputes `rollup` unless it is stored by its current declaration; whether it did.
    async fn recompute_unless_current(
        &self,
        conn: &mut Conn,
        rollup: &Rollup,
    ) -> Result<bool, SinkError> {
        let error = self.error();
        if fingerprint_on(conn, rollup).await.map_err(&error)? == Some(rollup.fingerprint()) {
            return Ok(false);
        }
        tracing::info!(
            rollup = rollup.name,
            table = rollup.table,
            "recomputing the rollup from the rows"
        );
        let create = create_table(rollup).map_err(|reason| SinkError::Config {
            target: self.display.clone(),
            reason: format!("rollup {}: {reason}", rollup.name),
        })?;
        let forget = format!("DELETE FROM {ROLLUPS_TABLE} WHERE name = ?");
        conn.exec_drop(forget, (&rollup.name,))
            .await
            .map_err(&error)?;
        // Statements that change a table's definition commit on their own: before the
        // transaction, while no record says the rollup can be read.
        let drop = format!("DROP TABLE IF EXISTS {}", quoted(&table_name(rollup)));
        conn.query_drop(drop).await.map_err(&error)?;
        conn.query_drop(create).await.map_err(&error)?;
        conn.query_drop("START TRANSACTION").await.map_err(&error)?;
        let groups = self
            .groups_of_rows(conn, rollup, " LOCK IN SHARE MODE")
            .await?;
        add_groups(conn, rollup, &groups).await.map_err(&error)?;
        let record = format!(
            "INSERT INTO {ROLLUPS_TABLE} (name, table_name, fingerprint, computed_at) \
             VALUES (?, ?, ?, UTC_TIMESTAMP(6))"
        );
        let values = (&rollup.name, &rollup.table, rollup.fingerprint());
        conn.exec_drop(record, values).await.map_err(&error)?;
        conn.query_drop("COMMIT").await.map_err(error)?;
        Ok(true)
    }

    /// The groups of every row of `rollup`'s table, read with shared locks in the open
    /// transaction on `conn` (or, with `lock` empty, as its snapshot sees them).
    pub(super) async fn groups_of_rows(
        &self,
        conn: &mut Conn,
        rollup: &Rollup,
        lock: &str,
    ) -> Result<Vec<RecordBatch>, SinkError> {
        let table = (self.dictionary.table(&rollup.table))
            .expect("rollups are declared over tables of the contract");
        let columns: Vec<String> = table.column_names().map(quoted).collect();
        let sql = format!(
            "SELECT {} FROM {}{lock}",
            columns.join(", "),
            quoted(&table.name)
        );
        let mut tally = Tally::new(table.typed_schema(), vec![rollup.clone()]);
        self.count_rows(conn, &sql, Params::Empty, &mut tally, Side::Added)
            .await?;
        let mut changes = tally.finish().await.map_err(self.query_error())?;
        Ok(changes.pop().map(|(_, groups)| groups).unwrap_or_default())
    }
}

/// The fingerprint `rollup`'s stored groups were computed by, read on `conn`.
async fn fingerprint_on(
    conn: &mut Conn,
    rollup: &Rollup,
) -> Result<Option<String>, mysql_async::Error> {
    let sql = format!("SELECT fingerprint FROM {ROLLUPS_TABLE} WHERE name = ?");
    conn.exec_first(sql, (&rollup.name,)).await
}
