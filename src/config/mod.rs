//! Settings: SSM Parameter Store < `csvgate.toml` < `CSVGATE_*` environment < command-line
//! flags.
//!
//! Clap reads each flag's environment variable, so a flag's value already carries the top two
//! layers ([`Overrides`]); this module fills in what neither gave from the file, then the
//! defaults, into one [`Config`]: what a [`Deployment`](crate::deployment::Deployment) is
//! built from, whoever builds it. SSM, the one layer that needs the network, is applied last
//! and only to what is still unset ([`Config::with_ssm`]).

mod backup;
mod server;
mod shown;
mod ssm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::S3Settings;
use crate::validate::{Dialect, HeaderMode, Limits};
pub use backup::BackupConfig;
pub use server::ServerLimits;
pub use shown::{Shown, Source};
pub use ssm::{SsmError, SsmNames};

/// The configuration file looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = "csvgate.toml";

/// `csvgate.toml`. Unknown keys are an error, so a typo does not silently change nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Landing bucket: where uploads arrive and `ingest` looks by default.
    pub landing: Option<String>,
    /// Invalid bucket: one CSV of rejected rows per processed object.
    pub invalid: Option<String>,
    /// Delta Lake warehouse root.
    pub warehouse: Option<String>,
    /// Where `csvgate backup` writes table snapshots.
    pub backups: Option<String>,
    /// Where valid rows go: absent for the embedded Delta warehouse, or
    /// `mysql://user@host:3306/database`.
    pub target: Option<String>,
    /// Password of the MySQL target; prefer the `CSVGATE_TARGET_PASSWORD` environment variable.
    pub target_password: Option<String>,
    /// With a MySQL target, also keep the Delta/Parquet warehouse, loaded from the same rows.
    #[serde(default)]
    pub mirror_parquet: bool,
    /// SSM Parameter Store path of the MySQL target's settings (`/globant/db`), used for what
    /// `target` and `target_password` leave unset.
    pub ssm_prefix: Option<String>,
    /// The names of those parameters below `ssm_prefix`.
    #[serde(default)]
    pub ssm: SsmNames,
    #[serde(default)]
    pub ingest: IngestConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub backup: BackupConfig,
    /// Overrides of the standard AWS settings for `s3://` locations.
    #[serde(default)]
    pub s3: S3Settings,
}

/// `[api]` of `csvgate.toml`: the `csvgate serve` HTTP API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to listen on [default: 127.0.0.1:8080].
    pub listen: Option<String>,
    /// The bucket name clients PUT into [default: globant-landing, as the seed's API].
    pub bucket: Option<String>,
    /// Largest upload accepted, in bytes [default: 1 GiB].
    pub max_upload_bytes: Option<u64>,
    /// Keys accepted in `x-api-key` or `Authorization: Bearer`; prefer `CSVGATE_API_KEYS`.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// Let reads (runs, reports) through without a key; writes always need one.
    #[serde(default)]
    pub open_reads: bool,
    /// Bounds of [`ServerLimits`]; each absent one keeps its default.
    pub header_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_concurrent_uploads: Option<usize>,
    pub max_queued_runs: Option<usize>,
    pub shutdown_deadline_secs: Option<u64>,
}

/// `[ingest]` of `csvgate.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Field delimiter; sniffed when absent.
    pub delimiter: Option<char>,
    /// Whether files start with a header line.
    pub header: Option<HeaderMode>,
    /// Rows per batch between the reader and DataFusion.
    pub batch_rows: Option<usize>,
    /// Bytes of fields per batch between the reader and DataFusion.
    pub batch_bytes: Option<usize>,
    /// Longest record; a longer one is a rejected row and reading goes on at the next line.
    pub max_record_bytes: Option<usize>,
    /// Longest field; a row with a longer one is rejected.
    pub max_field_bytes: Option<usize>,
    /// Objects of one table an `ingest` loads at once (default 1).
    pub workers: Option<usize>,
    /// Seconds a worker's claim on an object lasts unless renewed (default 300): how long
    /// the objects of a worker that died wait before another takes them over.
    pub claim_lease_secs: Option<u64>,
}

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("delimiter {0:?}: must be a single ASCII character")]
    Delimiter(char),
    #[error(transparent)]
    Ssm(#[from] SsmError),
}

impl FileConfig {
    /// Loads `path`; without an explicit path a missing `csvgate.toml` means defaults.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let (path, required) = match path {
            Some(path) => (path, true),
            None => (Path::new(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileConfig::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}

impl IngestConfig {
    /// The CSV dialect these settings describe.
    pub fn dialect(&self) -> Result<Dialect, ConfigError> {
        let delimiter = match self.delimiter {
            // `u8::try_from` would take any char below 256, and `¦` is two bytes in UTF-8.
            Some(delimiter) if delimiter.is_ascii() => Some(delimiter as u8),
            Some(other) => return Err(ConfigError::Delimiter(other)),
            None => None,
        };
        let default = Limits::default();
        Ok(Dialect {
            delimiter,
            header: self.header.unwrap_or_default(),
            limits: Limits {
                max_record_bytes: self.max_record_bytes.unwrap_or(default.max_record_bytes),
                max_field_bytes: self.max_field_bytes.unwrap_or(default.max_field_bytes),
                batch_rows: self.batch_rows.unwrap_or(default.batch_rows),
                batch_bytes: self.batch_bytes.unwrap_or(default.batch_bytes),
            },
        })
    }
}

/// The top-level settings flags and `CSVGATE_*` variables may set: name and variable.
pub const OVERRIDABLE: [(&str, &str); 8] = [
    ("landing", "CSVGATE_LANDING"),
    ("invalid", "CSVGATE_INVALID"),
    ("warehouse", "CSVGATE_WAREHOUSE"),
    ("target", "CSVGATE_TARGET"),
    ("target_password", "CSVGATE_TARGET_PASSWORD"),
    ("mirror_parquet", "CSVGATE_MIRROR_PARQUET"),
    ("ssm_prefix", "CSVGATE_SSM_PREFIX"),
    ("backups", "CSVGATE_BACKUPS"),
];

/// What the command line sets, each with its `CSVGATE_*` variable; each beats the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub landing: Option<String>,
    pub invalid: Option<String>,
    pub warehouse: Option<String>,
    pub target: Option<String>,
    pub target_password: Option<String>,
    pub mirror_parquet: bool,
    pub ssm_prefix: Option<String>,
    pub backups: Option<String>,
    /// The settings above whose value came from a `CSVGATE_*` variable, not a flag.
    pub from_env: Vec<&'static str>,
}

impl Overrides {
    /// The `CSVGATE_*` variables alone, for entry points without a command line (the Lambda).
    pub fn from_env() -> Overrides {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let [
            landing,
            invalid,
            warehouse,
            target,
            target_password,
            mirror,
            ssm_prefix,
            backups,
        ] = OVERRIDABLE.map(|(_, variable)| var(variable));
        Overrides {
            landing,
            invalid,
            warehouse,
            target,
            target_password,
            mirror_parquet: mirror.is_some_and(|value| value == "true" || value == "1"),
            ssm_prefix,
            backups,
            from_env: OVERRIDABLE
                .iter()
                .filter(|(_, variable)| var(variable).is_some())
                .map(|(name, _)| *name)
                .collect(),
        }
    }
}

/// Where valid rows go, after every layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetConfig {
    /// `mysql://user@host:3306/database`, or `None` for the Delta warehouse.
    pub url: Option<String>,
    pub password: Option<String>,
    /// With a MySQL target, also keep the Delta warehouse loaded.
    pub mirror_parquet: bool,
}

/// The effective configuration of one deployment.
#[derive(Debug, Clone)]
pub struct Config {
    pub locations: Locations,
    pub target: TargetConfig,
    pub ingest: IngestConfig,
    pub api: ApiConfig,
    pub backup: BackupConfig,
    pub s3: S3Settings,
    /// Where SSM keeps the target's settings, and their names there.
    pub ssm_prefix: Option<String>,
    pub ssm: SsmNames,
    /// Where each top-level setting came from, by its `csvgate.toml` name.
    pub sources: BTreeMap<&'static str, Source>,
}

impl Config {
    /// `overrides` over `file` over the defaults.
    pub fn resolve(overrides: Overrides, file: FileConfig) -> Config {
        let sources = shown::top_level_sources(&overrides, &file);
        let Overrides {
            landing,
            invalid,
            warehouse,
            target,
            target_password,
            mirror_parquet,
            ssm_prefix,
            backups,
            from_env: _,
        } = overrides;
        Config {
            locations: Locations::resolve([landing, invalid, warehouse, backups], &file),
            target: TargetConfig {
                url: target.or(file.target),
                password: target_password.or(file.target_password),
                mirror_parquet: mirror_parquet || file.mirror_parquet,
            },
            ingest: file.ingest,
            api: file.api,
            backup: file.backup,
            s3: file.s3,
            ssm_prefix: ssm_prefix.or(file.ssm_prefix),
            ssm: file.ssm,
            sources,
        }
    }

    /// Fills the target's URL and password, when no other layer set them, from the SSM
    /// parameters below `ssm_prefix`; without a prefix, or with both set, asks SSM nothing.
    pub async fn with_ssm(mut self) -> Result<Config, ConfigError> {
        let Some(prefix) = &self.ssm_prefix else {
            return Ok(self);
        };
        let target = &mut self.target;
        if target.url.is_some() && target.password.is_some() {
            return Ok(self);
        }
        let database = ssm::database(prefix, &self.ssm).await?;
        if target.url.is_none() {
            target.url = Some(database.url);
            self.sources.insert("target", Source::Ssm);
        }
        if target.password.is_none() {
            target.password = Some(database.password);
            self.sources.insert("target_password", Source::Ssm);
        }
        Ok(self)
    }

    /// The defaults with every bucket a folder below `root` (`landing`, `invalid`,
    /// `warehouse`, `backups`): what tests and examples start from.
    pub fn in_folder(root: &Path) -> Config {
        let folder = |name: &str| root.join(name).to_string_lossy().into_owned();
        let overrides = Overrides {
            landing: Some(folder("landing")),
            invalid: Some(folder("invalid")),
            warehouse: Some(folder("warehouse")),
            backups: Some(folder("backups")),
            ..Overrides::default()
        };
        Config::resolve(overrides, FileConfig::default())
    }
}

/// The bucket locations after every layer has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub landing: String,
    pub invalid: String,
    pub warehouse: String,
    pub backups: String,
}

impl Locations {
    /// Flags (with their environment variables) over the file over `./csvgate-data/…`.
    pub fn resolve(flags: [Option<String>; 4], file: &FileConfig) -> Locations {
        let [landing, invalid, warehouse, backups] = flags;
        let pick = |flag: Option<String>, file: &Option<String>, default: &str| {
            flag.or_else(|| file.clone())
                .unwrap_or_else(|| format!("./csvgate-data/{default}"))
        };
        Locations {
            landing: pick(landing, &file.landing, "landing"),
            invalid: pick(invalid, &file.invalid, "invalid"),
            warehouse: pick(warehouse, &file.warehouse, "warehouse"),
            backups: pick(backups, &file.backups, "backups"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "landing = \"/data/in\"\nwarehouse = \"/data/wh\"\n[ingest]\ndelimiter = \";\"\n",
        )
        .unwrap();
        assert_eq!(file.ingest.delimiter, Some(';'));
        let locations = Locations::resolve([None, None, Some("/flag/wh".into()), None], &file);
        assert_eq!(
            locations,
            Locations {
                landing: "/data/in".into(),
                invalid: "./csvgate-data/invalid".into(),
                warehouse: "/flag/wh".into(),
                backups: "./csvgate-data/backups".into(),
            }
        );
    }

    #[test]
    fn unknown_keys_and_missing_explicit_files_are_errors() {
        assert!(toml::from_str::<FileConfig>("landin = \"x\"").is_err());
        let missing = FileConfig::load(Some(Path::new("/nonexistent/csvgate.toml"))).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/csvgate.toml: ")
        );
    }
}
