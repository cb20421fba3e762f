//! S3 buckets, and S3-compatible servers (MinIO, Ceph, s3s-fs), as locations:
//! `s3://bucket/prefix`.
//!
//! Settings come from where an AWS user already keeps them, so an existing set-up just works:
//! credentials from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), else the profile's keys ([`aws_profile`]) or, for a profile that
//! assumes a role, uses SSO or a `credential_process`, the AWS SDK's profile provider
//! ([`sdk_credentials`]), else a web identity token or the container or instance role; the region from `AWS_REGION` / `AWS_DEFAULT_REGION`,
//! else the profile's; `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for a server that is not AWS.
//! `[s3]` in `csvgate.toml` ([`S3Settings`]) overrides each of them.
//!
//! One client is built per bucket and settings and shared by every location inside it, and by
//! the Delta tables there: [`register_delta_handlers`] lets delta-rs open `s3://` tables
//! through the same clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use datafusion::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use datafusion::object_store::path::Path;
use datafusion::object_store::prefix::PrefixStore;
use datafusion::object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use serde::Deserialize;
use url::Url;

use super::sdk_credentials::ProfileCredentials;
use super::{BucketRoot, Location, StoreError, aws_profile};

/// `[s3]` of `csvgate.toml`: overrides of the standard AWS settings, for S3-compatible servers.
#[derive(Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000` [default:
    /// `AWS_ENDPOINT_URL`, else AWS]. Requests are then path-style (`endpoint/bucket/key`).
    pub endpoint: Option<String>,
    /// Allow `http://` endpoints [default: `AWS_ALLOW_HTTP`, else false].
    pub allow_http: Option<bool>,
    /// Region [default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else us-east-1].
    pub region: Option<String>,
    /// Access key; prefer `AWS_ACCESS_KEY_ID` or a role.
    pub access_key_id: Option<String>,
    /// Secret key; prefer `AWS_SECRET_ACCESS_KEY` or a role. Never printed.
    pub secret_access_key: Option<String>,
    /// Session token of temporary keys; prefer `AWS_SESSION_TOKEN`. Never printed.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "****");
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("allow_http", &self.allow_http)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .finish()
    }
}

/// A request is retried this often, within [`RETRY_TIMEOUT`], before its error is reported.
const MAX_RETRIES: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients by bucket and settings.
type Clients = HashMap<(String, S3Settings), Arc<dyn ObjectStore>>;

/// Clients by bucket and settings, shared by every location in them.
fn clients() -> &'static Mutex<Clients> {
    static CLIENTS: OnceLock<Mutex<Clients>> = OnceLock::new();
    CLIENTS.get_or_init(Mutex::default)
}

/// The settings each bucket was opened with, for delta-rs to open tables in it alike.
fn bucket_settings() -> &'static Mutex<HashMap<String, S3Settings>> {
    static SETTINGS: OnceLock<Mutex<HashMap<String, S3Settings>>> = OnceLock::new();
    SETTINGS.get_or_init(Mutex::default)
}

/// The location `url` (`s3://bucket/prefix/`) names.
pub(super) fn open(url: &Url, settings: &S3Settings) -> Result<Location, StoreError> {
    let (_, root) = bucket_root(url, settings)?;
    let prefix = Path::from_url_path(url.path()).map_err(|error| StoreError::Invalid {
        location: url.to_string(),
        reason: error.to_string(),
    })?;
    let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
        root
    } else {
        Arc::new(PrefixStore::new(root, prefix))
    };
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(Location {
        url,
        store,
        s3: Some(Arc::new(settings.clone())),
    })
}

/// The URL of `url`'s bucket (`s3://bucket/`) and its client.
pub(super) fn bucket_root(url: &Url, settings: &S3Settings) -> Result<BucketRoot, StoreError> {
    let bucket = bucket_of(url)?;
    let invalid = |reason: String| StoreError::Invalid {
        location: url.to_string(),
        reason,
    };
    let root = client(&bucket, settings).map_err(invalid)?;
    let root_url = Url::parse(&format!("s3://{bucket}/")).map_err(|e| invalid(e.to_string()))?;
    Ok((root_url, root))
}

fn bucket_of(url: &Url) -> Result<String, StoreError> {
    match url.host_str() {
        Some(bucket) if !bucket.is_empty() => Ok(bucket.to_owned()),
        _ => Err(StoreError::Invalid {
            location: url.to_string(),
            reason: "no bucket: expected s3://BUCKET/prefix".into(),
        }),
    }
}

/// The client for `bucket`, built on first use.
fn client(bucket: &str, settings: &S3Settings) -> Result<Arc<dyn ObjectStore>, String> {
    let key = (bucket.to_owned(), settings.clone());
    let mut clients = clients()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(client) = clients.get(&key) {
        return Ok(Arc::clone(client));
    }
    let client: Arc<dyn ObjectStore> = Arc::new(
        builder(bucket, settings)
            .build()
            .map_err(|error| explain(&error.to_string()))?,
    );
    clients.insert(key, Arc::clone(&client));
    bucket_settings()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(bucket.to_owned(), settings.clone());
    Ok(client)
}

/// The profile's settings, the environment's over them, then `[s3]` over both.
fn builder(bucket: &str, settings: &S3Settings) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
        })
        // Client options set one by one: `with_client_options` would drop the environment's
        // (`AWS_ALLOW_HTTP` among them).
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            format!("{}s", CONNECT_TIMEOUT.as_secs()),
        );
    let aws_profile::Profile {
        settings: profile,
        sourced_elsewhere,
    } = aws_profile::profile();
    let keys_given = settings.access_key_id.is_some() || env_set(&["AWS_ACCESS_KEY_ID"]);
    if !keys_given && profile.access_key_id.is_none() && sourced_elsewhere {
        builder = builder.with_credentials(Arc::new(ProfileCredentials::new()));
    }
    let region_given = settings.region.is_some() || env_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
    let from_profile = |value: &Option<String>, given: bool| value.clone().filter(|_| !given);
    let options = [
        (AmazonS3ConfigKey::Endpoint, settings.endpoint.clone()),
        (
            AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp),
            settings.allow_http.map(|allow| allow.to_string()),
        ),
        (
            AmazonS3ConfigKey::Region,
            (settings.region.clone())
                .or_else(|| from_profile(&profile.region, region_given))
                .or_else(|| (!region_given).then(|| "us-east-1".to_owned())),
        ),
        (
            AmazonS3ConfigKey::AccessKeyId,
            (settings.access_key_id.clone())
                .or_else(|| from_profile(&profile.access_key_id, keys_given)),
        ),
        (
            AmazonS3ConfigKey::SecretAccessKey,
            (settings.secret_access_key.clone())
                .or_else(|| from_profile(&profile.secret_access_key, keys_given)),
        ),
        (
            AmazonS3ConfigKey::Token,
            (settings.session_token.clone())
                .or_else(|| from_profile(&profile.session_token, keys_given)),
        ),
    ];
    for (key, value) in options {
        if let Some(value) = value {
            builder = builder.with_config(key, value);
        }
    }
    builder
}

fn env_set(names: &[&str]) -> bool {
    names.iter().any(|name| std::env::var_os(name).is_some())
}

/// An object-store message with the setting that fixes it, when one is known.
pub(super) fn explain(message: &str) -> String {
    // Connection failures first: a message names the bucket and key, which may hold any
    // digits, so status codes are matched with their reason phrase, never as bare numbers.
    let hint = if message.contains("Connection refused")
        || message.contains("error sending request")
        || message.contains("dns error")
    {
        "the endpoint cannot be reached: check AWS_ENDPOINT_URL (or [s3] endpoint) and the network"
    } else if message.contains("NoSuchBucket") {
        "the bucket does not exist: create it, or check the location's bucket name"
    } else if message.contains("InvalidAccessKeyId")
        || message.contains("SignatureDoesNotMatch")
        || message.contains("AccessDenied")
        || message.contains("403 Forbidden")
        || message.contains("lacked the necessary privileges")
    {
        "access refused: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or [s3] in csvgate.toml, or the role) and the bucket policy"
    } else if message.contains("http://") && message.contains("allow_http") {
        "an http:// endpoint needs AWS_ALLOW_HTTP=true (or [s3] allow_http = true)"
    } else if message.contains("Missing region") || message.contains("MissingRegion") {
        "no region: set AWS_REGION (or [s3] region)"
    } else {
        return message.to_owned();
    };
    format!("{message} ({hint})")
}

/// Lets delta-rs open `s3://` tables through csvgate's clients, with conditional writes for
/// its commits (each commit file is written with `If-None-Match: *`, so of two writers of one
/// version exactly one wins). Safe to call more than once.
pub fn register_delta_handlers() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let scheme = Url::parse("s3://").expect("a valid URL");
        object_store_factories().insert(scheme.clone(), Arc::new(DeltaS3Stores));
        logstore_factories().insert(scheme, Arc::new(ConditionalCommits));
    });
}

/// Root stores of `s3://` URLs for delta-rs: the client of the bucket.
struct DeltaS3Stores;

impl ObjectStoreFactory for DeltaS3Stores {
    fn parse_url_opts(
        &self,
        url: &Url,
        _config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let invalid = |_| DeltaTableError::InvalidTableLocation(url.to_string());
        let bucket = bucket_of(url).map_err(invalid)?;
        let settings = bucket_settings()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&bucket)
            .cloned()
            .unwrap_or_default();
        let root = client(&bucket, &settings).map_err(DeltaTableError::Generic)?;
        let prefix = Path::from_url_path(url.path())
            .map_err(|error| DeltaTableError::Generic(error.to_string()))?;
        Ok((root, prefix))
    }
}

/// Delta's default log store: commits are put-if-absent.
struct ConditionalCommits;

impl LogStoreFactory for ConditionalCommits {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn digits_in_a_bucket_name_are_not_a_status_code() {
        let unreachable = "s3://t-8903b4035858/a.csv: Error performing HEAD http://127.0.0.1:9/t-8903b4035858/a.csv - HTTP error: error sending request";
        assert!(explain(unreachable).contains("AWS_ENDPOINT_URL"));
        let forbidden = "s3://t-1/a.csv: Server returned non-2xx status code: 403 Forbidden: ";
        assert!(explain(forbidden).contains("AWS_SECRET_ACCESS_KEY"));
        let plain = "s3://t-403/a.csv: not found";
        assert_eq!(explain(plain), plain);
    }
}
