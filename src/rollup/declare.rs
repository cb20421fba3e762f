//! A rollup's declaration, checked: DataFusion plans its SQL against the dictionary's tables
//! (so names and types are checked as in any query), and the plan must have the one shape whose
//! groups a load can keep in step by adding the counts and sums of its new rows and
//! subtracting those of the rows they replace:
//!
//! ```sql
//! SELECT <expressions of the row> AS <name>, …, COUNT(*) AS <name> [, SUM(<column>) AS <name> …]
//! FROM <table>
//! GROUP BY <the same expressions>
//! ```
//!
//! Anything else is refused by name: a `WHERE` (a rollup counts every row; filter in the report
//! that reads it), `HAVING`, a join, `ORDER BY`, `LIMIT`, `DISTINCT`, a window, a volatile
//! or stable expression (`random()`, `now()`), `MIN`/`MAX` (the extreme a replaced row held is not known
//! without a scan), a sum of floating-point values (adding and subtracting drifts).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::MemTable;
use datafusion::common::Column;
use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan, Projection, Volatility};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::{Measure, MeasureKind};
use crate::dictionary::{ColumnKind, Dictionary};

/// What a declaration's plan says, once it has the rollup's shape.
pub(super) struct Declared {
    pub table: String,
    /// The names of the group columns, in `GROUP BY` order.
    pub groups: Vec<String>,
    pub measures: Vec<Measure>,
    /// The columns as selected, every one nullable: what the rollup is stored as, whichever
    /// engine's arithmetic made a batch of it.
    pub schema: SchemaRef,
}

/// Plans `sql` against `dictionary` and checks its shape; the reason it is refused otherwise.
pub(super) fn declared(dictionary: &Dictionary, sql: &str) -> Result<Declared, String> {
    let ctx = SessionContext::new();
    for table in dictionary.tables() {
        let empty =
            MemTable::try_new(table.typed_schema(), vec![vec![]]).map_err(|e| e.to_string())?;
        ctx.register_table(table.name.as_str(), Arc::new(empty))
            .map_err(|e| e.to_string())?;
    }
    // Planning against in-memory tables awaits nothing (their lookup is ready at once), so a
    // deployment declares its rollups without a runtime, wherever it is opened.
    let state = ctx.state();
    let plan = futures::executor::block_on(state.create_logical_plan(sql));
    let plan = plan.map_err(|e| e.to_string())?;
    let LogicalPlan::Projection(projection) = &plan else {
        return Err(refused_node(&plan, "around the SELECT"));
    };
    let aggregate = match projection.input.as_ref() {
        LogicalPlan::Aggregate(aggregate) => aggregate,
        LogicalPlan::Filter(_) => return Err(shape_error("a HAVING clause")),
        other => return Err(refused_node(other, "under the SELECT")),
    };
    let table = base_table(&aggregate.input)?;
    check_groups(aggregate)?;
    let columns = selected(projection, aggregate)?;
    let measures = measures(dictionary, &table, aggregate, &columns)?;
    let groups = columns[..aggregate.group_expr.len()].to_vec();
    if !measures
        .iter()
        .any(|measure| measure.kind == MeasureKind::Count)
    {
        return Err(shape_error(
            "no COUNT(*): a rollup counts its rows, so a group whose count falls to 0 is known to be gone",
        ));
    }
    let fields =
        (projection.schema.fields().iter()).map(|field| field.as_ref().clone().with_nullable(true));
    Ok(Declared {
        table,
        groups,
        measures,
        schema: Arc::new(Schema::new(fields.collect::<Vec<_>>())),
    })
}

/// The shape, with what this declaration has instead.
fn shape_error(what: &str) -> String {
    format!(
        "{what}: a rollup is SELECT <expressions of the row> AS <name>, …, COUNT(*) AS <name> [, SUM(<column>) AS <name>] FROM <table> GROUP BY <the expressions>, the one shape a load keeps in step by adding and subtracting"
    )
}

/// A plan node where the shape has none, by the clause that makes it.
fn refused_node(plan: &LogicalPlan, place: &str) -> String {
    let clause = match plan {
        LogicalPlan::Filter(_) => "a WHERE clause (a rollup counts every row of its table; filter in the report that reads it)".to_owned(),
        LogicalPlan::Sort(_) => "ORDER BY (order in the report that reads the rollup)".to_owned(),
        LogicalPlan::Limit(_) => "LIMIT".to_owned(),
        LogicalPlan::Join(_) => "a join (a rollup reads one table; join names in the report)".to_owned(),
        LogicalPlan::Window(_) => "a window function".to_owned(),
        LogicalPlan::Distinct(_) => "DISTINCT".to_owned(),
        LogicalPlan::Union(_) => "UNION".to_owned(),
        LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => "a subquery or WITH".to_owned(),
        LogicalPlan::Aggregate(_) => "an aggregate over an aggregate".to_owned(),
        LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => "no table in FROM".to_owned(),
        other => format!("{} {place}", other.display()),
    };
    shape_error(&clause)
}

/// The one table the aggregate reads, unfiltered (an alias in `FROM` is allowed).
fn base_table(input: &LogicalPlan) -> Result<String, String> {
    match input {
        LogicalPlan::TableScan(scan) => Ok(scan.table_name.table().to_owned()),
        LogicalPlan::SubqueryAlias(alias) if matches!(*alias.input, LogicalPlan::TableScan(_)) => {
            base_table(&alias.input)
        }
        other => Err(refused_node(other, "in FROM")),
    }
}

/// Each group is computed from its row alone, the same way every time.
fn check_groups(aggregate: &Aggregate) -> Result<(), String> {
    if aggregate.group_expr.is_empty() {
        return Err(shape_error("no GROUP BY"));
    }
    for group in &aggregate.group_expr {
        let refused = |why: &str| Err(format!("GROUP BY {group}: {why}"));
        if matches!(group, Expr::GroupingSet(_)) {
            return refused(
                "grouping sets, ROLLUP and CUBE are refused: declare one rollup per grouping",
            );
        }
        // Volatile (`random()`) or stable (`now()`): either may give the same row another
        // group next time, where its count could not be found again.
        let changing = group.exists(|expr| {
            Ok(matches!(expr, Expr::ScalarFunction(call)
                if call.func.signature().volatility != Volatility::Immutable))
        });
        if group.is_volatile() || changing.unwrap_or(true) {
            return refused(
                "it may give the same row another value another time (random(), now()), so a replaced row's group could not be found again",
            );
        }
        let has_subquery = group.exists(|expr| {
            Ok(matches!(
                expr,
                Expr::ScalarSubquery(_)
                    | Expr::Exists(_)
                    | Expr::InSubquery(_)
                    | Expr::Placeholder(_)
            ))
        });
        if has_subquery.unwrap_or(true) {
            return refused("a group is an expression of the row: no subquery or parameter");
        }
    }
    Ok(())
}

/// The names the rollup's columns are selected as: every group, then every measure, each
/// once and as it is, under a plain name.
fn selected(projection: &Projection, aggregate: &Aggregate) -> Result<Vec<String>, String> {
    let outputs = aggregate.schema.columns();
    let mut names = vec![String::new(); outputs.len()];
    for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
        let Some(column) = plain_column(expr) else {
            return Err(format!(
                "{}: select each group and measure as it is (compute with them in the report that reads the rollup)",
                field.name()
            ));
        };
        let Some(position) = outputs.iter().position(|output| output == column) else {
            return Err(format!("{}: not a group or a measure", field.name()));
        };
        if !names[position].is_empty() {
            return Err(format!("{} is selected twice", column.name));
        }
        if !plain_name(field.name()) {
            return Err(format!(
                "{:?}: name each column of a rollup with AS, in lower-case letters, digits and _",
                field.name()
            ));
        }
        names[position] = field.name().clone();
    }
    if let Some(position) = names.iter().position(String::is_empty) {
        return Err(format!(
            "{} is grouped or measured but not selected",
            outputs[position].name
        ));
    }
    Ok(names)
}

fn plain_column(expr: &Expr) -> Option<&Column> {
    match expr {
        Expr::Column(column) => Some(column),
        Expr::Alias(alias) => plain_column(&alias.expr),
        _ => None,
    }
}

pub(super) fn plain_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && (name.chars()).all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The measures, named as selected: `COUNT(*)` and sums of exact numeric columns.
fn measures(
    dictionary: &Dictionary,
    table: &str,
    aggregate: &Aggregate,
    names: &[String],
) -> Result<Vec<Measure>, String> {
    let table = dictionary
        .table(table)
        .ok_or_else(|| format!("{table} is not a table of the contract"))?;
    let names = &names[aggregate.group_expr.len()..];
    let mut measures = Vec::new();
    for (expr, name) in aggregate.aggr_expr.iter().zip(names) {
        let refused = |why: &str| Err(format!("{name} ({expr}): {why}"));
        let Expr::AggregateFunction(AggregateFunction { func, params }) = expr else {
            return refused("not an aggregate");
        };
        if params.distinct || params.filter.is_some() || !params.order_by.is_empty() {
            return refused(
                "DISTINCT, FILTER and ORDER BY cannot be kept by adding and subtracting",
            );
        }
        let kind = match (func.name(), params.args.as_slice()) {
            ("count", [Expr::Literal(ScalarValue::Int64(Some(1)), _)]) => MeasureKind::Count,
            ("count", _) => return refused("count the rows with COUNT(*)"),
            ("sum", [Expr::Column(column)]) => {
                let summed = table.column(&column.name);
                match (&summed.kind, summed.required) {
                    (ColumnKind::Integer(_) | ColumnKind::Decimal { .. }, true) => MeasureKind::Sum,
                    (ColumnKind::Integer(_) | ColumnKind::Decimal { .. }, false) => {
                        return refused(
                            "the column is optional: a rollup sums required columns (a sum of no values is NULL, not 0)",
                        );
                    }
                    _ => {
                        return refused(
                            "a rollup sums integer or decimal columns: adding and subtracting floating-point values drifts",
                        );
                    }
                }
            }
            ("sum", _) => return refused("sum one column as it is"),
            ("min" | "max", _) => {
                return refused(
                    "the extreme a replaced row held cannot be known without a scan: read MIN and MAX from the table",
                );
            }
            ("avg", _) => {
                return refused("declare SUM(<column>) and COUNT(*) and divide in the report");
            }
            _ => return refused("a rollup measures with COUNT(*) and SUM(<column>) only"),
        };
        measures.push(Measure {
            name: name.clone(),
            kind,
        });
    }
    Ok(measures)
}
