//! Ad-hoc SQL, read-only on both engines: DataFusion over the warehouse and the landing files
//! (queries only), or one MySQL statement in a read-only transaction.
//!
//! In DataFusion the warehouse tables keep their names (`hired_employees`, and the ledger as
//! `runs`), and every table with files in the landing bucket appears twice in the `landing`
//! schema, validated on the fly by the same rules as `ingest` (foreign keys against the
//! warehouse as it is now):
//! - `landing.<table>`: the valid rows, typed (invalid rows are excluded; a file over its
//!   table's reject budget would load none of them);
//! - `landing.<table>_invalid`: the rows that would be rejected, as text, with `line`,
//!   `reason` and the object `key`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SQLOptions, SessionContext};
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use mysql_async::{Params, Row, Value};

use super::ReportError;
use super::param::ParamValue;
use crate::dictionary::{Table, TableRef};
use crate::pipeline::table_of;
use crate::sink::Rows;
use crate::sink::delta::DeltaTarget;
use crate::sink::mysql::MysqlTarget;
use crate::store::{Location, ObjectVersion};
use crate::validate::{self, Dialect, ReferenceIds, SplitStream};

/// Name of the schema the landing files are registered in.
pub const LANDING_SCHEMA: &str = "landing";

/// Runs `sql` in DataFusion with the warehouse and the landing files registered.
pub async fn datafusion(
    warehouse: &DeltaTarget,
    landing: &Location,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
    let ctx = warehouse.session().await?;
    let schema = Arc::new(MemorySchemaProvider::new());
    let catalog = ctx
        .catalog("datafusion")
        .expect("the default catalog exists");
    catalog
        .register_schema(LANDING_SCHEMA, schema)
        .map_err(Box::new)?;
    let objects = (landing.csv_objects().await).map_err(crate::sink::SinkError::from)?;
    let location = landing;
    let dictionary = warehouse.dictionary();
    for table in dictionary.tables() {
        let files: Vec<ObjectVersion> = objects
            .iter()
            .filter(|object| table_of(dictionary, location, object) == Some(table))
            .cloned()
            .collect();
        if files.is_empty() {
            continue;
        }
        let references = crate::sink::reference_ids(warehouse, table).await?;
        for rejected in [false, true] {
            let name = format!(
                "{LANDING_SCHEMA}.{}{}",
                table.name,
                if rejected { "_invalid" } else { "" }
            );
            let provider =
                landing_table(location, &files, table, &references, rejected).map_err(Box::new)?;
            ctx.register_table(name.as_str(), Arc::new(provider))
                .map_err(Box::new)?;
        }
    }
    read_only(&ctx, sql).await
}

/// Runs `sql` in `ctx`, refusing anything but a query.
pub async fn read_only(
    ctx: &SessionContext,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
    read_only_bound(ctx, sql, &[]).await
}

/// Like [`read_only`], with `$name` placeholders bound to `params`.
pub async fn read_only_bound(
    ctx: &SessionContext,
    sql: &str,
    params: &[(String, ParamValue)],
) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
    let mut frame = (ctx.sql_with_options(sql, queries_only()).await).map_err(Box::new)?;
    if !params.is_empty() {
        let values: Vec<(&str, ScalarValue)> = (params.iter())
            .map(|(name, value)| (name.as_str(), value.scalar()))
            .collect();
        frame = frame.with_param_values(values).map_err(Box::new)?;
    }
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(Box::new)?;
    Ok((schema, batches))
}

/// The first non-empty batch of `sql`'s answer, run as [`read_only`] runs it; the rest of the
/// answer is never computed.
pub async fn first_rows(
    ctx: &SessionContext,
    sql: &str,
) -> Result<Option<RecordBatch>, ReportError> {
    let frame = (ctx.sql_with_options(sql, queries_only()).await).map_err(Box::new)?;
    let mut batches = frame.execute_stream().await.map_err(Box::new)?;
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(Box::new)?;
        if batch.num_rows() > 0 {
            return Ok(Some(batch));
        }
    }
    Ok(None)
}

/// Queries only: no DDL (`CREATE EXTERNAL TABLE` could reach any path), no DML or `COPY … TO`
/// (which would write past the rules and the ledger, or anywhere on disk), no `SET`.
fn queries_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

fn landing_table(
    location: &Location,
    files: &[ObjectVersion],
    table: &TableRef,
    references: &ReferenceIds,
    rejected: bool,
) -> Result<StreamingTable, DataFusionError> {
    let schema = if rejected {
        rejected_with_key(table)
    } else {
        table.typed_schema()
    };
    let partitions = files
        .iter()
        .map(|object| {
            Arc::new(LandingFile {
                schema: schema.clone(),
                location: location.clone(),
                object: object.clone(),
                table: TableRef::clone(table),
                references: Arc::new(references.clone()),
                rejected,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    StreamingTable::try_new(schema, partitions)
}

/// The rejected rows' schema with the object `key` after them.
fn rejected_with_key(table: &Table) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .rejected_schema()
        .fields()
        .iter()
        .map(|field| field.as_ref().clone())
        .collect();
    fields.push(Field::new("key", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// One landing object, validated when scanned.
#[derive(Debug)]
struct LandingFile {
    schema: SchemaRef,
    location: Location,
    object: ObjectVersion,
    table: TableRef,
    references: Arc<ReferenceIds>,
    rejected: bool,
}

impl PartitionStream for LandingFile {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (location, key, table, references, rejected) = (
            self.location.clone(),
            self.object.key.clone(),
            TableRef::clone(&self.table),
            self.references.clone(),
            self.rejected,
        );
        let opened = async move {
            let input = location
                .reader(&key)
                .await
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
            // The table's own file format; the rest sniffed from each file.
            let dialect = Dialect::default().for_table(&table);
            let split = validate::split(&key, input, &table, &dialect, &references)
                .await
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
            Ok::<_, DataFusionError>((split, key))
        };
        let schema = self.schema.clone();
        let batches = futures::stream::once(opened).flat_map(move |opened| match opened {
            Ok((split, key)) => side(split, key, schema.clone(), rejected).boxed(),
            Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}

/// The valid or the rejected half of every batch of `split`.
fn side(
    split: SplitStream,
    key: String,
    schema: SchemaRef,
    rejected: bool,
) -> impl futures::Stream<Item = Result<RecordBatch, DataFusionError>> + Send {
    let external = |error: validate::ValidateError| DataFusionError::External(Box::new(error));
    futures::stream::unfold(Some(split), move |state| {
        let (key, schema) = (key.clone(), schema.clone());
        async move {
            let mut split = state?;
            match split.next().await {
                None => split
                    .finish()
                    .await
                    .err()
                    .map(|error| (Err(external(error)), None)),
                Some(Err(error)) => Some((Err(external(error)), None)),
                Some(Ok(batch)) if rejected => {
                    Some((with_key(batch.invalid, &key, &schema), Some(split)))
                }
                Some(Ok(batch)) => Some((Ok(batch.valid), Some(split))),
            }
        }
    })
}

/// `batch` with a column of `key` added, shaped like `schema` (see [`rejected_with_key`]).
fn with_key(
    batch: RecordBatch,
    key: &str,
    schema: &SchemaRef,
) -> Result<RecordBatch, DataFusionError> {
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(StringArray::from(vec![key; batch.num_rows()])) as ArrayRef);
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Runs `sql` on MySQL in a read-only transaction; every column comes back as text.
pub async fn mysql(
    target: &MysqlTarget,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
    mysql_bound(target, sql, &[]).await
}

/// Like [`mysql`], with `:name` placeholders bound to `params`.
pub async fn mysql_bound(
    target: &MysqlTarget,
    sql: &str,
    params: &[(String, ParamValue)],
) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
    let params = match params.is_empty() {
        true => Params::Empty,
        false => Params::from(
            (params.iter())
                .map(|(name, value)| (name.as_str(), value.mysql()))
                .collect::<Vec<_>>(),
        ),
    };
    let (names, rows): (Vec<String>, Vec<Row>) = target.read_only(sql, params).await?;
    let schema: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .map(|name| Field::new(name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = text_columns(&rows, names.len());
    Ok((schema.clone(), vec![RecordBatch::try_new(schema, columns)?]))
}

/// The first `width` columns of MySQL `rows` as text arrays, NULL kept.
pub(crate) fn text_columns(rows: &[Row], width: usize) -> Vec<ArrayRef> {
    (0..width)
        .map(|index| {
            let values = rows.iter().map(|row| text(row.as_ref(index)));
            Arc::new(values.collect::<StringArray>()) as ArrayRef
        })
        .collect()
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}
