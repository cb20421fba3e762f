//! The dictionary's rules as DataFusion SQL.
//!
//! One query over the reader's text batches (registered as [`RAW_TABLE`]) yields, per row, the
//! original fields, the source line, a `reason` that is `NULL` for a valid row or lists
//! every failed rule as `column: problem` separated by `; `, and the typed value of each column
//! (named `typed_<column>`). Typed expressions and the rules share sub-expressions, which
//! DataFusion evaluates once.

use std::collections::HashMap;

use crate::dictionary::{
    ColumnKind, FIELD_COUNT_COLUMN, Keys, LIMIT_BROKEN_COLUMN, LINE_COLUMN, MAX_TEXT_CHARS,
    REASON_COLUMN, REPEATED_ID_COLUMN, Table,
};

/// Name the reader's stream is registered under.
pub const RAW_TABLE: &str = "raw";
/// Prefix of the typed output columns.
pub const TYPED_PREFIX: &str = "typed_";

/// What the dictionary's "ISO 8601" accepts: a full date and time with a `T`, seconds optional
/// only with minutes present, then an optional fraction and an optional `Z` or `±hh:mm` offset
/// (none means UTC). A bare date or a space instead of the `T` is refused: the source said
/// "ISO 8601", and guessing a time of day would invent data. The value must also convert to
/// a nanosecond timestamp (years 1678 to 2261), which keeps it inside MySQL's `DATETIME`.
pub const ISO_8601_DATE_TIME: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$";
/// Keys present in each referenced table, by table name.
pub type ReferenceIds = HashMap<String, Keys>;

/// The split query for `table`.
pub fn split_sql(table: &Table, references: &ReferenceIds) -> String {
    let mut select: Vec<String> = table.column_names().map(quote).collect();
    select.push(quote(LINE_COLUMN));
    select.push(format!(
        "{} AS {}",
        reason_sql(table, references),
        quote(REASON_COLUMN)
    ));
    for column in &table.columns {
        let typed = typed_sql(&column.name, &column.kind);
        select.push(format!(
            "{typed} AS {}",
            quote(&format!("{TYPED_PREFIX}{}", column.name))
        ));
    }
    format!("SELECT {} FROM {RAW_TABLE}", select.join(",\n       "))
}

/// `NULL` when every rule holds, else the failed rules, in column order. A row that broke a
/// reader limit gets that reason alone: its fields are cut or outsized, so judging them would
/// only add noise.
pub fn reason_sql(table: &Table, references: &ReferenceIds) -> String {
    let expected = table.columns.len();
    let mut checks = vec![format!(
        "CASE WHEN {count} <> {expected} THEN 'row: expected {expected} fields, found ' || CAST({count} AS VARCHAR) END",
        count = quote(FIELD_COUNT_COLUMN)
    )];
    for column in &table.columns {
        checks.push(column_check(&column.name, &column.kind, references));
    }
    let key = &table.key_column().name;
    checks.push(format!(
        "CASE WHEN {} THEN '{key}: repeats the id of an earlier row in this file' END",
        quote(REPEATED_ID_COLUMN)
    ));
    format!(
        "coalesce({}, nullif(concat_ws('; ', {}), ''))",
        quote(LIMIT_BROKEN_COLUMN),
        checks.join(",\n    ")
    )
}

/// The first problem of one column as `'column: problem'`, or `NULL`.
fn column_check(name: &str, kind: &ColumnKind, references: &ReferenceIds) -> String {
    let field = quote(name);
    let typed = typed_sql(name, kind);
    let mut arms = vec![format!(
        "WHEN {field} IS NULL OR {} = '' THEN '{name}: missing'",
        trimmed(&field)
    )];
    match kind {
        ColumnKind::Id | ColumnKind::Reference(_) => {
            arms.push(format!("WHEN {typed} IS NULL THEN '{name}: not an integer'"));
            arms.push(format!("WHEN {typed} <= 0 THEN '{name}: must be greater than 0'"));
        }
        ColumnKind::Text => arms.push(format!(
            "WHEN character_length({typed}) > {MAX_TEXT_CHARS} THEN '{name}: longer than {MAX_TEXT_CHARS} characters'"
        )),
        ColumnKind::Timestamp => arms.push(format!(
            "WHEN NOT regexp_like({}, '{ISO_8601_DATE_TIME}') OR {typed} IS NULL \
             THEN '{name}: not an ISO-8601 timestamp'",
            trimmed(&field)
        )),
    }
    if let ColumnKind::Reference(target) = kind {
        arms.push(format!(
            "WHEN NOT ({}) THEN '{name}: ' || trim({field}) || ' is not an id in {target}'",
            in_list(&typed, references.get(target))
        ));
    }
    format!("CASE {} END", arms.join(" "))
}

/// The value a valid field is loaded as; `NULL` where the text does not convert.
fn typed_sql(name: &str, kind: &ColumnKind) -> String {
    let field = quote(name);
    match kind {
        ColumnKind::Id | ColumnKind::Reference(_) => {
            format!("TRY_CAST({} AS BIGINT)", trimmed(&field))
        }
        ColumnKind::Text => trimmed(&field),
        ColumnKind::Timestamp => format!("TRY_CAST({} AS TIMESTAMP)", trimmed(&field)),
    }
}

/// `field` without the blanks around it: spaces, tabs, CR and LF (SQL's `trim` takes spaces
/// only, and a field that is a lone tab is as missing as an empty one).
fn trimmed(field: &str) -> String {
    format!("btrim({field}, ' ' || chr(9) || chr(10) || chr(13))")
}

/// `expr IN (keys…)`; no keys (or an unknown table) admit nothing.
fn in_list(expr: &str, keys: Option<&Keys>) -> String {
    match keys.filter(|keys| !keys.is_empty()) {
        None => "false".to_owned(),
        Some(keys) => format!("{expr} IN ({})", keys.sql_literals().join(", ")),
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;

    #[test]
    fn reasons_name_each_column_and_reference() {
        let hr = Dictionary::hr();
        let employees = hr.table("hired_employees").unwrap();
        let references = ReferenceIds::from([
            ("departments".to_owned(), Keys::from_iter([1, 2])),
            ("jobs".to_owned(), Keys::Integers(Default::default())),
        ]);
        let sql = reason_sql(employees, &references);
        for expected in [
            "'job_id: missing'",
            "'datetime: not an ISO-8601 timestamp'",
            "IN (1, 2)",
            "' is not an id in departments'",
            "'id: repeats the id of an earlier row in this file'",
        ] {
            assert!(sql.contains(expected), "{expected} not in {sql}");
        }
        // An empty reference table admits no id at all.
        assert!(sql.contains("WHEN NOT (false) THEN 'job_id: '"));
    }
}
