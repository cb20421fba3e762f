//! The MySQL schema, derived from the dictionary; `sql/mysql/ddl.sql` is this text, committed
//! so DBAs can read and review it (a test keeps the two identical).

use crate::dictionary::{Column, ColumnKind, Dictionary, Table};

/// Bumped when the DDL changes; `csvgate db init` records it in `csvgate_schema`.
pub const SCHEMA_VERSION: u32 = 5;
/// The ledger table.
pub const RUNS_TABLE: &str = "csvgate_runs";
/// Which worker loads an object version now ([`crate::sink::claim`]).
pub const CLAIMS_TABLE: &str = "csvgate_claims";
/// Which declaration each stored rollup was computed by ([`super::rollups`]).
pub const ROLLUPS_TABLE: &str = "csvgate_rollups";

/// The whole schema of `dictionary`'s tables as `;`-terminated statements, safe to apply twice.
pub fn ddl(dictionary: &Dictionary) -> String {
    let mut text = format!(
        "-- csvgate MySQL/MariaDB schema, version {SCHEMA_VERSION}.\n\
         -- Generated from the dictionary by `csvgate db ddl` (`csvgate db init` applies it; safe to run twice).\n\
         -- Timestamps are DATETIME values in UTC.\n"
    );
    for table in dictionary.tables() {
        text.push('\n');
        text.push_str(&create_table(dictionary, table));
    }
    text.push_str(LEDGER_DDL);
    text.push_str(CLAIMS_DDL);
    text.push_str(ROLLUPS_NOTE);
    text.push_str(ROLLUPS_DDL);
    text.push_str(&format!(
        "\nCREATE TABLE IF NOT EXISTS csvgate_schema (\n  version INT NOT NULL PRIMARY KEY,\n  applied_at DATETIME(6) NOT NULL\n) ENGINE=InnoDB;\n\
         INSERT IGNORE INTO csvgate_schema (version, applied_at) VALUES ({SCHEMA_VERSION}, UTC_TIMESTAMP(6));\n"
    ));
    text
}

/// The statements of [`ddl`], one by one (comments dropped).
pub fn statements(dictionary: &Dictionary) -> Vec<String> {
    let text: String = ddl(dictionary)
        .lines()
        .filter(|line| !line.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `name` as a MySQL identifier: quoted, so a name that is a reserved word (`order`, `key`)
/// works too (a backtick inside is doubled, though contract names never hold one).
pub fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The longest text kept in a `VARCHAR`; longer limits (or none) are `MEDIUMTEXT`, which does
/// not count against InnoDB's 64 KB row.
const MAX_VARCHAR: u32 = 255;

/// The MySQL type a column is stored as.
pub fn column_type(kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Integer(_) => "BIGINT".into(),
        ColumnKind::Number(_) => "DOUBLE".into(),
        ColumnKind::Decimal {
            precision, scale, ..
        } => format!("DECIMAL({precision},{scale})"),
        // Binary collation: grouping and ordering by code point, as DataFusion does, so the
        // reports of both engines agree row for row.
        ColumnKind::Text(rule) => match rule.max_chars.filter(|max| *max <= MAX_VARCHAR) {
            Some(max) => format!("VARCHAR({max}) COLLATE utf8mb4_bin"),
            None => "MEDIUMTEXT COLLATE utf8mb4_bin".into(),
        },
        ColumnKind::Date => "DATE".into(),
        ColumnKind::Timestamp => "DATETIME(6)".into(),
        ColumnKind::Boolean => "BOOLEAN".into(),
    }
}

/// One column's line of its `CREATE TABLE`.
pub(super) fn column_line(column: &Column) -> String {
    let null = if column.required { "NOT NULL" } else { "NULL" };
    format!(
        "  {} {} {null}",
        quoted(&column.name),
        column_type(&column.kind)
    )
}

pub(super) fn create_table(dictionary: &Dictionary, table: &Table) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(column_line).collect();
    lines.push(format!(
        "  PRIMARY KEY ({})",
        quoted(&table.key_column().name)
    ));
    for column in &table.columns {
        lines.extend(reference(dictionary, table, column));
    }
    let indexes = wanted_indexes(table).into_iter();
    lines.extend(indexes.map(|index| format!("  {}", index.line())));
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
        quoted(&table.name),
        lines.join(",\n")
    )
}

/// One secondary index: its name and its columns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Index {
    pub name: String,
    pub columns: Vec<String>,
}

impl Index {
    /// Its line in a `CREATE TABLE` (and, after `ADD`, in an `ALTER TABLE`).
    pub fn line(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|name| quoted(name)).collect();
        format!("KEY {} ({})", quoted(&self.name), columns.join(", "))
    }
}

/// The secondary indexes of `table`: one per timestamp column, for reports that take a range of
/// time, holding the reference columns too: a report that counts a period's rows per
/// department and job then reads the index alone, never a row (a "covering" index). Text
/// references are left out. Without
/// them, a year that keeps a third of 10M rows costs 3.3M lookups into the clustered index.
pub(super) fn wanted_indexes(table: &Table) -> Vec<Index> {
    let references = table
        .columns
        .iter()
        // A text key (up to 1,020 bytes in utf8mb4) could take the index past InnoDB's 3,072.
        .filter(|column| column.reference.is_some() && !matches!(column.kind, ColumnKind::Text(_)))
        .map(|column| column.name.clone());
    let references: Vec<String> = references.collect();
    let timestamps = table
        .columns
        .iter()
        .filter(|column| column.kind == ColumnKind::Timestamp);
    timestamps
        .map(|column| Index {
            name: format!("{}_{}_idx", table.name, column.name),
            columns: std::iter::once(column.name.clone())
                .chain(references.iter().cloned())
                .collect(),
        })
        .collect()
}

/// The line of `column`'s foreign key in its table's `CREATE TABLE`, if it has one.
pub(super) fn reference(dictionary: &Dictionary, table: &Table, column: &Column) -> Option<String> {
    // Foreign keys index their column, which the per-department reports group by.
    let target = column.reference.as_ref()?;
    let key = &(dictionary.table(target))
        .expect("the dictionary checks references")
        .key_column()
        .name;
    Some(format!(
        "  CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        quoted(&format!("{}_{}_fk", table.name, column.name)),
        quoted(&column.name),
        quoted(target),
        quoted(key),
    ))
}

/// The ledger: one row per processed object version. `fingerprint` is the SHA-256 of
/// location, key and version, so lookups use a short index. The `contract_` columns came with
/// version 3 ([`LEDGER_UPGRADE`] adds them to an older ledger).
const LEDGER_DDL: &str = "
CREATE TABLE IF NOT EXISTS csvgate_runs (
  entry_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  location VARCHAR(1024) NOT NULL,
  object_key VARCHAR(1024) NOT NULL,
  object_version VARCHAR(255) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_valid BIGINT NOT NULL,
  rows_invalid BIGINT NOT NULL,
  invalid_object VARCHAR(2048) NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NOT NULL,
  error TEXT NULL,
  contract_id VARCHAR(255) NULL,
  contract_version VARCHAR(255) NULL,
  contract_hash CHAR(64) NULL,
  KEY csvgate_runs_fingerprint_idx (fingerprint, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
";

/// What version 3 adds to a ledger created before it, for `csvgate db init` to apply where
/// `information_schema` shows the columns missing (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`).
pub const LEDGER_UPGRADE: &str = "ALTER TABLE csvgate_runs \
    ADD COLUMN contract_id VARCHAR(255) NULL, \
    ADD COLUMN contract_version VARCHAR(255) NULL, \
    ADD COLUMN contract_hash CHAR(64) NULL";

/// Version 5: rollups ([`super::rollups`]), whose tables csvgate creates as it computes them.
const ROLLUPS_NOTE: &str = "
-- Rollups: each one is the table csvgate_rollup_<name>, created and recomputed by csvgate from
-- its declaration (`db init`, or the first load after it changed); this table records which
-- declaration each was computed by.";

/// Version 5: one row per rollup stored.
const ROLLUPS_DDL: &str = "
CREATE TABLE IF NOT EXISTS csvgate_rollups (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  table_name VARCHAR(64) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  computed_at DATETIME(6) NOT NULL,
  KEY csvgate_rollups_table_idx (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
";

/// Version 2. One row per claimed object version (its fingerprint's SHA-256); the lease's
/// end is the database's clock, so workers' clocks do not matter.
const CLAIMS_DDL: &str = "
CREATE TABLE IF NOT EXISTS csvgate_claims (
  claim_key CHAR(64) NOT NULL PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  generation BIGINT NOT NULL,
  expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_ddl_is_the_generated_one() {
        let committed =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/mysql/ddl.sql"))
                .unwrap();
        assert_eq!(
            committed,
            ddl(&Dictionary::hr()),
            "regenerate with: csvgate db ddl > sql/mysql/ddl.sql"
        );
    }

    #[test]
    fn foreign_keys_point_at_reference_tables() {
        let hr = Dictionary::hr();
        let text = ddl(&hr);
        assert!(text.contains("CONSTRAINT `hired_employees_department_id_fk` FOREIGN KEY (`department_id`) REFERENCES `departments` (`id`)"));
        assert!(text.contains(
            "KEY `hired_employees_datetime_idx` (`datetime`, `department_id`, `job_id`)"
        ));
        // The tables, the ledger, the claims, the rollups' records, the schema version and
        // its row.
        assert_eq!(statements(&hr).len(), hr.tables().len() + 5);
    }

    #[test]
    fn a_timestamp_index_covers_the_reference_columns() {
        let hr = Dictionary::hr();
        let employees = hr.table("hired_employees").unwrap();
        let index = &wanted_indexes(employees)[0];
        assert_eq!(index.name, "hired_employees_datetime_idx");
        assert_eq!(index.columns, ["datetime", "department_id", "job_id"]);
        assert_eq!(
            index.line(),
            "KEY `hired_employees_datetime_idx` (`datetime`, `department_id`, `job_id`)"
        );
        assert!(wanted_indexes(hr.table("departments").unwrap()).is_empty());
    }
}
