//! ODCS properties as dictionary columns: the name, whether a value is required, the
//! primary key and the relationship; what the values are is [`super::kind`]'s.

use super::custom::RowColumns;
use super::node::Node;
use super::{
    DESCRIBED_ELEMENT, Refusal, custom_properties, expect_word, kind, quality, relationship,
    safe_name,
};
use crate::dictionary::{
    Column, ColumnKind, FIELD_COUNT_COLUMN, LIMIT_BROKEN_COLUMN, LINE_COLUMN, REASON_COLUMN,
    REPEATED_ID_COLUMN,
};
use crate::validate::rules::TYPED_PREFIX;

/// Column names the reader and the rules add to every row.
const RESERVED_COLUMNS: [&str; 5] = [
    LINE_COLUMN,
    FIELD_COUNT_COLUMN,
    REPEATED_ID_COLUMN,
    LIMIT_BROKEN_COLUMN,
    REASON_COLUMN,
];

/// One property as a column; `relationship` is its table's schema-level relationship from it,
/// if any.
pub(super) fn column(
    property: &Node,
    relationship: Option<&Node>,
    objects: &[Node],
    names: &[String],
    siblings: &RowColumns,
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
        "physicalType",
        "quality",
    ];
    let not_yet = ["items", "properties", "partitioned", "partitionKeyPosition"];
    property.keys_within(&read, DESCRIBED_ELEMENT, &not_yet)?;
    custom_properties(property, &[])?;
    let name = property.required_text("name")?;
    let at_name = property.get("name").expect("read above");
    safe_name(&at_name, name)?;
    expect_word(property, "physicalName", name)?;
    unique_only_on_key(property)?;
    if RESERVED_COLUMNS.contains(&name)
        || name.starts_with(TYPED_PREFIX)
        || name.starts_with("_csvgate")
    {
        return Err(at_name.refuse(format!(
            "{name:?} is a column csvgate adds to every row (its line, its reason, typed_<column>): rename it"
        )));
    }
    let required = property.flag("required")?;
    let key = key_position(property)?;
    if key && !required {
        return Err(property.refuse("a primary key cannot be empty: declare it `required: true`"));
    }
    let mut kind = kind::kind(property)?;
    let quality = quality::quality(property, &mut kind, key, siblings)?;
    if key {
        keyable(property, &kind)?;
    }
    let reference = match relationship::of_property(property, relationship)? {
        Some(relationship) => Some(reference(&relationship, property, &kind, objects, names)?),
        None => None,
    };
    Ok(Column {
        name: name.to_owned(),
        kind,
        required: required || quality.required,
        key,
        reference,
        checks: quality.checks,
    })
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

/// A key csvgate can hold: an integer never below 0 (key sets are bitmaps, which hold no
/// negative number), or text short enough for MySQL to index (`VARCHAR`).
fn keyable(property: &Node, kind: &ColumnKind) -> Result<(), Refusal> {
    match kind {
        ColumnKind::Integer(bounds) => {
            let lowest = bounds.lower.as_ref().and_then(|bound| {
                let value: f64 = bound.literal.parse().ok()?;
                Some(if bound.exclusive { value + 1.0 } else { value })
            });
            match lowest {
                Some(lowest) if lowest >= 0.0 => Ok(()),
                _ => Err(property.refuse(
                    "an integer key needs a lower bound of 0 or more (`minimum: 0` or `exclusiveMinimum: 0`): csvgate keeps keys in a bitmap, which holds no negative number",
                )),
            }
        }
        ColumnKind::Text(rule) if rule.max_chars.is_some_and(|max| max <= MAX_KEY_CHARS) => Ok(()),
        ColumnKind::Text(_) => Err(property.refuse(format!(
            "a string key or reference needs `maxLength` of at most {MAX_KEY_CHARS}: MySQL indexes it as a VARCHAR"
        ))),
        _ => Err(property.refuse("a key or reference is an integer or a string")),
    }
}

/// The longest text key: MySQL indexes a `VARCHAR(255)` in full.
const MAX_KEY_CHARS: u32 = 255;

/// The table a relationship from `property` points at, at its primary key.
fn reference(
    relationship: &Node,
    property: &Node,
    kind: &ColumnKind,
    objects: &[Node],
    names: &[String],
) -> Result<String, Refusal> {
    let (at_to, table, column) = relationship::to(relationship)?;
    let to = at_to.text()?;
    let Some(index) = names.iter().position(|name| name == table) else {
        return Err(at_to.refuse(format!("{to:?}: no table {table:?} in this contract")));
    };
    let key = key_property(&objects[index])?;
    let key_named = |key: &Node| key.required_text("name").is_ok_and(|name| name == column);
    let Some(key) = key.filter(key_named) else {
        return Err(at_to.refuse(format!(
            "{to:?}: csvgate checks references to a table's primary key; {column:?} is not the key of {table}"
        )));
    };
    keyable(property, kind)?;
    let key_type = key.get("logicalType").map(|at| at.text()).transpose()?;
    if key_type != Some(kind.logical_type()) {
        return Err(at_to.refuse(format!(
            "{to:?} holds {} keys and this column is a {}: a reference has its key's type",
            key_type.unwrap_or("missing"),
            kind.logical_type()
        )));
    }
    Ok(table.to_owned())
}

/// The property of `object` marked as its primary key.
fn key_property<'a>(object: &Node<'a>) -> Result<Option<Node<'a>>, Refusal> {
    let Some(properties) = object.get("properties") else {
        return Ok(None);
    };
    for property in properties.items()? {
        if property.flag("primaryKey")? {
            return Ok(Some(property));
        }
    }
    Ok(None)
}
