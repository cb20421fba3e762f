//! One table of a dictionary: its columns, and the schemas derived from them.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{
    FIELD_COUNT_COLUMN, LIMIT_BROKEN_COLUMN, LINE_COLUMN, REASON_COLUMN, REPEATED_ID_COLUMN,
    TIMESTAMP_ZONE,
};

/// What a column holds and so which rules apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// A positive integer key.
    Id,
    /// Non-blank text of at most [`MAX_TEXT_CHARS`] characters.
    Text,
    /// An ISO-8601 timestamp; offsets are normalised to UTC.
    Timestamp,
    /// A positive integer that must be the `id` of a row in the named table.
    Reference(String),
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.to_owned(),
            kind,
        }
    }

    /// The table this column's values must be keys of, for a foreign key.
    pub fn referenced_table(&self) -> Option<&str> {
        match &self.kind {
            ColumnKind::Reference(table) => Some(table),
            _ => None,
        }
    }
}

/// One table: its name is also how files are recognised (`jobs.csv`, `jobs/2024.csv`). Made
/// only by [`super::Dictionary::new`], which knows where the table stands among the others.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// How many rejected rows a file may hold and still load.
    pub budget: super::RejectBudget,
    /// Position in the dictionary's load order.
    pub(super) rank: usize,
    /// Whether another table's foreign key points at this one.
    pub(super) referenced: bool,
}

impl Table {
    /// Position in the dictionary's load order: files of a run are loaded in this order, so a
    /// table comes after the tables it references.
    pub fn load_rank(&self) -> usize {
        self.rank
    }

    /// Whether rows of another table point at this one's ids (so its rows must be updated in
    /// place, never deleted and inserted again).
    pub fn is_referenced(&self) -> bool {
        self.referenced
    }

    /// The column names, in file order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|column| column.name.as_str())
    }

    /// The primary key column (`id`), which de-duplication and upserts use.
    pub fn key_column(&self) -> &Column {
        self.columns
            .iter()
            .find(|column| column.kind == ColumnKind::Id)
            .expect("the dictionary checks every table has a key column")
    }

    /// The foreign keys: each column that references another table, with that table's name.
    pub fn references(&self) -> impl Iterator<Item = (&Column, &str)> + '_ {
        self.columns
            .iter()
            .filter_map(|column| Some((column, column.referenced_table()?)))
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
            .map(|column| Field::new(&column.name, column.kind.arrow_type(), false))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl ColumnKind {
    /// The ODCS `logicalType` this kind is declared with.
    pub fn logical_type(&self) -> &'static str {
        match self {
            ColumnKind::Id | ColumnKind::Reference(_) => "integer",
            ColumnKind::Text => "string",
            ColumnKind::Timestamp => "timestamp",
        }
    }

    /// What a value must be, in words (every column is required today).
    pub fn rule(&self) -> String {
        match self {
            ColumnKind::Id => "required; a whole number greater than 0, once per file (the key)".into(),
            ColumnKind::Reference(table) => {
                format!("required; a whole number greater than 0, the key of a row of {table}")
            }
            ColumnKind::Text => format!("required, not blank; at most {} characters", super::MAX_TEXT_CHARS),
            ColumnKind::Timestamp => {
                "required; an ISO 8601 date and time (a T, seconds optional, an offset or Z, none meaning UTC), stored in UTC".into()
            }
        }
    }

    /// The Arrow type a valid value of this kind is stored as.
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnKind::Id | ColumnKind::Reference(_) => DataType::Int64,
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Timestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into()))
            }
        }
    }
}
