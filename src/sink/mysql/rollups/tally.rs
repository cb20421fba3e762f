//! The groups one transaction's rows add to a table's rollups and take away from them,
//! counted as the rows stream past: a few batches of rows at a time are turned into groups
//! and folded into the running change, so memory holds groups, never a whole load.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::rollup::{Rollup, merge};

/// Rows held before they are folded into groups.
const FOLD_ROWS: usize = 64 * 1024;

/// Which way rows count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Rows the transaction writes.
    Added,
    /// Stored rows they replace.
    Replaced,
}

/// One rollup's change so far.
struct Change {
    rollup: Rollup,
    net: Vec<RecordBatch>,
}

/// The change a transaction's rows make to every rollup of their table.
pub(crate) struct Tally {
    /// The rows' schema: the table's typed one.
    rows: SchemaRef,
    changes: Vec<Change>,
    plus: Vec<RecordBatch>,
    minus: Vec<RecordBatch>,
    pending: usize,
}

impl Tally {
    /// A tally for `rollups`, all over the table whose typed schema is `rows`.
    pub(crate) fn new(rows: SchemaRef, rollups: Vec<Rollup>) -> Tally {
        let changes = (rollups.into_iter())
            .map(|rollup| Change {
                rollup,
                net: Vec::new(),
            })
            .collect();
        Tally {
            rows,
            changes,
            plus: Vec::new(),
            minus: Vec::new(),
            pending: 0,
        }
    }

    /// The rows' schema.
    pub(crate) fn rows(&self) -> SchemaRef {
        SchemaRef::clone(&self.rows)
    }

    /// Counts `rows` in (`Side::Added`) or out (`Side::Replaced`).
    pub(crate) async fn count(
        &mut self,
        side: Side,
        rows: RecordBatch,
    ) -> Result<(), DataFusionError> {
        self.pending += rows.num_rows();
        match side {
            Side::Added => self.plus.push(rows),
            Side::Replaced => self.minus.push(rows),
        }
        match self.pending >= FOLD_ROWS {
            true => self.fold().await,
            false => Ok(()),
        }
    }

    /// Turns the rows held into groups, added to each rollup's change.
    async fn fold(&mut self) -> Result<(), DataFusionError> {
        let plus = std::mem::take(&mut self.plus);
        let minus = std::mem::take(&mut self.minus);
        self.pending = 0;
        if plus.is_empty() && minus.is_empty() {
            return Ok(());
        }
        let ctx = SessionContext::new();
        for change in &mut self.changes {
            let rollup = &change.rollup;
            let added = groups(&ctx, rollup, &self.rows, &plus).await?;
            let taken = groups(&ctx, rollup, &self.rows, &minus).await?;
            let net = std::mem::take(&mut change.net);
            change.net = merge::net(rollup, net, added, taken).await?;
        }
        Ok(())
    }

    /// Each rollup with the groups its change moves.
    pub(crate) async fn finish(
        mut self,
    ) -> Result<Vec<(Rollup, Vec<RecordBatch>)>, DataFusionError> {
        self.fold().await?;
        Ok((self.changes.into_iter())
            .map(|change| (change.rollup, change.net))
            .collect())
    }
}

/// The groups of `batches`, rows of `schema`: none without a query when there are none (a
/// first load replaces no row, and its tally would otherwise plan a query per fold for them).
async fn groups(
    ctx: &SessionContext,
    rollup: &Rollup,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<RecordBatch>, DataFusionError> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    merge::groups_of(ctx, rollup, rows(schema, batches)?).await
}

fn rows(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Arc<MemTable>, DataFusionError> {
    Ok(Arc::new(MemTable::try_new(
        Arc::clone(schema),
        vec![batches.to_vec()],
    )?))
}
