//! Data contracts: the tables a deployment enforces, read from an Open Data Contract Standard
//! (ODCS v3) YAML file, so a team declares its own tables and rules with no rebuild.
//!
//! csvgate reads the part of ODCS it enforces and **refuses, by place, anything it cannot
//! enforce**: a constraint silently ignored would be a lie to the user. What only documents
//! the data (descriptions, tags, owners, servers, SLAs) is accepted and left alone.
//!
//! - [`node`]: YAML values with their place (`schema[2].properties[1].required`);
//! - [`table`]: schema objects as tables; [`column`]: their properties as columns;
//!   [`kind`]: what a column's values are (type, bounds, lengths, pattern); [`quality`]: the
//!   row rules of a `quality` list, [`dataset`] its rules on the whole table.
//!
//! The HR tables of csvgate's first user are the built-in contract
//! ([`contracts/hr.odcs.yaml`](../../contracts/hr.odcs.yaml), compiled in): a deployment that
//! names no contract enforces them.

mod column;
mod custom;
mod dataset;
mod kind;
mod node;
mod quality;
mod relationship;
mod table;

use std::path::Path;
use std::sync::LazyLock;

use node::Node;

use crate::dictionary::{Dictionary, DictionaryError};

/// The built-in contract's text.
pub const HR_CONTRACT: &str = include_str!("../../contracts/hr.odcs.yaml");
/// How messages name the built-in contract.
pub const HR_ORIGIN: &str = "the built-in HR contract";

/// ODCS versions whose schema csvgate reads: v3.1.0 added the `timestamp` type,
/// relationships and numeric exclusive bounds (booleans in v3.0), so a v3.0 document would be
/// read with rules it does not have.
const API_VERSIONS: [&str; 1] = ["v3.1.0"];

/// Fields of the document that describe the contract without constraining a row.
const DESCRIBED: &[&str] = &[
    "apiVersion",
    "kind",
    "id",
    "name",
    "version",
    "status",
    "tenant",
    "domain",
    "dataProduct",
    "description",
    "tags",
    "team",
    "roles",
    "support",
    "price",
    "slaProperties",
    "slaDefaultElement",
    "servers",
    "authoritativeDefinitions",
    "customProperties",
    "contractCreatedTs",
];

/// Why a contract cannot be enforced.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("{origin}: cannot read it: {reason}")]
    Read { origin: String, reason: String },
    #[error("{origin}: not valid YAML: {reason}")]
    Yaml { origin: String, reason: String },
    #[error("{origin}: {place}: {reason}")]
    Refused {
        origin: String,
        place: String,
        reason: String,
    },
    #[error("{origin}: {source}")]
    Tables {
        origin: String,
        source: DictionaryError,
    },
}

/// Where in the contract a refused element is, and why it is refused.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub place: String,
    pub reason: String,
}

/// A contract csvgate enforces: where it came from and its tables (which carry its `id` and
/// `version`: [`Dictionary::stamp`]).
#[derive(Debug)]
pub struct Contract {
    /// The file, or [`HR_ORIGIN`].
    pub origin: String,
    pub dictionary: Dictionary,
}

impl Contract {
    /// The built-in HR contract.
    pub fn hr() -> &'static Contract {
        static HR: LazyLock<Contract> = LazyLock::new(|| {
            Contract::parse(HR_CONTRACT, HR_ORIGIN).expect("the built-in contract is enforceable")
        });
        &HR
    }

    /// The contract in the file at `path`.
    pub fn read(path: &Path) -> Result<Contract, ContractError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ContractError::Read {
            origin: origin.clone(),
            reason: error.to_string(),
        })?;
        Contract::parse(&text, &origin)
    }

    /// The contract in `text`; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Contract, ContractError> {
        let document: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|error| ContractError::Yaml {
                origin: origin.to_owned(),
                reason: error.to_string(),
            })?;
        let refused = |refusal: Refusal| ContractError::Refused {
            origin: origin.to_owned(),
            place: refusal.place,
            reason: refusal.reason,
        };
        let root = Node::root(&document);
        let (id, version) = identity(&root).map_err(refused)?;
        let declared = table::declared(&root).map_err(refused)?;
        let rules = (declared.iter())
            .map(|(name, _, rules)| (name.clone(), rules.clone()))
            .collect();
        let tables = (declared.iter())
            .map(|(name, columns, _)| (name.as_str(), columns.clone()))
            .collect();
        let dictionary =
            Dictionary::with_rules(tables, &rules).map_err(|source| ContractError::Tables {
                origin: origin.to_owned(),
                source,
            })?;
        Ok(Contract {
            origin: origin.to_owned(),
            dictionary: dictionary.named(&id, &version),
        })
    }
}

/// The contract's `id` and `version`, once its kind and ODCS version are known to be read.
fn identity(root: &Node) -> Result<(String, String), Refusal> {
    root.keys_within(&["schema"], DESCRIBED, &[])?;
    let api_version = root.required_text("apiVersion")?;
    if !API_VERSIONS.contains(&api_version) {
        let known = API_VERSIONS.join(", ");
        let at = root.get("apiVersion").expect("read above");
        return Err(at.refuse(format!("csvgate reads ODCS {known}, not {api_version:?}")));
    }
    let kind = root.required_text("kind")?;
    if kind != "DataContract" {
        let at = root.get("kind").expect("read above");
        return Err(at.refuse(format!("expected DataContract, found {kind:?}")));
    }
    custom_properties(root, &[])?;
    if let Some(description) = root.get("description").filter(|d| d.value.is_mapping()) {
        custom_properties(&description, &[])?;
    }
    let id = root.required_text("id")?.to_owned();
    let version = root.required_text("version")?.to_owned();
    Ok((id, version))
}

/// Fields of a schema object or property that document it without constraining a row.
const DESCRIBED_ELEMENT: &[&str] = &[
    "id",
    "businessName",
    "description",
    "tags",
    "authoritativeDefinitions",
    "customProperties",
    "examples",
    "classification",
    "criticalDataElement",
    "dataGranularityDescription",
    "transformSourceObjects",
    "transformLogic",
    "transformDescription",
];

/// What a quality rule may say that only documents it.
const DESCRIBED_RULE: &[&str] = &[
    "id",
    "description",
    "dimension",
    "severity",
    "businessImpact",
    "tags",
    "authoritativeDefinitions",
    "customProperties",
    "method",
    "schedule",
    "scheduler",
];

/// `key`, if present, must be `word` (ODCS allows others csvgate does not read: a table's
/// physical name other than its name, say).
fn expect_word(node: &Node, key: &str, word: &str) -> Result<(), Refusal> {
    match node.get(key) {
        Some(at) if at.text()? != word => {
            Err(at.refuse(format!("csvgate reads `{key}: {word}` only here")))
        }
        _ => Ok(()),
    }
}

/// Names DataFusion, MySQL (both quote them, so a reserved word is a name too) and Delta take
/// as they are: a letter or `_`, then letters, digits and `_`, at most 64 characters (MySQL's
/// limit).
fn safe_name(at: &Node, name: &str) -> Result<(), Refusal> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    match first_ok && rest_ok && name.len() <= 64 {
        true => Ok(()),
        false => Err(at.refuse(format!(
            "{name:?}: csvgate takes names of letters, digits and _ (not starting with a digit), at most 64 characters"
        ))),
    }
}

/// `customProperties`, a list of `{property, value}`: a team's own are left alone; csvgate's
/// (`csvgate…`) must be among `read`, and are returned with their value.
fn custom_properties<'a>(
    node: &Node<'a>,
    read: &[&str],
) -> Result<Vec<(&'a str, Node<'a>)>, Refusal> {
    let Some(custom) = node.get("customProperties") else {
        return Ok(Vec::new());
    };
    let mut ours = Vec::new();
    for item in custom.items()? {
        let property = item.required_text("property")?;
        if !property.to_ascii_lowercase().starts_with("csvgate") {
            continue;
        }
        let at = item.get("property").expect("read above");
        if !read.contains(&property) {
            let known = match read.is_empty() {
                true => "none here".to_owned(),
                false => read.join(", "),
            };
            return Err(at.refuse(format!("{property:?}: csvgate reads {known}")));
        }
        let value = item
            .get("value")
            .ok_or_else(|| item.refuse("`value` is missing"))?;
        ours.push((property, value));
    }
    Ok(ours)
}

#[cfg(test)]
mod dataset_tests;
#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
