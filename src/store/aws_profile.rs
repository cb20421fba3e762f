//! Static credentials and the region of an AWS profile, from the files the AWS CLI writes:
//! `~/.aws/credentials` and `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` and
//! `AWS_CONFIG_FILE`), profile `AWS_PROFILE` or `default`.
//!
//! Only what a profile states outright is read (keys, session token, region); a profile that
//! assumes a role or signs in with SSO needs the AWS SDK, and is left to the environment's
//! other sources (web identity, container and instance roles), which object_store reads.

use std::path::PathBuf;

use super::S3Settings;

/// What the profile gives, as settings; empty when there is no such profile or file.
pub(super) fn settings() -> S3Settings {
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

/// The settings of `profile`: keys from the credentials file, else from the config file,
/// where profiles other than `default` are headed `[profile NAME]`.
fn from_files(profile: &str, credentials: &str, config: &str) -> S3Settings {
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
    S3Settings {
        access_key_id: value("aws_access_key_id"),
        secret_access_key: value("aws_secret_access_key"),
        session_token: value("aws_session_token"),
        region: value("region"),
        ..S3Settings::default()
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
        let hr = from_files("hr", credentials, config);
        assert_eq!(hr.access_key_id.as_deref(), Some("AKIHR"));
        assert_eq!(hr.secret_access_key.as_deref(), Some("s2"));
        assert_eq!(hr.session_token.as_deref(), Some("t2"));
        assert_eq!(hr.region.as_deref(), Some("sa-east-1"));
        let default = from_files("default", credentials, config);
        assert_eq!(default.access_key_id.as_deref(), Some("AKIDEFAULT"));
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            from_files("missing", credentials, config),
            S3Settings::default()
        );
    }
}
