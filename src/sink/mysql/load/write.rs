//! How one batch goes in: `LOAD DATA LOCAL INFILE` of its bytes from memory, or multi-row
//! `INSERT`s when the server refuses it.

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use mysql_async::Value;
use mysql_async::prelude::Queryable;

use super::{INSERT_CHUNK_ROWS, LOCAL_INFILE_REFUSED, Mode, MysqlLoad};
use crate::sink::SinkError;
use crate::sink::mysql::{rows, server_code};

impl MysqlLoad {
    /// Streams one batch into the staging table through `LOAD DATA LOCAL INFILE`; `Ok(false)`
    /// when the server refuses it.
    pub(super) async fn load_data(&mut self, rows: &RecordBatch) -> Result<bool, SinkError> {
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
            replace = if self.mode == Mode::Direct {
                "REPLACE"
            } else {
                ""
            },
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

    pub(super) async fn insert(&mut self, rows: &RecordBatch) -> Result<(), SinkError> {
        let columns = self.table.columns.len();
        let placeholders = format!("({})", vec!["?"; columns].join(", "));
        for start in (0..rows.num_rows()).step_by(INSERT_CHUNK_ROWS) {
            let end = (start + INSERT_CHUNK_ROWS).min(rows.num_rows());
            let values = vec![placeholders.as_str(); end - start].join(", ");
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {values} {update}",
                self.into,
                self.columns(),
                update = if self.mode == Mode::Direct {
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
