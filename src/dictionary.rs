//! The data dictionary: the one place a table or a column is declared.
//!
//! Everything else is derived from [`TABLES`]: the text schema the reader produces, the typed
//! schema the warehouse stores, the Delta columns, and the SQL that explains why a row is
//! rejected (see [`crate::validate::rules`]). Adding a column here is the whole change.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The longest text a `Text` column accepts, in characters (MySQL `VARCHAR(255)`).
pub const MAX_TEXT_CHARS: usize = 255;

/// Timezone the warehouse stores timestamps in: offsets in the input are normalised to it.
pub const TIMESTAMP_ZONE: &str = "UTC";

/// Column of the reader's batches holding the physical source line a row starts on.
pub const LINE_COLUMN: &str = "line";
/// Column of the reader's batches holding how many fields the row really had.
pub const FIELD_COUNT_COLUMN: &str = "field_count";
/// Column of the reader's batches telling that the row's `id` appeared earlier in the file.
pub const REPEATED_ID_COLUMN: &str = "id_repeated";
/// Column of the reader's batches naming the limit a row broke (too long), or `NULL`.
pub const LIMIT_BROKEN_COLUMN: &str = "limit_broken";
/// Column the validation SQL adds: `NULL` for a valid row, else every failed rule.
pub const REASON_COLUMN: &str = "reason";

/// What a column holds and so which rules apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A positive integer key.
    Id,
    /// Non-blank text of at most [`MAX_TEXT_CHARS`] characters.
    Text,
    /// An ISO-8601 timestamp; offsets are normalised to UTC.
    Timestamp,
    /// A positive integer that must be the `id` of a row in the named table.
    Reference(&'static str),
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
}

/// One table: its name is also how files are recognised (`jobs.csv`, `jobs/2024.csv`).
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
}

const fn column(name: &'static str, kind: ColumnKind) -> Column {
    Column { name, kind }
}

/// Every table, in load order: a table comes after the tables it references.
pub static TABLES: [Table; 3] = [
    Table {
        name: "departments",
        columns: &[
            column("id", ColumnKind::Id),
            column("department", ColumnKind::Text),
        ],
    },
    Table {
        name: "jobs",
        columns: &[
            column("id", ColumnKind::Id),
            column("job", ColumnKind::Text),
        ],
    },
    Table {
        name: "hired_employees",
        columns: &[
            column("id", ColumnKind::Id),
            column("name", ColumnKind::Text),
            column("datetime", ColumnKind::Timestamp),
            column("department_id", ColumnKind::Reference("departments")),
            column("job_id", ColumnKind::Reference("jobs")),
        ],
    },
];

impl Table {
    /// The table with this name, if the dictionary declares one.
    pub fn named(name: &str) -> Option<&'static Table> {
        TABLES.iter().find(|table| table.name == name)
    }

    /// Position in [`TABLES`]: files of a run are loaded in this order.
    pub fn load_rank(&self) -> usize {
        TABLES
            .iter()
            .position(|table| table.name == self.name)
            .expect("every table is declared in TABLES")
    }

    /// Whether rows of another table point at this one's ids (so its rows must be updated in
    /// place, never deleted and inserted again).
    pub fn is_referenced(&self) -> bool {
        TABLES
            .iter()
            .flat_map(|table| table.columns)
            .any(|column| column.kind == ColumnKind::Reference(self.name))
    }

    /// The column names, in file order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|column| column.name)
    }

    /// Index of the primary key column (`id`), which de-duplication and upserts use.
    pub fn key_column(&self) -> &'static Column {
        self.columns
            .iter()
            .find(|column| column.kind == ColumnKind::Id)
            .expect("every table has an id column")
    }

    /// Schema of the reader's output: every field as text, so that nothing can fail before the
    /// rules have had their say, plus where the row came from.
    pub fn text_schema(&self) -> SchemaRef {
        self.text_columns_then([
            Field::new(LINE_COLUMN, DataType::UInt64, false),
            Field::new(FIELD_COUNT_COLUMN, DataType::UInt32, false),
            Field::new(REPEATED_ID_COLUMN, DataType::Boolean, false),
            Field::new(LIMIT_BROKEN_COLUMN, DataType::Utf8, true),
        ])
    }

    /// Schema of a rejected row: the source text, its line and why it was rejected.
    pub fn rejected_schema(&self) -> SchemaRef {
        self.text_columns_then([
            Field::new(LINE_COLUMN, DataType::UInt64, false),
            Field::new(REASON_COLUMN, DataType::Utf8, false),
        ])
    }

    /// The table's columns as nullable text, then `extra`.
    fn text_columns_then(&self, extra: impl IntoIterator<Item = Field>) -> SchemaRef {
        let text = self
            .column_names()
            .map(|name| Field::new(name, DataType::Utf8, true));
        Arc::new(Schema::new(text.chain(extra).collect::<Vec<_>>()))
    }

    /// Schema of a loaded row: typed and without nulls, since every field is mandatory.
    pub fn typed_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|column| Field::new(column.name, column.kind.arrow_type(), false))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl ColumnKind {
    /// The Arrow type a valid value of this kind is stored as.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnKind::Id | ColumnKind::Reference(_) => DataType::Int64,
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Timestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into()))
            }
        }
    }
}

/// Which table an object key holds: its folder (`jobs/2024.csv`) or its file stem
/// (`jobs.csv`, `jobs_2024.csv`, `jobs-2024.csv`, `jobs.<run>.csv` in the invalid bucket).
pub fn table_for_key(key: &str) -> Option<&'static Table> {
    let mut parts = key.rsplit('/');
    let file = parts.next().unwrap_or(key);
    let stem = file.split('.').next().unwrap_or(file);
    let named_by_file = TABLES.iter().find(|table| {
        stem == table.name
            || stem
                .strip_prefix(table.name)
                .is_some_and(|rest| rest.starts_with(['_', '-']))
    });
    named_by_file.or_else(|| parts.find_map(Table::named))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_table_by_file_or_folder() {
        let name = |key| table_for_key(key).map(|table| table.name);
        assert_eq!(name("hired_employees.csv"), Some("hired_employees"));
        assert_eq!(
            name("landing/hired_employees/2021-07.csv"),
            Some("hired_employees")
        );
        assert_eq!(name("jobs_2024.csv"), Some("jobs"));
        assert_eq!(name("x/departments-v2.csv"), Some("departments"));
        assert_eq!(
            name("hired_employees/hired_employees.run-1.csv"),
            Some("hired_employees")
        );
        assert_eq!(name("jobsite.csv"), None);
        assert_eq!(name("employees.csv"), None);
    }

    #[test]
    fn references_point_at_tables_loaded_earlier() {
        for table in &TABLES {
            for column in table.columns {
                if let ColumnKind::Reference(target) = column.kind {
                    let target = Table::named(target).expect("reference to a declared table");
                    assert!(target.load_rank() < table.load_rank(), "{}", column.name);
                }
            }
        }
    }

    #[test]
    fn typed_schema_follows_column_kinds() {
        let employees = Table::named("hired_employees").unwrap();
        let schema = employees.typed_schema();
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
        assert!(
            matches!(schema.field(2).data_type(), DataType::Timestamp(_, Some(zone)) if zone.as_ref() == "UTC")
        );
        assert!(schema.fields().iter().all(|field| !field.is_nullable()));
        assert_eq!(employees.text_schema().fields().len(), 5 + 4);
    }
}
