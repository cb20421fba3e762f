//! The arithmetic of rollups, the same for every engine: a set of rows turned into groups by
//! the declaration, groups added and subtracted, and a stored rollup compared with one
//! recomputed from the rows. Everything here holds groups, never rows: a rollup's size is its
//! number of groups, whatever the size of its table.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use super::Rollup;
use crate::validate::rules::quote;

/// The groups of the rows `rows` holds, by the declaration, in the rollup's stored schema.
/// `ctx` must reach `rows`' files (its object stores registered).
pub async fn groups_of(
    ctx: &SessionContext,
    rollup: &Rollup,
    rows: Arc<dyn TableProvider>,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    ctx.deregister_table(rollup.table.as_str())?;
    ctx.register_table(rollup.table.as_str(), rows)?;
    let groups = ctx.sql(&rollup.sql).await?.collect().await;
    ctx.deregister_table(rollup.table.as_str())?;
    shaped(rollup, groups?)
}

/// `current` with the groups of `plus` added and those of `minus` taken away; a group whose
/// count falls to 0 is gone.
pub async fn apply(
    rollup: &Rollup,
    current: Vec<RecordBatch>,
    plus: Vec<RecordBatch>,
    minus: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    let kept = format!("{} <> 0", quote(&rollup.count().name));
    summed(rollup, [current, plus, minus], &kept).await
}

/// The change `plus` minus `minus` makes to a rollup, added to the change `net` made before:
/// a group is kept while any measure moves (a row replaced within its group moves no count,
/// and may move a sum).
pub async fn net(
    rollup: &Rollup,
    net: Vec<RecordBatch>,
    plus: Vec<RecordBatch>,
    minus: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    let moved: Vec<String> = (rollup.measures.iter())
        .map(|measure| format!("{} <> 0", quote(&measure.name)))
        .collect();
    summed(rollup, [net, plus, minus], &moved.join(" OR ")).await
}

/// The groups of `current` and `plus` with those of `minus` negated, summed per group; the
/// groups where `kept` holds.
async fn summed(
    rollup: &Rollup,
    [current, plus, minus]: [Vec<RecordBatch>; 3],
    kept: &str,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    let ctx = SessionContext::new();
    for (name, groups) in [("current", current), ("plus", plus), ("minus", minus)] {
        ctx.register_table(name, table(rollup, groups)?)?;
    }
    let negated = (rollup.schema.fields().iter()).map(|field| match rollup.measure(field.name()) {
        Some(_) => format!("-{0} AS {0}", quote(field.name())),
        None => quote(field.name()),
    });
    let summed = (rollup.schema.fields().iter()).map(|field| match rollup.measure(field.name()) {
        Some(_) => format!("SUM({0}) AS {0}", quote(field.name())),
        None => quote(field.name()),
    });
    let groups: Vec<String> = rollup.groups.iter().map(|name| quote(name)).collect();
    let sql = format!(
        "SELECT * FROM (SELECT {} FROM (SELECT * FROM current UNION ALL SELECT * FROM plus \
         UNION ALL SELECT {} FROM minus) GROUP BY {}) WHERE {kept}",
        summed.collect::<Vec<_>>().join(", "),
        negated.collect::<Vec<_>>().join(", "),
        groups.join(", "),
    );
    shaped(rollup, ctx.sql(&sql).await?.collect().await?)
}

/// The groups that differ between `stored` and `recomputed`: each side's rows the other lacks,
/// stored first, in the rollup's schema with a first column `side` (`stored`, `recomputed`).
pub async fn differences(
    rollup: &Rollup,
    stored: Vec<RecordBatch>,
    recomputed: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    let ctx = SessionContext::new();
    ctx.register_table("stored", table(rollup, stored)?)?;
    ctx.register_table("recomputed", table(rollup, recomputed)?)?;
    // Groups are unique on each side, so set differences lose no repeated row; a group stored
    // twice with the same measures shows in the last part.
    let columns: Vec<String> = (rollup.schema.fields().iter())
        .map(|field| quote(field.name()))
        .collect();
    let columns = columns.join(", ");
    let sql = format!(
        "SELECT 'stored' AS side, * FROM (SELECT * FROM stored EXCEPT SELECT * FROM recomputed) \
         UNION ALL SELECT 'recomputed' AS side, * FROM (SELECT * FROM recomputed EXCEPT SELECT * FROM stored) \
         UNION ALL SELECT 'stored twice' AS side, {columns} FROM stored GROUP BY {columns} HAVING COUNT(*) > 1"
    );
    ctx.sql(&sql).await?.collect().await
}

fn table(rollup: &Rollup, groups: Vec<RecordBatch>) -> Result<Arc<MemTable>, DataFusionError> {
    Ok(Arc::new(MemTable::try_new(
        Arc::clone(&rollup.schema),
        vec![groups],
    )?))
}

/// `batches` cast to the rollup's stored schema. A value the stored type cannot hold (a sum
/// past its decimal's precision) is an error, never a NULL that would read as no value.
fn shaped(rollup: &Rollup, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, DataFusionError> {
    (batches.iter())
        .map(|batch| crate::shape::to_schema_strictly(batch, &rollup.schema))
        .collect::<Result<_, _>>()
        .map_err(DataFusionError::from)
}
