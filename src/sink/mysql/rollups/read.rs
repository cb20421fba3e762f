//! Whether a report's MySQL text may read rollups: only those this target keeps, stored by
//! their current declarations; otherwise the report runs its text over the rows.

use std::collections::BTreeSet;

use datafusion::sql::sqlparser::dialect::MySqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use super::keys;
use super::table_name;
use crate::sink::SinkError;
use crate::sink::mysql::MysqlTarget;

/// What the tables of rollups start with.
const PREFIX: &str = "csvgate_rollup_";

impl MysqlTarget {
    /// Whether `sql` reads rollups, each one kept by this target and stored by its current
    /// declaration.
    pub async fn rollups_readable(&self, sql: &str) -> Result<bool, SinkError> {
        let named = rollup_tables_named(sql);
        if named.is_empty() {
            return Ok(false);
        }
        for name in named {
            let kept = self
                .rollups
                .iter()
                .find(|rollup| table_name(rollup) == name);
            let Some(rollup) = kept else {
                return Ok(false);
            };
            if self.stored_fingerprint(rollup).await? != Some(keys::fingerprint(rollup)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The rollups' tables `sql` names (any word that starts like one, which can only make the
/// test stricter).
fn rollup_tables_named(sql: &str) -> BTreeSet<String> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize();
    (tokens.unwrap_or_default().into_iter())
        .filter_map(|token| match token {
            Token::Word(word) if word.value.to_lowercase().starts_with(PREFIX) => {
                Some(word.value.to_lowercase())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rollup_tables_named;

    #[test]
    fn the_rollup_tables_a_text_names_are_found_quoted_or_not() {
        let sql =
            "SELECT * FROM csvgate_rollup_a JOIN `csvgate_rollup_b` ON 1 -- csvgate_rollup_c\n";
        let named: Vec<String> = rollup_tables_named(sql).into_iter().collect();
        assert_eq!(named, ["csvgate_rollup_a", "csvgate_rollup_b"]);
        let hr = include_str!("../../../../queries/mysql/q1_hires_by_quarter.rollup.sql");
        assert_eq!(rollup_tables_named(hr).len(), 1);
        assert!(rollup_tables_named("SELECT 1 FROM hired_employees").is_empty());
    }
}
