//! A rollup group's key on MySQL: 16 bytes of the SHA-256 of its group values, each written
//! as a null mark or its length and text, so NULL, the text "NULL" and neighbouring values
//! never collide. The values' types are part of the rollup's fingerprint, so one group always
//! writes the same text.

use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use sha2::{Digest, Sha256};

use crate::rollup::Rollup;

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
