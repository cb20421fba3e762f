//! What a restore would leave pointing nowhere, found while its rows stream by: rows of the
//! snapshot whose foreign keys name ids the referenced table lacks, and rows of other tables
//! pointing at ids the snapshot lacks. Both are refused unless the user forces the restore,
//! and the message says exactly which ids.

use datafusion::arrow::record_batch::RecordBatch;
use roaring::RoaringTreemap;

use crate::dictionary::TableRef;
use crate::sink::{SinkError, Target, insert_ids};

/// Ids named in a message before the rest is only counted.
const IDS_SHOWN: usize = 10;

/// A foreign key of the restored table, with the ids it may point at now.
struct Reference {
    column: String,
    index: usize,
    referenced: TableRef,
    present: RoaringTreemap,
    seen: RoaringTreemap,
}

/// Watches a restore's rows go by.
pub(super) struct Check {
    table: TableRef,
    /// The new contents' ids, kept only when other tables point at this one.
    ids: Option<RoaringTreemap>,
    key_index: usize,
    references: Vec<Reference>,
}

impl Check {
    /// Reads the ids each foreign key of `table` may point at in `target`.
    pub(super) async fn new(target: &dyn Target, table: &TableRef) -> Result<Check, SinkError> {
        let mut references = Vec::new();
        for (index, column) in table.columns.iter().enumerate() {
            let Some(name) = column.referenced_table() else {
                continue;
            };
            let referenced = (target.dictionary().table(name))
                .expect("the dictionary checks references name declared tables");
            let present = target.ids(referenced).await?;
            references.push(Reference {
                column: column.name.clone(),
                index,
                referenced: TableRef::clone(referenced),
                present: present.into_integers(),
                seen: RoaringTreemap::new(),
            });
        }
        let ids = table.is_referenced().then(RoaringTreemap::new);
        let key = table.key_column();
        let key_index = (table.columns.iter())
            .position(|column| column == key)
            .expect("the key is one of the columns");
        Ok(Check {
            table: TableRef::clone(table),
            ids,
            key_index,
            references,
        })
    }

    /// Notes the ids of a batch shaped like the table's typed schema.
    pub(super) fn see(&mut self, rows: &RecordBatch) {
        if let Some(ids) = &mut self.ids {
            insert_ids(ids, rows, self.key_index);
        }
        for reference in &mut self.references {
            insert_ids(&mut reference.seen, rows, reference.index);
        }
    }

    /// Every way the new contents would leave a row pointing nowhere, one sentence each.
    pub(super) async fn finish(self, target: &dyn Target) -> Result<Vec<String>, SinkError> {
        let mut problems = Vec::new();
        for reference in &self.references {
            let missing = &reference.seen - &reference.present;
            if !missing.is_empty() {
                problems.push(format!(
                    "its rows' {} point at {} the table {} lacks",
                    reference.column,
                    ids(&missing),
                    reference.referenced.name
                ));
            }
        }
        let Some(new_ids) = &self.ids else {
            return Ok(problems);
        };
        for (other, column) in target.dictionary().referencing(&self.table) {
            let pointed_at = target.references(other, &column.name).await?;
            let missing = &pointed_at.into_integers() - new_ids;
            if !missing.is_empty() {
                problems.push(format!(
                    "rows of {} would point at {} through {}",
                    other.name,
                    ids(&missing),
                    column.name
                ));
            }
        }
        Ok(problems)
    }
}

/// "ids 3, 7 and 9", or the first few and how many more.
fn ids(ids: &RoaringTreemap) -> String {
    let shown: Vec<String> = ids
        .iter()
        .take(IDS_SHOWN)
        .map(|id| id.to_string())
        .collect();
    let more = ids.len().saturating_sub(IDS_SHOWN as u64);
    let noun = if ids.len() == 1 { "id" } else { "ids" };
    match more {
        0 => format!("{} {noun}: {}", ids.len(), shown.join(", ")),
        more => format!("{} {noun}: {} and {more} more", ids.len(), shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_id_lists_are_cut_and_counted() {
        assert_eq!(ids(&RoaringTreemap::from_iter([7u64])), "1 id: 7");
        let many = RoaringTreemap::from_iter(1u64..=12);
        assert_eq!(
            ids(&many),
            "12 ids: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more"
        );
    }
}
