//! Rollups are derived, never trusted blindly: `csvgate check` recomputes each one from the
//! rows of the table version it reflects and compares them group by group.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::Outcome;
use crate::dictionary::Table;
use crate::report::{Chosen, Engine, Engines};
use crate::rollup::Rollup;

/// How many differing groups an outcome spells out.
const SHOWN: usize = 5;

/// Every rollup over `table` in `engine`'s store (MySQL when it answers, else the
/// warehouse), checked; the second part says whether a check could not run (the rollup could
/// not be read or recomputed).
pub async fn check_rollups(
    engines: &Engines,
    engine: Option<Engine>,
    table: &Table,
) -> Vec<(Outcome, bool)> {
    let mysql = match engines.choose(engine) {
        Ok(Chosen::Mysql(mysql)) => Some(mysql),
        Ok(_) => None,
        // The table's other checks say the same: counted once, as a check that could not run.
        Err(_) => return Vec::new(),
    };
    let rollups = match mysql {
        Some(mysql) => mysql.rollups(),
        None => engines.warehouse.rollups(),
    };
    let mut outcomes = Vec::new();
    for rollup in Rollup::of_table(rollups, &table.name) {
        let checked = match mysql {
            Some(mysql) => (mysql.check_rollup(rollup).await)
                .map(|found| found.map(|differences| (None, differences))),
            None => (engines.warehouse.check_rollup(rollup).await)
                .map(|found| found.map(|check| (Some(check.reflects), check.differences))),
        };
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
                outcome.expected = match mysql {
                    Some(_) => "none stored yet: the next load or `db init` computes it".into(),
                    None => "none stored yet: the next load or report computes it".into(),
                };
            }
            Ok(Some((reflects, differences))) => {
                let differing: usize = differences.iter().map(RecordBatch::num_rows).sum();
                outcome.value = Some(differing as f64);
                outcome.passed = differing == 0;
                if differing > 0 {
                    outcome.error = Some(described(rollup, reflects, &differences));
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

/// The first differing groups: which side holds each, and its values; `reflects` is the
/// table version the stored groups are for, where the store has versions.
fn described(rollup: &Rollup, reflects: Option<u64>, differences: &[RecordBatch]) -> String {
    let version = reflects
        .map(|v| format!("version {v} of "))
        .unwrap_or_default();
    let mut lines = vec![format!(
        "groups stored for {version}{} against those of its rows:",
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
