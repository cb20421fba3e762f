//! Reports as named SQL files: `<folder>/<engine>/<name>.sql`, the built-in HR ones
//! (`queries/`, compiled in) and a team's own (the `queries` setting). A report's name is its
//! file's stem; `q1` and `q2` name the HR ones too.
//!
//! The file's opening comment says what it answers (its first line) and declares its
//! parameters, one `-- @param NAME TYPE [DEFAULT]` line each (TYPE: integer, number, text or
//! date). In the SQL a parameter is written the engine's way: `$year` in DataFusion,
//! `:year` in MySQL (the driver fills MySQL's positional `?` in order, however often a
//! parameter repeats).

use std::collections::BTreeMap;
use std::path::Path;

use super::ReportError;
use super::param::Param;

/// The engines a report file can be written for: the folders of a queries folder.
pub const ENGINE_FOLDERS: [&str; 2] = ["datafusion", "mysql"];

/// One report, in the engines it is written for.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedReport {
    pub name: String,
    /// The first line of its opening comment.
    pub title: String,
    pub params: Vec<Param>,
    pub datafusion: Option<String>,
    pub mysql: Option<String>,
    /// DataFusion SQL that reads rollups ([`crate::rollup`]) instead of the rows, giving the
    /// same answer (`<name>.rollup.sql` beside `<name>.sql`): what a report runs by default
    /// when the warehouse keeps the rollups up to date.
    pub datafusion_from_rollups: Option<String>,
    /// The same in MySQL, over the rollups' tables (`csvgate_rollup_<name>`).
    pub mysql_from_rollups: Option<String>,
}

/// The HR reports shipped with csvgate, by engine and name.
const BUILT_IN: [(&str, &str, &str); 8] = [
    (
        "datafusion",
        "q1_hires_by_quarter",
        include_str!("../../queries/datafusion/q1_hires_by_quarter.sql"),
    ),
    (
        "datafusion",
        "q2_departments_above_mean",
        include_str!("../../queries/datafusion/q2_departments_above_mean.sql"),
    ),
    (
        "datafusion",
        "q1_hires_by_quarter.rollup",
        include_str!("../../queries/datafusion/q1_hires_by_quarter.rollup.sql"),
    ),
    (
        "datafusion",
        "q2_departments_above_mean.rollup",
        include_str!("../../queries/datafusion/q2_departments_above_mean.rollup.sql"),
    ),
    (
        "mysql",
        "q1_hires_by_quarter",
        include_str!("../../queries/mysql/q1_hires_by_quarter.sql"),
    ),
    (
        "mysql",
        "q2_departments_above_mean",
        include_str!("../../queries/mysql/q2_departments_above_mean.sql"),
    ),
    (
        "mysql",
        "q1_hires_by_quarter.rollup",
        include_str!("../../queries/mysql/q1_hires_by_quarter.rollup.sql"),
    ),
    (
        "mysql",
        "q2_departments_above_mean.rollup",
        include_str!("../../queries/mysql/q2_departments_above_mean.rollup.sql"),
    ),
];

/// Words of a report's query string that are not parameters.
const RESERVED_PARAMS: [&str; 2] = ["engine", "exact"];

/// What ends the stem of a report's file that reads rollups.
pub const ROLLUP_SUFFIX: &str = ".rollup";

/// Short names of built-in reports.
pub const ALIASES: [(&str, &str); 2] = [
    ("q1", "q1_hires_by_quarter"),
    ("q2", "q2_departments_above_mean"),
];

/// The reports one deployment answers, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    reports: BTreeMap<String, NamedReport>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::built_in()
    }
}

impl Catalog {
    /// The HR reports alone.
    pub fn built_in() -> Catalog {
        let mut catalog = Catalog {
            reports: BTreeMap::new(),
        };
        for (engine, name, text) in BUILT_IN {
            let origin = format!("queries/{engine}/{name}.sql");
            (catalog.add(engine, name, text, &origin))
                .expect("the built-in reports are well formed");
        }
        catalog
    }

    /// The built-in reports and those of `folder` (`datafusion/*.sql`, `mysql/*.sql`).
    pub fn with_folder(folder: &Path) -> Result<Catalog, ReportError> {
        let mut catalog = Catalog::built_in();
        let built_in: Vec<String> = catalog.reports.keys().cloned().collect();
        let unreadable = |path: &Path, error: std::io::Error| ReportError::Catalog {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        if !folder.is_dir() {
            return Err(ReportError::Catalog {
                path: folder.display().to_string(),
                reason: "not a folder (expected datafusion/ and mysql/ folders of .sql files)"
                    .into(),
            });
        }
        for engine in ENGINE_FOLDERS {
            let engine_folder = folder.join(engine);
            if !engine_folder.is_dir() {
                continue;
            }
            let mut files = Vec::new();
            for entry in
                std::fs::read_dir(&engine_folder).map_err(|e| unreadable(&engine_folder, e))?
            {
                let path = entry.map_err(|e| unreadable(&engine_folder, e))?.path();
                if path.extension().is_some_and(|extension| extension == "sql") {
                    files.push(path);
                }
            }
            files.sort();
            for path in files {
                let stem = (path.file_stem().and_then(|stem| stem.to_str())).unwrap_or_default();
                let name = stem.strip_suffix(ROLLUP_SUFFIX).unwrap_or(stem);
                let refused = |reason: String| ReportError::Catalog {
                    path: path.display().to_string(),
                    reason,
                };
                if built_in.iter().any(|known| known == name)
                    || ALIASES.iter().any(|(alias, _)| *alias == name)
                {
                    return Err(refused(format!(
                        "{name} is a built-in report: name yours otherwise"
                    )));
                }
                let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
                catalog.add(engine, stem, &text, &path.display().to_string())?;
            }
        }
        catalog.exact_twins(folder)?;
        Ok(catalog)
    }

    /// Refuses a report read from rollups without its text over the rows in the same engine,
    /// in `folder`.
    fn exact_twins(&self, folder: &Path) -> Result<(), ReportError> {
        let lone = self.reports.values().find_map(|report| {
            match (&report.datafusion_from_rollups, &report.datafusion) {
                (Some(_), None) => Some(("datafusion", report)),
                _ => (report.mysql_from_rollups.is_some() && report.mysql.is_none())
                    .then_some(("mysql", report)),
            }
        });
        match lone {
            None => Ok(()),
            Some((engine, report)) => Err(ReportError::Catalog {
                path: (folder.join(engine).join(format!("{}.sql", report.name)))
                    .display()
                    .to_string(),
                reason: format!(
                    "missing: {name}{ROLLUP_SUFFIX}.sql reads rollups, and {name}.sql, over the rows, is what --exact-scan runs",
                    name = report.name
                ),
            }),
        }
    }

    /// Adds `text`, the file `stem` in `engine` (the report's name, or its name and
    /// [`ROLLUP_SUFFIX`] for the text that reads rollups); `origin` names the file in messages.
    fn add(
        &mut self,
        engine: &str,
        stem: &str,
        text: &str,
        origin: &str,
    ) -> Result<(), ReportError> {
        let refused = |reason: String| ReportError::Catalog {
            path: origin.to_owned(),
            reason,
        };
        let (name, from_rollups) = match stem.strip_suffix(ROLLUP_SUFFIX) {
            Some(name) => (name, true),
            None => (stem, false),
        };
        if !valid_name(name) {
            return Err(refused(format!(
                "{name:?}: a report's name is its file's stem, of lower-case letters, digits and _"
            )));
        }
        let (title, params) = header(text).map_err(refused)?;
        if let Some(taken) =
            (params.iter()).find(|param| RESERVED_PARAMS.contains(&param.name.as_str()))
        {
            return Err(refused(format!(
                "parameter {} is taken: `engine` and `exact` choose how any report is answered",
                taken.name
            )));
        }
        let report = self
            .reports
            .entry(name.to_owned())
            .or_insert_with(|| NamedReport {
                name: name.to_owned(),
                title: title.clone(),
                params: params.clone(),
                datafusion: None,
                mysql: None,
                datafusion_from_rollups: None,
                mysql_from_rollups: None,
            });
        if report.params != params {
            return Err(refused(format!(
                "its parameters differ from those of {name} in the other engine: a report takes the same parameters in every engine"
            )));
        }
        let sql = Some(text.to_owned());
        match (engine, from_rollups) {
            ("datafusion", true) => report.datafusion_from_rollups = sql,
            ("datafusion", false) => report.datafusion = sql,
            (_, true) => report.mysql_from_rollups = sql,
            (_, false) => report.mysql = sql,
        }
        Ok(())
    }

    /// The report called `name` (or one of its aliases), or an error listing the names there are.
    pub fn get(&self, name: &str) -> Result<&NamedReport, ReportError> {
        let name = (ALIASES.iter())
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, full)| full);
        self.reports
            .get(name)
            .ok_or_else(|| ReportError::UnknownReport {
                name: name.to_owned(),
                known: self.reports.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Every report, by name.
    pub fn reports(&self) -> impl Iterator<Item = &NamedReport> {
        self.reports.values()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && (name.chars()).all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The title and parameters the file's opening comment declares.
fn header(text: &str) -> Result<(String, Vec<Param>), String> {
    let comment = text
        .lines()
        .map_while(|line| line.trim_start().strip_prefix("--"));
    let mut title = None;
    let mut params: Vec<Param> = Vec::new();
    for line in comment.map(str::trim) {
        if let Some(declared) = line.strip_prefix("@param") {
            let param = Param::declared(declared)?;
            if params.iter().any(|known| known.name == param.name) {
                return Err(format!("parameter {} is declared twice", param.name));
            }
            params.push(param);
        } else if title.is_none() && !line.is_empty() {
            title = Some(line.to_owned());
        }
    }
    let title = title.ok_or("no opening comment: its first line says what the report answers")?;
    Ok((title, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = folder.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        folder
    }

    const TEXT: &str = "-- Orders per day.\n-- @param day date\nSELECT 1";

    #[test]
    fn a_report_read_from_rollups_is_the_twin_of_one_over_the_rows() {
        let both = folder_with(&[
            ("datafusion/orders_per_day.sql", TEXT),
            ("datafusion/orders_per_day.rollup.sql", TEXT),
        ]);
        let catalog = Catalog::with_folder(both.path()).unwrap();
        let report = catalog.get("orders_per_day").unwrap();
        assert!(report.datafusion.is_some() && report.datafusion_from_rollups.is_some());
        assert!(
            Catalog::built_in()
                .get("q1")
                .unwrap()
                .datafusion_from_rollups
                .is_some()
        );

        let refused = |files: &[(&str, &str)]| {
            let folder = folder_with(files);
            Catalog::with_folder(folder.path()).unwrap_err().to_string()
        };
        let lone = refused(&[("datafusion/orders_per_day.rollup.sql", TEXT)]);
        assert!(
            lone.contains("orders_per_day.sql") && lone.contains("--exact-scan"),
            "{lone}"
        );
        let mysql = refused(&[
            ("datafusion/orders_per_day.sql", TEXT),
            ("mysql/orders_per_day.rollup.sql", TEXT),
        ]);
        assert!(
            mysql.contains("mysql/orders_per_day.sql") && mysql.contains("--exact-scan"),
            "{mysql}"
        );
        let hr = Catalog::built_in();
        assert!(hr.get("q2").unwrap().mysql_from_rollups.is_some());
        let other_params = "-- Orders per day.\n-- @param month date\nSELECT 1";
        let twins = refused(&[
            ("datafusion/orders_per_day.sql", TEXT),
            ("datafusion/orders_per_day.rollup.sql", other_params),
        ]);
        assert!(twins.contains("parameters differ"), "{twins}");
        let exact = "-- Orders per day.\n-- @param exact text\nSELECT 1";
        let taken = refused(&[("datafusion/orders_per_day.sql", exact)]);
        assert!(taken.contains("parameter exact is taken"), "{taken}");
    }
}
