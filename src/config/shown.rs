//! The effective configuration as `csvgate config show` prints it: every setting with its value
//! and where that value came from, secrets as `****`.

use std::collections::BTreeMap;

use super::{Config, FileConfig, OVERRIDABLE, Overrides, ServerLimits, SsmNames};
use crate::validate::Limits;

/// Where a setting's value came from, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File,
    /// SSM Parameter Store.
    Ssm,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "file",
            Source::Ssm => "ssm",
            Source::Default => "default",
        }
    }
}

/// One setting as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The setting's name in `csvgate.toml` (`landing`, `ingest.delimiter`, `s3.region`).
    pub name: String,
    /// Its value; secrets as `****`, settings without one as `-`.
    pub value: String,
    pub source: Source,
    /// The environment variable it came from, when it did.
    pub variable: Option<&'static str>,
}

/// The environment's variables for `[s3]` settings, as object_store reads them.
const S3_VARIABLES: [(&str, &str); 6] = [
    ("endpoint", "AWS_ENDPOINT_URL"),
    ("allow_http", "AWS_ALLOW_HTTP"),
    ("region", "AWS_REGION"),
    ("access_key_id", "AWS_ACCESS_KEY_ID"),
    ("secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ("session_token", "AWS_SESSION_TOKEN"),
];

/// Where each of [`OVERRIDABLE`] came from.
pub(super) fn top_level_sources(
    overrides: &Overrides,
    file: &FileConfig,
) -> BTreeMap<&'static str, Source> {
    let given = [
        (overrides.landing.is_some(), file.landing.is_some()),
        (overrides.invalid.is_some(), file.invalid.is_some()),
        (overrides.warehouse.is_some(), file.warehouse.is_some()),
        (overrides.target.is_some(), file.target.is_some()),
        (
            overrides.target_password.is_some(),
            file.target_password.is_some(),
        ),
        (overrides.mirror_parquet, file.mirror_parquet),
        (overrides.ssm_prefix.is_some(), file.ssm_prefix.is_some()),
        (overrides.backups.is_some(), file.backups.is_some()),
    ];
    let source = |name: &str, (overridden, in_file): (bool, bool)| match (overridden, in_file) {
        (true, _) if overrides.from_env.contains(&name) => Source::Env,
        (true, _) => Source::Flag,
        (false, true) => Source::File,
        (false, false) => Source::Default,
    };
    OVERRIDABLE
        .iter()
        .zip(given)
        .map(|(&(name, _), given)| (name, source(name, given)))
        .collect()
}

impl Config {
    /// Every setting, in the order of `csvgate.toml`'s documentation.
    pub fn shown(&self) -> Vec<Shown> {
        let mut rows = Vec::new();
        self.show_top_level(&mut rows);
        self.show_ingest(&mut rows);
        let api = &self.api;
        let backup = &self.backup;
        let sections: [(&str, Option<String>, &str); 9] = [
            ("api.listen", api.listen.clone(), "127.0.0.1:8080"),
            ("api.bucket", api.bucket.clone(), "globant-landing"),
            (
                "api.max_upload_bytes",
                api.max_upload_bytes.map(|n| n.to_string()),
                "1073741824",
            ),
            (
                "api.api_keys",
                (!api.api_keys.is_empty()).then(|| MASK.to_owned()),
                "-",
            ),
            (
                "api.open_reads",
                api.open_reads.then(|| "true".to_owned()),
                "false",
            ),
            (
                "backup.schedule",
                backup.schedule.clone(),
                crate::backup::schedule::DEFAULT_SCHEDULE,
            ),
            (
                "backup.format",
                backup.format.map(|format| format.name().to_owned()),
                "avro",
            ),
            (
                "backup.keep_last",
                backup.keep_last.map(|n| n.to_string()),
                "4",
            ),
            (
                "backup.keep_weekly",
                backup.keep_weekly.map(|n| n.to_string()),
                "8",
            ),
        ];
        for (name, value, default) in sections {
            rows.push(from_file_or_default(name, value, default));
        }
        self.show_server_limits(&mut rows);
        self.show_s3(&mut rows);
        self.show_ssm_names(&mut rows);
        rows
    }

    fn show_server_limits(&self, rows: &mut Vec<Shown>) {
        let (api, default) = (&self.api, ServerLimits::default());
        let seconds = [
            (
                "api.header_timeout_secs",
                api.header_timeout_secs,
                default.header_timeout,
            ),
            (
                "api.request_timeout_secs",
                api.request_timeout_secs,
                default.request_timeout,
            ),
            (
                "api.body_timeout_secs",
                api.body_timeout_secs,
                default.body_timeout,
            ),
            (
                "api.shutdown_deadline_secs",
                api.shutdown_deadline_secs,
                default.shutdown_deadline,
            ),
        ];
        let seconds = seconds.map(|(name, value, default)| (name, value, default.as_secs()));
        push_numbers(rows, seconds);
        let counts = [
            (
                "api.max_connections",
                api.max_connections,
                default.max_connections,
            ),
            (
                "api.max_concurrent_uploads",
                api.max_concurrent_uploads,
                default.max_uploads,
            ),
            (
                "api.max_queued_runs",
                api.max_queued_runs,
                default.max_queued_runs,
            ),
        ];
        push_numbers(rows, counts);
    }

    fn show_ingest(&self, rows: &mut Vec<Shown>) {
        let ingest = &self.ingest;
        let delimiter = ingest.delimiter.map(String::from);
        rows.push(from_file_or_default(
            "ingest.delimiter",
            delimiter,
            "sniffed",
        ));
        let header = ingest.header.map(|h| format!("{h:?}").to_lowercase());
        rows.push(from_file_or_default("ingest.header", header, "auto"));
        let workers = ingest.workers.map(|workers| workers.to_string());
        rows.push(from_file_or_default("ingest.workers", workers, "1"));
        let lease = ingest.claim_lease_secs.map(|secs| secs.to_string());
        let default_lease = crate::sink::claim::DEFAULT_LEASE.as_secs().to_string();
        rows.push(from_file_or_default(
            "ingest.claim_lease_secs",
            lease,
            &default_lease,
        ));
        let default = Limits::default();
        let limits = [
            ("ingest.batch_rows", ingest.batch_rows, default.batch_rows),
            (
                "ingest.batch_bytes",
                ingest.batch_bytes,
                default.batch_bytes,
            ),
            (
                "ingest.max_record_bytes",
                ingest.max_record_bytes,
                default.max_record_bytes,
            ),
            (
                "ingest.max_field_bytes",
                ingest.max_field_bytes,
                default.max_field_bytes,
            ),
        ];
        push_numbers(rows, limits);
    }

    fn show_ssm_names(&self, rows: &mut Vec<Shown>) {
        let (names, defaults) = (&self.ssm, SsmNames::default());
        let pairs = [
            ("ssm.host", &names.host, &defaults.host),
            ("ssm.port", &names.port, &defaults.port),
            ("ssm.name", &names.name, &defaults.name),
            ("ssm.user", &names.user, &defaults.user),
            ("ssm.password", &names.password, &defaults.password),
        ];
        for (setting, name, default) in pairs {
            let set = (name != default).then(|| name.clone());
            rows.push(from_file_or_default(setting, set, default));
        }
    }

    fn show_top_level(&self, rows: &mut Vec<Shown>) {
        let target = self.target.url.as_deref().map(without_password);
        let values = [
            Some(self.locations.landing.clone()),
            Some(self.locations.invalid.clone()),
            Some(self.locations.warehouse.clone()),
            target,
            self.target.password.as_ref().map(|_| MASK.to_owned()),
            Some(self.target.mirror_parquet.to_string()),
            self.ssm_prefix.clone(),
            Some(self.locations.backups.clone()),
        ];
        for ((name, variable), value) in OVERRIDABLE.into_iter().zip(values) {
            let source = self.sources.get(name).copied().unwrap_or(Source::Default);
            rows.push(Shown {
                name: name.to_owned(),
                value: value.unwrap_or_else(|| "-".to_owned()),
                source,
                variable: (source == Source::Env).then_some(variable),
            });
        }
    }

    fn show_s3(&self, rows: &mut Vec<Shown>) {
        let s3 = &self.s3;
        let values = [
            s3.endpoint.clone(),
            s3.allow_http.map(|allow| allow.to_string()),
            s3.region.clone(),
            s3.access_key_id.clone(),
            s3.secret_access_key.as_ref().map(|_| MASK.to_owned()),
            s3.session_token.as_ref().map(|_| MASK.to_owned()),
        ];
        for ((name, variable), value) in S3_VARIABLES.into_iter().zip(values) {
            let name = format!("s3.{name}");
            let secret = name.ends_with("key") || name.ends_with("token");
            let from_env = std::env::var(variable).ok();
            rows.push(match (value, from_env) {
                (Some(value), _) => from_file_or_default(&name, Some(value), "-"),
                (None, Some(value)) => Shown {
                    value: if secret { MASK.to_owned() } else { value },
                    source: Source::Env,
                    variable: Some(variable),
                    name,
                },
                (None, None) => from_file_or_default(&name, None, "-"),
            });
        }
    }
}

/// Numeric settings, each from the file or its default.
fn push_numbers<T: ToString>(
    rows: &mut Vec<Shown>,
    numbers: impl IntoIterator<Item = (&'static str, Option<T>, T)>,
) {
    for (name, value, default) in numbers {
        let value = value.map(|n| n.to_string());
        rows.push(from_file_or_default(name, value, &default.to_string()));
    }
}

fn from_file_or_default(name: &str, value: Option<String>, default: &str) -> Shown {
    Shown {
        name: name.to_owned(),
        source: if value.is_some() {
            Source::File
        } else {
            Source::Default
        },
        value: value.unwrap_or_else(|| default.to_owned()),
        variable: None,
    }
}

/// What a secret shows as.
const MASK: &str = "****";

/// A target URL with any password in it masked.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_names_its_source_and_no_secret_shows() {
        let file: FileConfig = toml::from_str(
            "warehouse = \"/data/wh\"\ntarget = \"mysql://hr:pw1@db:3306/hr\"\n[ingest]\ndelimiter = \";\"\n[s3]\nsecret_access_key = \"sk-9\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            landing: Some("/flag/in".into()),
            invalid: Some("/env/bad".into()),
            target_password: Some("pw2".into()),
            from_env: vec!["invalid", "target_password"],
            ..Overrides::default()
        };
        let shown = Config::resolve(overrides, file).shown();
        let row = |name: &str| shown.iter().find(|row| row.name == name).unwrap().clone();
        assert_eq!(
            (row("landing").value, row("landing").source),
            ("/flag/in".into(), Source::Flag)
        );
        assert_eq!(row("invalid").source, Source::Env);
        assert_eq!(row("invalid").variable, Some("CSVGATE_INVALID"));
        assert_eq!(
            (row("warehouse").value, row("warehouse").source),
            ("/data/wh".into(), Source::File)
        );
        assert_eq!(row("target").value, "mysql://hr:****@db:3306/hr");
        assert_eq!(row("target_password").value, "****");
        assert_eq!(
            (
                row("ingest.delimiter").value,
                row("ingest.delimiter").source
            ),
            (";".into(), Source::File)
        );
        assert_eq!(
            (row("ingest.header").value, row("ingest.header").source),
            ("auto".into(), Source::Default)
        );
        assert_eq!(row("s3.secret_access_key").value, "****");
        let all = format!("{shown:?}");
        assert!(
            !all.contains("pw1") && !all.contains("pw2") && !all.contains("sk-9"),
            "{all}"
        );
    }
}
