//! What a property's values are: its `logicalType`, `physicalType` and `logicalTypeOptions`
//! as a [`ColumnKind`]. Every option read here is enforced by a rule; the rest are refused.

use super::Refusal;
use super::node::Node;
use crate::dictionary::{Bound, Bounds, ColumnKind, TextRule};

/// ODCS's logical types; csvgate enforces all but `time`, `object` and `array`.
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

/// Every option ODCS defines for some logical type.
const OPTIONS: &[&str] = &[
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
    "minItems",
    "maxItems",
    "uniqueItems",
];

const BOUNDS: [&str; 4] = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

/// The widest exact decimal: Arrow's `Decimal128` holds 38 digits (MySQL's `DECIMAL`, 65).
const MAX_PRECISION: u8 = 38;

/// The kind a property declares.
pub(super) fn kind(property: &Node) -> Result<ColumnKind, Refusal> {
    let Some(at_type) = property.get("logicalType") else {
        return Err(property.refuse("`logicalType` is missing"));
    };
    let physical = property.get("physicalType");
    if let Some(physical) = &physical
        && at_type.text()? != "number"
    {
        return Err(physical.refuse(
            "csvgate derives each column's stored type from its logicalType; `physicalType` is read on a number only, as DECIMAL(p,s)",
        ));
    }
    match at_type.text()? {
        "integer" => Ok(ColumnKind::Integer(bounds(&options(property, &BOUNDS)?)?)),
        "number" => number(property, physical),
        "string" => text(&options(property, &["minLength", "maxLength", "pattern"])?),
        "date" => date(&options(property, &["format"])?),
        "timestamp" => {
            options(property, &[])?;
            Ok(ColumnKind::Timestamp)
        }
        "boolean" => {
            options(property, &[])?;
            Ok(ColumnKind::Boolean)
        }
        "time" => Err(at_type.refuse(
            "logicalType time is not enforced: Delta Lake has no time type; declare a string with a `pattern` (^[0-9]{2}:[0-9]{2}:[0-9]{2}$)",
        )),
        other if LOGICAL_TYPES.contains(&other) => Err(at_type.refuse(format!(
            "logicalType {other} is not enforced: csvgate reads flat CSV rows"
        ))),
        other => Err(at_type.refuse(format!(
            "unknown logicalType {other:?}: ODCS has {}",
            LOGICAL_TYPES.join(", ")
        ))),
    }
}

/// The property's `logicalTypeOptions` (an empty mapping's place when it has none), with
/// only `read` among its keys.
fn options<'a>(property: &Node<'a>, read: &[&str]) -> Result<Option<Node<'a>>, Refusal> {
    let Some(options) = property.get("logicalTypeOptions") else {
        return Ok(None);
    };
    let not_read: Vec<&str> = (OPTIONS.iter().copied())
        .filter(|key| !read.contains(key))
        .collect();
    options
        .keys_within(read, &[], &not_read)
        .map_err(|refusal| Refusal {
            reason: format!(
                "{} (for this logicalType csvgate enforces {})",
                refusal.reason,
                match read.is_empty() {
                    true => "no option".to_owned(),
                    false => read.join(", "),
                }
            ),
            ..refusal
        })?;
    Ok(Some(options))
}

/// A number: exact when its `physicalType` is `DECIMAL(p,s)` or `NUMERIC(p,s)`, else an f64.
fn number(property: &Node, physical: Option<Node>) -> Result<ColumnKind, Refusal> {
    let bounds = bounds(&options(property, &BOUNDS)?)?;
    let Some(physical) = physical else {
        return Ok(ColumnKind::Number(bounds));
    };
    let (precision, scale) = decimal_type(physical.text()?).ok_or_else(|| {
        physical.refuse(format!(
            "csvgate reads DECIMAL(p,s) or NUMERIC(p,s) here, with 1 ≤ p ≤ {MAX_PRECISION} and s ≤ p"
        ))
    })?;
    Ok(ColumnKind::Decimal {
        precision,
        scale,
        bounds,
    })
}

/// `DECIMAL(12,2)` or `NUMERIC(12, 2)` (any case) as its precision and scale.
fn decimal_type(text: &str) -> Option<(u8, u8)> {
    let upper = text.trim().to_ascii_uppercase();
    let inner = (upper
        .strip_prefix("DECIMAL")
        .or_else(|| upper.strip_prefix("NUMERIC")))?;
    let inner = inner.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (precision, scale) = inner.split_once(',')?;
    let precision: u8 = precision.trim().parse().ok()?;
    let scale: u8 = scale.trim().parse().ok()?;
    ((1..=MAX_PRECISION).contains(&precision) && scale <= precision).then_some((precision, scale))
}

/// The range `minimum`, `maximum` and their exclusive forms declare; one bound per end.
fn bounds(options: &Option<Node>) -> Result<Bounds, Refusal> {
    let Some(options) = options else {
        return Ok(Bounds::default());
    };
    let end = |inclusive: &str, exclusive: &str| -> Result<Option<Bound>, Refusal> {
        match (options.get(inclusive), options.get(exclusive)) {
            (Some(_), Some(at)) => Err(at.refuse(format!(
                "`{inclusive}` and `{exclusive}` bound the same end: keep one"
            ))),
            (Some(at), None) => Ok(Some(bound(&at, false)?)),
            (None, Some(at)) => Ok(Some(bound(&at, true)?)),
            (None, None) => Ok(None),
        }
    };
    Ok(Bounds {
        lower: end("minimum", "exclusiveMinimum")?,
        upper: end("maximum", "exclusiveMaximum")?,
    })
}

/// A bound as the SQL literal of its number.
fn bound(at: &Node, exclusive: bool) -> Result<Bound, Refusal> {
    let literal = match at.value.as_i64() {
        Some(whole) => whole.to_string(),
        None => {
            let number = at.number()?;
            if !number.is_finite() {
                return Err(at.refuse("expected a finite number"));
            }
            number.to_string()
        }
    };
    Ok(Bound { literal, exclusive })
}

/// Text with its lengths and pattern.
fn text(options: &Option<Node>) -> Result<ColumnKind, Refusal> {
    let Some(options) = options else {
        return Ok(ColumnKind::Text(TextRule::default()));
    };
    let length = |key: &str| -> Result<Option<u32>, Refusal> {
        let Some(at) = options.get(key) else {
            return Ok(None);
        };
        let chars = u32::try_from(at.integer()?);
        Ok(Some(chars.map_err(|_| {
            at.refuse("expected a count of characters, 0 or more")
        })?))
    };
    let pattern = match options.get("pattern") {
        Some(at) => Some(pattern(&at)?),
        None => None,
    };
    Ok(ColumnKind::Text(TextRule {
        min_chars: length("minLength")?,
        max_chars: length("maxLength")?,
        pattern,
    }))
}

/// Escapes whose meaning differs between ECMA-262 (ASCII) and the regex engine DataFusion
/// runs (Unicode): a pattern using them would accept what the contract's other readers reject.
const UNICODE_ESCAPES: [&str; 8] = ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b", "\\B"];

/// A `pattern` csvgate can run with the meaning ECMA-262 gives it.
pub(super) fn pattern(at: &Node) -> Result<String, Refusal> {
    let pattern = at.text()?;
    let escapes = escapes(pattern);
    if let Some(escape) = escapes
        .iter()
        .find(|e| UNICODE_ESCAPES.contains(&e.as_str()))
    {
        return Err(at.refuse(format!(
            "{escape} matches more than ASCII in csvgate's regex engine but not in ECMA-262: write the class out ([0-9], [A-Za-z0-9_], [ \\t\\r\\n])"
        )));
    }
    let other_meaning = [
        "\\p", "\\P", "\\A", "\\z", "\\Z", "\\x{", "\\u{", "[[:", "{,",
    ];
    if let Some(construct) = other_meaning.iter().find(|c| pattern.contains(*c)) {
        return Err(at.refuse(format!(
            "{construct} means something else in ECMA-262 than in csvgate's regex engine: write the pattern without it"
        )));
    }
    if let Some(flags) = inline_flags(pattern) {
        return Err(at.refuse(format!(
            "{flags} sets flags inside the pattern, which ECMA-262 patterns cannot: write the pattern without it"
        )));
    }
    if let Err(error) = regex::Regex::new(pattern) {
        return Err(at.refuse(format!(
            "csvgate cannot run this pattern (lookaround and back-references are not supported): {error}"
        )));
    }
    Ok(pattern.to_owned())
}

/// The first inline flag group (`(?i)`, `(?s-m:`) of `pattern`, if any.
fn inline_flags(pattern: &str) -> Option<&str> {
    let at = pattern.match_indices("(?").find(|(at, _)| {
        let next = pattern[at + 2..].chars().next();
        next.is_some_and(|c| c == '-' || "imsuxUR".contains(c))
    })?;
    Some(&pattern[at.0..(at.0 + 4).min(pattern.len())])
}

/// Each `\x` escape of `pattern`, in order (an escaped backslash is one escape).
fn escapes(pattern: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            found.push(format!("\\{next}"));
        }
    }
    found
}

/// A date: csvgate reads `yyyy-MM-dd`, the only `format` it accepts.
fn date(options: &Option<Node>) -> Result<ColumnKind, Refusal> {
    match options.as_ref().and_then(|options| options.get("format")) {
        Some(at) if at.text()? != "yyyy-MM-dd" => {
            Err(at.refuse("csvgate reads dates as yyyy-MM-dd only (ISO 8601's calendar date)"))
        }
        _ => Ok(ColumnKind::Date),
    }
}
