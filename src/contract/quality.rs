//! A property's `quality` rules that judge one row at a time, as row checks: the library
//! metrics `invalidValues` (with `validValues` or a `pattern`), `nullValues` and
//! `duplicateValues` with `mustBe: 0`, and `type: custom` rules in DataFusion SQL
//! ([`super::custom`]). Dataset-level
//! rules (`type: sql`, `rowCount`) are [`super::dataset`]'s; anything else (thresholds,
//! percentages) is refused by place.

use super::custom::{RowColumns, custom};
use super::dataset::is_dataset_rule;
use super::kind;
use super::node::Node;
use super::{DESCRIBED_RULE, Refusal};
use crate::dictionary::{ColumnKind, RowCheck, TextRule};
use crate::validate::rules::quote;

/// What a property's quality rules add to its column.
#[derive(Default)]
pub(super) struct Quality {
    /// `nullValues` must be 0: an empty field is rejected.
    pub required: bool,
    pub checks: Vec<RowCheck>,
}

/// The row checks of `property`'s `quality` list; `kind` is its (possibly narrowed) kind.
pub(super) fn quality(
    property: &Node,
    kind: &mut ColumnKind,
    key: bool,
    columns: &RowColumns,
) -> Result<Quality, Refusal> {
    let mut quality = Quality::default();
    let Some(rules) = property.get("quality") else {
        return Ok(quality);
    };
    let name = property.required_text("name")?;
    for rule in rules.items()? {
        if is_dataset_rule(&rule, false)? {
            continue;
        }
        severity_is_error(&rule)?;
        match rule
            .get("type")
            .map(|at| at.text())
            .transpose()?
            .unwrap_or("library")
        {
            "library" => library(&rule, name, kind, key, &mut quality)?,
            "custom" => quality.checks.push(custom(&rule, columns)?),
            other => {
                return Err(rule.get("type").expect("read above").refuse(format!(
                    "a quality rule of type {other} is not enforced on a property (csvgate runs library metrics and custom DataFusion SQL)"
                )));
            }
        }
    }
    Ok(quality)
}

/// The `quality` rules of a schema object that judge a row: custom DataFusion conditions over
/// the whole row (`columns` are the table's). Dataset-level rules are left to
/// [`super::dataset`]; other library metrics are refused by place.
pub(super) fn row_rules(object: &Node, columns: &RowColumns) -> Result<Vec<RowCheck>, Refusal> {
    let Some(rules) = object.get("quality") else {
        return Ok(Vec::new());
    };
    let mut checks = Vec::new();
    for rule in rules.items()? {
        if is_dataset_rule(&rule, true)? {
            continue;
        }
        severity_is_error(&rule)?;
        match rule.get("type").map(|at| at.text()).transpose()? {
            Some("custom") => checks.push(custom(&rule, columns)?),
            _ => {
                return Err(rule.refuse(
                    "on a table csvgate enforces `type: custom` rules over one row (`engine: datafusion`), `type: sql` and the rowCount metric",
                ));
            }
        }
    }
    Ok(checks)
}

/// A rule that only warns would still reject rows here: csvgate keeps `severity: error` ones.
fn severity_is_error(rule: &Node) -> Result<(), Refusal> {
    match rule.get("severity") {
        Some(at) if at.text()? != "error" => Err(at.refuse(
            "csvgate rejects the rows a rule finds, so it keeps rules of `severity: error` (or none) only",
        )),
        _ => Ok(()),
    }
}

/// `mustBe: 0`, the only threshold a row rule can keep.
fn must_be_zero(rule: &Node) -> Result<(), Refusal> {
    match rule.get("mustBe") {
        Some(at) if at.number()? == 0.0 => Ok(()),
        _ => Err(rule.refuse(
            "csvgate enforces a library metric row by row, so only `mustBe: 0` (no row may break it)",
        )),
    }
}

/// `invalidValues`, `nullValues` or `duplicateValues` with `mustBe: 0`.
fn library(
    rule: &Node,
    column: &str,
    kind: &mut ColumnKind,
    key: bool,
    quality: &mut Quality,
) -> Result<(), Refusal> {
    rule.keys_within(
        &["type", "metric", "arguments", "mustBe", "name", "unit"],
        DESCRIBED_RULE,
        &[],
    )?;
    must_be_zero(rule)?;
    if let Some(unit) = rule.get("unit")
        && unit.text()? != "rows"
    {
        return Err(unit.refuse("csvgate counts rows: `unit: rows` or none"));
    }
    let metric = rule.required_text("metric")?;
    match metric {
        "nullValues" | "missingValues" | "duplicateValues" if rule.get("arguments").is_some() => {
            Err(rule.get("arguments").expect("just seen").refuse(format!(
                "{metric} takes no arguments csvgate enforces (missing-value lists and the like are not read)"
            )))
        }
        "nullValues" | "missingValues" => {
            quality.required = true;
            Ok(())
        }
        "duplicateValues" if key => Ok(()),
        "duplicateValues" => Err(rule.refuse(
            "duplicateValues is enforced on the primary key only (csvgate checks no other column across rows)",
        )),
        "invalidValues" => {
            invalid_values(rule, column, kind, quality)
        }
        other => Err(rule.get("metric").expect("read above").refuse(format!(
            "metric {other} is not enforced as a row rule (csvgate reads invalidValues, nullValues and duplicateValues)"
        ))),
    }
}

/// `invalidValues` with `arguments.validValues` (an enum) or `arguments.pattern`.
fn invalid_values(
    rule: &Node,
    column: &str,
    kind: &mut ColumnKind,
    quality: &mut Quality,
) -> Result<(), Refusal> {
    let Some(arguments) = rule.get("arguments") else {
        return Err(rule.refuse("invalidValues needs `arguments`: validValues or a pattern"));
    };
    arguments.keys_within(&["validValues", "pattern"], &[], &[])?;
    if let Some(at) = arguments.get("pattern") {
        let ColumnKind::Text(TextRule {
            pattern: pattern @ None,
            ..
        }) = kind
        else {
            return Err(at.refuse("a pattern applies to a string without one already"));
        };
        *pattern = Some(kind::pattern(&at)?);
    }
    if let Some(at) = arguments.get("validValues") {
        let (literals, values) = valid_values(&at, kind)?;
        quality.checks.push(RowCheck {
            holds: format!("{} IN ({})", quote(column), literals.join(", ")),
            reason: format!("not one of {}", values.join(", ")),
        });
    }
    Ok(())
}

/// The listed values as SQL literals of the column's type, and as they read.
fn valid_values(at: &Node, kind: &ColumnKind) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let items = at.items()?;
    if items.is_empty() {
        return Err(at.refuse("an empty list admits no value"));
    }
    let mut literals = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(items.len());
    for item in &items {
        let value = match kind {
            ColumnKind::Text(_) => item.text()?.to_owned(),
            ColumnKind::Integer(_) => item.integer()?.to_string(),
            _ => return Err(at.refuse("validValues are enforced on strings and integers")),
        };
        if value.trim_matches(crate::dictionary::BLANKS) != value {
            return Err(item.refuse(
                "csvgate trims blanks from every field, so no field can equal this value",
            ));
        }
        literals.push(match kind {
            ColumnKind::Text(_) => format!("'{}'", value.replace('\'', "''")),
            _ => value.clone(),
        });
        values.push(value);
    }
    Ok((literals, values))
}
