//! The secondary indexes the dictionary asks of MySQL, and the statements that bring a stored
//! table's to them (`csvgate db init` and `db migrate` run them; a table created now has them
//! in its `CREATE TABLE`).
//!
//! Which indexes a table wants is [`super::ddl::wanted_indexes`]; an older csvgate indexed a
//! timestamp column alone, which made Q1 on MariaDB 50× slower than on the same data in
//! Parquet.

use std::collections::BTreeMap;

use super::MysqlTarget;
use super::ddl::{quoted, wanted_indexes};
use crate::dictionary::Dictionary;
use crate::sink::SinkError;

/// The stored secondary indexes: by table, then by index name, their columns in order.
type StoredIndexes = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl MysqlTarget {
    /// The `ALTER TABLE`s that give every stored table of the dictionary its wanted indexes:
    /// a missing one added, one with other columns rebuilt under its name (InnoDB builds it
    /// in place, with the table open to reads and writes). Tables not stored yet get theirs
    /// from their `CREATE TABLE`.
    pub(super) async fn index_changes(
        &self,
        dictionary: &Dictionary,
    ) -> Result<Vec<String>, SinkError> {
        let stored = self.stored_indexes().await?;
        let mut plan = Vec::new();
        for table in dictionary.tables() {
            let Some(indexes) = stored.get(&table.name) else {
                continue;
            };
            for index in wanted_indexes(table) {
                let change = match indexes.get(&index.name) {
                    Some(columns) if *columns == index.columns => continue,
                    Some(_) => format!("DROP INDEX {}, ADD {}", quoted(&index.name), index.line()),
                    None => format!("ADD {}", index.line()),
                };
                plan.push(format!("ALTER TABLE {} {change}", quoted(&table.name)));
            }
        }
        Ok(plan)
    }

    /// Every stored table's indexes (the primary key counts as one, so a table without
    /// secondary indexes is still listed).
    async fn stored_indexes(&self) -> Result<StoredIndexes, SinkError> {
        let sql = "SELECT table_name, index_name, column_name FROM information_schema.statistics \
                   WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index";
        let rows: Vec<(String, String, String)> = self.query(sql).await?;
        let mut stored = StoredIndexes::new();
        for (table, index, column) in rows {
            let indexes = stored.entry(table).or_default();
            indexes.entry(index).or_default().push(column);
        }
        Ok(stored)
    }
}
