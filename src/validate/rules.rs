//! The dictionary's rules as DataFusion SQL.
//!
//! One query over the reader's text batches (registered as [`RAW_TABLE`]) yields, per row, the
//! original fields, the source line, a `reason` that is `NULL` for a valid row or lists
//! every failed rule as `column: problem` separated by `; `, and the typed value of each column
//! (named `typed_<column>`). Typed expressions and the rules share sub-expressions, which
//! DataFusion evaluates once.

use super::key_lookup::ReferenceIds;
use crate::dictionary::{
    BLANKS, Bounds, Column, ColumnKind, FIELD_COUNT_COLUMN, Keys, LIMIT_BROKEN_COLUMN, LINE_COLUMN,
    REASON_COLUMN, REPEATED_ID_COLUMN, Table, TextRule,
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

/// Prefix under which the inner query passes each field's text on, so that the rules see a
/// column's typed value under the column's own name (a contract's SQL rules name them so).
pub const TEXT_PREFIX: &str = "_csvgate_text_";
/// Prefix under which the inner query passes each field's trimmed text on: trimmed once, for
/// the typed value and every rule (trimming is a tenth of a split's time).
const TRIMMED_PREFIX: &str = "_csvgate_trimmed_";

/// The split query for `table`: an inner query types each field once, the outer one judges.
pub fn split_sql(table: &Table, references: &ReferenceIds) -> String {
    let mut typed: Vec<String> = (table.columns.iter())
        .map(|column| format!("{} AS {}", quote(&column.name), quote(&text_of(column))))
        .collect();
    typed.extend((table.columns.iter()).map(|column| {
        let trimmed = trimmed(&quote(&column.name));
        format!("{trimmed} AS {}", quote(&trimmed_of(column)))
    }));
    let passed = [
        LINE_COLUMN,
        FIELD_COUNT_COLUMN,
        REPEATED_ID_COLUMN,
        LIMIT_BROKEN_COLUMN,
    ];
    typed.extend(passed.map(quote));
    for column in &table.columns {
        let value = typed_sql(column, &table.file_format.null_values);
        typed.push(format!("{value} AS {}", quote(&column.name)));
    }
    let mut select: Vec<String> = (table.columns.iter())
        .map(|column| format!("{} AS {}", quote(&text_of(column)), quote(&column.name)))
        .collect();
    select.push(quote(LINE_COLUMN));
    select.push(format!(
        "{} AS {}",
        reason_sql(table, references),
        quote(REASON_COLUMN)
    ));
    for column in &table.columns {
        let name = &column.name;
        select.push(format!(
            "{} AS {}",
            quote(name),
            quote(&format!("{TYPED_PREFIX}{name}"))
        ));
    }
    format!(
        "SELECT {}\nFROM (SELECT {} FROM {RAW_TABLE})",
        select.join(",\n       "),
        typed.join(",\n             ")
    )
}

/// The name a column's text goes by in the outer query.
fn text_of(column: &Column) -> String {
    format!("{TEXT_PREFIX}{}", column.name)
}

/// The name a column's trimmed text goes by in the outer query.
fn trimmed_of(column: &Column) -> String {
    format!("{TRIMMED_PREFIX}{}", column.name)
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
        checks.push(column_check(
            column,
            &table.file_format.null_values,
            references,
        ));
    }
    for check in &table.checks {
        checks.push(format!(
            "CASE WHEN NOT ({}) THEN 'row: {}' END",
            check.holds,
            check.reason.replace('\'', "''")
        ));
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

/// The first problem of one column as `'column: problem'`, or `NULL`. An empty field (or one
/// of the table's `nulls`) of an optional column is `NULL` and stops there: no other rule
/// applies to it.
fn column_check(column: &Column, nulls: &[String], references: &ReferenceIds) -> String {
    let name = &column.name;
    let text = quote(&trimmed_of(column));
    let typed = quote(name);
    let empty = match column.required {
        true => format!("'{name}: missing'"),
        false => "NULL".to_owned(),
    };
    let mut arms = vec![format!(
        "WHEN {text} IS NULL OR {} THEN {empty}",
        missing(&text, nulls)
    )];
    let problem = |condition: String, what: &str| {
        format!(
            "WHEN {condition} THEN '{name}: {}'",
            what.replace('\'', "''")
        )
    };
    arms.extend(
        (kind_checks(&column.kind, &text, &typed).into_iter()).map(|(c, w)| problem(c, &w)),
    );
    for check in &column.checks {
        arms.push(problem(format!("NOT ({})", check.holds), &check.reason));
    }
    if let Some(target) = &column.reference {
        arms.push(format!(
            "WHEN NOT ({}) THEN '{name}: ' || {} || ' is not an id in {target}'",
            key_lookup(&typed, target, references.get(target).map(AsRef::as_ref)),
            text
        ));
    }
    format!("CASE {} END", arms.join(" "))
}

/// Conditions (and what a row breaking each is told) for a non-empty field of `kind`, in
/// order: the first that holds is the row's problem with this column.
fn kind_checks(kind: &ColumnKind, text: &str, typed: &str) -> Vec<(String, String)> {
    let malformed = |pattern: &str, what: &str| {
        let condition = format!("NOT regexp_like({text}, '{pattern}') OR {typed} IS NULL");
        std::iter::once((condition, what.to_owned()))
    };
    let unconverted = |what: &str| std::iter::once((format!("{typed} IS NULL"), what.to_owned()));
    let checks: Box<dyn Iterator<Item = (String, String)> + '_> = match kind {
        ColumnKind::Integer(bounds) => {
            Box::new(unconverted("not an integer").chain(bound_checks(typed, bounds)))
        }
        ColumnKind::Number(bounds) => {
            // `1e999` converts to infinity, which MySQL refuses: as out of reach as `NaN`.
            let infinite = (
                format!("NOT (abs({typed}) <= {})", f64::MAX),
                "not a number".into(),
            );
            let number = malformed(NUMBER, "not a number").chain([infinite]);
            Box::new(number.chain(bound_checks(typed, bounds)))
        }
        ColumnKind::Decimal {
            precision,
            scale,
            bounds,
        } => Box::new(
            decimal_checks(text, typed, *precision, *scale).chain(bound_checks(typed, bounds)),
        ),
        ColumnKind::Text(rule) => Box::new(text_checks(typed, rule)),
        ColumnKind::Date => Box::new(malformed(DATE, "not a date (yyyy-MM-dd)")),
        ColumnKind::Timestamp => {
            Box::new(malformed(ISO_8601_DATE_TIME, "not an ISO-8601 timestamp"))
        }
        ColumnKind::Boolean => Box::new(unconverted("not true or false")),
    };
    checks.collect()
}

/// A plain decimal number, with an optional exponent (no `NaN`, no `inf`).
const NUMBER: &str = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$";
/// A calendar date as `yyyy-MM-dd` from the year 1000 (MySQL's `DATE` starts there); the cast
/// then refuses impossible ones (2021-02-30).
const DATE: &str = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$";

/// Conditions (and what a row breaking each is told) for a value out of `bounds`.
fn bound_checks<'a>(
    typed: &'a str,
    bounds: &'a Bounds,
) -> impl Iterator<Item = (String, String)> + 'a {
    let lower = bounds.lower.iter().map(move |bound| {
        let op = if bound.exclusive { "<=" } else { "<" };
        let words = format!("must be {}", bound.lower_words());
        (format!("{typed} {op} {}", bound.literal), words)
    });
    let upper = bounds.upper.iter().map(move |bound| {
        let op = if bound.exclusive { ">=" } else { ">" };
        let words = format!("must be {}", bound.upper_words());
        (format!("{typed} {op} {}", bound.literal), words)
    });
    lower.chain(upper)
}

/// An exact decimal is read from its digits, never rounded: more digits after the point than
/// the scale, or before it than the precision leaves room for, rejects the row.
fn decimal_checks(
    text: &str,
    typed: &str,
    precision: u8,
    scale: u8,
) -> impl Iterator<Item = (String, String)> {
    let whole = precision - scale;
    [
        (
            format!("NOT regexp_like({text}, '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$')"),
            "not a decimal number".to_owned(),
        ),
        (
            format!("regexp_like({text}, '\\.[0-9]{{{},}}$')", scale + 1),
            format!("more than {scale} digits after the point"),
        ),
        (
            format!("regexp_like({text}, '^[+-]?0*[1-9][0-9]{{{whole},}}')"),
            format!("more than {whole} digits before the point"),
        ),
        (
            format!("{typed} IS NULL"),
            "not a decimal number".to_owned(),
        ),
    ]
    .into_iter()
}

/// Conditions for text too short, too long or not matching the pattern.
fn text_checks(typed: &str, rule: &TextRule) -> impl Iterator<Item = (String, String)> {
    let length = format!("character_length({typed})");
    let min = rule.min_chars.map(|min| {
        (
            format!("{length} < {min}"),
            format!("shorter than {min} characters"),
        )
    });
    let max = rule.max_chars.map(|max| {
        (
            format!("{length} > {max}"),
            format!("longer than {max} characters"),
        )
    });
    let pattern = rule.pattern.as_ref().map(|pattern| {
        (
            format!(
                "NOT regexp_like({typed}, '{}')",
                pattern.replace('\'', "''")
            ),
            format!("does not match {pattern}"),
        )
    });
    min.into_iter().chain(max).chain(pattern)
}

/// Whether the trimmed `text` of a field means no value: empty, or one of `nulls`.
fn missing(text: &str, nulls: &[String]) -> String {
    match nulls.is_empty() {
        true => format!("{text} = ''"),
        false => format!("{text} IN ('', {})", literals(nulls)),
    }
}

/// `texts` as SQL string literals, separated by commas.
fn literals(texts: &[String]) -> String {
    let quoted: Vec<String> = (texts.iter())
        .map(|text| format!("'{}'", text.replace('\'', "''")))
        .collect();
    quoted.join(", ")
}

/// The value a valid field is loaded as; `NULL` where the text does not convert, is empty or
/// is one of the table's `nulls`.
fn typed_sql(column: &Column, nulls: &[String]) -> String {
    let value = typed_value(column);
    match nulls.is_empty() {
        true => value,
        false => format!(
            "CASE WHEN {} IN ({}) THEN NULL ELSE {value} END",
            trimmed(&quote(&column.name)),
            literals(nulls)
        ),
    }
}

/// [`typed_sql`] without spellings of a missing value.
fn typed_value(column: &Column) -> String {
    let text = trimmed(&quote(&column.name));
    match &column.kind {
        ColumnKind::Integer(_) => format!("TRY_CAST({text} AS BIGINT)"),
        ColumnKind::Number(_) => format!("TRY_CAST({text} AS DOUBLE)"),
        ColumnKind::Decimal {
            precision, scale, ..
        } => format!("TRY_CAST({text} AS DECIMAL({precision}, {scale}))"),
        ColumnKind::Text(_) if column.required => text,
        ColumnKind::Text(_) => format!("nullif({text}, '')"),
        ColumnKind::Date => format!("TRY_CAST({text} AS DATE)"),
        ColumnKind::Timestamp => format!("TRY_CAST({text} AS TIMESTAMP)"),
        ColumnKind::Boolean => format!(
            "CASE lower({text}) WHEN 'true' THEN true WHEN '1' THEN true \
             WHEN 'false' THEN false WHEN '0' THEN false END"
        ),
    }
}

/// `field` without the [`BLANKS`] around it (SQL's `trim` takes spaces only, and a field that is
/// a lone tab is as missing as an empty one).
fn trimmed(field: &str) -> String {
    let blanks: Vec<String> = BLANKS
        .iter()
        .map(|&c| format!("chr({})", u32::from(c)))
        .collect();
    format!("btrim({field}, {})", blanks.join(" || "))
}

/// Whether `expr` is a key of `table` (a lookup registered by [`super::key_lookup`]); no keys
/// (or an unknown table) admit nothing.
fn key_lookup(expr: &str, table: &str, keys: Option<&Keys>) -> String {
    match keys.filter(|keys| !keys.is_empty()) {
        None => "false".to_owned(),
        Some(_) => format!(
            "{}({expr})",
            quote(&super::key_lookup::function_name(table))
        ),
    }
}

/// `identifier` as DataFusion reads a name as it is (capitals kept, a reserved word allowed).
pub fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use std::sync::Arc;

    #[test]
    fn reasons_name_each_column_and_reference() {
        let hr = Dictionary::hr();
        let employees = hr.table("hired_employees").unwrap();
        let references = ReferenceIds::from([
            ("departments".to_owned(), Arc::new(Keys::from_iter([1, 2]))),
            (
                "jobs".to_owned(),
                Arc::new(Keys::Integers(Default::default())),
            ),
        ]);
        let sql = reason_sql(employees, &references);
        for expected in [
            "'job_id: missing'",
            "'datetime: not an ISO-8601 timestamp'",
            "\"is_key_of_departments\"(\"department_id\")",
            "' is not an id in departments'",
            "'id: repeats the id of an earlier row in this file'",
        ] {
            assert!(sql.contains(expected), "{expected} not in {sql}");
        }
        // An empty reference table admits no id at all.
        assert!(sql.contains("WHEN NOT (false) THEN 'job_id: '"));
    }
}
