//! The contract's dataset-level rules ([`crate::dictionary::DatasetCheck`]): each table's
//! queries run in one engine and their values held against the rules' operators. They run
//! after every load that changed a table, and on demand (`csvgate check`).
//!
//! `csvgate check` also reads the rows each table holds (in MySQL when the engine is MySQL,
//! else in the warehouse) and judges them by the row rules as they are now ([`stored`]): a rule made stricter applies to later loads, and this lists the
//! stored rows it would reject.
//!
//! It also recomputes every rollup the warehouse keeps from the rows of the version it
//! reflects and compares them group by group ([`rollups`]).
//!
//! A failed rule rejects nothing and fails no load (the rows already met every row rule); it
//! is logged as a warning and recorded with the run, in the invalid bucket at
//! `_csvgate_checks/<table>/<run-id>.json`, beside the run's rejected rows.

mod measure;
mod record;
mod rollups;
mod stored;

use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

use crate::dictionary::Table;
use crate::report::{Engine, Engines};

pub use record::Recorder;
pub use rollups::check_rollups;
pub use stored::{STORED_ROWS_RULE, stored_rows};

/// What one rule came to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub table: String,
    pub rule: String,
    /// What the value must be (`< 10`, `between 1 and 5`).
    pub expected: String,
    /// The query's value, when it ran and gave one.
    pub value: Option<f64>,
    pub passed: bool,
    /// Why there is no value: the query failed, or gave NULL or no row.
    pub error: Option<String>,
}

/// Runs every dataset rule of `table` in `engine` (the deployment's default when `None`).
pub async fn check_table(engines: &Engines, engine: Option<Engine>, table: &Table) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(table.dataset_checks.len());
    if table.dataset_checks.is_empty() {
        return outcomes;
    }
    let measurer = measure::Measurer::new(engines, engine).await;
    for check in &table.dataset_checks {
        let value = match &measurer {
            Ok(measurer) => measurer.value(&table.name, check).await,
            Err(error) => Err(error.clone()),
        };
        outcomes.push(Outcome {
            table: table.name.clone(),
            rule: check.name.clone(),
            expected: check.expect.to_string(),
            passed: value.as_ref().is_ok_and(|value| check.expect.holds(*value)),
            value: value.as_ref().ok().copied(),
            error: value.err(),
        });
    }
    outcomes
}

/// The columns `csvgate check` prints.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("expected", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("passed", DataType::Boolean, false),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// `outcomes` as one batch of [`schema`].
pub fn to_batch(outcomes: &[Outcome]) -> Result<RecordBatch, ArrowError> {
    let text = |read: fn(&Outcome) -> &str| {
        Arc::new(outcomes.iter().map(read).map(Some).collect::<StringArray>())
    };
    RecordBatch::try_new(
        schema(),
        vec![
            text(|outcome| &outcome.table),
            text(|outcome| &outcome.rule),
            text(|outcome| &outcome.expected),
            Arc::new(outcomes.iter().map(|o| o.value).collect::<Float64Array>()),
            Arc::new(
                outcomes
                    .iter()
                    .map(|o| Some(o.passed))
                    .collect::<BooleanArray>(),
            ),
            Arc::new(
                (outcomes.iter())
                    .map(|o| o.error.as_deref())
                    .collect::<StringArray>(),
            ),
        ],
    )
}
