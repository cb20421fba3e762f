//! Each rollup's groups as this process last stored them, by the version of the rollup's table
//! that holds them: the next load's change applies to them without reading the rollup back (a
//! query, and a request per part of its file on S3). Kept only for the version just stored,
//! and only when small (a process keeps at most that much per rollup); `csvgate check` always
//! reads what is stored.

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

    /// Keeps `groups` as the rollup's table holds them at `version`, unless they are large or
    /// a newer version's are kept.
    pub(super) fn keep(&mut self, folder: &str, version: u64, groups: Vec<RecordBatch>) {
        self.keep_within(folder, version, groups, KEPT_GROUPS_MAX_BYTES);
    }

    fn keep_within(&mut self, folder: &str, version: u64, groups: Vec<RecordBatch>, max: usize) {
        if self
            .by_folder
            .get(folder)
            .is_some_and(|(at, _)| *at > version)
        {
            return;
        }
        let bytes: usize = groups.iter().map(RecordBatch::get_array_memory_size).sum();
        match bytes <= max {
            true => self.by_folder.insert(folder.to_owned(), (version, groups)),
            false => self.by_folder.remove(folder),
        };
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
        kept.keep("r", 4, vec![counts(vec![1, 2])]);
        assert_eq!(kept.get("r", 4), Some(vec![counts(vec![1, 2])]));
        let newer = kept.get("r", 5);
        assert_eq!(newer, None, "another process stored a newer version");
        assert_eq!(kept.get("s", 4), None);

        kept.keep("r", 5, vec![counts(vec![3])]);
        assert_eq!(kept.get("r", 4), None, "only the latest version is kept");
        kept.keep("r", 4, vec![counts(vec![1, 2])]);
        let latest = kept.get("r", 5);
        assert_eq!(
            latest,
            Some(vec![counts(vec![3])]),
            "not replaced by an older one"
        );

        let large = counts(vec![7; 1024]);
        let size = large.get_array_memory_size();
        kept.keep_within("r", 6, vec![large], size - 1);
        assert_eq!(kept.get("r", 6), None, "too large to keep");
        assert_eq!(kept.get("r", 5), None, "and the older ones go");
    }
}
