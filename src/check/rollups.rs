//! Rollups are derived, never trusted blindly: `csvgate check` recomputes each one from the
//! rows of the table version it reflects and compares them group by group.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::Outcome;
use crate::dictionary::Table;
use crate::report::Engines;
use crate::rollup::Rollup;

/// How many differing groups an outcome spells out.
const SHOWN: usize = 5;

/// Every rollup over `table` in the warehouse, checked; the second part says whether a check
/// could not run (the rollup could not be read or recomputed).
pub async fn check_rollups(engines: &Engines, table: &Table) -> Vec<(Outcome, bool)> {
    let warehouse = &engines.warehouse;
    let mut outcomes = Vec::new();
    for rollup in warehouse
        .rollups()
        .iter()
        .filter(|rollup| rollup.table == table.name)
    {
        let checked = warehouse.check_rollup(rollup).await;
        let mut outcome = Outcome {
            table: table.name.clone(),
            rule: format!("rollup {}", rollup.name),
            expected: "no group differs from the rows".into(),
            value: None,
            passed: false,
            error: None,
        };
        let mut could_not_run = false;
        match checked {
            Ok(None) => {
                outcome.passed = true;
                outcome.expected = "none stored yet: the next load or report computes it".into();
            }
            Ok(Some(check)) => {
                let differing: usize = check.differences.iter().map(RecordBatch::num_rows).sum();
                outcome.value = Some(differing as f64);
                outcome.passed = differing == 0;
                if differing > 0 {
                    outcome.error = Some(described(rollup, check.reflects, &check.differences));
                }
            }
            Err(error) => {
                outcome.error = Some(format!("could not be checked: {error}"));
                could_not_run = true;
            }
        }
        outcomes.push((outcome, could_not_run));
    }
    outcomes
}

/// The first differing groups: which side holds each, and its values.
fn described(rollup: &Rollup, reflects: u64, differences: &[RecordBatch]) -> String {
    let mut lines = vec![format!(
        "groups stored for version {reflects} of {} against those of its rows:",
        rollup.table
    )];
    let options = FormatOptions::default();
    for batch in differences {
        let formatters: Vec<_> = (batch.columns().iter())
            .filter_map(|column| ArrayFormatter::try_new(column.as_ref(), &options).ok())
            .collect();
        for row in 0..batch.num_rows() {
            if lines.len() > SHOWN {
                return lines.join(" ");
            }
            let values: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            lines.push(format!("({});", values.join(", ")));
        }
    }
    lines.join(" ")
}
