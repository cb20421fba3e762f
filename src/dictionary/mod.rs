//! The data dictionary: the one place a table or a column is declared.
//!
//! A deployment holds one [`Dictionary`], made by [`crate::contract`] from its contract file
//! (the HR tables of the built-in contract unless told otherwise), and
//! everything else is derived from it: the text schema the reader produces, the typed schema
//! the warehouse stores, the Delta columns and MySQL DDL, and the SQL that explains why a row is
//! rejected (see [`crate::validate::rules`]). Tables are values, not code: code is handed a
//! [`TableRef`] and never names a table list of its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

mod budget;
mod column;
mod dataset_check;
mod file_format;
pub mod file_names;
mod hr;
mod keys;
mod stamp;
mod table;
mod text_keys;

pub use budget::RejectBudget;
pub use column::{Bound, Bounds, Column, ColumnKind, RowCheck, TextRule};
pub use dataset_check::{DatasetCheck, Expectation};
pub use file_format::{FileFormat, HeaderMode, null_spelling_problem};
pub use keys::Keys;
pub use stamp::ContractStamp;
pub use table::{Table, TableKnobs, TableRules};
pub use text_keys::TextKeys;

/// What csvgate trims from both ends of every field before judging it: a field of nothing
/// else is empty. Other whitespace (a no-break space) is data.
pub const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];

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

/// A table as code passes it around: cheap to clone, and alive as long as any user of it.
pub type TableRef = Arc<Table>;

/// Why a set of tables cannot be a dictionary.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DictionaryError {
    #[error("table {0:?} is declared twice")]
    TableTwice(String),
    #[error("table {table}: column {column:?} is declared twice")]
    ColumnTwice { table: String, column: String },
    #[error("table {0}: not exactly one key column")]
    NoKey(String),
    #[error("table {table}: column {column} references {referenced:?}, which is not declared")]
    UnknownReference {
        table: String,
        column: String,
        referenced: String,
    },
    #[error("tables {0} reference each other in a circle, so none can be loaded first")]
    Cycle(String),
}

/// A table name the dictionary does not declare (a flag, a URL path, a manifest).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no table {name:?}: one of {known}")]
pub struct NoSuchTable {
    pub name: String,
    /// The declared names, comma separated.
    pub known: String,
}

/// The tables one deployment enforces, in load order: a table comes after the tables its
/// foreign keys point at.
#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    tables: Vec<TableRef>,
    /// The contract's declared `id` and `version` (empty for tables declared in code).
    contract_id: String,
    contract_version: String,
}

impl Dictionary {
    /// Checks the tables (names once each, one key column, references to declared tables, no
    /// circle) and orders them for loading, keeping the declared order where references allow.
    pub fn new(declared: Vec<(&str, Vec<Column>)>) -> Result<Dictionary, DictionaryError> {
        Self::with_rules(declared, &HashMap::new())
    }

    /// Like [`Dictionary::new`], each table with its budget, row rules and dataset rules from `rules` (none
    /// when it has none).
    pub fn with_rules(
        declared: Vec<(&str, Vec<Column>)>,
        rules: &HashMap<String, TableRules>,
    ) -> Result<Dictionary, DictionaryError> {
        check_names(&declared)?;
        let order = load_order(&declared)?;
        let referenced: HashSet<String> = (declared.iter())
            .flat_map(|(_, columns)| columns.iter().filter_map(Column::referenced_table))
            .map(str::to_owned)
            .collect();
        let mut slots: Vec<Option<(&str, Vec<Column>)>> = declared.into_iter().map(Some).collect();
        let tables = (order.into_iter().enumerate())
            .map(|(rank, index)| {
                let (name, columns) = slots[index].take().expect("each table placed once");
                let TableRules {
                    knobs,
                    checks,
                    dataset_checks,
                } = rules.get(name).cloned().unwrap_or_default();
                Arc::new(Table {
                    budget: knobs.budget,
                    file_format: knobs.file_format,
                    checks,
                    dataset_checks,
                    referenced: referenced.contains(name),
                    name: name.to_owned(),
                    columns,
                    rank,
                })
            })
            .collect();
        Ok(Dictionary {
            tables,
            contract_id: String::new(),
            contract_version: String::new(),
        })
    }

    /// This dictionary as the contract `id` at `version` declares it.
    pub fn named(self, id: &str, version: &str) -> Dictionary {
        Dictionary {
            contract_id: id.to_owned(),
            contract_version: version.to_owned(),
            ..self
        }
    }

    /// This dictionary with `knobs(table)` as each table's reject budget and file format.
    pub fn with_knobs(&self, knobs: impl Fn(&Table) -> TableKnobs) -> Dictionary {
        let tables = (self.tables.iter())
            .map(|table| {
                let TableKnobs {
                    budget,
                    file_format,
                } = knobs(table);
                Arc::new(Table {
                    budget,
                    file_format,
                    ..Table::clone(table)
                })
            })
            .collect();
        Dictionary {
            tables,
            ..self.clone()
        }
    }

    /// Every table, in load order.
    pub fn tables(&self) -> &[TableRef] {
        &self.tables
    }

    /// The table with this name.
    pub fn table(&self, name: &str) -> Option<&TableRef> {
        self.tables.iter().find(|table| table.name == name)
    }

    /// The table named `name`, or an error listing the names there are.
    pub fn find(&self, name: &str) -> Result<&TableRef, NoSuchTable> {
        self.table(name).ok_or_else(|| NoSuchTable {
            name: name.to_owned(),
            known: self.names().join(", "),
        })
    }

    /// The tables `names` names, in the order given; every table when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<TableRef>, NoSuchTable> {
        match names.is_empty() {
            true => Ok(self.tables.clone()),
            false => (names.iter())
                .map(|name| self.find(name).cloned())
                .collect(),
        }
    }

    /// The table names, in load order, for messages ("one of departments, jobs, …").
    pub fn names(&self) -> Vec<&str> {
        self.tables
            .iter()
            .map(|table| table.name.as_str())
            .collect()
    }

    /// The tables and columns whose values are keys of `table`.
    pub fn referencing<'a>(
        &'a self,
        table: &'a Table,
    ) -> impl Iterator<Item = (&'a TableRef, &'a Column)> + 'a {
        self.tables.iter().flat_map(move |other| {
            (other.references())
                .filter(move |(_, referenced)| *referenced == table.name)
                .map(move |(column, _)| (other, column))
        })
    }

    /// Which table an object key holds: the table one of whose file-name patterns the file's
    /// name matches (the longest matching pattern, the most specific; none when two tables'
    /// patterns match it equally), else its file stem
    /// (`jobs.csv`, `jobs_2024.csv`, `jobs-2024.csv`, `jobs.<run>.csv` in the invalid bucket),
    /// else its folder (`jobs/2024.csv`).
    pub fn table_for_key(&self, key: &str) -> Option<&TableRef> {
        let mut parts = key.rsplit('/');
        let file = parts.next().unwrap_or(key);
        if let Some(by_pattern) = self.table_by_pattern(file) {
            return by_pattern;
        }
        let stem = file.split('.').next().unwrap_or(file);
        // The longest name that fits: `jobs_history_2024` is `jobs_history`'s when both exist.
        let named_by_file = (self.tables.iter())
            .filter(|table| {
                stem == table.name
                    || stem
                        .strip_prefix(table.name.as_str())
                        .is_some_and(|rest| rest.starts_with(['_', '-']))
            })
            .max_by_key(|table| table.name.len());
        named_by_file.or_else(|| parts.find_map(|folder| self.table(folder)))
    }

    /// The table whose pattern matches `file` the most specifically (the longest pattern);
    /// `Some(None)` when two tables' patterns match it equally, `None` when none matches.
    fn table_by_pattern(&self, file: &str) -> Option<Option<&TableRef>> {
        let matched: Vec<(&TableRef, usize)> = (self.tables.iter())
            .flat_map(|table| (table.file_format.file_names.iter()).map(move |p| (table, p)))
            .filter(|(_, pattern)| file_names::matches(pattern, file))
            .map(|(table, pattern)| (table, pattern.chars().count()))
            .collect();
        let longest = matched.iter().map(|(_, length)| *length).max()?;
        let mut best = (matched.iter()).filter(|(_, length)| *length == longest);
        let (table, _) = best.next()?;
        let tied = best.any(|(other, _)| other.name != table.name);
        Some((!tied).then_some(*table))
    }
}

/// Each table name once, each column name once per table, one key column each, and every
/// reference to a declared table.
fn check_names(declared: &[(&str, Vec<Column>)]) -> Result<(), DictionaryError> {
    let names: HashSet<&str> = declared.iter().map(|(name, _)| *name).collect();
    let mut seen = HashSet::new();
    for (name, columns) in declared {
        if !seen.insert(*name) {
            return Err(DictionaryError::TableTwice(name.to_string()));
        }
        let mut columns_seen = HashSet::new();
        for column in columns {
            if !columns_seen.insert(column.name.as_str()) {
                return Err(DictionaryError::ColumnTwice {
                    table: name.to_string(),
                    column: column.name.clone(),
                });
            }
            if let Some(referenced) = column.referenced_table().filter(|t| !names.contains(t)) {
                return Err(DictionaryError::UnknownReference {
                    table: name.to_string(),
                    column: column.name.clone(),
                    referenced: referenced.to_owned(),
                });
            }
        }
        if columns.iter().filter(|column| column.key).count() != 1 {
            return Err(DictionaryError::NoKey(name.to_string()));
        }
    }
    Ok(())
}

/// Indexes of `declared` in load order: repeatedly the first declared table whose references
/// are all placed, so the declared order stands wherever references allow.
fn load_order(declared: &[(&str, Vec<Column>)]) -> Result<Vec<usize>, DictionaryError> {
    let mut placed: Vec<usize> = Vec::with_capacity(declared.len());
    while placed.len() < declared.len() {
        let is_placed = |name: &str| (placed.iter()).any(|&index| declared[index].0 == name);
        let next = (0..declared.len()).find(|index| {
            let (name, columns) = &declared[*index];
            !placed.contains(index)
                && (columns.iter().filter_map(Column::referenced_table))
                    .all(|referenced| referenced == *name || is_placed(referenced))
        });
        match next {
            Some(index) => placed.push(index),
            None => {
                let stuck: Vec<&str> = (0..declared.len())
                    .filter(|index| !placed.contains(index))
                    .map(|index| declared[index].0)
                    .collect();
                return Err(DictionaryError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests;
