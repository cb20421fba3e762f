//! Each rollup's groups as this process last stored them, by the version of the rollup's table
//! that holds them: the next load's change applies to them without reading the rollup back (a
//! query, and a request per part of its file on S3). Kept only for the version just stored,
//! and only when small; `csvgate check` always reads what is stored.

use std::collections::HashMap;

use datafusion::arrow::record_batch::RecordBatch;
use deltalake::DeltaTable;

use super::{DeltaTarget, folder};
use crate::rollup::Rollup;
use crate::sink::SinkError;

/// A rollup with more groups than fit in this many bytes is read back from its table.
const KEPT_GROUPS_MAX_BYTES: usize = 64 * 1024 * 1024;

/// By rollup folder: the rollup table's version and its groups at that version.
#[derive(Debug, Default)]
pub(in crate::sink::delta) struct KeptGroups {
    by_folder: HashMap<String, (u64, Vec<RecordBatch>)>,
}

impl KeptGroups {
    fn get(&self, folder: &str, version: u64) -> Option<Vec<RecordBatch>> {
        let (at, groups) = self.by_folder.get(folder)?;
        (*at == version).then(|| groups.clone())
    }

    /// Keeps `groups` as the rollup's table holds them at `version`, unless they are large.
    pub(super) fn keep(&mut self, folder: &str, version: u64, groups: &[RecordBatch]) {
        let bytes: usize = groups.iter().map(RecordBatch::get_array_memory_size).sum();
        match bytes <= KEPT_GROUPS_MAX_BYTES {
            true => {
                let kept = (version, groups.to_vec());
                self.by_folder.insert(folder.to_owned(), kept);
            }
            false => {
                self.by_folder.remove(folder);
            }
        }
    }
}

impl DeltaTarget {
    /// The groups at the version `stored` is at: kept from this process's own commit of that
    /// version, else read ([`DeltaTarget::stored_groups`]).
    pub(super) async fn current_groups(
        &self,
        rollup: &Rollup,
        stored: &DeltaTable,
    ) -> Result<Vec<RecordBatch>, SinkError> {
        let name = folder(rollup);
        let kept = (stored.version()).and_then(|at| self.kept().rollup_groups.get(&name, at));
        match kept {
            Some(groups) => Ok(groups),
            None => self.stored_groups(rollup, stored).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use std::sync::Arc;

    fn counts(values: Vec<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(values)) as _)]).unwrap()
    }

    #[test]
    fn groups_are_kept_for_the_version_that_holds_them() {
        let mut kept = KeptGroups::default();
        kept.keep("r", 4, &[counts(vec![1, 2])]);
        assert_eq!(kept.get("r", 4), Some(vec![counts(vec![1, 2])]));
        assert_eq!(
            kept.get("r", 5),
            None,
            "another process stored a newer version"
        );
        assert_eq!(kept.get("s", 4), None);

        kept.keep("r", 5, &[counts(vec![3])]);
        assert_eq!(kept.get("r", 4), None, "only the latest version is kept");

        let large = counts(vec![7; KEPT_GROUPS_MAX_BYTES / 8 + 1]);
        kept.keep("r", 6, &[large]);
        assert_eq!(kept.get("r", 6), None, "too large to keep");
        assert_eq!(kept.get("r", 5), None, "and the older ones go");
    }
}
