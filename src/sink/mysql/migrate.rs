//! `csvgate db migrate`: the database brought to the contract's shape, by the changes that
//! keep every stored row valid: a table the contract adds is created, a column it adds
//! (optional, or required on an empty table) is added, a text column whose limit it raises
//! is widened; an index it asks for is added or rebuilt ([`super::indexes`]). Any other difference (a column removed, a type changed, a column relaxed to
//! optional, another primary key) is refused before any statement runs, naming the table,
//! the column and what to do. MySQL commits each statement on its own: a plan that stops
//! part-way leaves the statements before it applied, and `db migrate` run again plans the rest.

use std::collections::BTreeMap;

use mysql_async::Row;

use super::MysqlTarget;
use super::ddl::{column_line, column_type, create_table, quoted, reference};
use crate::dictionary::{Column, ColumnKind, Dictionary, Table};
use crate::sink::SinkError;

/// A column as `information_schema.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    data_type: String,
    nullable: bool,
    length: Option<u64>,
    precision: Option<u64>,
    scale: Option<u64>,
    key: bool,
}

/// A row of `information_schema.columns`: table, column, data type, nullable, length,
/// precision, scale, key.
type InformationSchemaColumn = (
    String,
    String,
    String,
    String,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    String,
);

impl MysqlTarget {
    /// The statements that bring the database to the contract, in order; refused whole when
    /// one change cannot keep the stored rows valid.
    pub async fn migration(&self) -> Result<Vec<String>, SinkError> {
        let stored = self.stored_columns().await?;
        let dictionary = &*self.dictionary;
        let mut plan = Vec::new();
        for table in dictionary.tables() {
            match stored.get(&table.name) {
                None => plan.push(
                    create_table(dictionary, table)
                        .trim_end()
                        .trim_end_matches(';')
                        .to_owned(),
                ),
                Some(columns) => plan.extend(self.table_changes(dictionary, table, columns).await?),
            }
        }
        // After the columns they may cover.
        plan.extend(self.index_changes(dictionary).await?);
        Ok(plan)
    }

    /// Runs [`MysqlTarget::migration`]'s statements; returns them.
    pub async fn migrate(&self) -> Result<Vec<String>, SinkError> {
        let plan = self.migration().await?;
        for statement in &plan {
            self.query::<Row>(statement).await?;
        }
        Ok(plan)
    }

    /// Each stored table's columns, by table and column name.
    async fn stored_columns(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, Stored>>, SinkError> {
        let sql = "SELECT table_name, column_name, data_type, is_nullable, \
                   character_maximum_length, numeric_precision, numeric_scale, column_key \
                   FROM information_schema.columns WHERE table_schema = DATABASE()";
        let rows: Vec<InformationSchemaColumn> = self.query(sql).await?;
        let mut tables: BTreeMap<String, BTreeMap<String, Stored>> = BTreeMap::new();
        for (table, column, data_type, nullable, length, precision, scale, key) in rows {
            let stored = Stored {
                data_type: data_type.to_lowercase(),
                nullable: nullable == "YES",
                length,
                precision,
                scale,
                key: key == "PRI",
            };
            tables.entry(table).or_default().insert(column, stored);
        }
        Ok(tables)
    }

    /// What `table`, stored with `columns`, needs to take the contract, or why it cannot.
    async fn table_changes(
        &self,
        dictionary: &Dictionary,
        table: &Table,
        columns: &BTreeMap<String, Stored>,
    ) -> Result<Vec<String>, SinkError> {
        let refused = |reason: String| SinkError::SchemaChange {
            table: table.name.clone(),
            reason,
        };
        if let Some(removed) = columns
            .keys()
            .find(|name| !table.columns.iter().any(|column| &column.name == *name))
        {
            return Err(refused(format!(
                "column {removed} is in the database and not in the contract: removing a column is refused (keep it in the contract, optional if it is no longer filled)"
            )));
        }
        let mut plan = Vec::new();
        for column in &table.columns {
            match columns.get(&column.name) {
                Some(stored) => {
                    let change = column_change(&table.name, column, stored).map_err(refused)?;
                    plan.extend(change);
                }
                None => {
                    if column.required && self.has_rows(&table.name).await? {
                        return Err(refused(format!(
                            "column {} is new and required: the rows the table holds have no value for it (declare it optional)",
                            column.name
                        )));
                    }
                    plan.push(format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        quoted(&table.name),
                        column_line(column).trim()
                    ));
                    plan.extend(reference(dictionary, table, column).map(|line| {
                        format!("ALTER TABLE {} ADD {}", quoted(&table.name), line.trim())
                    }));
                }
            }
        }
        Ok(plan)
    }

    async fn has_rows(&self, table: &str) -> Result<bool, SinkError> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
        Ok(self
            .query::<bool>(&sql)
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }
}

/// What a stored column needs to be what the contract declares: nothing, or a wider text
/// column (`MODIFY COLUMN`); a limit the contract narrows needs nothing (the rule applies to
/// later loads), nor does a column it makes required.
fn column_change(table: &str, column: &Column, stored: &Stored) -> Result<Option<String>, String> {
    let name = &column.name;
    let widen = match type_fit(&column.kind, stored) {
        Fit::Same => None,
        Fit::Wider => {
            let null = if stored.nullable { "NULL" } else { "NOT NULL" };
            let (table, quoted_name, kind) =
                (quoted(table), quoted(name), column_type(&column.kind));
            Some(format!(
                "ALTER TABLE {table} MODIFY COLUMN {quoted_name} {kind} {null}"
            ))
        }
        Fit::Other => {
            return Err(format!(
                "column {name} is stored as {} and the contract now says {}: changing a type is refused (add a column of the new type instead)",
                stored.data_type,
                column_type(&column.kind)
            ));
        }
    };
    if !column.required && !stored.nullable {
        return Err(format!(
            "column {name} was required and the contract makes it optional: relaxing it is refused"
        ));
    }
    if column.key != stored.key {
        return Err(format!(
            "the primary key changed at column {name}: changing a table's key is refused (declare a new table)"
        ));
    }
    Ok(widen)
}

/// How a stored column's type meets the one `kind` is stored as.
enum Fit {
    /// It holds every value of `kind` (text at least as long counts).
    Same,
    /// Text shorter than the contract now allows: widened in place.
    Wider,
    Other,
}

fn type_fit(kind: &ColumnKind, stored: &Stored) -> Fit {
    let data_type = stored.data_type.as_str();
    let same = match kind {
        ColumnKind::Integer(_) => data_type == "bigint",
        ColumnKind::Number(_) => data_type == "double",
        ColumnKind::Decimal {
            precision, scale, ..
        } => {
            data_type == "decimal"
                && stored.precision == Some(u64::from(*precision))
                && stored.scale == Some(u64::from(*scale))
        }
        ColumnKind::Text(_) => return text_fit(kind, stored),
        ColumnKind::Date => data_type == "date",
        ColumnKind::Timestamp => data_type == "datetime",
        ColumnKind::Boolean => data_type == "tinyint",
    };
    if same { Fit::Same } else { Fit::Other }
}

/// A text column's fit: `VARCHAR(n)` holds a limit up to n, `MEDIUMTEXT` any.
fn text_fit(kind: &ColumnKind, stored: &Stored) -> Fit {
    let ColumnKind::Text(rule) = kind else {
        unreachable!("called for text")
    };
    let wanted = rule
        .max_chars
        .filter(|_| column_type(kind).starts_with("VARCHAR"));
    match (stored.data_type.as_str(), wanted) {
        ("mediumtext", _) => Fit::Same,
        ("varchar", Some(max)) if stored.length >= Some(u64::from(max)) => Fit::Same,
        ("varchar", _) => Fit::Wider,
        _ => Fit::Other,
    }
}
