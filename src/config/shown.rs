//! The effective configuration as `csvgate config show` prints it: every setting with its value
//! and where that value came from, secrets as `****`.

use super::setting::{Env, Fallback, Setting};
use super::{Config, Raw, SETTINGS, Value};

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

impl Config {
    /// Every setting, in the order of the list; per-table ones after their tables' names.
    pub fn shown(&self) -> Vec<Shown> {
        let mut rows = Vec::new();
        for setting in SETTINGS {
            if setting.is_per_table() {
                let given = self.values.iter().filter(|(name, _)| setting.matches(name));
                rows.extend(given.map(|(name, value)| shown(setting, name, value)));
            } else if let Some(value) = self.values.get(setting.name) {
                rows.push(shown(setting, setting.name, value));
            } else {
                rows.push(self.unset(setting));
            }
        }
        rows
    }

    /// A setting no layer gave: an AWS variable the clients will read, or its default.
    fn unset(&self, setting: &Setting) -> Shown {
        if let Env::Aws(variable) = setting.env
            && let Some(value) = self.aws_env.get(variable)
        {
            let value = if setting.kind.is_secret() {
                MASK.to_owned()
            } else {
                value.clone()
            };
            let source = Source::Env;
            let variable = Some(variable);
            return Shown {
                name: setting.name.to_owned(),
                value,
                source,
                variable,
            };
        }
        let value = match setting.fallback {
            Fallback::Note(note) => note.to_owned(),
            _ => "-".to_owned(),
        };
        let source = Source::Default;
        Shown {
            name: setting.name.to_owned(),
            value,
            source,
            variable: None,
        }
    }
}

fn shown(setting: &Setting, name: &str, value: &Value) -> Shown {
    let text = match (&value.raw, setting.kind.is_secret()) {
        (Raw::Many(items), _) if items.is_empty() => "-".to_owned(),
        (_, true) => MASK.to_owned(),
        (Raw::One(text), false) if setting.name == "target" => without_password(text),
        (Raw::One(text), false) => text.clone(),
        (Raw::Many(items), false) => items.join(","),
    };
    Shown {
        name: name.to_owned(),
        value: text,
        source: value.source,
        variable: value.variable,
    }
}

/// What a secret shows as.
const MASK: &str = "****";

/// A target URL with any password in it masked.
pub(crate) fn without_password(url: &str) -> String {
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
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::config::{ConfigFile, Layers};

    #[test]
    fn each_value_names_its_source_and_no_secret_shows() {
        let text = "warehouse = \"/data/wh\"\ntarget = \"mysql://hr:pw1@db:3306/hr\"\n[ingest]\ndelimiter = \";\"\n[s3]\nsecret_access_key = \"sk-9\"\n[api]\napi_keys = [\"k-7\"]\n";
        let layers = Layers {
            flags: BTreeMap::from([("landing", Raw::One("/flag/in".into()))]),
            env: BTreeMap::from([
                ("CSVGATE_INVALID", "/env/bad".into()),
                ("CSVGATE_TARGET_PASSWORD", "pw2".into()),
                ("AWS_SESSION_TOKEN", "tok-3".into()),
                ("AWS_REGION", "eu-west-1".into()),
            ]),
            file: ConfigFile::parse(Path::new("csvgate.toml"), text).unwrap(),
        };
        let shown = Config::resolve(layers).unwrap().shown();
        let row = |name: &str| shown.iter().find(|row| row.name == name).unwrap().clone();
        let seen = |name: &str| (row(name).value, row(name).source);
        assert_eq!(seen("landing"), ("/flag/in".into(), Source::Flag));
        assert_eq!(row("invalid").source, Source::Env);
        assert_eq!(row("invalid").variable, Some("CSVGATE_INVALID"));
        assert_eq!(seen("warehouse"), ("/data/wh".into(), Source::File));
        assert_eq!(row("target").value, "mysql://hr:****@db:3306/hr");
        assert_eq!(row("target_password").value, "****");
        assert_eq!(seen("ingest.delimiter"), (";".into(), Source::File));
        assert_eq!(seen("ingest.header"), ("auto".into(), Source::Default));
        assert_eq!(seen("api.bucket").1, Source::Default);
        assert!(seen("api.bucket").0.contains("globant-landing"));
        assert_eq!(row("s3.secret_access_key").value, "****");
        assert_eq!(seen("s3.region"), ("eu-west-1".into(), Source::Env));
        assert_eq!(row("s3.session_token").value, "****");
        assert_eq!(row("api.api_keys").value, "****");
        let all = format!("{shown:?}");
        for secret in ["pw1", "pw2", "sk-9", "tok-3", "k-7"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
    }
}
