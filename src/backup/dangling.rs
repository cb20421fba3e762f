//! What a restore would leave pointing nowhere, found while its rows stream by: rows of the
//! snapshot whose foreign keys name ids the referenced table lacks, and rows of other tables
//! pointing at ids the snapshot lacks. Both are refused unless the user forces the restore,
//! and the message says exactly which ids.

use datafusion::arrow::record_batch::RecordBatch;

use crate::dictionary::{Keys, TableRef};
use crate::sink::{SinkError, Target};

/// A foreign key of the restored table, with the ids it may point at now.
struct Reference {
    column: String,
    index: usize,
    referenced: TableRef,
    present: Keys,
    seen: Keys,
}

/// Watches a restore's rows go by.
pub(super) struct Check {
    table: TableRef,
    /// The new contents' ids, kept only when other tables point at this one.
    ids: Option<Keys>,
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
                present,
                seen: Keys::of(&column.kind),
            });
        }
        let key = table.key_column();
        let ids = table.is_referenced().then(|| Keys::of(&key.kind));
        let key_index = table.key_index();
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
            ids.insert_column(rows.column(self.key_index));
        }
        for reference in &mut self.references {
            reference.seen.insert_column(rows.column(reference.index));
        }
    }

    /// Every way the new contents would leave a row pointing nowhere, one sentence each.
    pub(super) async fn finish(self, target: &dyn Target) -> Result<Vec<String>, SinkError> {
        let mut problems = Vec::new();
        for reference in &self.references {
            let missing = reference.seen.without(&reference.present);
            if !missing.is_empty() {
                problems.push(format!(
                    "its rows' {} point at {} the table {} lacks",
                    reference.column,
                    missing.describe(),
                    reference.referenced.name
                ));
            }
        }
        let Some(new_ids) = &self.ids else {
            return Ok(problems);
        };
        for (other, column) in target.dictionary().referencing(&self.table) {
            let pointed_at = target.references(other, &column.name).await?;
            let missing = pointed_at.without(new_ids);
            if !missing.is_empty() {
                problems.push(format!(
                    "rows of {} would point at {} through {}",
                    other.name,
                    missing.describe(),
                    column.name
                ));
            }
        }
        Ok(problems)
    }
}
