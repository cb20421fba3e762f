//! Configuration: flags beat environment, which beats `csvgate.toml`, which beats SSM
//! Parameter Store (against the loopback moto_server); `csvgate config show` names where each
//! value comes from and masks secrets; what a broken setting or parameter says, and how often
//! SSM is asked.

mod common;

use std::path::Path;
use std::process::Output;

use aws_sdk_ssm::types::ParameterType;
use common::cli::{assert_fails_saying, csvgate, text};
use common::s3::output;
use common::ssm::{PASSWORD, USER, client, prefix, put, put_database};
use csvgate::config::{Config, Key, Source};

/// `csvgate args` with `CSVGATE_WAREHOUSE` set to `warehouse`.
fn with_warehouse_env(dir: &Path, args: &[&str], warehouse: &str) -> Output {
    let mut command = common::csvgate_in(dir);
    command.args(args).env("CSVGATE_WAREHOUSE", warehouse);
    command.output().unwrap()
}

#[test]
fn flags_beat_environment_which_beats_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("csvgate.toml"),
        "warehouse = \"from-file\"\n[ingest]\ndelimiter = \";\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("departments.csv"), "1;Sales\n").unwrap();
    let file = csvgate(dir.path(), &["ingest", "departments.csv", "--quiet"]);
    assert!(file.status.success(), "{}", text(&file.stderr));
    assert!(dir.path().join("from-file/departments/_delta_log").is_dir());

    let forced = ["ingest", "departments.csv", "--quiet", "--force"];
    let env = with_warehouse_env(dir.path(), &forced, "from-env");
    assert!(env.status.success());
    assert!(dir.path().join("from-env/departments/_delta_log").is_dir());

    let flag = with_warehouse_env(
        dir.path(),
        &[&forced[..], &["--warehouse", "from-flag"]].concat(),
        "from-env",
    );
    assert!(flag.status.success());
    assert!(dir.path().join("from-flag/departments/_delta_log").is_dir());

    std::fs::write(dir.path().join("csvgate.toml"), "warehous = \"typo\"\n").unwrap();
    let typo = csvgate(dir.path(), &["runs"]);
    assert_fails_saying(&typo, 2, "csvgate.toml: unknown setting `warehous`");
}

#[test]
fn config_show_names_each_source_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = "warehouse = \"/data/wh\"\ntarget = \"mysql://hr:file-pw@db:3306/hr\"\n[ingest]\ndelimiter = \";\"\n";
    std::fs::write(dir.path().join("csvgate.toml"), file).unwrap();
    let shown = common::csvgate_in(dir.path())
        .args(["--landing", "/flag/in", "config", "show", "--format", "csv"])
        .env("CSVGATE_INVALID", "/env/bad")
        .env("CSVGATE_TARGET_PASSWORD", "env-pw")
        .output()
        .unwrap();
    assert!(shown.status.success());
    let csv = text(&shown.stdout);
    for line in [
        "landing,/flag/in,flag",
        "invalid,/env/bad,env (CSVGATE_INVALID)",
        "warehouse,/data/wh,file",
        "target,mysql://hr:****@db:3306/hr,file",
        "target_password,****,env (CSVGATE_TARGET_PASSWORD)",
        "ingest.delimiter,;,file",
        "ingest.header,auto,default",
    ] {
        assert!(
            csv.lines().any(|shown| shown == line),
            "{line} not in\n{csv}"
        );
    }
    assert!(!csv.contains("file-pw") && !csv.contains("env-pw"), "{csv}");
}

/// `csvgate config show --format csv` in `dir` with `args`, the loopback AWS environment and
/// `env`: the (setting, value, source) rows, or the error.
fn config_show(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Vec<(String, String, String)>, String> {
    let mut command = common::s3::csvgate(dir, &[]);
    command
        .args(args)
        .args(["config", "show", "--format", "csv"]);
    command.envs(common::ssm::env()).envs(env.iter().copied());
    let (ok, stdout, stderr) = output(&mut command);
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "{stdout}{stderr}"
    );
    if !ok {
        return Err(stderr);
    }
    let mut rows = csv::Reader::from_reader(stdout.as_bytes());
    Ok(rows
        .records()
        .map(|row| {
            let row = row.unwrap();
            (row[0].to_owned(), row[1].to_owned(), row[2].to_owned())
        })
        .collect())
}

fn setting<'a>(rows: &'a [(String, String, String)], name: &str) -> (&'a str, &'a str) {
    let row = rows.iter().find(|row| row.0 == name).unwrap();
    (&row.1, &row.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_names_each_source_and_flags_beat_env_beat_file_beat_ssm() {
    let prefix = prefix();
    put_database(&prefix, "hr").await;
    let dir = tempfile::tempdir().unwrap();
    // Written as users do, with a trailing slash SSM itself would refuse.
    std::fs::write(
        dir.path().join("csvgate.toml"),
        format!("ssm_prefix = \"{prefix}/\"\n"),
    )
    .unwrap();

    let rows = config_show(dir.path(), &[], &[]).unwrap();
    let url = format!("mysql://{USER}@127.0.0.1:3306/hr");
    assert_eq!(setting(&rows, "target"), (url.as_str(), "ssm"));
    assert_eq!(setting(&rows, "target_password"), ("****", "ssm"));
    let shown_prefix = format!("{prefix}/");
    assert_eq!(
        setting(&rows, "ssm_prefix"),
        (shown_prefix.as_str(), "file")
    );
    assert_eq!(setting(&rows, "ssm.password"), ("password", "default"));

    let file_target = "mysql://file@db:3306/hr";
    std::fs::write(
        dir.path().join("csvgate.toml"),
        format!("ssm_prefix = \"{prefix}\"\ntarget = \"{file_target}\"\n"),
    )
    .unwrap();
    let rows = config_show(dir.path(), &[], &[]).unwrap();
    assert_eq!(setting(&rows, "target"), (file_target, "file"));
    assert_eq!(setting(&rows, "target_password"), ("****", "ssm"));

    let env_target = [("CSVGATE_TARGET", "mysql://env@db:3306/hr")];
    let rows = config_show(dir.path(), &[], &env_target).unwrap();
    assert_eq!(
        setting(&rows, "target"),
        ("mysql://env@db:3306/hr", "env (CSVGATE_TARGET)")
    );

    let flag = ["--target", "mysql://flag@db:3306/hr"];
    let rows = config_show(dir.path(), &flag, &env_target).unwrap();
    assert_eq!(
        setting(&rows, "target"),
        ("mysql://flag@db:3306/hr", "flag")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_plain_secret_and_a_bad_port_are_named_never_shown() {
    let prefix = prefix();
    let dir = tempfile::tempdir().unwrap();
    let ssm = client();
    let plain = ParameterType::String;
    put(&ssm, &prefix, "host", "127.0.0.1", plain.clone()).await;
    put(&ssm, &prefix, "name", "hr", plain.clone()).await;
    put(&ssm, &prefix, "user", USER, ParameterType::SecureString).await;
    let args = ["--ssm-prefix", &prefix];

    let missing = config_show(dir.path(), &args, &[]).unwrap_err();
    assert!(
        missing.contains(&format!("SSM parameter {prefix}/password is missing")),
        "{missing}"
    );

    put(&ssm, &prefix, "password", PASSWORD, plain.clone()).await;
    let wrong_type = config_show(dir.path(), &args, &[]).unwrap_err();
    assert!(
        wrong_type.contains(&format!(
            "SSM parameter {prefix}/password is a String, expected a SecureString"
        )),
        "{wrong_type}"
    );

    put(
        &ssm,
        &prefix,
        "password",
        PASSWORD,
        ParameterType::SecureString,
    )
    .await;
    put(&ssm, &prefix, "port", "33o6", plain).await;
    let bad_port = config_show(dir.path(), &args, &[]).unwrap_err();
    assert!(
        bad_port.contains(&format!("SSM parameter {prefix}/port is not a port number")),
        "{bad_port}"
    );
    assert!(!bad_port.contains("33o6"), "{bad_port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_prefix_and_what_to_allow() {
    let server = DenyingServer::start().await;
    let prefix = prefix();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_ENDPOINT_URL_SSM", server.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", server.key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", server.secret.as_str()),
    ];
    let denied = config_show(dir.path(), &["--ssm-prefix", &prefix], &env).unwrap_err();
    assert!(
        denied.contains(&format!("reading the parameters under {prefix} was denied"))
            && denied.contains("ssm:GetParametersByPath"),
        "{denied}"
    );
    assert!(!denied.contains(&server.secret), "{denied}");
}

/// A moto_server of its own that checks IAM after its first requests: those create a user
/// without any policy, whose key SSM then refuses.
struct DenyingServer {
    child: std::process::Child,
    endpoint: String,
    key_id: String,
    secret: String,
}

impl DenyingServer {
    async fn start() -> DenyingServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let venv = std::env::var("HOME").unwrap() + "/.cache/csvgate-tools/venv/bin/moto_server";
        let child = std::process::Command::new(venv)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "2")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is installed by scripts/services");
        let endpoint = format!("http://127.0.0.1:{port}");
        common::wait_until_listening(
            endpoint.trim_start_matches("http://"),
            "moto_server",
            std::time::Duration::from_secs(15),
        )
        .await;
        iam_request(&endpoint, "CreateUser").await;
        let key = iam_request(&endpoint, "CreateAccessKey").await;
        let field = |name: &str| {
            let start = key.find(&format!("<{name}>")).unwrap() + name.len() + 2;
            let end = key.find(&format!("</{name}>")).unwrap();
            key[start..end].to_owned()
        };
        DenyingServer {
            key_id: field("AccessKeyId"),
            secret: field("SecretAccessKey"),
            child,
            endpoint,
        }
    }
}

impl Drop for DenyingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An IAM query-API call for the user `reader`; unsigned, as the server does not check the
/// first requests.
async fn iam_request(endpoint: &str, action: &str) -> String {
    let authorization = "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
    let answer = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("authorization", authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "Action={action}&UserName=reader&Version=2010-05-08"
        ))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{action}");
    answer.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssm_is_read_once_per_process_a_page_of_ten_at_a_time() {
    common::ssm::use_env_in_process();
    common::ssm::start_recording().await;
    let prefix = prefix();
    put_database(&prefix, "hr").await;
    let ssm = client();
    for n in 0..8 {
        let name = format!("unrelated/{n}");
        put(&ssm, &prefix, &name, "x", ParameterType::String).await;
    }
    let mut config = Config::defaults();
    config.set(Key::SsmPrefix, prefix.clone());
    for _ in 0..3 {
        let resolved = config.clone().with_ssm().await.unwrap();
        assert_eq!(resolved.source(Key::Target), Source::Ssm);
        assert_eq!(resolved.get(Key::TargetPassword), Some(PASSWORD));
    }
    // 13 parameters are two pages, read by the first deployment only.
    assert_eq!(common::ssm::path_requests(&prefix).await, 2);
}
