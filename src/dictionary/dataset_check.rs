//! A contract's rules on a whole table, as opposed to one row: a SQL query whose one value
//! (a count, a sum) must meet an expectation. They judge what a table holds after a load, so
//! they reject no row: a failed one is reported and recorded with the run.

/// One dataset-level rule: `query` with `{object}` (and `{property}`) placeholders filled in
/// per engine, since each quotes a name its own way.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetCheck {
    /// What the rule is called when reported: its `name`, else where it was declared.
    pub name: String,
    /// The SQL with `{object}` for the table and `{property}` for the column it was declared
    /// on, if any.
    pub query: String,
    pub property: Option<String>,
    pub expect: Expectation,
}

/// ODCS's operators on the query's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expectation {
    Be(f64),
    NotBe(f64),
    GreaterThan(f64),
    GreaterOrEqualTo(f64),
    LessThan(f64),
    LessOrEqualTo(f64),
    Between(f64, f64),
    NotBetween(f64, f64),
}

impl Expectation {
    /// Whether `value` meets it (ODCS's `Between` includes both ends).
    pub fn holds(self, value: f64) -> bool {
        match self {
            Expectation::Be(expected) => value == expected,
            Expectation::NotBe(expected) => value != expected,
            Expectation::GreaterThan(bound) => value > bound,
            Expectation::GreaterOrEqualTo(bound) => value >= bound,
            Expectation::LessThan(bound) => value < bound,
            Expectation::LessOrEqualTo(bound) => value <= bound,
            Expectation::Between(low, high) => (low..=high).contains(&value),
            Expectation::NotBetween(low, high) => !(low..=high).contains(&value),
        }
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expectation::Be(expected) => write!(f, "= {expected}"),
            Expectation::NotBe(expected) => write!(f, "<> {expected}"),
            Expectation::GreaterThan(bound) => write!(f, "> {bound}"),
            Expectation::GreaterOrEqualTo(bound) => write!(f, ">= {bound}"),
            Expectation::LessThan(bound) => write!(f, "< {bound}"),
            Expectation::LessOrEqualTo(bound) => write!(f, "<= {bound}"),
            Expectation::Between(low, high) => write!(f, "between {low} and {high}"),
            Expectation::NotBetween(low, high) => write!(f, "not between {low} and {high}"),
        }
    }
}

impl DatasetCheck {
    /// The query for `table`, its names written by `quote` (each engine's identifier quotes).
    pub fn sql(&self, table: &str, quote: impl Fn(&str) -> String) -> String {
        let query = self.query.replace("{object}", &quote(table));
        match &self.property {
            Some(property) => query.replace("{property}", &quote(property)),
            None => query,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_includes_both_ends_and_not_between_excludes_them() {
        assert!(Expectation::Between(0.0, 100.0).holds(0.0));
        assert!(Expectation::Between(0.0, 100.0).holds(100.0));
        assert!(!Expectation::Between(0.0, 100.0).holds(100.5));
        assert!(!Expectation::NotBetween(0.0, 100.0).holds(100.0));
        assert!(Expectation::NotBetween(0.0, 100.0).holds(-1.0));
    }

    #[test]
    fn the_placeholders_are_filled_with_each_engines_quotes() {
        let check = DatasetCheck {
            name: "big orders".into(),
            query: "SELECT COUNT(*) FROM {object} WHERE {property} > 100".into(),
            property: Some("Quantity".into()),
            expect: Expectation::LessThan(10.0),
        };
        let backticks = check.sql("orders", |name| format!("`{name}`"));
        assert_eq!(
            backticks,
            "SELECT COUNT(*) FROM `orders` WHERE `Quantity` > 100"
        );
        let doubles = check.sql("orders", |name| format!("\"{name}\""));
        assert_eq!(
            doubles,
            "SELECT COUNT(*) FROM \"orders\" WHERE \"Quantity\" > 100"
        );
    }
}
