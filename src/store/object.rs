//! Objects as the ledger knows them (one version of one key) and the keys clients may name.

use datafusion::object_store::ObjectMeta;

use super::Location;

/// One version of one object: what the ledger records as processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// URL of the location the key is relative to.
    pub location: String,
    pub key: String,
    /// The store's ETag (with the version id in a versioned bucket), else `size-mtime`: a
    /// rewritten object is a new version.
    pub version: String,
    pub size: u64,
}

impl ObjectVersion {
    /// The version `meta` describes of the object at `key` (a head through a prefixed store
    /// reports the full path, so the key is given).
    pub(super) fn new(location: &Location, key: &str, meta: &ObjectMeta) -> Self {
        let e_tag = meta
            .e_tag
            .clone()
            .unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_millis()));
        // A versioned bucket names each version; the ETag alone repeats when content does.
        let version = match &meta.version {
            Some(id) => format!("{e_tag}#{id}"),
            None => e_tag,
        };
        ObjectVersion {
            location: location.url.to_string(),
            key: key.to_owned(),
            version,
            size: meta.size,
        }
    }

    /// Names this version uniquely across locations.
    pub fn fingerprint(&self) -> String {
        format!("{}{}@{}", self.location, self.key, self.version)
    }

    /// The object's file name without folders and extension (`hired_employees`).
    pub fn stem(&self) -> &str {
        let file = self.key.rsplit('/').next().unwrap_or(&self.key);
        file.split('.').next().unwrap_or(file)
    }
}

/// Checks that an object key a client sent is a plain relative path (`hired_employees.csv`,
/// `jobs/2024.csv`): no absolute path, no `..` or `.` segment, no empty segment, no backslash
/// or control character, so it cannot name anything outside its bucket.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.starts_with('/') {
        return Err(format!("{key:?}: an absolute key is not allowed"));
    }
    if key.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(format!(
            "{key:?}: backslashes and control characters are not allowed"
        ));
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "{key:?}: empty, `.` and `..` segments are not allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_keys_pass() {
        for good in ["hired_employees.csv", "jobs/2024.csv", "a b/c..d.csv"] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.csv",
            "a/../b.csv",
            "a//b.csv",
            "./a.csv",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
