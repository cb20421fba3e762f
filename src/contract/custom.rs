//! `type: custom` quality rules with `engine: datafusion`: a SQL condition over one row's
//! typed columns, checked at read as far as it can be without data: it parses as one
//! expression, names only the table's columns, calls only DataFusion's scalar functions, and
//! is a condition (a boolean), so a contract that reads is one every load can run.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::LazyLock;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::DFSchema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Expr, Function, visit_expressions};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::node::Node;
use super::{DESCRIBED_RULE, Refusal};
use crate::dictionary::RowCheck;

/// The columns a row rule may name: its table's, typed as the rules see them.
pub(super) struct RowColumns {
    names: Vec<String>,
    schema: DFSchema,
}

impl RowColumns {
    /// `fields`: each column's name and its typed value's type.
    pub(super) fn new(fields: Vec<Field>) -> RowColumns {
        let names = fields.iter().map(|field| field.name().clone()).collect();
        let schema = DFSchema::try_from(Schema::new(fields)).expect("column names are distinct");
        RowColumns { names, schema }
    }

    fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|known| known == name)
    }
}

/// `type: custom`, `engine: datafusion`: the `implementation` is a SQL condition over the
/// row's typed columns (`columns`); its `name` says what a row breaking it is told.
pub(super) fn custom(rule: &Node, columns: &RowColumns) -> Result<RowCheck, Refusal> {
    rule.keys_within(
        &["type", "engine", "implementation", "name"],
        DESCRIBED_RULE,
        &[],
    )?;
    let engine = rule.required_text("engine")?;
    if engine != "datafusion" {
        return Err(rule.get("engine").expect("read above").refuse(format!(
            "engine {engine}: csvgate runs custom rules written for `engine: datafusion`"
        )));
    }
    let reason = rule.required_text("name")?;
    let at = rule
        .get("implementation")
        .ok_or_else(|| rule.refuse("`implementation` is missing"))?;
    let holds = at.text()?;
    // One expression and nothing after it (`x > 0; DROP …` is not a condition).
    let parsed = Parser::new(&GenericDialect {})
        .try_with_sql(holds)
        .and_then(|mut parser| {
            let condition = parser.parse_expr()?;
            parser.expect_token(&Token::EOF)?;
            Ok(condition)
        });
    let condition = parsed.map_err(|error| at.refuse(format!("not a SQL condition: {error}")))?;
    if let Some(problem) = outside_the_row(&condition, columns) {
        return Err(at.refuse(problem));
    }
    not_a_condition(&condition.to_string(), columns)
        .map_or(Ok(()), |problem| Err(at.refuse(problem)))?;
    Ok(RowCheck {
        // Re-rendered from the parse: a `--` comment would swallow the rest of the query.
        holds: condition.to_string(),
        reason: reason.to_owned(),
    })
}

/// DataFusion's own functions, by kind: a rule may call a scalar one.
static FUNCTIONS: LazyLock<(HashSet<String>, HashSet<String>)> = LazyLock::new(|| {
    let state = SessionContext::new().state();
    let names = |functions: Vec<&String>| functions.into_iter().cloned().collect();
    (
        names(state.scalar_functions().keys().collect()),
        names(state.aggregate_functions().keys().collect()),
    )
});

/// Why `function` cannot judge one row: a window, an aggregate, or a name DataFusion lacks.
fn not_a_row_function(function: &Function) -> Option<String> {
    let name = function.name.to_string().to_lowercase();
    let (scalar, aggregate) = &*FUNCTIONS;
    if function.over.is_some() || aggregate.contains(&name) {
        return Some(format!("{name} judges many rows: a rule judges one"));
    }
    (!scalar.contains(&name)).then(|| format!("{name} is not a function of DataFusion's SQL"))
}

/// What in `condition` reaches past the row: a name that is not one of `columns` (unquoted
/// names are lower-cased, as DataFusion reads them) or a subquery.
fn outside_the_row(condition: &Expr, columns: &RowColumns) -> Option<String> {
    let mut problem = None;
    let _ = visit_expressions(condition, |expr| {
        problem = match expr {
            Expr::Identifier(name) => {
                let read = match name.quote_style {
                    Some(_) => name.value.clone(),
                    None => name.value.to_lowercase(),
                };
                (!columns.contains(&read)).then(|| {
                    format!(
                        "{read:?} is not a column of this table: a rule judges one row, by its columns' names ({})",
                        columns.names.join(", ")
                    )
                })
            }
            Expr::CompoundIdentifier(_) => {
                Some("a rule names its table's columns alone (no `table.column`)".into())
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                Some("a rule judges one row: no subquery".into())
            }
            Expr::Function(function) => not_a_row_function(function),
            _ => None,
        };
        match problem {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    });
    problem
}

/// Why `holds`, planned over the typed row, is not a condition: a value of another type (a row
/// rule is true, false or NULL), or an expression DataFusion cannot type (`'a' + 1`).
fn not_a_condition(holds: &str, columns: &RowColumns) -> Option<String> {
    let ctx = SessionContext::new();
    let typed = ctx
        .parse_sql_expr(holds, &columns.schema)
        .and_then(|expr| expr.get_type(&columns.schema));
    match typed {
        Ok(DataType::Boolean | DataType::Null) => None,
        Ok(other) => Some(format!(
            "a rule is a condition (true, false or NULL); this gives a value of type {other}"
        )),
        Err(error) => Some(format!("DataFusion cannot plan it over the row: {error}")),
    }
}
