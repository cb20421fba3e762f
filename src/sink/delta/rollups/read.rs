//! Reading rollups: registered for a report once up to date, and checked against the rows.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use super::{DeltaTarget, folder};
use crate::rollup::{Rollup, merge};
use crate::sink::{Health, SinkError};

/// A stored rollup checked against the rows: what `csvgate check` reports.
#[derive(Debug)]
pub struct RollupCheck {
    /// The version of its table the stored rollup reflects, which it was recomputed at.
    pub reflects: u64,
    /// The table's current version (a rollup behind it is caught up by its next reader).
    pub current: u64,
    /// How many groups it stores.
    pub groups: usize,
    /// The groups that differ, with a first column `side` (`stored`, `recomputed`, or `stored
    /// twice`: [`merge::differences`]); none when the rollup is right.
    pub differences: Vec<RecordBatch>,
}

impl DeltaTarget {
    /// `rollup` as stored against the same rollup recomputed from the rows of the version it
    /// reflects (time travel: a rollup behind its table is checked at its own version);
    /// `None` when it was never stored.
    pub async fn check_rollup(&self, rollup: &Rollup) -> Result<Option<RollupCheck>, SinkError> {
        let stored = self.open(&folder(rollup)).await?;
        let mut table = self.open(&rollup.table).await?;
        let Some(current) = table.version() else {
            return Ok(None);
        };
        let id = self.id_of(rollup, &table)?;
        let Some(reflects) = self.reflected(rollup, &stored, &id).await? else {
            return Ok(None);
        };
        if reflects != current {
            table
                .load_version(reflects)
                .await
                .map_err(self.error(&rollup.table))?;
        }
        let recomputed = self.recomputed(rollup, &table).await?;
        let stored = self.stored_groups(rollup, &stored).await?;
        let groups = stored.iter().map(RecordBatch::num_rows).sum();
        let differences = merge::differences(rollup, stored, recomputed).await;
        let differences = differences.map_err(self.query_error(&folder(rollup)))?;
        Ok(Some(RollupCheck {
            reflects,
            current,
            groups,
            differences: differences
                .into_iter()
                .filter(|batch| batch.num_rows() > 0)
                .collect(),
        }))
    }

    /// Registers in `ctx`, under its name, each rollup of `names` brought up to date with its
    /// table; whether all of them were (a failure is logged: the caller scans instead).
    pub async fn register_rollups(&self, ctx: &SessionContext, names: &[String]) -> bool {
        for rollup in self
            .rollups
            .iter()
            .filter(|rollup| names.contains(&rollup.name))
        {
            if let Err(error) = self.register_rollup(ctx, rollup).await {
                tracing::warn!(rollup = rollup.name, %error, "the rollup could not be brought up to date: scanning the rows");
                return false;
            }
        }
        true
    }

    async fn register_rollup(
        &self,
        ctx: &SessionContext,
        rollup: &Rollup,
    ) -> Result<(), SinkError> {
        if self.catch_up(rollup).await?.is_none() {
            let reason = format!("{} was never loaded", rollup.table);
            return Err(SinkError::Config {
                target: self.describe(),
                reason,
            });
        }
        let name = folder(rollup);
        let stored = self.open(&name).await?;
        stored
            .update_datafusion_session(&ctx.state())
            .map_err(self.error(&name))?;
        let provider = (stored.table_provider().await).map_err(self.query_error(&name))?;
        ctx.register_table(rollup.name.as_str(), provider)
            .map_err(self.query_error(&name))?;
        Ok(())
    }
}
