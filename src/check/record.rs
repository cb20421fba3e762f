//! Dataset rules after a load: run, logged, and recorded with the run.

use async_trait::async_trait;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path;

use super::{Outcome, check_table};
use crate::dictionary::TableRef;
use crate::pipeline::AfterLoad;
use crate::report::Engines;
use crate::store::Location;

/// Checks a table's dataset rules after each load that changed it, in the deployment's default
/// engine, and writes what they came to beside the run's rejected rows.
pub struct Recorder {
    pub engines: Engines,
    /// The invalid bucket.
    pub bucket: Location,
}

/// Where the outcomes of `table`'s rules after run `run_id` are kept.
pub fn record_key(table: &str, run_id: &str) -> Path {
    Path::from(format!("_csvgate_checks/{table}/{run_id}.json"))
}

#[async_trait]
impl AfterLoad for Recorder {
    async fn loaded(&self, run_ids: &[&str], table: &TableRef) {
        if table.dataset_checks.is_empty() {
            return;
        }
        let outcomes = check_table(&self.engines, None, table).await;
        for outcome in &outcomes {
            log(outcome);
        }
        let json =
            bytes::Bytes::from(serde_json::to_vec_pretty(&outcomes).expect("outcomes serialize"));
        for run_id in run_ids {
            let key = record_key(&table.name, run_id);
            if let Err(error) = self.bucket.store.put(&key, json.clone().into()).await {
                tracing::warn!(%error, table = %table.name, "could not record the dataset rules' outcomes at {key}");
            }
        }
    }
}

fn log(outcome: &Outcome) {
    let Outcome {
        table,
        rule,
        expected,
        value,
        ..
    } = outcome;
    match (outcome.passed, &outcome.error) {
        (true, _) => tracing::info!(table, rule, expected, value, "dataset rule holds"),
        (false, None) => tracing::warn!(table, rule, expected, value, "dataset rule broken"),
        (false, Some(error)) => tracing::warn!(table, rule, error, "dataset rule could not run"),
    }
}
