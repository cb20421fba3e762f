//! The stored rows a load replaces, read inside its transaction before the replace and
//! locked until its commit, so the rollups lose their counts: found by key for a load
//! straight into the table, by a join with the staging table for a staged one.

use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::{Conn, Params};

use crate::dictionary::Table;
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::quoted;
use crate::sink::mysql::rows;

/// Keys per lookup of the rows a direct load replaces.
const KEYS_PER_LOOKUP: usize = 4096;

impl MysqlTarget {
    /// Counts out of `tally` the stored rows of `table` that have the keys of `rows`.
    pub(crate) async fn count_replaced_by_keys(
        &self,
        conn: &mut Conn,
        table: &Table,
        rows: &RecordBatch,
        tally: &mut Tally,
    ) -> Result<(), SinkError> {
        let key = table.key_column();
        let index = table.column_names().position(|name| name == key.name);
        let keys = rows::column_values(rows, index.expect("the key is a column"));
        let columns: Vec<String> = table.column_names().map(quoted).collect();
        for chunk in keys.chunks(KEYS_PER_LOOKUP) {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} IN ({}) FOR UPDATE",
                columns.join(", "),
                quoted(&table.name),
                quoted(&key.name),
                vec!["?"; chunk.len()].join(", ")
            );
            let params = Params::Positional(chunk.to_vec());
            (self.count_rows(conn, &sql, params, tally, Side::Replaced)).await?;
        }
        Ok(())
    }

    /// Counts out of `tally` the stored rows of `table` whose keys the staging table `stage`
    /// holds.
    pub(crate) async fn count_replaced_by_stage(
        &self,
        conn: &mut Conn,
        table: &Table,
        stage: &str,
        tally: &mut Tally,
    ) -> Result<(), SinkError> {
        let columns: Vec<String> = (table.column_names())
            .map(|name| format!("t.{}", quoted(name)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} AS t JOIN {stage} AS s ON t.{key} = s.{key} FOR UPDATE",
            columns.join(", "),
            quoted(&table.name),
            key = quoted(&table.key_column().name),
        );
        (self.count_rows(conn, &sql, Params::Empty, tally, Side::Replaced)).await
    }
}
