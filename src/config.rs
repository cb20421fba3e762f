//! Settings: `csvgate.toml` < `CSVGATE_*` environment < command-line flags.
//!
//! Clap reads each flag's environment variable, so a flag's value already carries the top two
//! layers; this module only fills in what neither gave from the file, then the defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::validate::HeaderMode;

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
    /// Where valid rows go: absent for the embedded Delta warehouse, or
    /// `mysql://user@host:3306/database`.
    pub target: Option<String>,
    /// Password of the MySQL target; prefer the `CSVGATE_TARGET_PASSWORD` environment variable.
    pub target_password: Option<String>,
    /// With a MySQL target, also keep the Delta/Parquet warehouse, loaded from the same rows.
    #[serde(default)]
    pub mirror_parquet: bool,
    #[serde(default)]
    pub ingest: IngestConfig,
    #[serde(default)]
    pub api: ApiConfig,
}

/// `[api]` of `csvgate.toml`: the `csvgate serve` HTTP API.
#[derive(Debug, Default, Deserialize)]
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
}

/// `[ingest]` of `csvgate.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Field delimiter; sniffed when absent.
    pub delimiter: Option<char>,
    /// Whether files start with a header line.
    pub header: Option<HeaderMode>,
    /// Rows per batch between the reader and DataFusion.
    pub batch_rows: Option<usize>,
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

/// The bucket locations after every layer has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub landing: String,
    pub invalid: String,
    pub warehouse: String,
}

impl Locations {
    /// Flags (with their environment variables) over the file over `./csvgate-data/…`.
    pub fn resolve(flags: [Option<String>; 3], file: &FileConfig) -> Locations {
        let [landing, invalid, warehouse] = flags;
        let pick = |flag: Option<String>, file: &Option<String>, default: &str| {
            flag.or_else(|| file.clone())
                .unwrap_or_else(|| format!("./csvgate-data/{default}"))
        };
        Locations {
            landing: pick(landing, &file.landing, "landing"),
            invalid: pick(invalid, &file.invalid, "invalid"),
            warehouse: pick(warehouse, &file.warehouse, "warehouse"),
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
        let locations = Locations::resolve([None, None, Some("/flag/wh".into())], &file);
        assert_eq!(
            locations,
            Locations {
                landing: "/data/in".into(),
                invalid: "./csvgate-data/invalid".into(),
                warehouse: "/flag/wh".into(),
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
