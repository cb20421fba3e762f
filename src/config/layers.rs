//! The layers a configuration is resolved from: flags, the environment, `csvgate.toml`, then
//! the defaults, each value checked against its setting's [`Kind`] on the way in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::setting::{Env, Fallback, Kind, Setting};
use super::settings::SETTINGS;
use super::{Config, ConfigError, Raw, Source, Value};

/// The configuration file looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = "csvgate.toml";

/// What each layer above the defaults gives, by setting name.
#[derive(Debug, Default)]
pub struct Layers {
    /// Flags given on the command line.
    pub flags: BTreeMap<&'static str, Raw>,
    /// `CSVGATE_*` and AWS variables, by variable name.
    pub env: BTreeMap<&'static str, String>,
    pub file: ConfigFile,
}

impl Layers {
    /// `flags` and `file` with the process's environment: what every entry point resolves.
    pub fn with_process_env(flags: BTreeMap<&'static str, Raw>, file: ConfigFile) -> Layers {
        let env = SETTINGS
            .iter()
            .filter_map(|setting| match setting.env {
                Env::Own(variable) | Env::Aws(variable) => Some(variable),
                Env::None => None,
            })
            .filter_map(|variable| {
                let value = std::env::var(variable).ok()?;
                (!value.is_empty()).then_some((variable, value))
            })
            .collect();
        Layers { flags, env, file }
    }
}

/// `csvgate.toml`, flattened to dotted setting names (`api.listen`, `tables.jobs.header`).
#[derive(Debug, Default)]
pub struct ConfigFile {
    pub path: Option<PathBuf>,
    pub values: BTreeMap<String, Raw>,
}

impl ConfigFile {
    /// Loads `path`; without an explicit path a missing `csvgate.toml` means no file. A key
    /// that is no setting is an error, so a typo does not silently change nothing.
    pub fn load(path: Option<&Path>) -> Result<ConfigFile, ConfigError> {
        let (path, required) = match path {
            Some(path) => (path, true),
            None => (Path::new(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile::default());
            }
            Err(source) => {
                let path = path.to_owned();
                return Err(ConfigError::Read { path, source });
            }
        };
        ConfigFile::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_owned(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let mut values = BTreeMap::new();
        flatten("", table, &mut values).map_err(parse_error)?;
        if let Some(unknown) = (values.keys()).find(|name| setting_named(name).is_none()) {
            return Err(parse_error(format!("unknown setting `{unknown}`")));
        }
        Ok(ConfigFile {
            path: Some(path.to_owned()),
            values,
        })
    }
}

/// Tables become dotted prefixes; arrays are lists of text.
fn flatten(
    prefix: &str,
    table: toml::Table,
    into: &mut BTreeMap<String, Raw>,
) -> Result<(), String> {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        let raw = match value {
            toml::Value::Table(table) => {
                flatten(&name, table, into)?;
                continue;
            }
            toml::Value::String(text) => Raw::One(text),
            toml::Value::Array(items) => Raw::Many(items.into_iter().map(plain).collect()),
            toml::Value::Integer(_) | toml::Value::Boolean(_) => Raw::One(plain(value)),
            other => {
                return Err(format!(
                    "`{name}`: {} is not a value csvgate takes",
                    other.type_str()
                ));
            }
        };
        into.insert(name, raw);
    }
    Ok(())
}

/// A TOML scalar as the text a flag would give.
fn plain(value: toml::Value) -> String {
    match value {
        toml::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The setting a concrete dotted name is.
pub(super) fn setting_named(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.matches(name))
}

impl Config {
    /// Each setting from the highest layer that gives it, checked.
    pub fn resolve(layers: Layers) -> Result<Config, ConfigError> {
        let Layers {
            flags,
            env,
            mut file,
        } = layers;
        let mut values = BTreeMap::new();
        for setting in SETTINGS.iter().filter(|setting| !setting.is_per_table()) {
            let in_file = file.values.remove(setting.name);
            let given = flags
                .get(setting.name)
                .map(|raw| (raw.clone(), Source::Flag, None));
            let given = given.or_else(|| own_variable(setting, &env));
            let given = given.or_else(|| Some((in_file?, Source::File, None)));
            let given = given.or_else(|| match setting.fallback {
                Fallback::Value(default) => Some((Raw::One(default()), Source::Default, None)),
                _ => None,
            });
            if let Some((raw, source, variable)) = given {
                let from = from(source, variable, setting, &file.path);
                let raw = check(setting, raw, &from)?;
                let value = Value {
                    raw,
                    source,
                    variable,
                };
                values.insert(setting.name.to_owned(), value);
            }
        }
        for (name, raw) in file.values {
            let setting = setting_named(&name).expect("checked when the file was loaded");
            let from = from(Source::File, None, setting, &file.path);
            let raw = check(setting, raw, &from)?;
            let value = Value {
                raw,
                source: Source::File,
                variable: None,
            };
            values.insert(name, value);
        }
        let aws_env = env
            .into_iter()
            .filter(|(variable, _)| is_aws(variable))
            .collect();
        Ok(Config {
            values,
            aws_env,
            contract_text: None,
        })
    }
}

fn own_variable(
    setting: &Setting,
    env: &BTreeMap<&'static str, String>,
) -> Option<(Raw, Source, Option<&'static str>)> {
    let Env::Own(variable) = setting.env else {
        return None;
    };
    let text = env.get(variable)?.clone();
    Some((Raw::One(text), Source::Env, Some(variable)))
}

fn is_aws(variable: &str) -> bool {
    SETTINGS
        .iter()
        .any(|setting| matches!(setting.env, Env::Aws(aws) if aws == variable))
}

/// Where a value came from, as an error says it.
fn from(
    source: Source,
    variable: Option<&str>,
    setting: &Setting,
    file: &Option<PathBuf>,
) -> String {
    match (source, variable, setting.flag, file) {
        (Source::Flag, _, Some(flag), _) => format!("--{}", flag.long),
        (Source::Env, Some(variable), _, _) => variable.to_owned(),
        (Source::File, _, _, Some(path)) => path.display().to_string(),
        (source, ..) => source.as_str().to_owned(),
    }
}

/// `raw` as `setting` takes it (normalized: lowercase choices, `true`/`false`, split lists).
pub(super) fn check(setting: &Setting, raw: Raw, from: &str) -> Result<Raw, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        setting: setting.name,
        from: from.to_owned(),
        problem,
    };
    let text = match (raw, setting.kind) {
        // An empty item is never a key: `--api-key "$UNSET"` must not let an empty header in.
        (Raw::One(text), Kind::SecretList) => return Ok(non_empty(text.split(','))),
        (Raw::Many(items), Kind::SecretList) => return Ok(non_empty(items.iter())),
        // Texts as written: what is wrong with one (blanks, an empty one) is refused by name
        // where the list is read, as the contract's own list would be.
        (Raw::Many(items), Kind::TextList) => return Ok(Raw::Many(items)),
        (Raw::One(_), Kind::TextList) => {
            return Err(invalid("takes a list of texts, such as [\"NA\"]".into()));
        }
        (Raw::Many(_), _) => return Err(invalid("takes one value, not a list".into())),
        (Raw::One(text), _) => text,
    };
    let shown = if setting.kind.is_secret() {
        "the value".to_owned()
    } else {
        format!("{text:?}")
    };
    let normalized = match setting.kind {
        Kind::Text | Kind::Secret | Kind::SecretList | Kind::TextList => Some(text.clone()),
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some("true".to_owned()),
            "false" | "0" | "no" => Some("false".to_owned()),
            _ => None,
        },
        Kind::Count => text.parse::<u64>().ok().map(|_| text.clone()),
        Kind::Positive => text
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|_| text.clone()),
        Kind::Char => (text.len() == 1 && text.is_ascii()).then(|| text.clone()),
        Kind::Choice(words) => {
            let lower = text.to_ascii_lowercase();
            words.contains(&lower.as_str()).then_some(lower)
        }
        Kind::Schedule => {
            (crate::backup::schedule::Schedule::parse(&text).ok()).map(|_| text.clone())
        }
        Kind::Share => (text.parse::<f64>().ok())
            .filter(|share| (0.0..=1.0).contains(share))
            .map(|_| text.clone()),
    };
    normalized
        .map(Raw::One)
        .ok_or_else(|| invalid(format!("{shown} is not {}", expected(setting.kind))))
}

fn non_empty<'a>(items: impl Iterator<Item = impl AsRef<str> + 'a>) -> Raw {
    let items = items.map(|item| item.as_ref().trim().to_owned());
    Raw::Many(items.filter(|item| !item.is_empty()).collect())
}

fn expected(kind: Kind) -> String {
    match kind {
        Kind::Bool => "true or false".into(),
        Kind::Count => "a whole number".into(),
        Kind::Positive => "a whole number above 0".into(),
        Kind::Char => "a single ASCII character".into(),
        Kind::Choice(words) => format!("one of {}", words.join(", ")),
        Kind::Schedule => "a cron expression (five or six fields) or off".into(),
        Kind::Share => "a share from 0 to 1 (0.05 is 5%)".into(),
        Kind::Text | Kind::Secret | Kind::SecretList | Kind::TextList => "text".into(),
    }
}
