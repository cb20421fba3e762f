//! ODCS relationships, where a contract may write them: on a property (`to: customers.id`, the
//! property is the `from`) or on its table (`from: orders.customer_id`, `to: customers.id`).
//! Both mean one foreign key; a column takes at most one.

use super::node::Node;
use super::{Refusal, custom_properties, expect_word};

/// The schema-level relationships of `object` (the table `table`), by the column each starts
/// from; each one column to one column.
pub(super) fn schema_level<'a>(
    object: &Node<'a>,
    table: &str,
    columns: &[&str],
) -> Result<Vec<(String, Node<'a>)>, Refusal> {
    let Some(relationships) = object.get("relationships") else {
        return Ok(Vec::new());
    };
    let mut by_column: Vec<(String, Node<'a>)> = Vec::new();
    for relationship in relationships.items()? {
        relationship.keys_within(&["from", "to", "type"], &["customProperties"], &[])?;
        let at_from =
            (relationship.get("from")).ok_or_else(|| relationship.refuse("`from` is missing"))?;
        let column = from_column(&at_from, table, columns)?;
        if by_column.iter().any(|(known, _)| *known == column) {
            let twice = format!("{column} has a relationship already: one per column is enforced");
            return Err(at_from.refuse(twice));
        }
        by_column.push((column, relationship));
    }
    Ok(by_column)
}

/// The column of this table a schema-level `from` names, as `table.column`.
fn from_column(at: &Node, table: &str, columns: &[&str]) -> Result<String, Refusal> {
    one_column(at)?;
    let from = at.text()?;
    match from.split_once('.') {
        Some((named, column)) if named == table && columns.contains(&column) => {
            Ok(column.to_owned())
        }
        _ => Err(at.refuse(format!(
            "{from:?}: csvgate reads `from: {table}.<column>`, a column of this table"
        ))),
    }
}

/// The one relationship a property starts: its own, or its table's whose `from` it is.
pub(super) fn of_property<'a>(
    property: &Node<'a>,
    schema_level: Option<&Node<'a>>,
) -> Result<Option<Node<'a>>, Refusal> {
    let own = match property.get("relationships") {
        None => None,
        Some(relationships) => {
            let items = relationships.items()?;
            let [relationship] = items.as_slice() else {
                return Err(relationships.refuse("one relationship per property is enforced"));
            };
            relationship.keys_within(&["to", "type"], &["customProperties"], &["from"])?;
            Some(relationship.clone())
        }
    };
    match (own, schema_level) {
        (Some(own), Some(_)) => Err(own
            .refuse("this column has a relationship on its table too: one per column is enforced")),
        (own, table_level) => {
            let relationship = own.or_else(|| table_level.cloned());
            if let Some(relationship) = &relationship {
                custom_properties(relationship, &[])?;
                expect_word(relationship, "type", "foreignKey")?;
            }
            Ok(relationship)
        }
    }
}

/// A `from` or `to` that names one column, not a list.
fn one_column(at: &Node) -> Result<(), Refusal> {
    match at.items() {
        Ok(_) => Err(at.refuse(
            "a relationship of several columns (a composite key) is not enforced yet: one column to one column",
        )),
        Err(_) => Ok(()),
    }
}

/// `to` of a relationship, as `table.column`.
pub(super) fn to<'a>(relationship: &Node<'a>) -> Result<(Node<'a>, &'a str, &'a str), Refusal> {
    let at = (relationship.get("to")).ok_or_else(|| relationship.refuse("`to` is missing"))?;
    one_column(&at)?;
    let to = at.text()?;
    match to
        .split_once('.')
        .filter(|(_, column)| !column.contains('.'))
    {
        Some((table, column)) => Ok((at, table, column)),
        None => Err(at.refuse(format!("{to:?}: csvgate reads `to: table.column`"))),
    }
}
