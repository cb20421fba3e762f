//! The deployment of the first AWS version's architecture. Its container files, the Dockerfile
//! and compose.yaml, checked by their linters (installed by `scripts/services`) and read for
//! what a skeleton would lack (the SAM template has `tests/aws_template.rs`). Its whole flow on loopback, once per trigger: the
//! database settings in SSM Parameter Store (moto_server), the landing and invalid-data
//! buckets in S3 (s3s-fs), MariaDB as the target, csvgate configured with nothing but the SSM
//! prefix, the buckets, the AWS environment and an API key.
//! (a) Objects put straight into the landing bucket, announced by an S3 event notification to
//!     the Lambda handler (in-process) and to `POST /events/s3` of a running `serve`.
//! (b) The first AWS version's own upload: `curl --request PUT` of each file against `serve`.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_ssm::types::ParameterType;
use common::deploy_files::{passes, yaml};
use common::server::{KEY, Server, client, get_json, send, wait_for_run};
use csvgate::config::{Config, Key};
use csvgate::deployment::Deployment;
use csvgate::dictionary::Dictionary;
use csvgate::sink::mysql::MysqlTarget;
use datafusion::object_store::ObjectStoreExt;
use datafusion::object_store::path::Path as ObjectKey;
use futures::TryStreamExt;
use serde_json::{Value, json};
use tracing::instrument::WithSubscriber;

#[test]
fn the_dockerfile_passes_hadolint() {
    passes("hadolint", &["Dockerfile"]).unwrap();
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    for line in ["USER 10001", "HEALTHCHECK", "CMD [\"serve\""] {
        assert!(dockerfile.contains(line), "{line}");
    }
}

#[test]
fn compose_wires_mariadb_s3_and_csvgate() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_object().unwrap();
    for name in ["mariadb", "s3", "csvgate"] {
        assert!(services.contains_key(name), "{name}");
    }
    let environment = &services["csvgate"]["environment"];
    assert_eq!(environment["AWS_ENDPOINT_URL"], "http://s3:9000");
    assert_eq!(
        environment["CSVGATE_TARGET"],
        "mysql://csvgate@mariadb:3306/hr"
    );
}

const FILES: [&str; 3] = ["departments.csv", "jobs.csv", "hired_employees.csv"];

/// One seed deployment: its SSM prefix, buckets, database and working folder.
struct Seed {
    prefix: String,
    landing: String,
    invalid: String,
    database: String,
    dir: tempfile::TempDir,
}

impl Seed {
    /// The parameters in SSM (user and password as SecureString), an empty database, and two
    /// empty buckets; the schema is created by `csvgate db init`, configured through SSM.
    async fn new() -> Seed {
        common::ssm::use_env_in_process();
        let seed = Seed {
            prefix: common::ssm::prefix(),
            landing: common::s3::bucket(),
            invalid: common::s3::bucket(),
            database: common::empty_mysql_database().await,
            dir: tempfile::tempdir().unwrap(),
        };
        common::ssm::put_database(&seed.prefix, &seed.database).await;
        let (ok, stdout, stderr) = seed.cli(&["db", "init"]);
        assert!(ok, "{stdout}{stderr}");
        seed
    }

    /// The global flags: buckets and the SSM prefix, no MySQL setting.
    fn flags(&self) -> Vec<String> {
        let warehouse = self.dir.path().join("warehouse");
        [
            "--landing".into(),
            format!("s3://{}/", self.landing),
            "--invalid".into(),
            format!("s3://{}/", self.invalid),
            "--warehouse".into(),
            warehouse.to_string_lossy().into_owned(),
            "--ssm-prefix".into(),
            self.prefix.clone(),
        ]
        .into()
    }

    fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut command = common::s3::csvgate(self.dir.path(), &[]);
        command
            .args(self.flags())
            .args(args)
            .envs(common::ssm::env());
        common::s3::output(&mut command)
    }

    fn serve(&self) -> Server {
        let flags = self.flags();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        Server::start_with_env(self.dir.path(), &flags, &common::ssm::env())
    }

    /// The deployment the Lambda builds: the same flags, as `CSVGATE_*` variables would give.
    async fn lambda_deployment(&self) -> Deployment {
        let config = self.lambda_config().with_ssm().await.unwrap();
        Deployment::open(config.with_contract().await.unwrap()).unwrap()
    }

    fn lambda_config(&self) -> Config {
        let flags = self.flags();
        let mut config = Config::defaults();
        config.set(Key::Landing, flags[1].clone());
        config.set(Key::Invalid, flags[3].clone());
        config.set(Key::Warehouse, flags[5].clone());
        config.set(Key::SsmPrefix, self.prefix.clone());
        config
    }

    /// The target, reached with the test's own MariaDB settings, to check what csvgate did.
    fn mysql(&self) -> MysqlTarget {
        let url = format!("{}/{}", common::mysql_server(), self.database);
        MysqlTarget::new(&url, None, Arc::new(Dictionary::hr())).unwrap()
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(name)).unwrap()
}

/// An `ObjectCreated:Put` notification of the landing bucket's objects `keys`, with the size
/// and ETag their HEAD responses give, as S3 would send it.
async fn event_from_heads(bucket: &str, keys: &[&str]) -> Value {
    let landing = common::s3::location(bucket, "");
    let mut records = Vec::new();
    for key in keys {
        let head = landing.store.head(&ObjectKey::from(*key)).await.unwrap();
        let mut record = common::s3::put_record(bucket, key);
        let object = &mut record["s3"]["object"];
        object["size"] = head.size.into();
        object["eTag"] = head.e_tag.unwrap().trim_matches('"').into();
        records.push(record);
    }
    json!({ "Records": records })
}

/// Log lines written while a future runs, captured as the Lambda's JSON logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// What both flows must end with: the invalid rows in the invalid bucket, the rows in
/// MariaDB, each object `done` once, and the served reports equal to the CLI's.
async fn assert_seed_outcome(seed: &Seed, server: &Server) {
    let mysql = seed.mysql();
    let rows = [
        ("departments", 12),
        ("jobs", 183),
        ("hired_employees", 1929),
    ];
    common::assert_row_counts(&mysql, &rows).await;
    let done = mysql
        .query::<(String, u64, u64)>(
            "SELECT object_key, COUNT(*), SUM(rows_invalid) FROM csvgate_runs WHERE status = 'done' GROUP BY object_key ORDER BY object_key",
        )
        .await
        .unwrap();
    let expected = [
        ("departments.csv", 0),
        ("hired_employees.csv", 70),
        ("jobs.csv", 0),
    ]
    .map(|(key, invalid)| (key.to_owned(), 1, invalid));
    assert_eq!(done, expected, "each object done exactly once");

    let invalid = common::s3::location(&seed.invalid, "");
    let objects: Vec<_> = invalid.store.list(None).try_collect().await.unwrap();
    assert_eq!(objects.len(), 1, "{objects:?}");
    let key = objects[0].location.as_ref().to_owned();
    assert!(key.starts_with("hired_employees/hired_employees."), "{key}");
    let rejected = common::s3::get(&invalid, &key).await;
    let mut rows = csv::Reader::from_reader(rejected.as_slice());
    assert_eq!(rows.records().count(), 70);

    for (path, report) in [
        ("/reports/hires-by-quarter", "q1"),
        ("/reports/departments-above-mean", "q2"),
    ] {
        let served = get_json(server, path).await;
        let (ok, printed, stderr) = seed.cli(&["report", report, "--format", "json"]);
        assert!(ok, "{stderr}");
        let printed: Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(served, printed, "{report}");
        assert!(!served.as_array().unwrap().is_empty(), "{report}");
    }
    let logs = server.stderr.lock().unwrap().clone();
    assert!(!logs.contains(common::ssm::PASSWORD), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_put_into_s3_load_through_their_event_in_the_lambda_and_the_server() {
    let seed = Seed::new().await;
    let landing = common::s3::location(&seed.landing, "");
    for name in FILES {
        common::s3::put(&landing, name, fixture(name)).await;
    }
    let event = event_from_heads(&seed.landing, &FILES).await;

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = csvgate::logs::json_lines(csvgate::lambda::LOG_FILTER, move || writer.clone());
    let handled = async {
        let deployment = seed.lambda_deployment().await;
        csvgate::lambda::handle(&deployment, event.clone()).await
    }
    .with_subscriber(subscriber)
    .await
    .unwrap();
    let statuses: Vec<&Value> = handled["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| &record["status"])
        .collect();
    assert_eq!(statuses, ["done", "done", "done"], "{handled}");
    assert_lambda_logs(&logs.lines());

    let server = seed.serve();
    let answer = send(
        client().post(server.url("/events/s3")),
        "application/json",
        event.to_string(),
    )
    .await;
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    let answer: Value = answer.json().await.unwrap();
    for record in answer["records"].as_array().unwrap() {
        let run = format!("/runs/{}", record["run_id"].as_str().unwrap());
        let run = wait_for_run(&server, &run).await;
        assert_eq!(
            run["status"], "skipped",
            "already done by the Lambda: {run}"
        );
    }
    assert_seed_outcome(&seed, &server).await;
}

/// One JSON line per object processed, each with its run id; no line holds the password.
fn assert_lambda_logs(lines: &[Value]) {
    let processed: Vec<&Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "object processed")
        .collect();
    assert_eq!(processed.len(), 3, "{lines:?}");
    for line in processed {
        let run_id = line["span"]["run_id"].as_str().unwrap_or_default();
        assert!(!run_id.is_empty(), "{line}");
        assert_eq!(line["fields"]["status"], "done", "{line}");
    }
    let all = format!("{lines:?}");
    assert!(!all.contains(common::ssm::PASSWORD), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_curl_uploads_load_through_the_server() {
    let seed = Seed::new().await;
    let server = seed.serve();
    let mut runs = Vec::new();
    for name in FILES {
        let url = server.url(&format!("/{}/{name}", seed.landing));
        let file = common::fixtures().join(name);
        let answer = curl_put(&url, &file);
        runs.push(answer["run_id"].as_str().unwrap().to_owned());
    }
    for run in runs {
        let run = wait_for_run(&server, &format!("/runs/{run}")).await;
        assert_eq!(run["status"], "done", "{run}");
    }
    let landing = common::s3::location(&seed.landing, "");
    for name in FILES {
        assert_eq!(common::s3::get(&landing, name).await, fixture(name));
    }
    assert_seed_outcome(&seed, &server).await;
}

/// The seed README's upload, with the API key: `curl --request PUT … --data-binary @file`.
fn curl_put(url: &str, file: &Path) -> Value {
    let out = std::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--fail-with-body",
            "--request",
            "PUT",
        ])
        .args([
            "-H",
            "Content-Type: */csv",
            "-H",
            &format!("x-api-key: {KEY}"),
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(url)
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{body}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&body).unwrap()
}

/// The bootstrap's least-privilege user: made through the function by the master user (here
/// the SSM user), its generated password kept only in SSM as a SecureString; the function
/// reading those parameters loads with it, and cannot change the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_makes_an_app_user_that_loads_but_cannot_change_the_schema() {
    let seed = Seed::new().await;
    let deployment = seed.lambda_deployment().await;
    let name = format!("app_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let request = json!({"csvgate": "db-init", "app_user": name});
    let answer = csvgate::lambda::handle(&deployment, request).await.unwrap();
    let stored = ["app/user", "app/password"].map(|p| format!("{}/{p}", seed.prefix));
    assert_eq!(answer["ssm_parameters"], json!(stored), "{answer}");
    let ssm = common::ssm::client();
    let mut values = Vec::new();
    for parameter in &stored {
        let got = ssm
            .get_parameter()
            .name(parameter)
            .with_decryption(true)
            .send();
        let parameter = got.await.unwrap().parameter.unwrap();
        assert_eq!(parameter.r#type, Some(ParameterType::SecureString));
        values.push(parameter.value.unwrap());
    }
    assert_eq!(values[0], name);
    assert_eq!(values[1].len(), 64);
    assert!(!answer.to_string().contains(&values[1]), "{answer}");

    // A new process told to use them (CSVGATE_SSM_USER, CSVGATE_SSM_PASSWORD), as the
    // function is after its redeploy with DbUser=app: SSM is read once per process.
    let as_app = |args: &[&str]| {
        let mut command = common::s3::csvgate(seed.dir.path(), &[]);
        command
            .args(seed.flags())
            .args(args)
            .envs(common::ssm::env());
        command.env("CSVGATE_SSM_USER", csvgate::bootstrap::APP_USER);
        command.env("CSVGATE_SSM_PASSWORD", csvgate::bootstrap::APP_PASSWORD);
        common::s3::output(&mut command)
    };
    let (ok, shown, stderr) = as_app(&["config", "show"]);
    assert!(
        ok && shown.contains(&format!("mysql://{name}@")),
        "{shown}{stderr}"
    );
    let landing = common::s3::location(&seed.landing, "");
    common::s3::put(&landing, "departments.csv", fixture("departments.csv")).await;
    let object = format!("s3://{}/departments.csv", seed.landing);
    let (ok, stdout, stderr) = as_app(&["ingest", &object]);
    assert!(ok, "{stdout}{stderr}");
    common::assert_row_counts(&seed.mysql(), &[("departments", 12)]).await;
    let url = format!(
        "mysql://{name}:{}@127.0.0.1:3306/{}",
        values[1], seed.database
    );
    let mysql = MysqlTarget::new(&url, None, Arc::new(Dictionary::hr())).unwrap();
    let refused = mysql.query::<u64>("DROP TABLE jobs").await.unwrap_err();
    assert!(
        refused.to_string().contains("DROP command denied"),
        "{refused}"
    );
}
