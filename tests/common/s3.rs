//! The loopback S3 server `scripts/services` starts (s3s-fs on 127.0.0.1:8014), and a bucket
//! of its own for each test.
//!
//! Tests that open Delta tables on S3 run on a multi-thread runtime (why: `csvgate`'s
//! `# Runtime`).

use std::path::PathBuf;

use csvgate::config::Key;
use csvgate::store::{Location, S3Settings};
use datafusion::object_store::ObjectStoreExt;

const ACCESS_KEY: &str = "csvgate";
const SECRET_KEY: &str = "csvgate-secret";

/// The server's URL: `CSVGATE_TEST_S3`, or the one `scripts/services` starts.
pub fn endpoint() -> String {
    std::env::var("CSVGATE_TEST_S3").unwrap_or_else(|_| "http://127.0.0.1:8014".into())
}

/// Settings that reach the server.
pub fn settings() -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint()),
        allow_http: Some(true),
        region: Some("us-east-1".into()),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
        session_token: None,
    }
}

/// The standard AWS environment of a csvgate process that reaches the server.
pub fn env() -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
    ]
}

/// A new empty bucket: s3s-fs serves each folder of its root as a bucket. Panics (never
/// skips) when the server is not running.
pub fn bucket() -> String {
    let address = endpoint().trim_start_matches("http://").to_owned();
    if let Err(error) = std::net::TcpStream::connect(&address) {
        panic!("the S3 server at {address} is not reachable (run scripts/services): {error}");
    }
    let root = std::env::var_os("CSVGATE_S3_ROOT").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/csvgate-s3"),
        PathBuf::from,
    );
    let name = format!(
        "csvgate-t-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    std::fs::create_dir_all(root.join(&name)).unwrap();
    name
}

/// A sandbox whose three buckets are prefixes of `bucket`.
pub fn sandbox(bucket: &str) -> super::Sandbox {
    super::Sandbox::with_config(|config| {
        config.set(Key::Landing, format!("s3://{bucket}/landing"));
        config.set(Key::Invalid, format!("s3://{bucket}/invalid"));
        config.set(Key::Warehouse, format!("s3://{bucket}/warehouse"));
        config.set_s3(&settings());
    })
}

/// The location `s3://{bucket}/{prefix}`.
pub fn location(bucket: &str, prefix: &str) -> Location {
    Location::open(&format!("s3://{bucket}/{prefix}"), false, &settings()).unwrap()
}

/// Stores `bytes` at `key` of `location`.
pub async fn put(location: &Location, key: &str, bytes: Vec<u8>) {
    location
        .store
        .put(&csvgate::store::object_path(key), bytes.into())
        .await
        .unwrap();
}

/// The object at `key` of `location`.
pub async fn get(location: &Location, key: &str) -> Vec<u8> {
    let found = location
        .store
        .get(&csvgate::store::object_path(key))
        .await
        .unwrap();
    found.bytes().await.unwrap().to_vec()
}

/// The fixture files, put into `s3://{bucket}/landing/`.
pub async fn land_fixtures(bucket: &str) {
    let landing = location(bucket, "landing");
    for name in ["departments.csv", "jobs.csv", "hired_employees.csv"] {
        let bytes = std::fs::read(super::fixtures().join(name)).unwrap();
        put(&landing, name, bytes).await;
    }
}

/// The `ObjectCreated:Put` record of `fixtures/events/put.json`, about `key` in `bucket`.
pub fn put_record(bucket: &str, key: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(super::fixtures().join("events/put.json")).unwrap();
    let template: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut record = template["Records"][0].clone();
    record["s3"]["bucket"]["name"] = bucket.into();
    record["s3"]["bucket"]["arn"] = format!("arn:aws:s3:::{bucket}").into();
    record["s3"]["object"]["key"] = key.into();
    record
}

/// `csvgate args` in `dir` with the AWS environment that reaches the loopback server, and
/// none of the CSVGATE_* settings of the calling shell.
pub fn csvgate(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = super::csvgate_in(dir);
    command.args(args).envs(env());
    command
}

pub fn output(command: &mut std::process::Command) -> (bool, String, String) {
    let out = command.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// moto_server, the SSM server `scripts/services` starts, which speaks S3 too. Its
/// `If-None-Match: *` check and write happen under one lock; s3s-fs checks for the object, then
/// writes it, so two processes committing one Delta version at the same instant can both
/// succeed there. Tests of concurrent writers use moto.
pub const MOTO: &str = "http://127.0.0.1:8015";

/// A new empty bucket on moto.
pub async fn moto_bucket() -> String {
    let name = format!(
        "csvgate-m-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let created = reqwest::Client::new()
        .put(format!("{MOTO}/{name}"))
        .send()
        .await
        .unwrap_or_else(|error| panic!("moto_server at {MOTO} (run scripts/services): {error}"));
    assert!(
        created.status().is_success(),
        "creating bucket {name}: {}",
        created.status()
    );
    name
}

/// The fixture files, put into `s3://{bucket}/landing/` on moto.
pub async fn land_fixtures_on_moto(bucket: &str) {
    let settings = S3Settings {
        endpoint: Some(MOTO.into()),
        ..settings()
    };
    let landing = Location::open(&format!("s3://{bucket}/landing"), false, &settings).unwrap();
    for name in ["departments.csv", "jobs.csv", "hired_employees.csv"] {
        let bytes = std::fs::read(super::fixtures().join(name)).unwrap();
        put(&landing, name, bytes).await;
    }
}
