//! Which contract validated a run: what the ledger records beside each entry, so a reader of
//! the runs can tell which rows were judged by which rules after the contract changed.

use sha2::{Digest, Sha256};

use super::{Column, Dictionary, Table};

/// A contract's declared `id` and `version`, and a hash of what csvgate enforces of it.
///
/// The id and version are the author's word; the hash is csvgate's: two files that differ
/// only in descriptions, tags or formatting hash the same, and a rule changed without a new
/// `version` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractStamp {
    pub id: String,
    pub version: String,
    /// SHA-256, in hex, of [`Dictionary::enforced_text`].
    pub hash: String,
}

impl Dictionary {
    /// The stamp of the contract this dictionary enforces, `[tables.<name>]` knobs included.
    pub fn stamp(&self) -> ContractStamp {
        let digest = Sha256::digest(self.enforced_text().as_bytes());
        ContractStamp {
            id: self.contract_id.clone(),
            version: self.contract_version.clone(),
            hash: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
        }
    }

    /// Every table's rules in words, one per line, in load order: what the hash is taken of.
    pub fn enforced_text(&self) -> String {
        let mut lines = Vec::new();
        for table in self.tables() {
            lines.push(format!("table {}", table.name));
            lines.extend(table.columns.iter().map(column_line));
            lines.extend(table_lines(table));
        }
        lines.join("\n")
    }
}

/// A column as enforced: its rules in words and each check's SQL.
fn column_line(column: &Column) -> String {
    let checks: Vec<&str> = column
        .checks
        .iter()
        .map(|check| check.holds.as_str())
        .collect();
    format!(
        "  column {}: {} [{}]",
        column.name,
        column.rule(),
        checks.join("; ")
    )
}

/// A table's rules beyond its columns: the budget, file format, row rules and dataset rules.
fn table_lines(table: &Table) -> Vec<String> {
    let budget = table
        .budget
        .describe()
        .map(|budget| format!("  budget: {budget}"));
    let format = (table.file_format.describe()).map(|format| format!("  format: {format}"));
    let rows =
        (table.checks.iter()).map(|check| format!("  row: {} [{}]", check.reason, check.holds));
    let dataset = (table.dataset_checks.iter()).map(|check| {
        format!(
            "  dataset {}: {} on {:?} {}",
            check.name, check.query, check.property, check.expect
        )
    });
    (budget.into_iter().chain(format).chain(rows).chain(dataset)).collect()
}

#[cfg(test)]
mod tests {
    use crate::contract::{Contract, HR_CONTRACT};
    use crate::dictionary::{Dictionary, FileFormat, RejectBudget, TableKnobs};

    #[test]
    fn the_hash_follows_the_rules_not_the_wording() {
        let hr = Dictionary::hr().stamp();
        assert_eq!((hr.id.as_str(), hr.hash.len()), ("csvgate-hr", 64));
        let described = HR_CONTRACT.replacen(
            "purpose: Departments",
            "purpose: Only words on departments",
            1,
        );
        let reworded = Contract::parse(&described, "test").unwrap();
        assert_eq!(
            reworded.dictionary.stamp(),
            hr,
            "descriptions are not enforced"
        );
        let tighter = HR_CONTRACT.replacen("maxLength: 255", "maxLength: 254", 1);
        let tightened = Contract::parse(&tighter, "test").unwrap();
        assert_ne!(tightened.dictionary.stamp().hash, hr.hash, "a rule is");
        let budgeted = Dictionary::hr().with_knobs(|_| TableKnobs {
            budget: RejectBudget {
                max_rows: Some(1),
                max_ppm: None,
            },
            ..TableKnobs::default()
        });
        assert_ne!(budgeted.stamp().hash, hr.hash, "so is a budget");
        let semicolons = Dictionary::hr().with_knobs(|_| TableKnobs {
            file_format: FileFormat {
                delimiter: Some(b';'),
                ..FileFormat::default()
            },
            ..TableKnobs::default()
        });
        assert_ne!(semicolons.stamp().hash, hr.hash, "and a file format");
    }
}
