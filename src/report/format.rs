//! Table, CSV or JSON output of Arrow batches, to any writer.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::pretty::pretty_format_batches_with_schema;

/// How tabular output is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
}

/// Writes `batches` (all shaped like `schema`) in `format`; an empty result still shows its
/// header in table and CSV form.
pub fn write(
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    out: &mut dyn Write,
) -> Result<(), ArrowError> {
    match format {
        Format::Table => writeln!(
            out,
            "{}",
            pretty_format_batches_with_schema(schema.clone(), batches)?
        )?,
        Format::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                writer.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            // An empty result is `[]` too: `finish` writes the brackets when no row came.
            writer.finish()?;
            writeln!(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn sample() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("job", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec!["VP, Sales", "Clerk"])),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    fn render(format: Format, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        write(format, &sample().0, batches, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_format_renders_rows() {
        let batch = sample().1;
        assert!(render(Format::Table, std::slice::from_ref(&batch)).contains("| 1  | VP, Sales |"));
        assert_eq!(
            render(Format::Csv, std::slice::from_ref(&batch)),
            "id,job\n1,\"VP, Sales\"\n2,Clerk\n"
        );
        assert_eq!(
            render(Format::Json, &[batch]),
            "[{\"id\":1,\"job\":\"VP, Sales\"},{\"id\":2,\"job\":\"Clerk\"}]\n"
        );
    }

    #[test]
    fn empty_results_keep_their_shape() {
        assert!(render(Format::Table, &[]).contains("| id | job |"));
        assert_eq!(render(Format::Csv, &[]), "id,job\n");
        assert_eq!(render(Format::Json, &[]), "[]\n");
    }
}
