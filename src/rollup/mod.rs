//! Rollups: a table's rows counted (and summed) per group, declared as SQL and kept in step
//! with every change of the table, so a report over millions of rows reads a few thousand.
//!
//! A rollup is declared in `rollups/<name>.sql` of a queries folder, beside the engines'
//! folders (the HR one, `hires_by_quarter`, is built in): DataFusion SQL over one table of the
//! contract, of the one shape [`declare`] accepts. Its groups change by addition: a load adds
//! the counts of its new rows and subtracts those of the rows they replace, so csvgate
//! rescans the table only when what changed can no longer be read (a vacuumed file), and
//! `csvgate check` recomputes it from the rows to prove it.

mod declare;
pub mod merge;
pub(crate) mod tally;

use std::path::Path;

use datafusion::arrow::datatypes::SchemaRef;

use crate::dictionary::Dictionary;

/// How a measure changes with the rows: both add and subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    /// `COUNT(*)`: a group whose count is 0 is gone.
    Count,
    /// `SUM(<column>)` of a required integer or decimal column.
    Sum,
}

/// One measured column of a rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub name: String,
    pub kind: MeasureKind,
}

/// One declared rollup, checked against the contract.
#[derive(Debug, Clone)]
pub struct Rollup {
    pub name: String,
    /// The table it counts.
    pub table: String,
    /// Its declaration, as written.
    pub sql: String,
    /// Its group columns' names, in order: the rollup's key.
    pub groups: Vec<String>,
    pub measures: Vec<Measure>,
    /// Its columns as stored, in the order selected.
    pub schema: SchemaRef,
}

/// A declaration csvgate refuses: the file and why.
#[derive(Debug, thiserror::Error)]
#[error("rollup {origin}: {reason}")]
pub struct RollupError {
    pub origin: String,
    pub reason: String,
}

/// The rollups shipped with csvgate: name and declaration.
const BUILT_IN: [(&str, &str); 1] = [(
    "hires_by_quarter",
    include_str!("../../queries/rollups/hires_by_quarter.sql"),
)];

/// The folder of a queries folder that holds rollups (not an engine's name).
pub const FOLDER: &str = "rollups";

impl Rollup {
    /// Checks `sql`, the rollup `name`, against `dictionary`; `origin` names it in messages.
    pub fn declare(
        dictionary: &Dictionary,
        name: &str,
        sql: &str,
        origin: &str,
    ) -> Result<Rollup, RollupError> {
        let refused = |reason: String| RollupError {
            origin: origin.to_owned(),
            reason,
        };
        if !declare::plain_name(name) {
            return Err(refused(format!(
                "{name:?}: a rollup's name is its file's stem, of lower-case letters, digits and _"
            )));
        }
        if dictionary.table(name).is_some() {
            return Err(refused(format!(
                "{name} is a table of the contract: name the rollup otherwise"
            )));
        }
        let declared = declare::declared(dictionary, sql).map_err(refused)?;
        Ok(Rollup {
            name: name.to_owned(),
            table: declared.table,
            sql: sql.to_owned(),
            groups: declared.groups,
            measures: declared.measures,
            schema: declared.schema,
        })
    }

    /// A hash of the declaration and of the columns it makes: a stored rollup whose
    /// fingerprint differs (a changed declaration, or a column type the contract changed) is
    /// recomputed, never read.
    pub fn fingerprint(&self) -> String {
        crate::sink::sha256_hex(&format!("{}\n{:?}", self.sql, self.schema))
    }

    /// Those of `rollups` that count `table`.
    pub fn of_table<'a>(rollups: &'a [Rollup], table: &'a str) -> impl Iterator<Item = &'a Rollup> {
        rollups.iter().filter(move |rollup| rollup.table == table)
    }

    /// Its `COUNT(*)`, which every rollup has: a group whose count is 0 is gone.
    pub fn count(&self) -> &Measure {
        (self.measures.iter())
            .find(|measure| measure.kind == MeasureKind::Count)
            .expect("a declared rollup counts its rows")
    }

    /// The measure called `name`, if that column is one.
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|measure| measure.name == name)
    }

    /// Every rollup one deployment keeps: the built-in ones whose table the contract has (the
    /// HR one over `hired_employees`), and those of `folder`'s `rollups/`, which must all hold.
    pub fn all(dictionary: &Dictionary, folder: Option<&Path>) -> Result<Vec<Rollup>, RollupError> {
        let mut rollups = Vec::new();
        for (name, sql) in BUILT_IN {
            let origin = format!("queries/{FOLDER}/{name}.sql");
            if let Ok(rollup) = Rollup::declare(dictionary, name, sql, &origin) {
                rollups.push(rollup);
            }
        }
        let Some(folder) = folder.map(|folder| folder.join(FOLDER)) else {
            return Ok(rollups);
        };
        for (name, sql, origin) in declarations(&folder)? {
            if rollups.iter().any(|known| known.name == name) {
                return Err(RollupError {
                    origin,
                    reason: format!("{name} is a built-in rollup: name yours otherwise"),
                });
            }
            rollups.push(Rollup::declare(dictionary, &name, &sql, &origin)?);
        }
        Ok(rollups)
    }
}

/// The `.sql` files of `folder` (none when it does not exist): name, text and path, by name.
fn declarations(folder: &Path) -> Result<Vec<(String, String, String)>, RollupError> {
    let unreadable = |path: &Path, error: std::io::Error| RollupError {
        origin: path.display().to_string(),
        reason: error.to_string(),
    };
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| unreadable(folder, e))? {
        let path = entry.map_err(|e| unreadable(folder, e))?.path();
        if path.extension().is_none_or(|extension| extension != "sql") {
            continue;
        }
        let name = (path.file_stem().and_then(|stem| stem.to_str())).unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
        found.push((name.to_owned(), text, path.display().to_string()));
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests;
