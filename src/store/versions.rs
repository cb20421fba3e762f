//! The order of one key's versions in a versioned S3 bucket, which `object_store` cannot list:
//! an event may arrive after a newer version of its key was loaded (an async retry, a queue
//! that does not keep order), and loading it then would put older rows over newer ones.
//!
//! S3's `ListObjectVersions` returns a key's versions newest first, whatever their upload
//! times (which have a one-second resolution, too coarse for two quick overwrites).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::s3::{S3Settings, explain};
use super::{Location, ObjectVersion, StoreError};

/// At most this many versions are read per request (S3's own limit).
const PAGE: i32 = 1000;

impl Location {
    /// The versions of `object`'s key newer than it, newest first; none when the location is
    /// not in S3, `object` names no version (an unversioned bucket keeps only the current), or
    /// its version is no longer listed (deleted since: it cannot be placed).
    pub async fn newer_versions(
        &self,
        object: &ObjectVersion,
    ) -> Result<Vec<ObjectVersion>, StoreError> {
        let (Some(settings), Some(version_id)) = (&self.s3, object.version_id()) else {
            return Ok(Vec::new());
        };
        let bucket = self.url.host_str().unwrap_or_default();
        let prefix = percent_encoding::percent_decode_str(self.url.path().trim_start_matches('/'));
        let full_key = format!("{}{}", prefix.decode_utf8_lossy(), object.key);
        let failed = |reason: String| StoreError::Versions {
            location: format!("{}{}", self.url, object.key),
            reason: match reason.starts_with("AccessDenied") {
                true => format!("{reason} (the role needs s3:ListBucketVersions on {bucket})"),
                false => explain(&reason),
            },
        };
        let client = client(settings).await;
        let mut newer = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut request = (client.list_object_versions())
                .bucket(bucket)
                .prefix(&full_key)
                .max_keys(PAGE);
            if let Some((key, version)) = &markers {
                request = request.key_marker(key).version_id_marker(version);
            }
            let page = (request.send().await).map_err(|error| failed(describe(&error)))?;
            // The key's own versions come first, newest first; the longer keys the prefix also
            // matches sort after them.
            for listed in page.versions() {
                if listed.key() != Some(full_key.as_str()) {
                    return Ok(Vec::new());
                }
                if listed.version_id() == Some(version_id) {
                    return Ok(newer);
                }
                newer.push(self.listed_version(object, listed));
            }
            markers = match (page.next_key_marker(), page.next_version_id_marker()) {
                (Some(key), Some(version)) if page.is_truncated() == Some(true) => {
                    Some((key.to_owned(), version.to_owned()))
                }
                _ => return Ok(Vec::new()),
            };
        }
    }

    /// A listed version of `object`'s key as the ledger records versions (as a HEAD of it
    /// would give it).
    fn listed_version(
        &self,
        object: &ObjectVersion,
        listed: &aws_sdk_s3::types::ObjectVersion,
    ) -> ObjectVersion {
        let e_tag = listed.e_tag().unwrap_or_default();
        ObjectVersion {
            location: object.location.clone(),
            key: object.key.clone(),
            version: format!("{e_tag}#{}", listed.version_id().unwrap_or_default()),
            size: listed.size().map_or(0, |size| size.max(0).unsigned_abs()),
            modified: (listed.last_modified())
                .and_then(|at| chrono::DateTime::from_timestamp_millis(at.to_millis().ok()?)),
        }
    }
}

/// S3's error code and message (`AccessDenied: Access Denied`), else the whole chain of a
/// request that got no answer.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// The SDK client for `settings`, built once: the standard AWS chain (environment, profile,
/// role) with `[s3]` over it, path-style when an endpoint is set (a local server).
async fn client(settings: &S3Settings) -> aws_sdk_s3::Client {
    static CLIENTS: OnceLock<Mutex<HashMap<S3Settings, aws_sdk_s3::Client>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(Mutex::default);
    let known = clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(settings)
        .cloned();
    if let Some(client) = known {
        return client;
    }
    let client = build(settings).await;
    clients
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(settings.clone(), client.clone());
    client
}

async fn build(settings: &S3Settings) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        let keys = aws_sdk_s3::config::Credentials::new(
            key,
            secret,
            settings.session_token.clone(),
            None,
            "csvgate.toml [s3]",
        );
        loader = loader.credentials_provider(keys);
    }
    let sdk = loader.load().await;
    let endpoint_set = settings.endpoint.is_some()
        || ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
    let mut config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(endpoint_set);
    if sdk.region().is_none() {
        // The object stores' default too.
        config = config.region(aws_config::Region::new("us-east-1"));
    }
    let config = config.build();
    aws_sdk_s3::Client::from_conf(config)
}
