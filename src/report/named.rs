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
}

/// The HR reports shipped with csvgate, by engine and name.
const BUILT_IN: [(&str, &str, &str); 4] = [
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
        "mysql",
        "q1_hires_by_quarter",
        include_str!("../../queries/mysql/q1_hires_by_quarter.sql"),
    ),
    (
        "mysql",
        "q2_departments_above_mean",
        include_str!("../../queries/mysql/q2_departments_above_mean.sql"),
    ),
];

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
                let name = (path.file_stem().and_then(|stem| stem.to_str())).unwrap_or_default();
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
                catalog.add(engine, name, &text, &path.display().to_string())?;
            }
        }
        Ok(catalog)
    }

    /// Adds `text`, the report `name` in `engine`; `origin` names the file in messages.
    fn add(
        &mut self,
        engine: &str,
        name: &str,
        text: &str,
        origin: &str,
    ) -> Result<(), ReportError> {
        let refused = |reason: String| ReportError::Catalog {
            path: origin.to_owned(),
            reason,
        };
        if !valid_name(name) {
            return Err(refused(format!(
                "{name:?}: a report's name is its file's stem, of lower-case letters, digits and _"
            )));
        }
        let (title, params) = header(text).map_err(refused)?;
        let report = self
            .reports
            .entry(name.to_owned())
            .or_insert_with(|| NamedReport {
                name: name.to_owned(),
                title: title.clone(),
                params: params.clone(),
                datafusion: None,
                mysql: None,
            });
        if report.params != params {
            return Err(refused(format!(
                "its parameters differ from those of {name} in the other engine: a report takes the same parameters in every engine"
            )));
        }
        let sql = Some(text.to_owned());
        match engine {
            "datafusion" => report.datafusion = sql,
            _ => report.mysql = sql,
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
