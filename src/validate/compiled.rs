//! The split query, planned once and applied batch by batch.
//!
//! Planning the rules' SQL (parse, optimise, build physical expressions) costs milliseconds,
//! as much as validating a small file: an upload of 2,000 rows spent a quarter of its time
//! there. The plan depends only on the table and the reference ids, so it is compiled once per
//! such pair and kept. What DataFusion plans for a `SELECT <expressions> FROM raw` is a chain
//! of projections (common sub-expressions are computed by an inner one) over the scan; those
//! projections are kept and evaluated on each batch the reader sends.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::physical_expr::projection::Projector;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::ReferenceIds;
use super::rules;
use crate::dictionary::TableRef;

/// The split query of one table for one set of reference ids.
pub struct CompiledRules {
    /// The table as declared when compiled: two dictionaries may name different tables alike.
    table: TableRef,
    references: ReferenceIds,
    /// Innermost projection first.
    projections: Vec<Projector>,
}

/// The last compiled rules of each table. Reference ids change only when `departments` or
/// `jobs` load, so one entry per table is enough.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<CompiledRules>>>> =
    LazyLock::new(Default::default);

impl CompiledRules {
    /// The rules of `table` accepting `references`, compiled now or earlier.
    pub async fn get(
        table: &TableRef,
        references: &ReferenceIds,
    ) -> Result<Arc<CompiledRules>, DataFusionError> {
        let kept = COMPILED
            .lock()
            .expect("rules lock")
            .get(&table.name)
            .cloned();
        let same =
            |rules: &Arc<CompiledRules>| rules.table == *table && &rules.references == references;
        if let Some(rules) = kept.filter(same) {
            return Ok(rules);
        }
        let rules = Arc::new(Self::compile(table, references).await?);
        COMPILED
            .lock()
            .expect("rules lock")
            .insert(table.name.clone(), Arc::clone(&rules));
        Ok(rules)
    }

    async fn compile(
        table: &TableRef,
        references: &ReferenceIds,
    ) -> Result<CompiledRules, DataFusionError> {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let input = Arc::new(NoRows(table.text_schema()));
        let raw = StreamingTable::try_new(table.text_schema(), vec![input])?;
        ctx.register_table(rules::RAW_TABLE, Arc::new(raw))?;
        super::key_lookup::register(&ctx, references);
        let sql = rules::split_sql(table, references);
        let mut node = ctx.sql(&sql).await?.create_physical_plan().await?;
        let mut projections = Vec::new();
        while let Some(projection) = node.downcast_ref::<ProjectionExec>() {
            let input = Arc::clone(projection.input());
            projections.push(
                projection
                    .projection_expr()
                    .make_projector(&input.schema())?,
            );
            node = input;
        }
        if node.schema() != table.text_schema() || projections.is_empty() {
            return Err(DataFusionError::Internal(format!(
                "the split query of {} was not planned as projections over the rows:\n{sql}",
                table.name
            )));
        }
        projections.reverse();
        Ok(CompiledRules {
            table: TableRef::clone(table),
            references: references.clone(),
            projections,
        })
    }

    /// The split query's output for one batch of text rows.
    pub fn apply(&self, rows: &RecordBatch) -> Result<RecordBatch, DataFusionError> {
        let mut batch = rows.clone();
        for projection in &self.projections {
            batch = projection.project_batch(&batch)?;
        }
        Ok(batch)
    }
}

/// The schema of the rows to plan against; never read.
#[derive(Debug)]
struct NoRows(datafusion::arrow::datatypes::SchemaRef);

impl PartitionStream for NoRows {
    fn schema(&self) -> &datafusion::arrow::datatypes::SchemaRef {
        &self.0
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                Arc::clone(&self.0),
                futures::stream::empty(),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::{Column, Dictionary, Keys};
    use datafusion::arrow::array::{BooleanArray, StringArray, UInt32Array, UInt64Array};
    use datafusion::datasource::MemTable;

    fn employees() -> TableRef {
        Dictionary::hr_table("hired_employees")
    }

    /// Rows that pass, and rows that break one rule each.
    fn text_rows() -> RecordBatch {
        let text = |values: [Option<&str>; 5]| Arc::new(StringArray::from(values.to_vec()));
        RecordBatch::try_new(
            employees().text_schema(),
            vec![
                text([Some("1"), Some("x"), Some("3"), Some("4"), Some("5")]),
                text([Some("Ann"), Some("Bob"), Some(""), Some("Dee"), Some("Eve")]),
                text([
                    Some("2021-11-07T02:48:42Z"),
                    Some("2021-01-01T00:00:00Z"),
                    Some("2021-01-01T00:00:00Z"),
                    Some("yesterday"),
                    Some("2021-07-01T10:00:00+02:00"),
                ]),
                text([Some("1"), Some("1"), Some("1"), Some("1"), Some("9")]),
                text([Some("2"), Some("2"), None, Some("2"), Some("2")]),
                Arc::new(UInt64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(UInt32Array::from(vec![5, 5, 4, 5, 5])),
                Arc::new(BooleanArray::from(vec![false, false, false, false, true])),
                Arc::new(StringArray::from(vec![
                    None,
                    Some("row: longer than 64 bytes"),
                    None,
                    None,
                    None,
                ])),
            ],
        )
        .unwrap()
    }

    fn references(departments: Vec<i64>) -> ReferenceIds {
        ReferenceIds::from([
            (
                "departments".to_owned(),
                Arc::new(Keys::from_iter(departments)),
            ),
            ("jobs".to_owned(), Arc::new(Keys::from_iter([2]))),
        ])
    }

    #[tokio::test]
    async fn the_compiled_rules_answer_what_the_query_answers() {
        let references = references(vec![1]);
        let rules = CompiledRules::get(&employees(), &references).await.unwrap();
        let compiled = rules.apply(&text_rows()).unwrap();

        let ctx = SessionContext::new();
        let rows = MemTable::try_new(employees().text_schema(), vec![vec![text_rows()]]).unwrap();
        ctx.register_table(rules::RAW_TABLE, Arc::new(rows))
            .unwrap();
        crate::validate::key_lookup::register(&ctx, &references);
        let sql = rules::split_sql(&employees(), &references);
        let queried = ctx.sql(&sql).await.unwrap().collect().await.unwrap();

        assert_eq!(compiled.schema(), queried[0].schema());
        assert_eq!(compiled, queried[0]);
        let reasons = compiled.column(employees().columns.len() + 1);
        assert_eq!(reasons.null_count(), 1, "only the first row is valid");
    }

    #[tokio::test]
    async fn rules_are_compiled_again_only_when_the_reference_ids_change() {
        // Another table than the test above, whose entry it would replace.
        let hr = Dictionary::hr();
        let jobs = hr.table("jobs").unwrap();
        let ids = |departments: Vec<i64>| {
            ReferenceIds::from([(
                "departments".to_owned(),
                Arc::new(Keys::from_iter(departments)),
            )])
        };
        let first = CompiledRules::get(jobs, &ids(vec![1, 2])).await.unwrap();
        let again = CompiledRules::get(jobs, &ids(vec![1, 2])).await.unwrap();
        let changed = CompiledRules::get(jobs, &ids(vec![1, 2, 3])).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &changed));
        // A table of another dictionary with the same name gets rules of its own.
        let other = Dictionary::new(vec![(
            "jobs",
            vec![Column::id("id"), Column::text("title", 255)],
        )])
        .unwrap();
        let theirs = CompiledRules::get(other.table("jobs").unwrap(), &ids(vec![1, 2, 3]))
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&changed, &theirs));
        assert!(theirs.table.column_names().eq(["id", "title"]));
    }
}
