//! A `quality` list's rules on a whole table: `type: sql` (on a schema object or a property)
//! and the `rowCount` library metric (on a schema object), each with one ODCS operator.
//! [`super::quality`] reads the same lists for the rules that judge one row.

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::node::Node;
use super::{DESCRIBED_RULE, Refusal};
use crate::dictionary::{DatasetCheck, Expectation};

/// ODCS's operators, each comparing the query's value with a number (or two).
const OPERATORS: [&str; 8] = [
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
];

/// The dataset-level rules of `element`'s `quality` list: a schema object's (`property` is
/// `None`) or the property named `property`'s.
pub(super) fn dataset_checks(
    element: &Node,
    property: Option<&str>,
) -> Result<Vec<DatasetCheck>, Refusal> {
    let Some(rules) = element.get("quality") else {
        return Ok(Vec::new());
    };
    let mut checks = Vec::new();
    for rule in rules.items()? {
        if !is_dataset_rule(&rule, property.is_none())? {
            continue;
        }
        checks.push(match rule.get("type").map(|at| at.text()).transpose()? {
            Some("sql") => sql(&rule, property)?,
            _ => row_count(&rule)?,
        });
    }
    Ok(checks)
}

/// Whether [`dataset_checks`] reads `rule`, of a schema object's list (`on_table`) or of a
/// property's.
pub(super) fn is_dataset_rule(rule: &Node, on_table: bool) -> Result<bool, Refusal> {
    let kind = rule.get("type").map(|at| at.text()).transpose()?;
    let metric = rule.get("metric").map(|at| at.text()).transpose()?;
    Ok(match (kind, metric) {
        (Some("sql"), _) => true,
        (None | Some("library"), Some("rowCount")) => on_table,
        _ => false,
    })
}

/// `type: sql`: one `SELECT` of one value, `{object}` (and on a property `{property}`) standing
/// for the names csvgate fills in, quoted for the engine that runs it.
fn sql(rule: &Node, property: Option<&str>) -> Result<DatasetCheck, Refusal> {
    fields_read(rule, "query")?;
    let at = rule
        .get("query")
        .ok_or_else(|| rule.refuse("`query` is missing: the SQL whose value is compared"))?;
    let query = at.text()?.trim().trim_end_matches(';').trim();
    placeholders(&at, query, property)?;
    let filled = query
        .replace("{object}", "\"table\"")
        .replace("{property}", "\"column\"");
    let statements = Parser::parse_sql(&GenericDialect {}, &filled)
        .map_err(|error| at.refuse(format!("not SQL csvgate can read: {error}")))?;
    match statements.as_slice() {
        [Statement::Query(_)] => {}
        _ => return Err(at.refuse("one query (a SELECT of one value) and nothing else")),
    }
    dataset_check(rule, query, property)
}

/// `metric: rowCount` on a schema object: how many rows the table holds.
fn row_count(rule: &Node) -> Result<DatasetCheck, Refusal> {
    fields_read(rule, "metric")?;
    dataset_check(rule, "SELECT COUNT(*) FROM {object}", None)
}

/// `rule` as the check of `query`, with its name and its operator.
fn dataset_check(
    rule: &Node,
    query: &str,
    property: Option<&str>,
) -> Result<DatasetCheck, Refusal> {
    Ok(DatasetCheck {
        name: name(rule)?,
        query: query.to_owned(),
        property: property.map(str::to_owned),
        expect: expectation(rule)?,
    })
}

/// The fields a dataset rule may have (`what`: its `query` or its `metric`), and a unit of
/// rows: its value is a number, not a share.
fn fields_read(rule: &Node, what: &str) -> Result<(), Refusal> {
    let read: Vec<&str> = ["type", what, "name", "unit"]
        .into_iter()
        .chain(OPERATORS)
        .collect();
    rule.keys_within(&read, DESCRIBED_RULE, &[])?;
    match rule.get("unit") {
        Some(unit) if unit.text()? != "rows" => {
            Err(unit.refuse("csvgate compares the query's value itself: `unit: rows` or none"))
        }
        _ => Ok(()),
    }
}

/// The `{…}` names in `query`: `{object}`, and `{property}` on a property only.
fn placeholders(at: &Node, query: &str, property: Option<&str>) -> Result<(), Refusal> {
    for (start, _) in query.match_indices('{') {
        let rest = &query[start + 1..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !rest[word.len()..].starts_with('}') {
            continue;
        }
        match (word.as_str(), property) {
            ("object", _) | ("property", Some(_)) => {}
            ("property", None) => {
                return Err(at.refuse(
                    "{property} stands for the property a rule is declared on: on a table, name the column",
                ));
            }
            (other, _) => {
                return Err(at.refuse(format!(
                    "{{{other}}}: csvgate fills in {{object}} (the table) and {{property}} (the column) only"
                )));
            }
        }
    }
    Ok(())
}

/// The rule's name as reports show it: its `name`, else its place in the contract.
fn name(rule: &Node) -> Result<String, Refusal> {
    Ok(match rule.get("name") {
        Some(at) => at.text()?.to_owned(),
        None => rule.place().to_owned(),
    })
}

/// The one operator the rule gives.
fn expectation(rule: &Node) -> Result<Expectation, Refusal> {
    let given: Vec<(&str, Node)> = (OPERATORS.iter())
        .filter_map(|operator| Some((*operator, rule.get(operator)?)))
        .collect();
    let [(operator, at)] = given.as_slice() else {
        return Err(rule.refuse(format!(
            "a rule compares its value once: give exactly one of {}",
            OPERATORS.join(", ")
        )));
    };
    let pair = || -> Result<(f64, f64), Refusal> {
        match at.items()?.as_slice() {
            [low, high] if low.number()? <= high.number()? => Ok((low.number()?, high.number()?)),
            _ => Err(at.refuse("expected [low, high], low no more than high")),
        }
    };
    Ok(match *operator {
        "mustBe" => Expectation::Be(at.number()?),
        "mustNotBe" => Expectation::NotBe(at.number()?),
        "mustBeGreaterThan" => Expectation::GreaterThan(at.number()?),
        "mustBeGreaterOrEqualTo" => Expectation::GreaterOrEqualTo(at.number()?),
        "mustBeLessThan" => Expectation::LessThan(at.number()?),
        "mustBeLessOrEqualTo" => Expectation::LessOrEqualTo(at.number()?),
        "mustBeBetween" => {
            let (low, high) = pair()?;
            Expectation::Between(low, high)
        }
        _ => {
            let (low, high) = pair()?;
            Expectation::NotBetween(low, high)
        }
    })
}
