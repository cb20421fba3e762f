//! The stored rows a load replaces, read inside its transaction before the replace and
//! locked until its commit, so the rollups lose their counts: found by key for a load
//! straight into the table, by a join with the staging table for a staged one.
//!
//! A direct load looks up only the keys the table may hold: its stored keys' range, read
//! once under the table's lock, rules out a first load's keys and new ids past the last
//! (the common daily file), which would otherwise cost a lookup each for nothing.

use datafusion::arrow::record_batch::RecordBatch;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};

use crate::dictionary::{ColumnKind, Table};
use crate::rollup::tally::{Side, Tally};
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::quoted;
use crate::sink::mysql::rows;

/// Keys per lookup of the rows a direct load replaces.
const KEYS_PER_LOOKUP: usize = 4096;

/// A value as the text protocol sends it.
type Text = Vec<u8>;

/// Which keys a table holds, as far as its stored keys' range tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredKeys {
    /// None: the table is empty.
    None,
    /// Integer keys from the first to the second, both included.
    Between(i64, i64),
    /// Any: keys of a kind not ranged here.
    Any,
}

impl StoredKeys {
    fn may_hold(self, key: &Value) -> bool {
        match (self, key) {
            (StoredKeys::None, _) => false,
            (StoredKeys::Between(first, last), Value::Int(key)) => (first..=last).contains(key),
            _ => true,
        }
    }

    /// The range once `keys` are written too: a later batch of the same load may repeat one
    /// the split could not tell apart (a key MySQL compares as equal), and must look it up.
    fn widen(self, keys: &[Value]) -> StoredKeys {
        keys.iter().fold(self, |range, key| match (range, key) {
            (StoredKeys::None, Value::Int(key)) => StoredKeys::Between(*key, *key),
            (StoredKeys::Between(first, last), Value::Int(key)) => {
                StoredKeys::Between(first.min(*key), last.max(*key))
            }
            _ => StoredKeys::Any,
        })
    }
}

impl MysqlTarget {
    /// The range of `table`'s stored keys, read while a load holds the table's lock, so no
    /// other load changes it before that load commits.
    pub(crate) async fn stored_keys(
        &self,
        conn: &mut Conn,
        table: &Table,
    ) -> Result<StoredKeys, SinkError> {
        let key = quoted(&table.key_column().name);
        let sql = format!("SELECT MIN({key}), MAX({key}) FROM {}", quoted(&table.name));
        let range: Option<(Option<Text>, Option<Text>)> =
            (conn.query_first(sql).await).map_err(self.error())?;
        let integer = |text: &[u8]| std::str::from_utf8(text).ok()?.parse::<i64>().ok();
        Ok(match range {
            None | Some((None, _)) | Some((_, None)) => StoredKeys::None,
            Some((Some(first), Some(last))) => {
                match (&table.key_column().kind, integer(&first), integer(&last)) {
                    (ColumnKind::Integer(_), Some(first), Some(last)) if first <= last => {
                        StoredKeys::Between(first, last)
                    }
                    _ => StoredKeys::Any,
                }
            }
        })
    }

    /// Counts out of `tally` the stored rows of `table` that have the keys of `rows`, looking
    /// up only the keys `stored` may hold, then widening it by them.
    pub(crate) async fn count_replaced_by_keys(
        &self,
        conn: &mut Conn,
        table: &Table,
        rows: &RecordBatch,
        stored: &mut StoredKeys,
        tally: &mut Tally,
    ) -> Result<(), SinkError> {
        let key = table.key_column();
        let index = table.column_names().position(|name| name == key.name);
        let mut keys = rows::column_values(rows, index.expect("the key is a column"));
        let written = stored.widen(&keys);
        keys.retain(|key| stored.may_hold(key));
        *stored = written;
        let columns: Vec<String> = table.column_names().map(quoted).collect();
        let select = format!("SELECT {} FROM {}", columns.join(", "), quoted(&table.name));
        for chunk in keys.chunks(KEYS_PER_LOOKUP) {
            let (sql, params) = match contiguous(chunk) {
                Some((first, last)) => {
                    let range = format!("{} BETWEEN ? AND ?", quoted(&key.name));
                    (range, vec![Value::Int(first), Value::Int(last)])
                }
                None => {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    (
                        format!("{} IN ({marks})", quoted(&key.name)),
                        chunk.to_vec(),
                    )
                }
            };
            let sql = format!("{select} WHERE {sql} FOR UPDATE");
            let params = Params::Positional(params);
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

/// The first and last of `keys` when they are every integer from one to the other, once
/// each (a reload of a run of ids): then a range reads the same rows as the list, and reads
/// them faster (6 ms against 13 ms for 4,096 keys on MariaDB 11).
fn contiguous(keys: &[Value]) -> Option<(i64, i64)> {
    let mut integers = (keys.iter())
        .map(|key| match key {
            Value::Int(key) => Some(*key),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()?;
    integers.sort_unstable();
    integers.dedup();
    let (first, last) = (*integers.first()?, *integers.last()?);
    let span = last.checked_sub(first)?.checked_add(1)?;
    (span == i64::try_from(integers.len()).ok()?).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integers(keys: &[i64]) -> Vec<Value> {
        keys.iter().map(|key| Value::Int(*key)).collect()
    }

    #[test]
    fn only_keys_in_the_stored_or_written_range_are_looked_up() {
        assert!(!StoredKeys::None.may_hold(&Value::Int(1)));
        let written = StoredKeys::None.widen(&integers(&[5, 3, 9]));
        assert_eq!(written, StoredKeys::Between(3, 9));
        assert!(written.may_hold(&Value::Int(3)) && written.may_hold(&Value::Int(9)));
        assert!(!written.may_hold(&Value::Int(2)) && !written.may_hold(&Value::Int(10)));
        assert_eq!(written.widen(&integers(&[-4])), StoredKeys::Between(-4, 9));
    }

    #[test]
    fn a_run_of_every_integer_is_read_as_a_range_and_anything_else_by_list() {
        assert_eq!(contiguous(&integers(&[7, 5, 6, 6])), Some((5, 7)));
        assert_eq!(contiguous(&integers(&[5, 7])), None);
        assert_eq!(contiguous(&integers(&[])), None);
        let mixed = [Value::Int(1), Value::Bytes(b"2".to_vec())];
        assert_eq!(contiguous(&mixed), None);
    }

    #[test]
    fn text_keys_once_written_are_always_looked_up() {
        // MySQL may compare two spellings the split told apart as one key.
        let written = StoredKeys::None.widen(&[Value::Bytes(b"a".to_vec())]);
        assert_eq!(written, StoredKeys::Any);
        assert!(written.may_hold(&Value::Bytes(b"A".to_vec())));
    }
}
