//! ODCS schema objects as tables: their names, checked once each, and their properties as
//! columns ([`super::column`]), with exactly one primary key.

use std::collections::HashSet;

use datafusion::arrow::datatypes::{DataType, Field};

use super::custom::RowColumns;
use super::node::Node;
use super::{
    DESCRIBED_ELEMENT, Refusal, column, custom_properties, dataset, expect_word, kind, quality,
    relationship, safe_name,
};
use crate::dictionary::{
    Column, HeaderMode, RejectBudget, TableKnobs, TableRules, file_names, null_spelling_problem,
};

/// Every schema object of the contract as a table name, its columns and its rules and knobs,
/// in declared order.
pub(super) fn declared(root: &Node) -> Result<Vec<Declared>, Refusal> {
    let Some(schema) = root.get("schema") else {
        return Err(root.refuse("`schema` is missing: declare at least one table"));
    };
    let objects = schema.items()?;
    let names = table_names(&objects)?;
    let mut tables = Vec::with_capacity(objects.len());
    for object in &objects {
        tables.push(table(object, &objects, &names)?);
    }
    Ok(tables)
}

/// The longest table name: `csvgate_stage_<table>` must fit MySQL's 64 characters.
const MAX_TABLE_NAME: usize = 48;

/// The tables' names, each checked, once each.
fn table_names(objects: &[Node]) -> Result<Vec<String>, Refusal> {
    let mut names = Vec::new();
    for object in objects {
        let name = object.required_text("name")?;
        let at = object.get("name").expect("read above");
        safe_name(&at, name)?;
        if name.starts_with("csvgate_") || name.starts_with("_csvgate") {
            return Err(at.refuse(format!("{name:?}: names starting with csvgate_ or _csvgate are csvgate's own (its ledger, claims, queue)")));
        }
        if names
            .iter()
            .any(|known: &String| known.eq_ignore_ascii_case(name))
        {
            return Err(at.refuse(format!(
                "table {name:?} is declared twice (MySQL does not tell names apart by case)"
            )));
        }
        if name.len() > MAX_TABLE_NAME {
            return Err(at.refuse(format!("{name:?}: at most {MAX_TABLE_NAME} characters (csvgate's staging table adds 14 to it, and MySQL takes 64)")));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// The custom properties a table may hold: its reject budget and how its files are written.
const MAX_REJECTED_ROWS: &str = "csvgateMaxRejectedRows";
const MAX_REJECTED_RATIO: &str = "csvgateMaxRejectedRatio";
const DELIMITER: &str = "csvgateDelimiter";
const HEADER: &str = "csvgateHeader";
const NULL_VALUES: &str = "csvgateNullValues";
const FILE_NAMES: &str = "csvgateFileNames";

/// A declared table: its name, columns, knobs (reject budget, file format) and rules.
pub(super) type Declared = (String, Vec<Column>, TableRules);

/// One schema object as a table.
fn table(object: &Node, objects: &[Node], names: &[String]) -> Result<Declared, Refusal> {
    let read = [
        "name",
        "properties",
        "logicalType",
        "physicalType",
        "physicalName",
        "quality",
        "relationships",
    ];
    object.keys_within(&read, DESCRIBED_ELEMENT, &[])?;
    expect_word(object, "logicalType", "object")?;
    expect_word(object, "physicalType", "table")?;
    let knobs = knobs(object)?;
    let name = object.required_text("name")?.to_owned();
    expect_word(object, "physicalName", &name)?;
    let Some(properties) = object.get("properties") else {
        return Err(object.refuse(format!("table {name}: `properties` is missing")));
    };
    let properties = properties.items()?;
    let mut columns = Vec::with_capacity(properties.len());
    let mut dataset_checks = dataset::dataset_checks(object, None)?;
    let mut seen = HashSet::new();
    // What a custom rule of a property may name: the table's columns.
    let siblings = row_columns(&properties);
    let property_names: Vec<&str> = (properties.iter())
        .filter_map(|property| property.get("name")?.text().ok())
        .collect();
    let relationships = relationship::schema_level(object, &name, &property_names)?;
    for property in &properties {
        let named = property.get("name").and_then(|name| name.text().ok());
        let relationship = (relationships.iter())
            .find(|(from, _)| named == Some(from.as_str()))
            .map(|(_, relationship)| relationship);
        let column = column::column(property, relationship, objects, names, &siblings)?;
        let at = property.get("name").expect("read by column");
        column_name_fits(&at, &name, &column.name, &mut seen)?;
        dataset_checks.extend(dataset::dataset_checks(property, Some(&column.name))?);
        columns.push(column);
    }
    match (columns.iter()).filter(|column| column.key).count() {
        1 => {
            let checks = quality::row_rules(object, &siblings)?;
            let rules = TableRules {
                knobs,
                checks,
                dataset_checks,
            };
            Ok((name, columns, rules))
        }
        0 => Err(object.refuse(format!(
            "table {name}: no primary key; csvgate de-duplicates and replaces rows by it: mark one integer or string property `primaryKey: true`"
        ))),
        _ => Err(object.refuse(format!(
            "table {name}: a composite primary key is not enforced yet: mark one property `primaryKey: true`"
        ))),
    }
}

/// What a custom rule of the table may name: its properties, each typed by its kind (text
/// where the kind does not read, which reading the property then refuses).
fn row_columns(properties: &[Node]) -> RowColumns {
    let mut fields: Vec<Field> = Vec::new();
    for property in properties {
        let Some(name) = property.get("name").and_then(|name| name.text().ok()) else {
            continue;
        };
        if fields.iter().any(|field| field.name() == name) {
            continue;
        }
        let data_type = kind::kind(property).map_or(DataType::Utf8, |kind| kind.arrow_type());
        fields.push(Field::new(name, data_type, true));
    }
    RowColumns::new(fields)
}

/// `column` is new to its table (`seen` holds the names before it, lower-case) and fits
/// MySQL's names of its keys and indexes (`<table>_<column>_fk` / `_idx`).
fn column_name_fits(
    at: &Node,
    table: &str,
    column: &str,
    seen: &mut HashSet<String>,
) -> Result<(), Refusal> {
    if !seen.insert(column.to_ascii_lowercase()) {
        return Err(at.refuse(format!(
            "column {column:?} is declared twice (MySQL does not tell names apart by case)"
        )));
    }
    if table.len() + column.len() + 4 > 64 {
        return Err(at.refuse(format!(
            "table and column names together are at most 60 characters: {table}.{column}"
        )));
    }
    Ok(())
}

/// The table's knobs, from its custom properties: `csvgateMaxRejectedRows` (a count),
/// `csvgateMaxRejectedRatio` (a share of the rows read, 0 to 1), `csvgateDelimiter` (one
/// ASCII character), `csvgateHeader` (`auto`, `yes` or `no`), `csvgateNullValues` (the texts
/// that mean a missing value, as a list) and `csvgateFileNames` (patterns, as a list).
fn knobs(object: &Node) -> Result<TableKnobs, Refusal> {
    let mut knobs = TableKnobs::default();
    let mut seen = Vec::new();
    let read = [
        MAX_REJECTED_ROWS,
        MAX_REJECTED_RATIO,
        DELIMITER,
        HEADER,
        NULL_VALUES,
        FILE_NAMES,
    ];
    for (property, value) in custom_properties(object, &read)? {
        if seen.contains(&property) {
            return Err(value.refuse(format!("{property} is given twice")));
        }
        seen.push(property);
        match property {
            MAX_REJECTED_ROWS => {
                let rows = u64::try_from(value.integer()?);
                let rows = rows.map_err(|_| value.refuse("expected a count, 0 or more"))?;
                knobs.budget.max_rows = Some(rows);
            }
            MAX_REJECTED_RATIO => {
                let ratio = value.number()?;
                if !(0.0..=1.0).contains(&ratio) {
                    let expected = "expected a share of the rows read, from 0 to 1 (0.05 is 5%)";
                    return Err(value.refuse(expected));
                }
                knobs.budget.max_ppm = Some(RejectBudget::ppm(ratio));
            }
            DELIMITER => knobs.file_format.delimiter = Some(delimiter(&value)?),
            NULL_VALUES => knobs.file_format.null_values = null_values(&value)?,
            FILE_NAMES => knobs.file_format.file_names = file_names(&value)?,
            _ => {
                let text = value.text()?;
                let mode = HeaderMode::parse(text);
                let refused = || value.refuse(format!("{text:?}: expected auto, yes or no"));
                knobs.file_format.header = Some(mode.ok_or_else(refused)?);
            }
        }
    }
    Ok(knobs)
}

/// Spellings of a missing value: a list of texts, none empty (an empty field is missing
/// anyway) or with blanks around it (fields are compared trimmed), none twice.
fn null_values(value: &Node) -> Result<Vec<String>, Refusal> {
    texts(value, |text, known| match null_spelling_problem(text) {
        Some(problem) => Some(format!("{text:?}: {problem}")),
        None => (known.iter().any(|spelling| spelling == text))
            .then(|| format!("{text:?} is given twice")),
    })
}

/// File-name patterns: a list, each one [`file_names::pattern_problem`] finds nothing wrong
/// with.
fn file_names(value: &Node) -> Result<Vec<String>, Refusal> {
    texts(value, |pattern, _| {
        file_names::pattern_problem(pattern).map(|problem| format!("{pattern:?}: {problem}"))
    })
}

/// A list of texts, each refused at its place with what `problem` (given the texts before
/// it) says is wrong with it.
fn texts(
    value: &Node,
    problem: impl Fn(&str, &[String]) -> Option<String>,
) -> Result<Vec<String>, Refusal> {
    let mut texts = Vec::new();
    for item in value.items()? {
        let text = item.text()?;
        if let Some(refusal) = problem(text, &texts) {
            return Err(item.refuse(refusal));
        }
        texts.push(text.to_owned());
    }
    Ok(texts)
}

/// A delimiter: one ASCII character other than a quote, a line end or a letter or digit.
fn delimiter(value: &Node) -> Result<u8, Refusal> {
    let text = value.text()?;
    match text.as_bytes() {
        [byte] if byte.is_ascii() && !byte.is_ascii_alphanumeric() && !b"\"\r\n".contains(byte) => {
            Ok(*byte)
        }
        _ => Err(value.refuse(format!(
            "{text:?}: a delimiter is one ASCII character, not a letter, digit, quote or line end"
        ))),
    }
}
