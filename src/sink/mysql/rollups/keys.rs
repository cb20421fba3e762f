//! A rollup group's key on MySQL: 16 bytes of the SHA-256 of its group values, each written
//! as a null mark or its length and text, so NULL, the text "NULL" and neighbouring values
//! never collide. The values' types are part of the rollup's fingerprint, so one group always
//! writes the same text.

use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use sha2::{Digest, Sha256};

use crate::rollup::Rollup;

/// How keys, and the rollup's table, are made: part of what a stored rollup is recorded as
/// computed by, so a new scheme makes every rollup anew instead of splitting its groups (v2:
/// the table's covering index of its leading groups).
const SCHEME: &str = "sha256-16 of null marks, lengths and Arrow's display, v2";

/// What `rollup`'s record holds when its groups were computed by its current declaration
/// and this key scheme.
pub(super) fn fingerprint(rollup: &Rollup) -> String {
    crate::sink::sha256_hex(&format!("{}\n{SCHEME}", rollup.fingerprint()))
}

/// A group's key, with where its row is: the batch and the row in it.
pub(super) type Keyed = ([u8; 16], usize, usize);

/// The key of every row of `batches`, which are in `rollup`'s schema.
pub(super) fn keyed(rollup: &Rollup, batches: &[RecordBatch]) -> Vec<Keyed> {
    let options = FormatOptions::default();
    let mut keyed = Vec::new();
    for (index, batch) in batches.iter().enumerate() {
        let groups: Vec<&dyn Array> = (rollup.groups.iter())
            .map(|name| {
                batch
                    .column_by_name(name)
                    .expect("a rollup's groups are columns of its schema")
                    .as_ref()
            })
            .collect();
        let formatters: Vec<ArrayFormatter> = (groups.iter())
            .map(|array| ArrayFormatter::try_new(*array, &options))
            .collect::<Result<_, _>>()
            .expect("every type a rollup stores has a display");
        for row in 0..batch.num_rows() {
            let mut hash = Sha256::new();
            for (array, formatter) in groups.iter().zip(&formatters) {
                if array.is_null(row) {
                    hash.update([0]);
                } else {
                    let text = formatter.value(row).to_string();
                    hash.update([1]);
                    hash.update((text.len() as u64).to_le_bytes());
                    hash.update(text.as_bytes());
                }
            }
            let digest = hash.finalize();
            let mut key = [0; 16];
            key.copy_from_slice(&digest[..16]);
            keyed.push((key, index, row));
        }
    }
    keyed
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array};
    use datafusion::arrow::record_batch::RecordBatch;

    use sha2::{Digest, Sha256};

    use super::keyed;
    use crate::dictionary::Dictionary;
    use crate::rollup::Rollup;

    /// The keys of stored groups must not move with a dependency: a new Arrow that printed a
    /// value otherwise would split a group in two. If this fails, change [`super::SCHEME`]
    /// (every rollup is then recomputed) and the text expected here.
    #[test]
    fn a_group_keeps_its_key_and_null_is_not_zero() {
        let hr = Dictionary::hr();
        let sql = include_str!("../../../../queries/rollups/hires_by_quarter.sql");
        let rollup = Rollup::declare(&hr, "hires_by_quarter", sql, "built-in").unwrap();
        let int32 = |values: Vec<Option<i32>>| Arc::new(Int32Array::from(values)) as ArrayRef;
        let int64 = |values: Vec<Option<i64>>| Arc::new(Int64Array::from(values)) as ArrayRef;
        let columns = vec![
            int32(vec![Some(2021), Some(2021)]),
            int32(vec![Some(1), Some(1)]),
            int64(vec![Some(5), Some(5)]),
            int64(vec![None, Some(0)]),
            int64(vec![Some(3), Some(3)]),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&rollup.schema), columns).unwrap();
        let keys: Vec<String> = (keyed(&rollup, &[batch]).iter())
            .map(|(key, ..)| key.iter().map(|byte| format!("{byte:02x}")).collect())
            .collect();
        assert_ne!(keys[0], keys[1], "NULL and 0 are two groups");
        let spelled = |values: &[Option<&str>]| {
            let mut hash = Sha256::new();
            for value in values {
                match value {
                    None => hash.update([0]),
                    Some(text) => {
                        hash.update([1]);
                        hash.update((text.len() as u64).to_le_bytes());
                        hash.update(text.as_bytes());
                    }
                }
            }
            let digest = hash.finalize();
            digest[..16]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        };
        let first = spelled(&[Some("2021"), Some("1"), Some("5"), None]);
        let second = spelled(&[Some("2021"), Some("1"), Some("5"), Some("0")]);
        assert_eq!(keys, [first, second]);
    }
}
