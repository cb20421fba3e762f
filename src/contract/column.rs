//! ODCS properties as dictionary columns.
//!
//! Today's dictionary has four kinds of column, every one mandatory: an integer key, text of
//! at most 255 characters, an ISO 8601 timestamp, and an integer reference to another table's
//! key. A property is read when it says exactly one of them; anything wider (an optional
//! column, another type or bound, a string key) is refused by place until csvgate enforces it.

use super::node::Node;
use super::{DESCRIBED_ELEMENT, Refusal, custom_properties, expect_word, safe_name};
use crate::dictionary::{
    Column, ColumnKind, FIELD_COUNT_COLUMN, LIMIT_BROKEN_COLUMN, LINE_COLUMN, MAX_TEXT_CHARS,
    REASON_COLUMN, REPEATED_ID_COLUMN,
};
use crate::validate::rules::TYPED_PREFIX;

/// ODCS's logical types; csvgate enforces the ones [`kind_of`] reads.
const LOGICAL_TYPES: &[&str] = &[
    "string",
    "date",
    "timestamp",
    "time",
    "number",
    "integer",
    "object",
    "array",
    "boolean",
];

/// Column names the reader and the rules add to every row.
const RESERVED_COLUMNS: [&str; 5] = [
    LINE_COLUMN,
    FIELD_COUNT_COLUMN,
    REPEATED_ID_COLUMN,
    LIMIT_BROKEN_COLUMN,
    REASON_COLUMN,
];

/// One property as a column of one of today's kinds.
pub(super) fn column(
    property: &Node,
    objects: &[Node],
    names: &[String],
) -> Result<Column, Refusal> {
    let read = [
        "name",
        "physicalName",
        "logicalType",
        "required",
        "unique",
        "primaryKey",
        "primaryKeyPosition",
        "logicalTypeOptions",
        "relationships",
    ];
    let not_yet = [
        "physicalType",
        "quality",
        "items",
        "properties",
        "partitioned",
        "partitionKeyPosition",
    ];
    property.keys_within(&read, DESCRIBED_ELEMENT, &not_yet)?;
    custom_properties(property, &[])?;
    let name = property.required_text("name")?;
    let at_name = property.get("name").expect("read above");
    safe_name(&at_name, name)?;
    expect_word(property, "physicalName", name)?;
    unique_only_on_key(property)?;
    if RESERVED_COLUMNS.contains(&name) || name.starts_with(TYPED_PREFIX) {
        return Err(at_name.refuse(format!(
            "{name:?} is a column csvgate adds to every row (its line, its reason, typed_<column>): rename it"
        )));
    }
    if !property.flag("required")? {
        return Err(property.refuse(
            "an optional column (`required` false or absent) is not enforced yet: csvgate rejects an empty field, so declare `required: true`",
        ));
    }
    let kind = kind_of(property, objects, names)?;
    Ok(Column::new(name, kind))
}

/// `unique: true` is what a primary key is already; on another column it is not enforced yet.
fn unique_only_on_key(property: &Node) -> Result<(), Refusal> {
    match property.get("unique") {
        Some(at) if at.boolean()? && !property.flag("primaryKey")? => Err(at.refuse(
            "`unique` on a column that is not the primary key is a constraint csvgate does not enforce yet",
        )),
        _ => Ok(()),
    }
}

/// The kind a property declares: its logical type, options, key and relationship together.
fn kind_of(property: &Node, objects: &[Node], names: &[String]) -> Result<ColumnKind, Refusal> {
    let Some(at_type) = property.get("logicalType") else {
        return Err(property.refuse("`logicalType` is missing"));
    };
    let logical_type = at_type.text()?;
    let key = key_position(property)?;
    let reference = reference(property, objects, names)?;
    let kind = match logical_type {
        "integer" => {
            positive_integer(property)?;
            match (key, reference.clone()) {
                (true, Some(_)) => return Err(property.refuse("a primary key that is also a reference is not enforced yet")),
                (true, None) => ColumnKind::Id,
                (false, Some(table)) => ColumnKind::Reference(table),
                (false, None) => return Err(property.refuse("an integer column that is neither the primary key nor a reference is not enforced yet")),
            }
        }
        "string" => {
            text_of_at_most(property, MAX_TEXT_CHARS)?;
            ColumnKind::Text
        }
        "timestamp" => {
            no_options(property)?;
            ColumnKind::Timestamp
        }
        other if LOGICAL_TYPES.contains(&other) => {
            return Err(at_type.refuse(format!(
                "logicalType {other} is not enforced yet (integer, string and timestamp are)"
            )));
        }
        other => {
            return Err(at_type.refuse(format!(
                "unknown logicalType {other:?}: ODCS has {}",
                LOGICAL_TYPES.join(", ")
            )));
        }
    };
    if key && kind != ColumnKind::Id {
        return Err(property.refuse("a primary key that is not an integer is not enforced yet"));
    }
    if reference.is_some() && !matches!(kind, ColumnKind::Reference(_)) {
        return Err(property
            .refuse("a relationship on a column that is not an integer is not enforced yet"));
    }
    Ok(kind)
}

/// Whether the property is the primary key (position 1, if a position is given).
fn key_position(property: &Node) -> Result<bool, Refusal> {
    let key = property.flag("primaryKey")?;
    let Some(at) = property.get("primaryKeyPosition") else {
        return Ok(key);
    };
    // ODCS's default, -1, says "not in the key".
    match (key, at.integer()?) {
        (true, 1) | (false, -1) => Ok(key),
        _ => Err(at.refuse(
            "a composite primary key is not enforced yet: one property with `primaryKey: true` (position 1)",
        )),
    }
}

/// The table a property-level relationship points at, at its primary key.
fn reference(
    property: &Node,
    objects: &[Node],
    names: &[String],
) -> Result<Option<String>, Refusal> {
    let Some(relationships) = property.get("relationships") else {
        return Ok(None);
    };
    let items = relationships.items()?;
    let [relationship] = items.as_slice() else {
        return Err(relationships.refuse("one relationship per property is enforced"));
    };
    relationship.keys_within(&["to", "type"], &["customProperties"], &["from"])?;
    custom_properties(relationship, &[])?;
    expect_word(relationship, "type", "foreignKey")?;
    let at_to = relationship
        .get("to")
        .ok_or_else(|| relationship.refuse("`to` is missing"))?;
    let to = at_to.text()?;
    let Some((table, column)) = to
        .split_once('.')
        .filter(|(_, column)| !column.contains('.'))
    else {
        return Err(at_to.refuse(format!("{to:?}: csvgate reads `to: table.column`")));
    };
    let Some(index) = names.iter().position(|name| name == table) else {
        return Err(at_to.refuse(format!("{to:?}: no table {table:?} in this contract")));
    };
    if key_name(&objects[index])? != Some(column) {
        return Err(at_to.refuse(format!(
            "{to:?}: csvgate checks references to a table's primary key; {column:?} is not the key of {table}"
        )));
    }
    Ok(Some(table.to_owned()))
}

/// The name of the property of `object` marked as its primary key.
fn key_name<'a>(object: &Node<'a>) -> Result<Option<&'a str>, Refusal> {
    let Some(properties) = object.get("properties") else {
        return Ok(None);
    };
    for property in properties.items()? {
        if property.flag("primaryKey")? {
            return property.required_text("name").map(Some);
        }
    }
    Ok(None)
}

/// An integer column's options must say "greater than 0", as today's keys are.
fn positive_integer(property: &Node) -> Result<(), Refusal> {
    let bound = options(property, &["exclusiveMinimum", "minimum"])?;
    let positive = match (bound.get("exclusiveMinimum"), bound.get("minimum")) {
        (Some(at), None) => at.integer()? == 0,
        (None, Some(at)) => at.integer()? == 1,
        _ => false,
    };
    match positive {
        true => Ok(()),
        false => Err(bound.refuse(
            "csvgate enforces integer keys and references greater than 0 for now: declare `exclusiveMinimum: 0` (or `minimum: 1`) and no other bound",
        )),
    }
}

/// A string column's options must say "at most `limit` characters".
fn text_of_at_most(property: &Node, limit: usize) -> Result<(), Refusal> {
    let options = options(property, &["maxLength"])?;
    match options.get("maxLength") {
        Some(at) if at.integer()? == limit as i64 => Ok(()),
        _ => Err(options.refuse(format!(
            "csvgate stores text of at most {limit} characters for now: declare `maxLength: {limit}`"
        ))),
    }
}

/// A property without options.
fn no_options(property: &Node) -> Result<(), Refusal> {
    match property.get("logicalTypeOptions") {
        Some(at) => at.keys_within(&[], &[], &[]).map_err(|refusal| Refusal {
            reason: format!(
                "{} (no option of this type is enforced yet)",
                refusal.reason
            ),
            ..refusal
        }),
        None => Ok(()),
    }
}

/// The property's `logicalTypeOptions` (the property itself when it has none), with only
/// `read` among its keys.
fn options<'a>(property: &Node<'a>, read: &[&str]) -> Result<Node<'a>, Refusal> {
    let Some(options) = property.get("logicalTypeOptions") else {
        return Ok(property.clone());
    };
    let not_yet = [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "timezone",
        "defaultTimezone",
    ];
    let not_yet: Vec<&str> = not_yet
        .into_iter()
        .filter(|key| !read.contains(key))
        .collect();
    options.keys_within(read, &[], &not_yet)?;
    Ok(options)
}
