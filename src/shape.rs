//! Shaping Arrow batches into the schemas csvgate declares.
//!
//! Engines hand back what they computed, not what was declared: text as views, a count as
//! `UInt64`, a timestamp without its zone. Every batch that leaves csvgate (valid rows into a
//! target, ledger entries, report answers) is cast to its declared schema here, so both engines
//! and every reader agree column for column.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;

/// `batch` with each column cast to the type of the schema's field at the same position and
/// renamed after it.
pub fn to_schema(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    cast_to(batch, schema, &CastOptions::default())
}

/// Like [`to_schema`], but a value the field's type cannot hold (a sum past a decimal's
/// precision) is an error instead of a NULL.
pub fn to_schema_strictly(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_to(batch, schema, &strict)
}

fn cast_to(
    batch: &RecordBatch,
    schema: &SchemaRef,
    options: &CastOptions,
) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| cast_column(column, field.data_type(), options))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// Like [`to_schema`], but picks the columns by name, in the schema's order.
pub fn to_schema_by_name(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    to_schema(&by_name(batch, schema)?, schema)
}

/// Like [`to_schema_strictly`], but picks the columns by name, in the schema's order.
pub fn to_schema_by_name_strictly(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    to_schema_strictly(&by_name(batch, schema)?, schema)
}

/// `batch`'s columns that `schema` names, in its order.
fn by_name(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let indices = schema
        .fields()
        .iter()
        .map(|field| batch.schema().index_of(field.name()))
        .collect::<Result<Vec<_>, _>>()?;
    batch.project(&indices)
}

/// Like [`to_schema_by_name`], but a nullable field the batch lacks reads as NULL: what a
/// table written before that column existed holds (an older csvgate's ledger).
pub fn to_schema_by_name_or_null(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    let rows = batch.num_rows();
    let columns = (schema.fields().iter())
        .map(|field| match batch.schema().index_of(field.name()) {
            Ok(index) => cast_column(
                batch.column(index),
                field.data_type(),
                &CastOptions::default(),
            ),
            Err(_) if field.is_nullable() => Ok(new_null_array(field.data_type(), rows)),
            Err(missing) => Err(missing),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
}

fn cast_column(
    column: &ArrayRef,
    to: &datafusion::arrow::datatypes::DataType,
    options: &CastOptions,
) -> Result<ArrayRef, ArrowError> {
    if column.data_type() == to {
        Ok(Arc::clone(column))
    } else {
        cast_with_options(column.as_ref(), to, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Int32Array, StringViewArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    #[test]
    fn columns_are_cast_renamed_and_picked_by_name() {
        let computed = RecordBatch::try_from_iter([
            ("n", Arc::new(Int32Array::from(vec![7])) as ArrayRef),
            (
                "text",
                Arc::new(StringViewArray::from(vec!["a"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let declared = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let by_name = to_schema_by_name(&computed, &declared).unwrap();
        assert_eq!(by_name.schema(), declared);
        assert_eq!(by_name.column(0).as_string::<i32>().value(0), "a");
        assert_eq!(by_name.column(1).as_primitive::<Int64Type>().value(0), 7);

        let missing = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        assert!(to_schema_by_name(&computed, &missing).is_err());
        let positional = to_schema(&computed.project(&[1, 0]).unwrap(), &declared).unwrap();
        assert_eq!(positional, by_name);
    }
}
