//! A named report's parameters: declared in its file's opening comment, given as text (a flag,
//! a query string), bound typed in each engine.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use datafusion::scalar::ScalarValue;

use super::ReportError;

/// One `-- @param NAME TYPE [DEFAULT]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// The value when none is given; without one the parameter must be given.
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Integer,
    Number,
    Text,
    /// `yyyy-MM-dd`.
    Date,
}

/// A parameter's value, read by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Integer(i64),
    Number(f64),
    Text(String),
    Date(NaiveDate),
}

impl ParamKind {
    /// As a report file declares it.
    pub fn word(self) -> &'static str {
        match self {
            ParamKind::Integer => "integer",
            ParamKind::Number => "number",
            ParamKind::Text => "text",
            ParamKind::Date => "date",
        }
    }
}

impl Param {
    /// The parameter `declared` (what follows `@param`) names.
    pub fn declared(declared: &str) -> Result<Param, String> {
        let words: Vec<&str> = declared.split_whitespace().collect();
        let (name, kind, default) = match words.as_slice() {
            [name, kind] => (name, kind, None),
            [name, kind, default] => (name, kind, Some(default.to_string())),
            _ => {
                return Err(format!(
                    "`@param{declared}`: expected `@param NAME TYPE [DEFAULT]`"
                ));
            }
        };
        let kind = match *kind {
            "integer" => ParamKind::Integer,
            "number" => ParamKind::Number,
            "text" => ParamKind::Text,
            "date" => ParamKind::Date,
            other => {
                return Err(format!(
                    "parameter {name}: type {other:?}; expected integer, number, text or date"
                ));
            }
        };
        // What both engines bind by name: MySQL's driver reads `:[a-z_][a-z0-9_]*`, and
        // DataFusion reads `$1` as a position.
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(format!(
                "parameter {name:?}: lower-case letters, digits and _, not starting with a digit"
            ));
        }
        let param = Param {
            name: name.to_string(),
            kind,
            default,
        };
        if let Some(default) = &param.default {
            param
                .read(default)
                .map_err(|reason| format!("parameter {name}'s default: {reason}"))?;
        }
        Ok(param)
    }

    /// `text` as a value of this parameter's kind.
    pub fn read(&self, text: &str) -> Result<ParamValue, String> {
        let wrong = |kind: &str| format!("{text:?} is not {kind}");
        Ok(match self.kind {
            ParamKind::Integer => {
                ParamValue::Integer(text.parse().map_err(|_| wrong("an integer"))?)
            }
            ParamKind::Number => ParamValue::Number(
                (text.parse::<f64>().ok())
                    .filter(|number| number.is_finite())
                    .ok_or_else(|| wrong("a number"))?,
            ),
            ParamKind::Text => ParamValue::Text(text.to_owned()),
            ParamKind::Date => ParamValue::Date(
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| wrong("a date (yyyy-MM-dd)"))?,
            ),
        })
    }
}

/// The values of `params` for report `report`: each given one read by its kind, the others
/// their defaults; a parameter the report does not declare, or a missing one, is an error.
pub fn bind(
    report: &str,
    params: &[Param],
    given: &BTreeMap<String, String>,
) -> Result<Vec<(String, ParamValue)>, ReportError> {
    let error = |reason: String| ReportError::Param {
        report: report.to_owned(),
        reason,
    };
    if let Some(unknown) = given
        .keys()
        .find(|name| !params.iter().any(|p| &p.name == *name))
    {
        let declared: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        return Err(error(format!(
            "it takes no parameter {unknown} (it takes: {})",
            match declared.is_empty() {
                true => "none".to_owned(),
                false => declared.join(", "),
            }
        )));
    }
    let mut values = Vec::with_capacity(params.len());
    for param in params {
        let text = (given.get(&param.name).or(param.default.as_ref())).ok_or_else(|| {
            error(format!(
                "parameter {} is missing and has no default",
                param.name
            ))
        })?;
        let value = param
            .read(text)
            .map_err(|reason| error(format!("{}: {reason}", param.name)))?;
        values.push((param.name.clone(), value));
    }
    Ok(values)
}

impl ParamValue {
    /// As DataFusion binds it.
    pub fn scalar(&self) -> ScalarValue {
        match self {
            ParamValue::Integer(value) => ScalarValue::Int64(Some(*value)),
            ParamValue::Number(value) => ScalarValue::Float64(Some(*value)),
            ParamValue::Text(value) => ScalarValue::Utf8(Some(value.clone())),
            ParamValue::Date(date) => {
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
                ScalarValue::Date32(Some((*date - epoch).num_days() as i32))
            }
        }
    }

    /// As the MySQL driver binds it.
    pub fn mysql(&self) -> mysql_async::Value {
        match self {
            ParamValue::Integer(value) => (*value).into(),
            ParamValue::Number(value) => (*value).into(),
            ParamValue::Text(value) => value.clone().into(),
            ParamValue::Date(date) => mysql_async::Value::Date(
                date.year() as u16,
                date.month() as u8,
                date.day() as u8,
                0,
                0,
                0,
                0,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year() -> Param {
        Param::declared(" year integer 2021").unwrap()
    }

    #[test]
    fn given_values_are_read_by_kind_and_defaults_fill_the_rest() {
        let since = Param::declared("since date").unwrap();
        let given = BTreeMap::from([("since".to_owned(), "2024-02-29".to_owned())]);
        let bound = bind("r", &[year(), since], &given).unwrap();
        assert_eq!(
            bound,
            [
                ("year".to_owned(), ParamValue::Integer(2021)),
                (
                    "since".to_owned(),
                    ParamValue::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
                ),
            ]
        );
        assert_eq!(bound[1].1.scalar(), ScalarValue::Date32(Some(19782)));
    }

    #[test]
    fn unknown_missing_and_mistyped_parameters_are_refused_by_name() {
        let unknown = BTreeMap::from([("yaer".to_owned(), "2021".to_owned())]);
        let error = bind("q1", &[year()], &unknown).unwrap_err().to_string();
        assert!(
            error.contains("no parameter yaer (it takes: year)"),
            "{error}"
        );
        let since = Param::declared("since date").unwrap();
        let error = bind("r", &[since], &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("since is missing"), "{error}");
        let mistyped = BTreeMap::from([("year".to_owned(), "last".to_owned())]);
        let error = bind("q1", &[year()], &mistyped).unwrap_err().to_string();
        assert!(error.contains("\"last\" is not an integer"), "{error}");
        let error = Param::declared(" year int").unwrap_err();
        assert!(
            error.contains("expected integer, number, text or date"),
            "{error}"
        );
    }
}
