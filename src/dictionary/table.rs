//! One table of a dictionary: its columns, and the schemas derived from them.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::{
    Column, FIELD_COUNT_COLUMN, LIMIT_BROKEN_COLUMN, LINE_COLUMN, REASON_COLUMN, REPEATED_ID_COLUMN,
};

/// What a contract says of a table beyond its columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableRules {
    pub knobs: TableKnobs,
    pub checks: Vec<super::RowCheck>,
    pub dataset_checks: Vec<super::DatasetCheck>,
}

/// What a table's contract may set in its custom properties and a deployment over it, in
/// `[tables.<name>]`: how its files are read and how many rejected rows a file may hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableKnobs {
    pub budget: super::RejectBudget,
    pub file_format: super::FileFormat,
}

/// One table: its name is also how files are recognised (`jobs.csv`, `jobs/2024.csv`). Made
/// only by [`super::Dictionary::new`], which knows where the table stands among the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// How many rejected rows a file may hold and still load.
    pub budget: super::RejectBudget,
    /// Its own delimiter and header mode, over the deployment's.
    pub file_format: super::FileFormat,
    /// The contract's rules on a whole row, after each column's (reason `row: <reason>`).
    pub checks: Vec<super::RowCheck>,
    /// The contract's rules on what the table holds, checked after each load.
    pub dataset_checks: Vec<super::DatasetCheck>,
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

    /// The primary key column, which de-duplication and upserts use.
    pub fn key_column(&self) -> &Column {
        &self.columns[self.key_index()]
    }

    /// Where the key column is among the columns.
    pub fn key_index(&self) -> usize {
        (self.columns.iter())
            .position(|column| column.key)
            .expect("the dictionary checks every table has a key column")
    }

    /// The column named `name`; code asks only for names the dictionary gave it.
    pub fn column(&self, name: &str) -> &Column {
        (self.columns.iter())
            .find(|column| column.name == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", self.name))
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

    /// Schema of a loaded row: typed, and nullable where the column is optional.
    pub fn typed_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|column| Field::new(&column.name, column.kind.arrow_type(), !column.required))
            .collect();
        Arc::new(Schema::new(fields))
    }
}
