//! What is stored of rollups, read in a load's transaction (which rollups to change) and in a
//! check's snapshot (their groups against those of the rows).

use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::keys;
use super::recompute::{fingerprint_on, forget};
use super::{KEY_COLUMN, add_groups, table_name};
use crate::rollup::tally::Tally;
use crate::rollup::{Rollup, merge};
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::ROLLUPS_TABLE;
use crate::sink::mysql::ddl::quoted;
use crate::sink::mysql::fetch::to_batch;

impl MysqlTarget {
    /// At the end of a load of `table`, inside its transaction: adds the change `tally` counted
    /// to each rollup stored by its current declaration, and deletes the record of every other
    /// rollup of the table (one this process does not keep, or one stored by another
    /// declaration), which a later recompute restores. The records are locked, so a
    /// recompute waits for this transaction to end. With `replace` (a restore), the change is
    /// the whole rollup.
    pub(crate) async fn change_rollups(
        &self,
        conn: &mut Conn,
        table: &str,
        tally: Option<Tally>,
        replace: bool,
    ) -> Result<(), SinkError> {
        let error = self.error();
        let Some(tally) = tally else {
            // Kept by no one here: a plain delete, one lock taken once.
            let forget = format!("DELETE FROM {ROLLUPS_TABLE} WHERE table_name = ?");
            return conn.exec_drop(forget, (table,)).await.map_err(error);
        };
        let sql = format!(
            "SELECT name, fingerprint FROM {ROLLUPS_TABLE} WHERE table_name = ? FOR UPDATE"
        );
        let records: Vec<(String, String)> = conn.exec(sql, (table,)).await.map_err(&error)?;
        let changes = tally.finish().await.map_err(self.query_error())?;
        for (name, fingerprint) in records {
            let change = (changes.iter()).find(|(rollup, _)| {
                rollup.name == name && keys::fingerprint(rollup) == fingerprint
            });
            match change {
                Some((rollup, groups)) if replace => {
                    let empty = format!("DELETE FROM {}", quoted(&table_name(rollup)));
                    conn.query_drop(empty).await.map_err(&error)?;
                    add_groups(conn, rollup, groups).await
                }
                Some((rollup, groups)) => add_groups(conn, rollup, groups).await,
                None => forget(conn, &name).await,
            }
            .map_err(&error)?;
        }
        Ok(())
    }

    /// `rollup`'s stored groups and those of its table's rows, read in one snapshot; `None`
    /// when no groups are stored by its current declaration.
    pub async fn rollup_and_rows(
        &self,
        rollup: &Rollup,
    ) -> Result<Option<(Vec<RecordBatch>, Vec<RecordBatch>)>, SinkError> {
        let error = self.error();
        let mut conn = self.conn().await?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .map_err(&error)?;
        let read = self.read_in_snapshot(&mut conn, rollup).await;
        let rolled_back = conn.query_drop("ROLLBACK").await;
        let read = read?;
        rolled_back.map_err(error)?;
        Ok(read)
    }

    async fn read_in_snapshot(
        &self,
        conn: &mut Conn,
        rollup: &Rollup,
    ) -> Result<Option<(Vec<RecordBatch>, Vec<RecordBatch>)>, SinkError> {
        let error = self.error();
        let stored = fingerprint_on(conn, rollup).await.map_err(&error)?;
        if stored != Some(keys::fingerprint(rollup)) {
            return Ok(None);
        }
        let columns: Vec<String> = (rollup.schema.fields().iter())
            .map(|field| quoted(field.name()))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            quoted(&table_name(rollup)),
            quoted(KEY_COLUMN)
        );
        let rows = conn.exec(sql, ()).await.map_err(&error)?;
        let groups = vec![self.batch(&rollup.schema, rows)?];
        let recomputed = self.groups_of_rows(conn, rollup, "").await?;
        Ok(Some((groups, recomputed)))
    }

    /// The groups that differ between `rollup` as stored and as its rows make it (see
    /// [`merge::differences`]); `None` when none is stored by its current declaration.
    pub async fn check_rollup(
        &self,
        rollup: &Rollup,
    ) -> Result<Option<Vec<RecordBatch>>, SinkError> {
        let Some((stored, recomputed)) = self.rollup_and_rows(rollup).await? else {
            return Ok(None);
        };
        let differences = merge::differences(rollup, stored, recomputed).await;
        differences.map(Some).map_err(self.query_error())
    }

    /// `rows` read from MySQL as a batch of `schema`.
    pub(super) fn batch(
        &self,
        schema: &datafusion::arrow::datatypes::SchemaRef,
        rows: Vec<mysql_async::Row>,
    ) -> Result<RecordBatch, SinkError> {
        to_batch(schema, rows).map_err(|reason| SinkError::Config {
            target: self.display.clone(),
            reason,
        })
    }

    pub(crate) fn query_error(
        &self,
    ) -> impl Fn(datafusion::error::DataFusionError) -> SinkError + use<> {
        let target = self.display.clone();
        move |source| SinkError::Query {
            target: target.clone(),
            source: Box::new(source),
        }
    }
}
