//! A rollup computed from every row of its table: when none is stored, when it was computed
//! by another declaration, or when a load that did not keep it deleted its record.
//!
//! It runs holding the table's lock ([`super::lock`]), so no load that keeps the rollup runs
//! meanwhile; a load that keeps none is ordered by the record and the rows' shared locks
//! ([`MysqlTarget::refill`]).

use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params};

use super::keys;
use super::{add_groups, table_name};
use crate::rollup::Rollup;
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::ROLLUPS_TABLE;
use crate::sink::mysql::ddl::quoted;

/// Who brings a rollup that is not current back, which says what a failure does. Either way
/// its table is made anew in its declaration's shape, then filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rebuild {
    /// `csvgate db init`, run by the database's owner: a failure is the command's.
    ForInit,
    /// A load: the application user may not change a table's definition, so the rollup stays
    /// unreadable, with a warning to run `db init`, and the load goes on.
    BeforeLoad,
}

impl MysqlTarget {
    /// Recomputes, on `conn`, every rollup of `table` whose stored record is missing or older
    /// than its declaration. `conn` holds the table's lock ([`MysqlTarget::lock_table`]) and
    /// no open transaction.
    pub(crate) async fn ready_rollups(
        &self,
        conn: &mut Conn,
        table: &str,
        rebuild: Rebuild,
    ) -> Result<(), SinkError> {
        for rollup in self.rollups_of(table) {
            let done = self.recompute_unless_current(conn, &rollup).await;
            if done.is_err() {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            match (done, rebuild) {
                (Err(error), Rebuild::BeforeLoad) => tracing::warn!(
                    rollup = rollup.name,
                    %error,
                    "the rollup could not be recomputed: reports scan the rows until `csvgate db init` recomputes it"
                ),
                (done, _) => done?,
            }
        }
        Ok(())
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

    /// Recomputes `rollup` unless it is stored by its current declaration.
    async fn recompute_unless_current(
        &self,
        conn: &mut Conn,
        rollup: &Rollup,
    ) -> Result<(), SinkError> {
        let error = self.error();
        if fingerprint_on(conn, rollup).await.map_err(&error)? == Some(keys::fingerprint(rollup)) {
            return Ok(());
        }
        tracing::info!(
            rollup = rollup.name,
            table = rollup.table,
            "recomputing the rollup from the rows"
        );
        forget(conn, &rollup.name).await.map_err(&error)?;
        // Statements that change a table's definition commit on their own: before the
        // transaction, while no record says the rollup can be read.
        let create = self.rollup_ddl(rollup)?;
        let drop = format!("DROP TABLE IF EXISTS {}", quoted(&table_name(rollup)));
        conn.query_drop(drop).await.map_err(&error)?;
        conn.query_drop(create).await.map_err(&error)?;
        self.refill(conn, rollup).await
    }

    /// Makes `rollup`'s table the groups of every row in one transaction. Its record goes in
    /// first: a load by a deployment that keeps no rollups (and takes no table lock) then waits
    /// for this transaction at its commit, and forgets the record after it; the rows are read
    /// with shared locks, so such a load's uncommitted rows are waited for.
    async fn refill(&self, conn: &mut Conn, rollup: &Rollup) -> Result<(), SinkError> {
        let error = self.error();
        // The shared locks' gaps are what keep such a load's new ids out until the commit.
        (conn
            .query_drop("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await)
            .map_err(&error)?;
        conn.query_drop("START TRANSACTION").await.map_err(&error)?;
        let record = format!(
            "INSERT INTO {ROLLUPS_TABLE} (name, table_name, fingerprint, computed_at) \
             VALUES (?, ?, ?, UTC_TIMESTAMP(6))"
        );
        let values = (&rollup.name, &rollup.table, keys::fingerprint(rollup));
        conn.exec_drop(record, values).await.map_err(&error)?;
        let empty = format!("DELETE FROM {}", quoted(&table_name(rollup)));
        conn.query_drop(empty).await.map_err(&error)?;
        let groups = self
            .groups_of_rows(conn, rollup, " LOCK IN SHARE MODE")
            .await?;
        add_groups(conn, rollup, &groups).await.map_err(&error)?;
        conn.query_drop("COMMIT").await.map_err(error)
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
pub(super) async fn fingerprint_on(
    conn: &mut Conn,
    rollup: &Rollup,
) -> Result<Option<String>, mysql_async::Error> {
    let sql = format!("SELECT fingerprint FROM {ROLLUPS_TABLE} WHERE name = ?");
    conn.exec_first(sql, (&rollup.name,)).await
}

/// Deletes the record of the rollup `name`: nothing reads it until it is recomputed.
pub(super) async fn forget(conn: &mut Conn, name: &str) -> Result<(), mysql_async::Error> {
    let sql = format!("DELETE FROM {ROLLUPS_TABLE} WHERE name = ?");
    conn.exec_drop(sql, (name,)).await
}
