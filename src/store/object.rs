//! Objects as the ledger knows them (one version of one key) and the keys clients may name.

use chrono::{DateTime, Utc};
use datafusion::object_store::ObjectMeta;
use datafusion::object_store::path::Path;

use super::Location;

/// One version of one object: what the ledger records as processed.
#[derive(Debug, Clone)]
pub struct ObjectVersion {
    /// URL of the location the key is relative to.
    pub location: String,
    pub key: String,
    /// The store's ETag (with the version id in a versioned bucket), else `size-mtime`: a
    /// rewritten object is a new version.
    pub version: String,
    pub size: u64,
    /// When the store says this version was written, where it was asked (not in the ledger),
    /// if the version names that one write: a version written recently cannot have been loaded
    /// long ago, which spares a load the ledger lookup an expired marker needs
    /// ([`crate::sink::Ledger::is_loaded`]). `None` for S3's bare ETag, a hash of the content
    /// that an identical rewrite repeats.
    pub modified: Option<DateTime<Utc>>,
}

/// One version is the same whenever it is met: when it was written is what a store said, not
/// part of its name.
impl PartialEq for ObjectVersion {
    fn eq(&self, other: &Self) -> bool {
        (&self.location, &self.key, &self.version, self.size)
            == (&other.location, &other.key, &other.version, other.size)
    }
}

impl Eq for ObjectVersion {}

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
        // S3's ETag alone is a hash of the content: a rewrite with the same bytes is the same
        // version, written at another time (so is `null`, the id every write gets while a
        // bucket's versioning is suspended). A version id or a local ETag (inode, mtime, size)
        // names one write.
        let versioned = meta.version.as_deref().is_some_and(|id| id != "null");
        let one_write = versioned || !location.is_s3();
        ObjectVersion {
            location: location.url.to_string(),
            key: key.to_owned(),
            version,
            size: meta.size,
            modified: one_write.then_some(meta.last_modified),
        }
    }

    /// The store's own version id (a versioned bucket's `versionId`), the part of
    /// [`version`](Self::version) after `#`: what reads of this exact version ask for.
    pub fn version_id(&self) -> Option<&str> {
        self.version.split_once('#').map(|(_, id)| id)
    }

    /// This version as a listing names it: `object_store` lists no version ids, so an
    /// `ingest` of a prefix records the ETag alone. `None` for a version without an id.
    pub fn as_listed(&self) -> Option<ObjectVersion> {
        let (e_tag, _) = self.version.split_once('#')?;
        Some(ObjectVersion {
            version: e_tag.to_owned(),
            modified: None,
            ..self.clone()
        })
    }

    /// Names this version uniquely across locations.
    pub fn fingerprint(&self) -> String {
        format!("{}{}@{}", self.location, self.key, self.version)
    }

    /// The object's file name without folders and its last extension (`hired_employees`,
    /// `a.2021` for `a.2021.csv`: files told apart by a dotted part keep it).
    pub fn stem(&self) -> &str {
        let file = self.key.rsplit('/').next().unwrap_or(&self.key);
        file.rsplit_once('.').map_or(file, |(stem, _)| stem)
    }
}

/// The store path of the object at `key`, as the key is: `contrataciones_año.csv` and
/// `a#b.csv` name those objects, as listings, S3 events and other tools spell them.
/// (`Path::from` would percent-encode `ñ`, `#` or `%` into another key.) A key `Path` cannot
/// hold as it is (a control character, a `.` segment: [`check_key`] refuses those from
/// clients) falls back to the encoded form.
pub fn object_path(key: &str) -> Path {
    Path::parse(key).unwrap_or_else(|_| Path::from(key))
}

/// The longest key S3 stores, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// The longest file name of common file systems, in bytes: a longer segment could be stored in
/// S3 but not in a local bucket, so it is refused everywhere alike.
const MAX_SEGMENT_BYTES: usize = 255;

/// Checks that an object key a client sent is a plain relative path (`hired_employees.csv`,
/// `jobs/2024.csv`): no absolute path, no `..` or `.` segment, no empty segment, no backslash
/// or control character, so it cannot name anything outside its bucket; and that every store
/// can hold it (at most 1,024 bytes, 255 per segment).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "a key of {} bytes is longer than {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    if let Some(long) = key
        .split('/')
        .find(|segment| segment.len() > MAX_SEGMENT_BYTES)
    {
        return Err(format!(
            "a key segment of {} bytes is longer than {MAX_SEGMENT_BYTES}",
            long.len()
        ));
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
    use crate::store::S3Settings;

    #[test]
    fn only_a_version_that_names_one_write_is_dated() {
        let meta = |version: Option<&str>| ObjectMeta {
            location: Path::from("jobs.csv"),
            last_modified: Utc::now(),
            size: 3,
            e_tag: Some("\"900150983cd24fb0d6963f7d28e17f72\"".into()),
            version: version.map(str::to_owned),
        };
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:1".into()),
            ..S3Settings::default()
        };
        let s3 = Location::open("s3://globant-landing/", false, &settings).unwrap();
        let bare = ObjectVersion::new(&s3, "jobs.csv", &meta(None));
        assert_eq!(bare.modified, None, "S3's ETag alone is the content's hash");
        let versioned = ObjectVersion::new(&s3, "jobs.csv", &meta(Some("3HL4kqtJ")));
        assert!(versioned.modified.is_some());
        assert_eq!(versioned.as_listed().unwrap().modified, None);
        let suspended = ObjectVersion::new(&s3, "jobs.csv", &meta(Some("null")));
        assert_eq!(suspended.modified, None, "versioning suspended");

        let dir = tempfile::tempdir().unwrap();
        let local = Location::parse(dir.path().to_str().unwrap(), false).unwrap();
        let written = ObjectVersion::new(&local, "jobs.csv", &meta(None));
        assert!(
            written.modified.is_some(),
            "a local ETag holds the write's mtime"
        );
    }

    #[test]
    fn only_plain_relative_keys_pass() {
        let folders = format!("{}/", "d".repeat(254)).repeat(3);
        let longest = format!("jobs/{folders}{}.csv", "k".repeat(250));
        assert_eq!(longest.len(), 1024);
        let plain = [
            "hired_employees.csv",
            "jobs/2024.csv",
            "a b/c..d.csv",
            "jobs/año #1 %.csv",
        ];
        for good in plain.into_iter().chain([longest.as_str()]) {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        let too_long = format!("{longest}x");
        let long_segment = format!("jobs/{}.csv", "s".repeat(252));
        for bad in [
            too_long.as_str(),
            long_segment.as_str(),
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
