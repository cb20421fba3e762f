//! Static credentials and the region of an AWS profile, from the files the AWS CLI writes:
//! `~/.aws/credentials` and `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` and
//! `AWS_CONFIG_FILE`), profile `AWS_PROFILE` or `default`.
//!
//! What a profile states outright is read here (keys, session token, region); a profile that
//! gets its keys otherwise (a role to assume, SSO, a `credential_process`) is only recognised,
//! and left to the AWS SDK ([`super::sdk_credentials`]).

use std::path::PathBuf;

use super::S3Settings;

/// What a profile gives.
pub(super) struct Profile {
    /// Its keys and region; empty when there is no such profile or file.
    pub settings: S3Settings,
    /// Whether its keys come from somewhere the SDK must go (a role, SSO, a process).
    pub sourced_elsewhere: bool,
}

/// The keys of a profile that gets its credentials from elsewhere.
const SOURCES: [&str; 4] = [
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
];

/// The profile `AWS_PROFILE`, or `default`.
pub(super) fn profile() -> Profile {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let read = |variable: &str, default: &str| {
        let path = std::env::var_os(variable).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws").join(default))
        });
        path.and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    };
    let credentials = read("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = read("AWS_CONFIG_FILE", "config");
    from_files(&profile, &credentials, &config)
}

/// `profile`: keys from the credentials file, else from the config file, where profiles
/// other than `default` are headed `[profile NAME]`.
fn from_files(profile: &str, credentials: &str, config: &str) -> Profile {
    let in_credentials = section(credentials, profile);
    let config_header = match profile {
        "default" => "default".to_owned(),
        name => format!("profile {name}"),
    };
    let in_config = section(config, &config_header);
    let value = |key: &str| {
        let find = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
        };
        find(&in_credentials).or_else(|| find(&in_config))
    };
    Profile {
        settings: S3Settings {
            access_key_id: value("aws_access_key_id"),
            secret_access_key: value("aws_secret_access_key"),
            session_token: value("aws_session_token"),
            region: value("region"),
            ..S3Settings::default()
        },
        sourced_elsewhere: SOURCES.iter().any(|key| value(key).is_some()),
    }
}

/// The `key = value` pairs of section `[name]` of an INI text.
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            inside = header.trim() == name;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            pairs.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_gives_its_keys_and_region() {
        let credentials = "[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s1\n\n[hr]\naws_access_key_id=AKIHR\naws_secret_access_key=s2\naws_session_token = t2\n";
        let config = "[default]\nregion = eu-west-1\n[profile hr]\nregion = sa-east-1\n";
        let hr = from_files("hr", credentials, config).settings;
        assert_eq!(hr.access_key_id.as_deref(), Some("AKIHR"));
        assert_eq!(hr.secret_access_key.as_deref(), Some("s2"));
        assert_eq!(hr.session_token.as_deref(), Some("t2"));
        assert_eq!(hr.region.as_deref(), Some("sa-east-1"));
        let default = from_files("default", credentials, config).settings;
        assert_eq!(default.access_key_id.as_deref(), Some("AKIDEFAULT"));
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            from_files("missing", credentials, config).settings,
            S3Settings::default()
        );
        assert!(!from_files("hr", credentials, config).sourced_elsewhere);
        let role = "[profile ops]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = hr\n";
        assert!(from_files("ops", credentials, role).sourced_elsewhere);
    }
}
