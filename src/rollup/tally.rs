//! The groups one change's rows add to a table's rollups and take away from them, counted as
//! the rows stream past, on either engine.
//!
//! Each rollup and side runs its declaration once, as one aggregate fed through a bounded
//! channel while the load goes on: the aggregate works on another core when one is free,
//! memory holds its groups and a few batches in flight, never a whole load, and no query is
//! planned per batch. A side no row reaches plans nothing (a first load replaces no row).

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Rollup, merge};
use crate::dictionary::Table;

/// Batches each aggregate may have waiting: enough to keep it busy, few enough to bound
/// memory; a load that outruns its aggregates waits for them.
const IN_FLIGHT: usize = 4;

/// Which way rows count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Rows the change writes.
    Added,
    /// Stored rows they replace.
    Replaced,
}

/// The change a transaction's rows make to every rollup of their table.
pub(crate) struct Tally {
    /// The rows' schema: the table's typed one. Rows of another order or type (read back from
    /// a table's files) are brought to it by name.
    rows: SchemaRef,
    rollups: Vec<Rollup>,
    added: Option<Feeds>,
    replaced: Option<Feeds>,
}

type Groups = Result<Vec<RecordBatch>, DataFusionError>;

/// One side's aggregates, one per rollup, each fed by its channel. Dropped, it stops them.
struct Feeds {
    senders: Vec<mpsc::Sender<RecordBatch>>,
    running: Vec<JoinHandle<Groups>>,
}

impl Tally {
    /// A tally for those of `rollups` over `table`; `None` when it has none.
    pub(crate) fn for_table(rollups: &[Rollup], table: &Table) -> Option<Tally> {
        let of_table: Vec<Rollup> = Rollup::of_table(rollups, &table.name).cloned().collect();
        (!of_table.is_empty()).then(|| Tally::new(table.typed_schema(), of_table))
    }

    /// A tally for `rollups`, all over the table whose typed schema is `rows`.
    pub(crate) fn new(rows: SchemaRef, rollups: Vec<Rollup>) -> Tally {
        Tally {
            rows,
            rollups,
            added: None,
            replaced: None,
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
        if rows.num_rows() == 0 {
            return Ok(());
        }
        // Cast strictly: a value the type cannot hold is an error, never a NULL that would
        // take a row out of the wrong group.
        let rows = match rows.schema() == self.rows {
            true => rows,
            false => crate::shape::to_schema_by_name_strictly(&rows, &self.rows)?,
        };
        let feeds = match side {
            Side::Added => &mut self.added,
            Side::Replaced => &mut self.replaced,
        };
        if feeds.is_none() {
            *feeds = Some(Feeds::start(&self.rows, &self.rollups)?);
        }
        let sent = feeds.as_mut().expect("started").send(rows).await;
        if sent.is_err() {
            // Its aggregates are stopped: what it counted is lost, and the tally with it.
            *feeds = None;
        }
        sent
    }

    /// Forgets what was counted on `side`: a replace tried again reads the rows it replaces
    /// anew, from a newer version.
    pub(crate) fn forget(&mut self, side: Side) {
        match side {
            Side::Added => self.added = None,
            Side::Replaced => self.replaced = None,
        }
    }

    /// Each rollup with the groups its change moves.
    pub(crate) async fn finish(self) -> Result<Vec<(Rollup, Vec<RecordBatch>)>, DataFusionError> {
        let count = self.rollups.len();
        let added = Feeds::finish(self.added, count).await?;
        let replaced = Feeds::finish(self.replaced, count).await?;
        let mut changes = Vec::with_capacity(count);
        for ((rollup, plus), minus) in self.rollups.into_iter().zip(added).zip(replaced) {
            let net = match minus.is_empty() {
                true => plus,
                false => merge::net(&rollup, Vec::new(), plus, minus).await?,
            };
            changes.push((rollup, net));
        }
        Ok(changes)
    }
}

impl Feeds {
    /// One aggregate per rollup, each waiting for rows.
    fn start(rows: &SchemaRef, rollups: &[Rollup]) -> Result<Feeds, DataFusionError> {
        let mut feeds = Feeds {
            senders: Vec::with_capacity(rollups.len()),
            running: Vec::with_capacity(rollups.len()),
        };
        for rollup in rollups {
            let (sender, receiver) = mpsc::channel(IN_FLIGHT);
            let fed = Fed {
                schema: SchemaRef::clone(rows),
                receiver: Mutex::new(Some(receiver)),
            };
            let input = StreamingTable::try_new(SchemaRef::clone(rows), vec![Arc::new(fed)])?;
            let rollup = rollup.clone();
            feeds.senders.push(sender);
            feeds.running.push(tokio::spawn(async move {
                merge::groups_of(&SessionContext::new(), &rollup, Arc::new(input)).await
            }));
        }
        Ok(feeds)
    }

    async fn send(&mut self, rows: RecordBatch) -> Result<(), DataFusionError> {
        for (index, sender) in self.senders.iter().enumerate() {
            if sender.send(rows.clone()).await.is_err() {
                // The aggregate stopped before its rows ended: its outcome says why.
                let stopped = self.running.remove(index).await;
                return Err(outcome(stopped).err().unwrap_or_else(|| {
                    DataFusionError::Internal("a rollup's tally ended before its rows".into())
                }));
            }
        }
        Ok(())
    }

    /// Each rollup's groups once its rows have ended (none for a side never started).
    async fn finish(
        feeds: Option<Feeds>,
        count: usize,
    ) -> Result<Vec<Vec<RecordBatch>>, DataFusionError> {
        let Some(mut feeds) = feeds else {
            return Ok(vec![Vec::new(); count]);
        };
        feeds.senders.clear();
        let mut groups = Vec::with_capacity(count);
        // One at a time: on an error, those not awaited yet stay for `Drop` to stop.
        while !feeds.running.is_empty() {
            groups.push(outcome(feeds.running.remove(0).await)?);
        }
        Ok(groups)
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        self.running.iter().for_each(JoinHandle::abort);
    }
}

fn outcome(joined: Result<Groups, tokio::task::JoinError>) -> Groups {
    joined.map_err(|error| DataFusionError::External(Box::new(error)))?
}

/// The rows a channel brings, as the one partition of a table an aggregate reads once.
#[derive(Debug)]
struct Fed {
    schema: SchemaRef,
    receiver: Mutex<Option<mpsc::Receiver<RecordBatch>>>,
}

impl PartitionStream for Fed {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = SchemaRef::clone(&self.schema);
        let Some(receiver) = self.receiver.lock().expect("tally lock").take() else {
            // Its rows went to the first reader: a second would count none, silently.
            let error = DataFusionError::Internal("a tally's rows were read twice".into());
            let once = futures::stream::once(async { Err(error) });
            return Box::pin(RecordBatchStreamAdapter::new(schema, once));
        };
        let rows = futures::stream::unfold(receiver, |mut receiver| async move {
            let rows = receiver.recv().await?;
            Some((Ok(rows), receiver))
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::compute::{cast, concat_batches};
    use datafusion::arrow::util::pretty::pretty_format_batches;

    const PER_DEPARTMENT: &str = "SELECT department_id, COUNT(*) AS n, SUM(job_id) AS jobs \
        FROM hired_employees GROUP BY department_id";

    fn tally() -> Tally {
        let dictionary = Dictionary::hr();
        let rollup = Rollup::declare(&dictionary, "per_department", PER_DEPARTMENT, "test")
            .expect("declared");
        let table = dictionary.table("hired_employees").expect("hr table");
        Tally::new(table.typed_schema(), vec![rollup])
    }

    /// Hires `(id, department_id, job_id)` in `schema`'s columns, whatever their order.
    fn hires(schema: &SchemaRef, rows: &[(u32, u32, u32)]) -> RecordBatch {
        let text = |field: &str| -> Vec<String> {
            (rows.iter())
                .map(|(id, department, job)| match field {
                    "id" => id.to_string(),
                    "name" => format!("hire {id}"),
                    "datetime" => "2021-03-01T10:00:00Z".into(),
                    "department_id" => department.to_string(),
                    _ => job.to_string(),
                })
                .collect()
        };
        let columns = (schema.fields().iter())
            .map(|field| {
                let text: ArrayRef = Arc::new(StringArray::from(text(field.name())));
                cast(&text, field.data_type()).expect("typed")
            })
            .collect();
        RecordBatch::try_new(SchemaRef::clone(schema), columns).expect("rows")
    }

    fn reversed(schema: &SchemaRef) -> SchemaRef {
        let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
        fields.reverse();
        Arc::new(datafusion::arrow::datatypes::Schema::new(fields))
    }

    async fn net(tally: Tally) -> String {
        let [(rollup, groups)] =
            <[_; 1]>::try_from(tally.finish().await.expect("tallied")).expect("one rollup");
        let ctx = SessionContext::new();
        let all = concat_batches(&rollup.schema, &groups).expect("groups");
        ctx.register_batch("net", all).expect("registered");
        let sorted = ctx.sql("SELECT * FROM net ORDER BY department_id").await;
        let sorted = sorted.expect("planned").collect().await.expect("sorted");
        pretty_format_batches(&sorted).expect("printed").to_string()
    }

    #[tokio::test]
    async fn the_net_change_is_added_rows_minus_replaced_ones_read_in_any_column_order() {
        let mut tally = tally();
        let schema = tally.rows();
        let added = hires(&schema, &[(1, 1, 4), (2, 1, 4), (3, 2, 5)]);
        tally.count(Side::Added, added).await.expect("counted");
        // Rows read back from a table's files may hold its columns in another order.
        let replaced = hires(&reversed(&schema), &[(1, 1, 3), (2, 2, 5)]);
        tally
            .count(Side::Replaced, replaced)
            .await
            .expect("counted");
        let expected = [
            "+---------------+---+------+",
            "| department_id | n | jobs |",
            "+---------------+---+------+",
            "| 1             | 1 | 5    |",
            "+---------------+---+------+",
        ];
        // Department 2 lost hire 2 and gained hire 3 in the same job: it moves nothing.
        assert_eq!(net(tally).await, expected.join("\n"));
    }

    #[tokio::test]
    async fn forgotten_replaced_rows_count_for_nothing_and_batches_beyond_the_channel_all_count() {
        let mut tally = tally();
        let schema = tally.rows();
        for id in 0..(IN_FLIGHT as u32 * 3) {
            let added = hires(&schema, &[(id, 7, 1)]);
            tally.count(Side::Added, added).await.expect("counted");
        }
        let replaced = hires(&schema, &[(100, 7, 1)]);
        tally
            .count(Side::Replaced, replaced)
            .await
            .expect("counted");
        tally.forget(Side::Replaced);
        let expected = [
            "+---------------+----+------+",
            "| department_id | n  | jobs |",
            "+---------------+----+------+",
            "| 7             | 12 | 12   |",
            "+---------------+----+------+",
        ];
        assert_eq!(net(tally).await, expected.join("\n"));
    }
}
