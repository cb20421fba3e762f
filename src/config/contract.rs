//! Where the tables come from: the contract a configuration names (a path, a URL, or none for
//! the built-in HR contract), with the knobs of `[tables.<name>]` over its own.

use std::path::Path;

use super::{Config, Key};
use crate::contract::{Contract, ContractError};
use crate::dictionary::{
    Dictionary, FileFormat, HeaderMode, RejectBudget, Table, TableKnobs, file_names,
    null_spelling_problem,
};

impl Config {
    /// The tables this configuration enforces: those of the contract file it names, else the
    /// built-in HR contract's, with the knobs of `[tables.<name>]` over the contract's.
    pub fn dictionary(&self) -> Result<std::sync::Arc<Dictionary>, ContractError> {
        let contract = self.contract_dictionary()?;
        self.table_settings_checked(&contract)?;
        let dictionary = contract.with_knobs(|table| self.knobs_of(table).0);
        Ok(std::sync::Arc::new(dictionary))
    }

    /// The tables as the contract declares them, before `[tables.<name>]`.
    pub fn contract_dictionary(&self) -> Result<Dictionary, ContractError> {
        let Some(named) = self.get(Key::Contract) else {
            return Ok(Contract::hr().dictionary.clone());
        };
        let contract = match (&self.contract_text, is_url(named)) {
            (Some(text), _) => Contract::parse(text, named)?,
            (None, false) => Contract::read(Path::new(named))?,
            (None, true) => {
                return Err(ContractError::Read {
                    origin: named.to_owned(),
                    reason: "a contract named by URL is fetched when a deployment starts \
                             (Config::with_contract), and this one was not"
                        .into(),
                });
            }
        };
        Ok(contract.dictionary)
    }

    /// This configuration with its contract's text fetched, when the contract is named by a
    /// URL (`s3://bucket/contracts/retail.odcs.yaml`, `file://…`): read once, through the
    /// object store and the `[s3]` settings the buckets use, so a function reads its contract
    /// where its data is. A path is read where the dictionary is made.
    pub async fn with_contract(mut self) -> Result<Config, ContractError> {
        let Some(named) = self.get(Key::Contract).filter(|named| is_url(named)) else {
            return Ok(self);
        };
        let unreadable = |reason: String| ContractError::Read {
            origin: named.to_owned(),
            reason,
        };
        let bytes = (crate::store::read_object(named, &self.s3()).await)
            .map_err(|error| unreadable(error.to_string()))?;
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|_| unreadable("not UTF-8 text".into()))?;
        self.contract_text = Some(text.into());
        Ok(self)
    }

    /// `table`'s knobs, and which of them `[tables.<name>]` set any part of (each part it sets
    /// wins over the contract's custom property, one by one).
    pub fn knobs_of(&self, table: &Table) -> (TableKnobs, Configured) {
        let of = |key: Key| self.text(&key.name().replace('*', &table.name));
        let rows = of(Key::TableMaxRejectedRows).and_then(|rows| rows.parse().ok());
        let ratio = of(Key::TableMaxRejectedRatio).and_then(|ratio| ratio.parse().ok());
        let delimiter = of(Key::TableDelimiter).map(|text| text.as_bytes()[0]);
        let header = of(Key::TableHeader).and_then(HeaderMode::parse);
        let null_values = self.texts(&Key::TableNullValues.name().replace('*', &table.name));
        let file_names = self.texts(&Key::TableFileNames.name().replace('*', &table.name));
        let knobs = TableKnobs {
            budget: RejectBudget {
                max_rows: rows.or(table.budget.max_rows),
                max_ppm: ratio.map(RejectBudget::ppm).or(table.budget.max_ppm),
            },
            file_format: FileFormat {
                file_names: (file_names.map(<[String]>::to_vec))
                    .unwrap_or_else(|| table.file_format.file_names.clone()),
                delimiter: delimiter.or(table.file_format.delimiter),
                header: header.or(table.file_format.header),
                null_values: (null_values.map(<[String]>::to_vec))
                    .unwrap_or_else(|| table.file_format.null_values.clone()),
            },
        };
        let configured = Configured {
            budget: rows.is_some() || ratio.is_some(),
            file_format: delimiter.is_some()
                || header.is_some()
                || null_values.is_some()
                || file_names.is_some(),
        };
        (knobs, configured)
    }

    /// A `[tables.<name>]` naming no table of the contract, or a list item that could match
    /// no file or field, is a mistake, not a no-op.
    fn table_settings_checked(&self, dictionary: &Dictionary) -> Result<(), ContractError> {
        let named =
            (self.values.keys()).filter_map(|name| name.strip_prefix("tables.")?.split_once('.'));
        for (table, setting) in named {
            if let Some(reason) = self.item_problem(table, setting) {
                return Err(ContractError::Refused {
                    origin: "the configuration".into(),
                    place: format!("[tables.{table}] {setting}"),
                    reason,
                });
            }
            if dictionary.table(table).is_none() {
                let known: Vec<&str> = (dictionary.tables().iter())
                    .map(|table| table.name.as_str())
                    .collect();
                return Err(ContractError::Refused {
                    origin: "the configuration".into(),
                    place: format!("[tables.{table}]"),
                    reason: format!(
                        "the contract has no table {table} (its tables: {})",
                        known.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// What is wrong with an item of the list `setting` of `[tables.<table>]`, if anything.
    fn item_problem(&self, table: &str, setting: &str) -> Option<String> {
        let items = self.texts(&format!("tables.{table}.{setting}"))?;
        let problem = |item: &str| match setting {
            "file_names" => file_names::pattern_problem(item),
            "null_values" => null_spelling_problem(item).map(str::to_owned),
            _ => None,
        };
        (items.iter()).find_map(|item| Some(format!("{item:?}: {}", problem(item)?)))
    }
}

/// Which of a table's knobs `[tables.<name>]` set (else the contract's apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Configured {
    pub budget: bool,
    pub file_format: bool,
}

/// Whether a contract is named by a URL rather than a path.
fn is_url(named: &str) -> bool {
    named.contains("://")
}
