//! One writer at a time per table whose rollups are kept: a load or a restore by a deployment
//! that keeps them, or a recompute, holds the table's named lock (`GET_LOCK`) on its
//! connection from before its transaction to after its end.
//!
//! Why not InnoDB's row locks alone: loads of one table change the same groups of its
//! rollups, and a load also reads the rows it replaces with `FOR UPDATE` (under REPEATABLE
//! READ, a key not stored yet takes a gap lock). Side by side, two such loads each wait for a
//! lock the other holds and InnoDB kills one (seen with four workers, on the rollup's rows).
//! Taken before the transaction, the named lock is never held while waiting for a row, so it
//! adds no deadlock of its own. Loads of other tables, and of tables without rollups, still
//! run side by side.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;

/// How long a writer waits for the one before it (a load of 10M rows takes minutes).
const LOCK_WAIT_SECS: u32 = 3600;
/// The lock's name for the table `?` of the connection's database: short, whatever the
/// names' lengths (MySQL takes 64 characters).
const LOCK_NAME: &str = "CONCAT('csvgate:', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 32))";

impl MysqlTarget {
    /// Takes the named lock of `table` on `conn`, waiting for the writer that holds it.
    pub(crate) async fn lock_table(&self, conn: &mut Conn, table: &str) -> Result<(), SinkError> {
        let sql = format!("SELECT GET_LOCK({LOCK_NAME}, ?)");
        let taken: Option<Option<i64>> =
            (conn.exec_first(sql, (table, LOCK_WAIT_SECS)).await).map_err(self.error())?;
        let reason = match taken.flatten() {
            Some(1) => return Ok(()),
            Some(_) => format!(
                "table {table}: another load, restore or rollup recompute has held its lock for {LOCK_WAIT_SECS} s"
            ),
            None => format!(
                "table {table}: the server could not take its lock (out of memory, or the wait was killed)"
            ),
        };
        Err(SinkError::Config {
            target: self.display.clone(),
            reason,
        })
    }

    /// Gives back the named lock of `table` taken on `conn`.
    pub(crate) async fn unlock_table(
        conn: &mut Conn,
        table: &str,
    ) -> Result<(), mysql_async::Error> {
        conn.exec_drop(format!("DO RELEASE_LOCK({LOCK_NAME})"), (table,))
            .await
    }
}
