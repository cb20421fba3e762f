//! Settings: a flag beats its `CSVGATE_*` variable, which beats `csvgate.toml`, which beats
//! SSM Parameter Store, which beats the default.
//!
//! Every setting is declared once, in [`settings`]: name, kind, variable, flag, default, doc.
//! [`Config::resolve`] takes each from the highest layer that gives it and checks it, so a bad
//! value stops a process at start-up naming the setting and where it came from. SSM, the one
//! layer that needs the network, is applied last and only to what is still unset
//! ([`Config::with_ssm`]). A [`Config`] is what a [`Deployment`](crate::deployment::Deployment)
//! is built from, whoever builds it.

mod backup;
mod contract;
mod layers;
mod server;
pub mod setting;
mod settings;
mod shown;
mod ssm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::store::S3Settings;
use crate::validate::{Dialect, HeaderMode, Limits};
pub use backup::DEFAULT_RETENTION;
pub use contract::Configured;
pub use layers::{ConfigFile, DEFAULT_FILE, Layers};
pub use server::{DEFAULT_BUCKET, DEFAULT_MAX_UPLOAD_BYTES, ServerLimits};
pub use settings::{Key, SETTINGS};
pub(crate) use shown::without_password;
pub use shown::{Shown, Source};
pub(crate) use ssm::client as ssm_client;
pub use ssm::{SsmError, SsmNames};

/// A value as a layer gave it: one text, or a list (API keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    One(String),
    Many(Vec<String>),
}

/// A checked value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub raw: Raw,
    pub source: Source,
    /// The environment variable it came from, when it did.
    pub variable: Option<&'static str>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{setting} (from {from}): {problem}")]
    Invalid {
        setting: &'static str,
        from: String,
        problem: String,
    },
    #[error(transparent)]
    Ssm(#[from] SsmError),
    #[error(transparent)]
    Contract(#[from] crate::contract::ContractError),
}

/// The effective configuration of one deployment: each setting's checked value and source.
#[derive(Debug, Clone)]
pub struct Config {
    /// By concrete dotted name (`api.listen`, `tables.jobs.header`); a setting no layer gave
    /// and without a default value is absent.
    values: BTreeMap<String, Value>,
    /// The standard AWS variables that were set, for `config show`: the AWS clients read them.
    aws_env: BTreeMap<&'static str, String>,
    /// The text of a contract in an object store, once [`Config::with_contract`] fetched it.
    contract_text: Option<std::sync::Arc<str>>,
}

impl Config {
    /// The value of `key`, when it has one.
    pub fn get(&self, key: Key) -> Option<&str> {
        self.text(key.name())
    }

    /// The value of a setting the list gives a default value, so it always has one.
    pub fn value(&self, key: Key) -> &str {
        let missing = || panic!("{} has a default value in the settings list", key.name());
        self.get(key).unwrap_or_else(missing)
    }

    /// [`Config::value`] as a number.
    pub fn count<T: FromStr>(&self, key: Key) -> T {
        let missing = || panic!("{} has a default value in the settings list", key.name());
        self.number(key).unwrap_or_else(missing)
    }

    fn text(&self, name: &str) -> Option<&str> {
        match &self.values.get(name)?.raw {
            Raw::One(text) => Some(text),
            Raw::Many(_) => None,
        }
    }

    /// Whether a [`Kind::Bool`](setting::Kind::Bool) setting is on.
    pub fn enabled(&self, key: Key) -> bool {
        self.get(key) == Some("true")
    }

    /// A number, checked when resolved; `T` must hold what the kind allows (`u64`, `usize`).
    pub fn number<T: FromStr>(&self, key: Key) -> Option<T> {
        let text = self.get(key)?;
        Some(
            text.parse()
                .ok()
                .unwrap_or_else(|| panic!("{}: {text} was checked", key.name())),
        )
    }

    /// A list setting's values.
    pub fn list(&self, key: Key) -> &[String] {
        self.texts(key.name()).unwrap_or_default()
    }

    /// A list setting's values by concrete name, when a layer gave it (maybe as an empty list).
    fn texts(&self, name: &str) -> Option<&[String]> {
        match &self.values.get(name)?.raw {
            Raw::Many(items) => Some(items),
            Raw::One(_) => None,
        }
    }

    /// Where the value of `key` came from.
    pub fn source(&self, key: Key) -> Source {
        self.values
            .get(key.name())
            .map_or(Source::Default, |value| value.source)
    }

    /// Sets `key` as a caller building a configuration in code does (as a flag would).
    /// Panics on a value its kind refuses: that is a bug of the caller, not bad input.
    pub fn set(&mut self, key: Key, value: impl Into<String>) {
        self.set_from(key, Raw::One(value.into()), Source::Flag);
    }

    fn set_from(&mut self, key: Key, raw: Raw, source: Source) {
        let raw = layers::check(key.setting(), raw, source.as_str())
            .unwrap_or_else(|error| panic!("{error}"));
        let value = Value {
            raw,
            source,
            variable: None,
        };
        self.values.insert(key.name().to_owned(), value);
    }

    /// The defaults alone: no flag, no environment, no file.
    pub fn defaults() -> Config {
        Config::resolve(Layers::default()).expect("the defaults are valid")
    }

    /// The defaults with every bucket a folder below `root` (`landing`, `invalid`,
    /// `warehouse`, `backups`): what tests and examples start from. The environment is not
    /// read.
    pub fn in_folder(root: &Path) -> Config {
        let mut config = Config::defaults();
        for (key, name) in [
            (Key::Landing, "landing"),
            (Key::Invalid, "invalid"),
            (Key::Warehouse, "warehouse"),
            (Key::Backups, "backups"),
        ] {
            config.set(key, root.join(name).to_string_lossy());
        }
        config
    }

    /// Fills the target's URL and password, when no other layer set them, from the SSM
    /// parameters below `ssm_prefix`; without a prefix, or with both set, asks SSM nothing.
    pub async fn with_ssm(mut self) -> Result<Config, ConfigError> {
        let Some(prefix) = self.get(Key::SsmPrefix) else {
            return Ok(self);
        };
        let (url, password) = (self.get(Key::Target), self.get(Key::TargetPassword));
        if url.is_some() && password.is_some() {
            return Ok(self);
        }
        let database = ssm::database(prefix, &self.ssm_names()).await?;
        if self.get(Key::Target).is_none() {
            self.set_from(Key::Target, Raw::One(database.url), Source::Ssm);
        }
        if self.get(Key::TargetPassword).is_none() {
            self.set_from(
                Key::TargetPassword,
                Raw::One(database.password),
                Source::Ssm,
            );
        }
        Ok(self)
    }

    /// How to read a file when no command says otherwise.
    pub fn dialect(&self) -> Dialect {
        let delimiter = self.get(Key::Delimiter).map(|text| text.as_bytes()[0]);
        let header = (self.get(Key::Header)).map_or(HeaderMode::Auto, |text| {
            HeaderMode::parse(text).expect("checked against the choices")
        });
        Dialect {
            delimiter,
            header,
            limits: Limits {
                max_record_bytes: self.count(Key::MaxRecordBytes),
                max_field_bytes: self.count(Key::MaxFieldBytes),
                batch_rows: self.count(Key::BatchRows),
                batch_bytes: self.count(Key::BatchBytes),
            },
        }
    }

    /// The `[s3]` settings; what they leave unset the AWS clients take from their own chain.
    pub fn s3(&self) -> S3Settings {
        let text = |key| self.get(key).map(str::to_owned);
        S3Settings {
            endpoint: text(Key::S3Endpoint),
            allow_http: self
                .get(Key::S3AllowHttp)
                .map(|_| self.enabled(Key::S3AllowHttp)),
            region: text(Key::S3Region),
            access_key_id: text(Key::S3AccessKeyId),
            secret_access_key: text(Key::S3SecretAccessKey),
            session_token: text(Key::S3SessionToken),
        }
    }

    /// Sets the `[s3]` settings given in `s3`.
    pub fn set_s3(&mut self, s3: &S3Settings) {
        let allow_http = s3.allow_http.map(|allow| allow.to_string());
        let given = [
            (Key::S3Endpoint, &s3.endpoint),
            (Key::S3AllowHttp, &allow_http),
            (Key::S3Region, &s3.region),
            (Key::S3AccessKeyId, &s3.access_key_id),
            (Key::S3SecretAccessKey, &s3.secret_access_key),
            (Key::S3SessionToken, &s3.session_token),
        ];
        for (key, value) in given {
            if let Some(value) = value {
                self.set(key, value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
