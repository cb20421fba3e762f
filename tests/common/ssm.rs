//! The loopback SSM Parameter Store `scripts/services` starts (moto_server on 127.0.0.1:8015),
//! and a parameter prefix of its own for each test.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::types::ParameterType;

/// The server's URL: `CSVGATE_TEST_SSM`, or the one `scripts/services` starts.
pub fn endpoint() -> String {
    std::env::var("CSVGATE_TEST_SSM").unwrap_or_else(|_| "http://127.0.0.1:8015".into())
}

/// A client of `endpoint` as `access_key` (any key will do unless the server checks them).
pub fn client_of(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            access_key, secret_key, None, None, "tests",
        ))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

pub fn client() -> aws_sdk_ssm::Client {
    client_of(&endpoint(), "csvgate", "csvgate-secret")
}

/// A new prefix no other test uses. Panics (never skips) when the server is not running.
pub fn prefix() -> String {
    let address = endpoint().trim_start_matches("http://").to_owned();
    if let Err(error) = std::net::TcpStream::connect(&address) {
        panic!("the SSM server at {address} is not reachable (run scripts/services): {error}");
    }
    format!(
        "/csvgate-t-{}/db",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Stores `value` as `{prefix}/{name}`.
pub async fn put(
    client: &aws_sdk_ssm::Client,
    prefix: &str,
    name: &str,
    value: &str,
    kind: ParameterType,
) {
    client
        .put_parameter()
        .name(format!("{prefix}/{name}"))
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// The MariaDB user `scripts/services` creates for settings read from SSM, and its password:
/// a string found nowhere else, so a test can tell that no output holds it.
pub const USER: &str = "csvgate_ssm";
pub const PASSWORD: &str = "ssm-Secret-4f9c";

/// The first AWS version's parameters for `database` on the test MariaDB: user and password encrypted.
pub async fn put_database(prefix: &str, database: &str) {
    let client = client();
    let plain = ParameterType::String;
    let secure = ParameterType::SecureString;
    put(&client, prefix, "host", "127.0.0.1", plain.clone()).await;
    put(&client, prefix, "port", "3306", plain.clone()).await;
    put(&client, prefix, "name", database, plain).await;
    put(&client, prefix, "user", USER, secure.clone()).await;
    put(&client, prefix, "password", PASSWORD, secure).await;
}

/// The standard AWS environment of a process that reaches both loopback servers: S3 through
/// `AWS_ENDPOINT_URL`, SSM through its own `AWS_ENDPOINT_URL_SSM`.
pub fn env() -> Vec<(&'static str, String)> {
    let mut env = super::s3::env().to_vec();
    env.push(("AWS_ENDPOINT_URL_SSM", endpoint()));
    env
}

/// Gives this test process that environment, for code that reads it in-process (the Lambda
/// handler, `Config::with_ssm`). Every test of a binary that uses it calls it first; the
/// first call sets it before any test reads it, the others wait for that.
pub fn use_env_in_process() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        for (name, value) in env() {
            // SAFETY: inside `call_once`, before any test of this binary reads the
            // environment: every test calls this first, and waits here while it runs.
            unsafe { std::env::set_var(name, value) };
        }
    });
}

/// How many `GetParametersByPath` requests for `prefix` the server has seen since its
/// recording was started ([`start_recording`]).
pub async fn path_requests(prefix: &str) -> usize {
    use base64::Engine;
    let recording = reqwest::get(format!(
        "{}/moto-api/recorder/download-recording",
        endpoint()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let wanted = format!("\"Path\":\"{prefix}\"");
    recording
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|request| request["headers"]["X-Amz-Target"] == "AmazonSSM.GetParametersByPath")
        .filter_map(|request| {
            let body = request["body"].as_str()?.to_owned();
            match request["body_encoded"].as_bool() {
                Some(true) => base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .ok()
                    .map(|bytes| String::from_utf8_lossy(&bytes).replace(' ', "")),
                _ => Some(body.replace(' ', "")),
            }
        })
        .filter(|body| body.contains(&wanted))
        .count()
}

/// Turns on the server's request recording (shared by all tests; never turned off).
pub async fn start_recording() {
    let url = format!("{}/moto-api/recorder/start-recording", endpoint());
    let answer = reqwest::Client::new().post(url).send().await.unwrap();
    assert!(answer.status().is_success());
}
