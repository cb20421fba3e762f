//! A rehearsal of the function as `deploy/aws/template.yaml` deploys it, on local servers only:
//! - the template translated as CloudFormation deploys it (`deploy/aws/translate.py`), with
//!   test names for its buckets and SSM prefix;
//! - its environment exactly as the template sets it, plus only what Lambda itself injects
//!   (region, keys, the runtime API) and the local endpoints;
//! - its S3 permissions exactly as the template grants them: a moto_server of its own with IAM
//!   enforced, the function running with the keys of a user holding the role's statements;
//!   S3 (the landing bucket versioned) and SSM in that moto; the MariaDB that requires TLS as
//!   RDS;
//! - a read-only disk except `/tmp` (bubblewrap), as Lambda's;
//! - invoked through a Lambda runtime API emulator (`cargo lambda watch`) with the events it
//!   meets: the bootstrap, S3 notifications (twice), EventBridge, SQS, SNS, two overwrites of
//!   one versioned key, and the weekly backup;
//! - and deployed with a contract of the user's in a bucket (ContractBucketName): read at cold
//!   start with the one grant the template gives, and refused a start without it.
//!
//! Not enforced here: the 1,024 MB memory limit (a cgroup is not available to the tests) and
//! the SSM and KMS statements (moto checks IAM resources for S3 only; `tests/aws_template.rs`
//! checks those over the template).
#![cfg(feature = "lambda")]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use csvgate::store::{Location, S3Settings};
use serde_json::{Value, json};

/// A child process killed with the test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Keys of one IAM user.
#[derive(Clone)]
struct Keys {
    id: String,
    secret: String,
}

impl Keys {
    fn of(value: &Value) -> Keys {
        let text = |i: usize| value[i].as_str().unwrap().to_owned();
        Keys {
            id: text(0),
            secret: text(1),
        }
    }
}

/// The AWS of the rehearsal: a moto_server that enforces IAM, its administrator, and the
/// function's user.
struct Aws {
    _server: Running,
    endpoint: String,
    admin: Keys,
    function: Keys,
}

impl Aws {
    /// Starts moto, and makes the buckets, the SSM settings of `database` and the function's
    /// user from `translated` (less the statements `omit` names).
    async fn start(translated: &Value, database: &Value, omit: &[&str], contract: &str) -> Aws {
        let port = free_port();
        let server = Command::new(common::venv_tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Running(server);
        common::wait_until_listening(
            &format!("127.0.0.1:{port}"),
            "moto_server with IAM",
            Duration::from_secs(30),
        )
        .await;
        let endpoint = format!("http://127.0.0.1:{port}");
        let setup = tempfile::NamedTempFile::new().unwrap();
        let document = json!({"translated": translated, "database": database, "omit": omit,
            "contract": contract});
        std::fs::write(setup.path(), document.to_string()).unwrap();
        let mut script = Command::new(common::venv_tool("python"));
        script
            .arg("tests/data/rehearsal_aws.py")
            .arg(&endpoint)
            .arg(setup.path());
        let out = common::succeeded(script.current_dir(env!("CARGO_MANIFEST_DIR")));
        let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
        Aws {
            _server: server,
            endpoint,
            admin: Keys::of(&keys["admin"]),
            function: Keys::of(&keys["function"]),
        }
    }

    /// The bucket `s3://name/` as the administrator sees it.
    fn bucket(&self, url: &str) -> Location {
        let settings = S3Settings {
            endpoint: Some(self.endpoint.clone()),
            allow_http: Some(true),
            region: Some("us-east-1".into()),
            access_key_id: Some(self.admin.id.clone()),
            secret_access_key: Some(self.admin.secret.clone()),
            session_token: None,
        };
        Location::open(url, false, &settings).unwrap()
    }
}

/// The function: `csvgate-lambda` on a read-only disk with a writable `/tmp`, behind the
/// runtime API of `cargo lambda watch`, invoked over its invoke API.
struct Function {
    process: std::sync::Mutex<Running>,
    _runtime: Running,
    invoke_url: String,
    log: tempfile::NamedTempFile,
}

impl Function {
    async fn start(variables: &Value, aws: &Aws) -> Function {
        let port = free_port();
        let runtime = Command::new(common::venv_tool("cargo-lambda"))
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-P",
                &port.to_string(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let runtime = Running(runtime);
        common::wait_until_listening(
            &format!("127.0.0.1:{port}"),
            "cargo lambda watch",
            Duration::from_secs(30),
        )
        .await;
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut bwrap = Command::new("bwrap");
        bwrap.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        bwrap.args(["--tmpfs", "/tmp", "--chdir", "/", "--die-with-parent"]);
        bwrap.arg(env!("CARGO_BIN_EXE_csvgate-lambda"));
        bwrap.env_clear();
        for (name, value) in variables.as_object().unwrap() {
            bwrap.env(name, value.as_str().unwrap());
        }
        let injected = [
            (
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", "_".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", aws.function.id.clone()),
            ("AWS_SECRET_ACCESS_KEY", aws.function.secret.clone()),
            ("AWS_ENDPOINT_URL", aws.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ];
        bwrap.envs(injected);
        let function = bwrap
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("bubblewrap (apt-get install bubblewrap; scripts/services installs it)");
        Function {
            process: std::sync::Mutex::new(Running(function)),
            _runtime: runtime,
            invoke_url: format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations"),
            log,
        }
    }

    /// The function's answer to `event`, or its error; fails at once, with the function's log,
    /// if the function ends meanwhile.
    async fn invoke(&self, event: &Value) -> Value {
        let request = reqwest::Client::new()
            .post(&self.invoke_url)
            .json(event)
            .timeout(Duration::from_secs(900))
            .send();
        tokio::pin!(request);
        let answer = loop {
            tokio::select! {
                answer = &mut request => break answer.unwrap(),
                () = tokio::time::sleep(Duration::from_millis(200)) => self.check_running(),
            }
        };
        let text = answer.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}\n{}", self.log()))
    }

    fn check_running(&self) {
        let ended = self.process.lock().unwrap().0.try_wait().unwrap();
        if let Some(status) = ended {
            panic!("the function ended ({status}):\n{}", self.log());
        }
    }

    /// The function's log once it has ended by itself (a cold start that failed).
    async fn ended(&self) -> String {
        let what = "the function to end";
        common::eventually(Duration::from_secs(30), what, || async {
            let ended = self.process.lock().unwrap().0.try_wait().unwrap();
            ended.map(|_| ()).ok_or_else(|| "still running".to_owned())
        })
        .await;
        self.log()
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        format!("the function's log:\n{log}")
    }
}

const RETAIL_CONTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/contracts/retail.odcs.yaml"
);

/// The statuses of an answer's records.
fn statuses(answer: &Value) -> Vec<String> {
    let records = answer["records"].as_array();
    let records = records.unwrap_or_else(|| panic!("no records in {answer}"));
    (records.iter())
        .map(|record| record["status"].as_str().unwrap().to_owned())
        .collect()
}

/// An S3 notification of `key` (and its version) in `bucket`.
fn notification(bucket: &str, key: &str, version: Option<&str>) -> Value {
    let mut record = common::s3::put_record(bucket, key);
    if let Some(version) = version {
        record["s3"]["object"]["versionId"] = version.into();
    }
    json!({ "Records": [record] })
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(name)).unwrap()
}

fn event_fixture(name: &str) -> Value {
    let path = common::fixtures().join("events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The template with test names (and `more` parameters), as CloudFormation deploys it.
fn translated(id: &str, more: &[String]) -> Value {
    let mut names = vec![
        format!("LandingBucketName=rehearsal-landing-{id}"),
        format!("InvalidBucketName=rehearsal-invalid-{id}"),
        format!("BackupBucketName=rehearsal-backups-{id}"),
        format!("SsmPrefix=/rehearsal-{id}/db"),
        "VpcId=vpc-0123".into(),
        "PrivateSubnetIds=subnet-a,subnet-b".into(),
    ];
    names.extend_from_slice(more);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    common::deploy_files::deployed(&names)
}

fn bucket_of(variables: &Value, variable: &str) -> String {
    let url = variables[variable].as_str().unwrap();
    url.trim_start_matches("s3://")
        .trim_end_matches('/')
        .to_owned()
}

/// One deployment of the template: its AWS (with the function's grants less `omit`), its
/// database (on the TLS server, as RDS) and the function, started.
struct Rehearsal {
    database: String,
    landing: String,
    aws: Aws,
    function: Function,
}

impl Rehearsal {
    async fn deploy(omit: &[&str]) -> Rehearsal {
        Rehearsal::deploy_with(omit, None).await
    }

    /// With `contract`'s text in a bucket of its own, named by the template's parameters.
    async fn deploy_with(omit: &[&str], contract: Option<&str>) -> Rehearsal {
        let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let parameters = match contract {
            Some(_) => vec![
                format!("ContractBucketName=rehearsal-contracts-{id}"),
                "ContractKey=contracts/retail.odcs.yaml".into(),
            ],
            None => Vec::new(),
        };
        let translated = translated(&id, &parameters);
        let function = &translated["Resources"]["CsvgateFunction"]["Properties"];
        let variables = &function["Environment"]["Variables"];
        let database = common::tls_mysql_database().await;
        let settings = json!({"host": "127.0.0.1", "port": 3307, "name": database,
            "user": "csvgate", "password": "csvgate"});
        let aws = Aws::start(&translated, &settings, omit, contract.unwrap_or_default()).await;
        Rehearsal {
            landing: bucket_of(variables, "CSVGATE_LANDING"),
            function: Function::start(variables, &aws).await,
            database,
            aws,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_runs_as_the_template_deploys_it() {
    let Rehearsal {
        database,
        landing,
        aws,
        function,
    } = Rehearsal::deploy(&[]).await;
    let put = |key: &'static str, bytes: Vec<u8>| {
        let location = aws.bucket(&format!("s3://{landing}/"));
        async move {
            common::s3::put(&location, key, bytes).await;
            location
                .head(key)
                .await
                .unwrap()
                .version_id()
                .unwrap()
                .to_owned()
        }
    };

    // The one-time bootstrap: the schema, over TLS (the template's DbTls = required).
    let answer = function.invoke(&json!({"csvgate": "db-init"})).await;
    assert!(answer["schema_version"].is_u64(), "{answer}");

    // A direct notification, and the same one again.
    put("departments.csv", fixture("departments.csv")).await;
    let event = notification(&landing, "departments.csv", None);
    assert_eq!(statuses(&function.invoke(&event).await), ["done"]);
    assert_eq!(statuses(&function.invoke(&event).await), ["skipped"]);

    // EventBridge's Object Created.
    let version = put("jobs.csv", fixture("jobs.csv")).await;
    let mut eventbridge = event_fixture("eventbridge_object_created.json");
    eventbridge["detail"]["bucket"]["name"] = landing.clone().into();
    eventbridge["detail"]["object"]["key"] = "jobs.csv".into();
    eventbridge["detail"]["object"]["version-id"] = version.into();
    assert_eq!(statuses(&function.invoke(&eventbridge).await), ["done"]);

    // An SQS batch: an object's notification and S3's test event.
    put("hired_employees.csv", fixture("hired_employees.csv")).await;
    let mut batch = event_fixture("sqs.json");
    let body = notification(&landing, "hired_employees.csv", None).to_string();
    batch["Records"][0]["body"] = body.into();
    let answer = function.invoke(&batch).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));

    // SNS, then two quick overwrites of one versioned key, in order.
    let first = put(
        "departments_2.csv",
        b"13,Legal\n14,Sales\n15,Audit\n".to_vec(),
    )
    .await;
    let second = put("departments_2.csv", b"16,Tax\n".to_vec()).await;
    let mut sns = event_fixture("sns.json");
    let message = notification(&landing, "departments_2.csv", Some(&first)).to_string();
    sns["Records"][0]["Sns"]["Message"] = message.into();
    assert_eq!(statuses(&function.invoke(&sns).await), ["done"]);
    let event = notification(&landing, "departments_2.csv", Some(&second));
    assert_eq!(statuses(&function.invoke(&event).await), ["done"]);
    // Two more, whose events arrive out of order (an async retry, an unordered queue): the
    // older one, met after the newer was loaded, is skipped as superseded.
    let third = put("departments_2.csv", b"17,Risk\n".to_vec()).await;
    let fourth = put("departments_2.csv", b"18,Ops\n".to_vec()).await;
    let event = notification(&landing, "departments_2.csv", Some(&fourth));
    assert_eq!(statuses(&function.invoke(&event).await), ["done"]);
    let late = function
        .invoke(&notification(&landing, "departments_2.csv", Some(&third)))
        .await;
    assert_eq!(statuses(&late), ["skipped"], "{late}");
    let reason = late["records"][0]["error"].as_str().unwrap_or_default();
    assert!(reason.starts_with("superseded"), "{late}");

    // The weekly backup writes its snapshots and prunes with the template's grants.
    let answer = function.invoke(&json!({"csvgate": "backup"})).await;
    assert_eq!(
        answer["backups"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );

    // What the database holds: every row of every version, loaded over TLS.
    let url = format!("{}/{database}", common::TLS_SERVER);
    let mysql = csvgate::sink::mysql::MysqlTarget::with_tls(
        &url,
        None,
        &csvgate::sink::mysql::TlsMode::Required,
        std::sync::Arc::new(csvgate::dictionary::Dictionary::hr()),
    )
    .unwrap();
    let rows = [
        ("departments", 17),
        ("jobs", 183),
        ("hired_employees", 1929),
    ];
    common::assert_row_counts(&mysql, &rows).await;
    // It ran on a read-only disk throughout: a write outside /tmp would have failed an
    // invocation (or, at cold start, ended the function, which `invoke` reports).
}

/// The grants are exactly enough: without the statement that lets it list its backups, the
/// weekly job fails (it prunes by listing) and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_one_statement_the_job_that_needs_it_fails() {
    let rehearsal = Rehearsal::deploy(&["ListBackups"]).await;
    let function = &rehearsal.function;
    let answer = function.invoke(&json!({"csvgate": "db-init"})).await;
    assert!(answer["schema_version"].is_u64(), "{answer}");
    let answer = function.invoke(&json!({"csvgate": "backup"})).await;
    let error = answer["errorMessage"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(error.starts_with("backup: "), "{error}");
    assert!(
        error.contains("403") || error.contains("denied") || error.contains("Denied"),
        "{error}"
    );
}

/// The user's contract, read from S3 with the template's one grant: the bootstrap makes its
/// tables, a file of it is judged by its rules, and the ledger names the contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_enforces_the_contract_it_reads_from_s3() {
    let contract = std::fs::read_to_string(RETAIL_CONTRACT);
    let contract = contract.unwrap();
    let Rehearsal {
        database,
        landing,
        aws,
        function,
    } = Rehearsal::deploy_with(&[], Some(&contract)).await;
    let answer = function.invoke(&json!({"csvgate": "db-init"})).await;
    let version = csvgate::sink::mysql::ddl::SCHEMA_VERSION;
    assert_eq!(answer["schema_version"], version, "{answer}");
    let customers = "C0001,Ann,ann@shop.example,vip,2024-01-02\n\
                     C0002,Bob,,retail,2024-02-03\n\
                     X1,Eve,,retail,2024-03-04\n";
    let location = aws.bucket(&format!("s3://{landing}/"));
    common::s3::put(&location, "customers.csv", customers.as_bytes().to_vec()).await;
    let answer = function
        .invoke(&notification(&landing, "customers.csv", None))
        .await;
    assert_eq!(statuses(&answer), ["done"], "{answer}");
    let url = format!("{}/{database}", common::TLS_SERVER);
    let mysql = csvgate::sink::mysql::MysqlTarget::with_tls(
        &url,
        None,
        &csvgate::sink::mysql::TlsMode::Required,
        std::sync::Arc::new(
            csvgate::contract::Contract::parse(&contract, "retail")
                .unwrap()
                .dictionary,
        ),
    )
    .unwrap();
    common::assert_row_counts(&mysql, &[("customers", 2)]).await;
    let stamped: Vec<(String, String)> = mysql
        .query("SELECT contract_id, contract_version FROM csvgate_runs WHERE status = 'done'")
        .await
        .unwrap();
    assert_eq!(stamped, [("retail-example".to_owned(), "1.0.0".to_owned())]);
}

/// Without the statement that lets it read its contract, the function does not start, and
/// its log says which contract it could not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_contract_the_function_does_not_start() {
    let contract = std::fs::read_to_string(RETAIL_CONTRACT);
    let rehearsal = Rehearsal::deploy_with(&["ReadContract"], Some(&contract.unwrap())).await;
    let log = rehearsal.function.ended().await;
    assert!(log.contains("contracts/retail.odcs.yaml"), "{log}");
    assert!(
        log.contains("403") || log.contains("denied") || log.contains("Denied"),
        "{log}"
    );
}
