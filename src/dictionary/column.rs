//! One column: what its values are, whether it may be empty, and whether it is the key or
//! points at another table's key.

use datafusion::arrow::datatypes::{DataType, TimeUnit};

use super::TIMESTAMP_ZONE;

/// What a column's values are: the type a valid field converts to, with the type's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// A whole number, stored as an i64.
    Integer(Bounds),
    /// A binary floating-point number (f64): for measures where exactness is not promised.
    Number(Bounds),
    /// An exact decimal of at most `precision` digits, `scale` of them after the point; a value
    /// with more is rejected, never rounded.
    Decimal {
        precision: u8,
        scale: u8,
        bounds: Bounds,
    },
    /// Text, trimmed of the blanks around it.
    Text(TextRule),
    /// A calendar date written `yyyy-MM-dd`.
    Date,
    /// An ISO-8601 date and time; offsets are normalised to UTC.
    Timestamp,
    /// `true` or `false` (any case), `1` or `0`.
    Boolean,
}

/// The range a number must lie in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounds {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

/// One end of a range: a number as a SQL literal (the YAML number's own text for an integer;
/// a fraction is read as an f64 first) and whether the value itself is excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub literal: String,
    pub exclusive: bool,
}

/// What a text value must look like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextRule {
    pub min_chars: Option<u32>,
    pub max_chars: Option<u32>,
    /// A regular expression the value must contain a match of (ECMA-262 `pattern` semantics:
    /// unanchored unless it anchors itself).
    pub pattern: Option<String>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// An empty field is rejected; otherwise it is `NULL`, and valid.
    pub required: bool,
    /// The table's primary key: unique within a file, and what a reload replaces rows by.
    pub key: bool,
    /// The table this column's values must be keys of (a foreign key).
    pub reference: Option<String>,
    /// The contract's own rules on a non-empty value, in order.
    pub checks: Vec<RowCheck>,
}

/// A rule a contract states on a row, as SQL over its typed columns (each under its own name):
/// the row is rejected with `reason` where `holds` is false (NULL passes, as in a SQL `CHECK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCheck {
    pub holds: String,
    pub reason: String,
}

impl Column {
    /// A required column of `kind`, neither key nor reference.
    pub fn new(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.to_owned(),
            kind,
            required: true,
            key: false,
            reference: None,
            checks: Vec::new(),
        }
    }

    /// A required integer key greater than 0, as the HR tables' `id`.
    pub fn id(name: &str) -> Column {
        Column {
            key: true,
            ..Column::new(name, ColumnKind::Integer(Bounds::positive()))
        }
    }

    /// A required integer greater than 0 that must be a key of `table`.
    pub fn reference(name: &str, table: &str) -> Column {
        Column {
            reference: Some(table.to_owned()),
            ..Column::new(name, ColumnKind::Integer(Bounds::positive()))
        }
    }

    /// Required text of at most `max_chars` characters.
    pub fn text(name: &str, max_chars: u32) -> Column {
        let rule = TextRule {
            max_chars: Some(max_chars),
            ..TextRule::default()
        };
        Column::new(name, ColumnKind::Text(rule))
    }

    /// The table this column's values must be keys of, for a foreign key.
    pub fn referenced_table(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// What a value must be, in words.
    pub fn rule(&self) -> String {
        let mut words = vec![match self.required {
            true => "required".to_owned(),
            false => "optional (empty is NULL)".to_owned(),
        }];
        words.push(self.kind.rule());
        if self.key {
            words.push("once per file (the key)".into());
        }
        if let Some(table) = &self.reference {
            words.push(format!("the key of a row of {table}"));
        }
        words.extend(self.checks.iter().map(|check| check.reason.clone()));
        words.join("; ")
    }
}

impl Bounds {
    /// Greater than 0: the HR keys.
    pub fn positive() -> Bounds {
        Bounds {
            lower: Some(Bound {
                literal: "0".into(),
                exclusive: true,
            }),
            upper: None,
        }
    }

    /// The bounds in words ("greater than 0, at most 10").
    pub fn describe(&self) -> Option<String> {
        let lower = self.lower.as_ref().map(Bound::lower_words);
        let upper = self.upper.as_ref().map(Bound::upper_words);
        let words: Vec<String> = lower.into_iter().chain(upper).collect();
        (!words.is_empty()).then(|| words.join(", "))
    }
}

impl Bound {
    /// What a value under this lower bound is told: "must be greater than 0".
    pub fn lower_words(&self) -> String {
        match self.exclusive {
            true => format!("greater than {}", self.literal),
            false => format!("at least {}", self.literal),
        }
    }

    pub fn upper_words(&self) -> String {
        match self.exclusive {
            true => format!("less than {}", self.literal),
            false => format!("at most {}", self.literal),
        }
    }
}

impl TextRule {
    /// The rule in words ("at most 255 characters, matching ^[A-Z]").
    pub fn describe(&self) -> Option<String> {
        let mut words = Vec::new();
        if let Some(min) = self.min_chars {
            words.push(format!("at least {min} characters"));
        }
        if let Some(max) = self.max_chars {
            words.push(format!("at most {max} characters"));
        }
        if let Some(pattern) = &self.pattern {
            words.push(format!("matching {pattern}"));
        }
        (!words.is_empty()).then(|| words.join(", "))
    }
}

impl ColumnKind {
    /// The ODCS `logicalType` this kind is declared with.
    pub fn logical_type(&self) -> &'static str {
        match self {
            ColumnKind::Integer(_) => "integer",
            ColumnKind::Number(_) | ColumnKind::Decimal { .. } => "number",
            ColumnKind::Text(_) => "string",
            ColumnKind::Date => "date",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Boolean => "boolean",
        }
    }

    /// What a value of this kind must be, in words.
    pub fn rule(&self) -> String {
        let with = |what: &str, limits: Option<String>| match limits {
            Some(limits) => format!("{what}, {limits}"),
            None => what.to_owned(),
        };
        match self {
            ColumnKind::Integer(bounds) => with("a whole number", bounds.describe()),
            ColumnKind::Number(bounds) => with("a number", bounds.describe()),
            ColumnKind::Decimal {
                precision,
                scale,
                bounds,
            } => with(
                &format!("an exact decimal of at most {precision} digits, {scale} after the point"),
                bounds.describe(),
            ),
            ColumnKind::Text(rule) => with("text", rule.describe()),
            ColumnKind::Date => "a date, yyyy-MM-dd".into(),
            ColumnKind::Timestamp => {
                "an ISO 8601 date and time (a T, seconds optional, an offset or Z, none meaning UTC), stored in UTC".into()
            }
            ColumnKind::Boolean => "true or false (any case), 1 or 0".into(),
        }
    }

    /// The Arrow type a valid value of this kind is stored as.
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnKind::Integer(_) => DataType::Int64,
            ColumnKind::Number(_) => DataType::Float64,
            ColumnKind::Decimal {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale as i8),
            ColumnKind::Text(_) => DataType::Utf8,
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Timestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into()))
            }
            ColumnKind::Boolean => DataType::Boolean,
        }
    }
}
