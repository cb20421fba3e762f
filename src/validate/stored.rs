//! Rows already stored, judged again by a table's rules as they are now: after a contract
//! tightens a rule, `csvgate check` lists the stored rows it would reject. The rows come as
//! text, one array per column (the values written back the way a file would hold them), and
//! go through the same compiled split query a file's rows do.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::error::DataFusionError;

use super::compiled::CompiledRules;
use super::{ReferenceIds, split_batch};
use crate::dictionary::TableRef;

/// A table's rules, ready to judge stored rows.
pub struct StoredRowJudge {
    table: TableRef,
    rules: Arc<CompiledRules>,
    /// Rows judged so far: the next row's number.
    next_row: u64,
}

impl StoredRowJudge {
    /// The rules of `table`, foreign keys checked against `references`.
    pub async fn new(
        table: &TableRef,
        references: &ReferenceIds,
    ) -> Result<StoredRowJudge, DataFusionError> {
        Ok(StoredRowJudge {
            table: TableRef::clone(table),
            rules: CompiledRules::get(table, references).await?,
            next_row: 1,
        })
    }

    /// The rows of `columns` (the table's columns as text, in declared order) the rules
    /// reject, shaped like [`crate::dictionary::Table::rejected_schema`]; `line` numbers the
    /// stored rows in the order they are judged, from 1.
    pub fn rejected(&mut self, columns: Vec<ArrayRef>) -> Result<RecordBatch, DataFusionError> {
        let rows = columns.first().map_or(0, |column| column.len());
        let first = self.next_row;
        self.next_row += rows as u64;
        let fields = u32::try_from(self.table.columns.len()).expect("a table has few columns");
        let mut all = columns;
        all.push(Arc::new(UInt64Array::from_iter_values(
            first..first + rows as u64,
        )));
        all.push(Arc::new(UInt32Array::from_value(fields, rows)));
        all.push(Arc::new(BooleanArray::from(vec![false; rows])));
        all.push(Arc::new(StringArray::new_null(rows)));
        let text = RecordBatch::try_new(self.table.text_schema(), all)?;
        let judged = self.rules.apply(&text)?;
        Ok(split_batch(&self.table, &judged)?.invalid)
    }
}
