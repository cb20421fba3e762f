//! One dataset rule's query, run in one engine: its single value as a number.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};

use crate::dictionary::DatasetCheck;
use datafusion::prelude::SessionContext;

use crate::report::{Chosen, Engine, Engines, ReportError, adhoc};
use crate::sink::mysql::MysqlTarget;
use crate::sink::mysql::ddl::quoted;
use crate::validate::rules::quote;

/// Where a table's rules run: chosen, and for DataFusion the session opened (it opens every
/// warehouse table), once for all of them.
pub(super) enum Measurer<'a> {
    Mysql(&'a MysqlTarget),
    Datafusion(SessionContext),
}

impl Measurer<'_> {
    /// The engine `engine` names, or the deployment's default.
    pub(super) async fn new(
        engines: &Engines,
        engine: Option<Engine>,
    ) -> Result<Measurer<'_>, String> {
        match engines.choose(engine).map_err(|error| error.to_string())? {
            Chosen::Mysql(mysql) => Ok(Measurer::Mysql(mysql)),
            Chosen::Datafusion => {
                let session = engines.warehouse.session().await;
                Ok(Measurer::Datafusion(
                    session.map_err(|error| error.to_string())?,
                ))
            }
            Chosen::Ballista => Err("rules run in datafusion or mysql, not on a cluster".into()),
        }
    }

    /// The value of `check`'s query over `table`, or why there is none. Queries run
    /// read-only, as ad-hoc SQL does: a rule can read any table, change none. In DataFusion
    /// only the first rows are computed, so a query that selects many rows holds one batch.
    pub(super) async fn value(&self, table: &str, check: &DatasetCheck) -> Result<f64, String> {
        let batches: Result<Vec<RecordBatch>, ReportError> = match self {
            Measurer::Mysql(mysql) => {
                let sql = check.sql(table, quoted);
                adhoc::mysql(mysql, &sql).await.map(|(_, batches)| batches)
            }
            Measurer::Datafusion(ctx) => {
                let sql = check.sql(table, quote);
                adhoc::first_rows(ctx, &sql).await.map(Vec::from_iter)
            }
        };
        first_value(&batches.map_err(|error| error.to_string())?)
    }
}

/// The first column of the first row, as a number (a boolean is 1 or 0).
fn first_value(batches: &[RecordBatch]) -> Result<f64, String> {
    let Some(batch) = batches.iter().find(|batch| batch.num_rows() > 0) else {
        return Err("the query gave no row".into());
    };
    let column = batch.column(0);
    let column = match column.data_type() {
        DataType::Boolean => cast(
            &cast(column, &DataType::UInt8).map_err(text)?,
            &DataType::Float64,
        ),
        _ => cast(column, &DataType::Float64),
    };
    let numbers = column.map_err(text)?;
    let numbers = numbers.as_primitive::<Float64Type>();
    match numbers.is_valid(0) {
        true => Ok(numbers.value(0)),
        false => Err(format!(
            "the query's value is NULL or not a number ({})",
            batch.column(0).data_type()
        )),
    }
}

fn text(error: impl ToString) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};

    use super::*;

    fn batch(column: ArrayRef) -> Vec<RecordBatch> {
        vec![RecordBatch::try_from_iter([("value", column)]).unwrap()]
    }

    #[test]
    fn counts_text_and_booleans_read_as_numbers() {
        let count = batch(Arc::new(Int64Array::from(vec![42])));
        assert_eq!(first_value(&count), Ok(42.0));
        let mysql_text = batch(Arc::new(StringArray::from(vec!["766690.70"])));
        assert_eq!(first_value(&mysql_text), Ok(766690.70));
        let holds = batch(Arc::new(BooleanArray::from(vec![true])));
        assert_eq!(first_value(&holds), Ok(1.0));
    }

    #[test]
    fn null_words_and_no_row_are_no_value() {
        let null = batch(Arc::new(Int64Array::from(vec![None])));
        assert!(first_value(&null).unwrap_err().contains("NULL"));
        let word = batch(Arc::new(StringArray::from(vec!["many"])));
        assert!(first_value(&word).is_err());
        let empty = batch(Arc::new(Int64Array::from(Vec::<i64>::new())));
        assert_eq!(first_value(&empty), Err("the query gave no row".into()));
    }
}
