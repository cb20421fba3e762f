//! A throw-away csvgate deployment in a temporary folder, driven through the library.
#![allow(dead_code)]

pub mod backups;
pub mod cli;
pub mod deploy_files;
pub mod moved;
pub mod rollups;
pub mod s3;
pub mod server;
pub mod ssm;
pub mod uploads;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use csvgate::config::{Config, Key};
use csvgate::deployment::Deployment;
use csvgate::dictionary::Dictionary;
use csvgate::ledger::{Entry, Status};
use csvgate::pipeline::{IngestOptions, Pipeline};
use csvgate::sink::Target;
use csvgate::sink::delta::DeltaTarget;
use csvgate::sink::mysql::MysqlTarget;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use mysql_async::prelude::Queryable;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub pipeline: Arc<Pipeline>,
    /// The sandbox's Delta warehouse (the pipeline's target unless another was configured).
    pub target: DeltaTarget,
}

impl Sandbox {
    /// Every bucket a folder of a temporary directory, loading into the Delta warehouse.
    pub fn new() -> Sandbox {
        Self::with_config(|_| {})
    }

    /// A sandbox whose deployment is built, as the CLI and the server build theirs, from the
    /// folders' configuration changed by `edit` (say, a MySQL target).
    pub fn with_config(edit: impl FnOnce(&mut Config)) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        edit(&mut config);
        let deployment = Deployment::open(config).unwrap();
        Sandbox {
            dir,
            pipeline: deployment.pipeline,
            target: deployment.engines.warehouse,
        }
    }

    /// A sandbox loading into the MySQL database at `url`, with the Delta warehouse mirrored.
    pub fn mysql_mirrored(url: &str) -> Sandbox {
        Self::with_config(|config| {
            config.set(Key::Target, url);
            config.set(Key::MirrorParquet, "true");
        })
    }

    /// A sandbox loading into `target` instead, for targets set up in ways a configuration
    /// does not say (a MySQL target without `LOCAL INFILE`).
    pub fn with_target(target: Arc<dyn Target>) -> Sandbox {
        let mut sandbox = Sandbox::new();
        let buckets = sandbox.pipeline.buckets.clone();
        sandbox.pipeline = Arc::new(Pipeline {
            buckets,
            target,
            after_load: None,
        });
        sandbox
    }

    /// A second deployment on this sandbox's folders: another process (a CLI run beside a
    /// server) working on the same warehouse.
    pub fn other_process(&self) -> Arc<Pipeline> {
        let config = Config::in_folder(self.dir.path());
        Deployment::open(config).unwrap().pipeline
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The checkpoint files in the log of the warehouse's table folder `folder`.
    pub fn checkpoints(&self, folder: &str) -> Vec<String> {
        checkpoints(&self.path(&format!("warehouse/{folder}")))
    }

    /// Writes `bytes` to a file in the sandbox and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub async fn ingest(&self, paths: &[&Path]) -> Vec<Entry> {
        self.ingest_with(paths, &IngestOptions::default()).await
    }

    pub async fn ingest_with(&self, paths: &[&Path], options: &IngestOptions) -> Vec<Entry> {
        let sources: Vec<String> = paths
            .iter()
            .map(|path| path.to_str().unwrap().to_owned())
            .collect();
        self.pipeline.ingest(&sources, options).await.unwrap()
    }

    pub async fn sql(&self, query: &str) -> Vec<RecordBatch> {
        let ctx = self.target.session().await.unwrap();
        ctx.sql(query).await.unwrap().collect().await.unwrap()
    }

    /// Rows in a warehouse table (0 when it does not exist yet).
    pub async fn count(&self, table: &str) -> i64 {
        let ctx = self.target.session().await.unwrap();
        if !ctx.table_exist(table).unwrap() {
            return 0;
        }
        let batches = ctx
            .sql(&format!("SELECT count(*) FROM {table}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        batches[0].column(0).as_primitive::<Int64Type>().value(0)
    }

    /// Every file below the warehouse folder of `table`, data and log.
    pub fn table_files(&self, table: &str) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut folders = vec![self.path("warehouse").join(table)];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
                if entry.path().is_dir() {
                    folders.push(entry.path());
                } else {
                    files.push(entry.path());
                }
            }
        }
        files.sort();
        files
    }
}

/// `csvgate` run in `dir` with none of the calling shell's `CSVGATE_*` variables: every test
/// starts from the defaults and sets what it means to.
pub fn csvgate_in(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_csvgate"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CSVGATE_") {
            command.env_remove(name);
        }
    }
    command
}

/// The checkpoint files in the log of the Delta table at `table` (a folder).
pub fn checkpoints(table: &Path) -> Vec<String> {
    let log = table.join("_delta_log");
    let files = std::fs::read_dir(&log).unwrap_or_else(|error| panic!("{log:?}: {error}"));
    (files.map(|file| file.unwrap().file_name().into_string().unwrap()))
        .filter(|name| name.contains(".checkpoint."))
        .collect()
}

/// Asks `check` again, a little less often each time, until it gives a value or `limit` has
/// passed; then fails, saying `what` was awaited and the last state `check` reported.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + limit;
    let mut pauses = pauses();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}: not within {limit:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(pauses.next().unwrap()).await,
        }
    }
}

/// [`eventually`] from code that must not await (it blocks its thread while it waits).
pub fn eventually_blocking<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    let mut pauses = pauses();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}: not within {limit:?}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(pauses.next().unwrap()),
        }
    }
}

/// 20 ms, then twice as long each time, up to 250 ms.
fn pauses() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(Duration::from_millis(20)), |pause| {
        Some((*pause * 2).min(Duration::from_millis(250)))
    })
}

/// Waits up to `limit` until `address` (`host:port`) accepts a connection: `what` started.
pub async fn wait_until_listening(address: &str, what: &str, limit: Duration) {
    let what = format!("{what} listening on {address}");
    eventually(limit, &what, || async {
        let connected = tokio::net::TcpStream::connect(address).await;
        connected.map(drop).map_err(|error| error.to_string())
    })
    .await;
}

/// Runs `command` to its end: its output, once it has succeeded (else the test fails with
/// what it printed on stderr).
pub fn succeeded(command: &mut std::process::Command) -> std::process::Output {
    let out = command.output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    out
}

/// `csvgate vacuum` of every table of the warehouse in the sandbox folder `dir`, keeping no
/// old version (`--retention-hours 0 --force`): what it printed, once it succeeded.
pub fn vacuum_keeping_nothing_old(dir: &Path) -> String {
    let warehouse = dir.join("warehouse");
    let mut vacuum = csvgate_in(dir);
    vacuum.args(["--warehouse", warehouse.to_str().unwrap(), "vacuum"]);
    vacuum.args(["--retention-hours", "0", "--force"]);
    String::from_utf8_lossy(&succeeded(&mut vacuum).stdout).into_owned()
}

/// An entry's table, status and row counts (read, valid, invalid).
pub fn counts(entry: &Entry) -> (&str, Status, u64, u64, u64) {
    (
        entry.table.as_str(),
        entry.status,
        entry.rows_read,
        entry.rows_valid,
        entry.rows_invalid,
    )
}

/// Ingests one file and checks that it failed with an error containing `message`.
pub async fn assert_fails_with(sandbox: &Sandbox, file: &Path, message: &str) {
    let entries = sandbox.ingest(&[file]).await;
    assert_eq!(entries[0].status, Status::Failed, "{}", file.display());
    let error = entries[0].error.as_deref().unwrap_or_default();
    assert!(error.contains(message), "{}: {error}", file.display());
}

/// The real challenge files.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Small files for the CSV dialect cases.
pub fn dialect(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dialects")
        .join(name)
}

/// Claims of runs started in `dir` last a second (`[ingest] claim_lease_secs` of its
/// `csvgate.toml`), so a run after a killed one takes its objects over at once, not after the
/// default five minutes.
pub fn short_claim_leases(dir: &Path) {
    use std::io::Write;
    let path = dir.join("csvgate.toml");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(b"[ingest]\nclaim_lease_secs = 1\n").unwrap();
}

/// A result as CSV lines without the header, for readable comparisons.
pub fn csv_lines(batch: &RecordBatch) -> Vec<String> {
    use csvgate::report::format::{self, Format};
    let mut out = Vec::new();
    let batches = std::slice::from_ref(batch);
    format::write(Format::Csv, &batch.schema(), batches, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    text.lines().skip(1).map(str::to_owned).collect()
}

/// The single text column of a one-column result.
pub fn strings(batches: &[RecordBatch]) -> Vec<String> {
    let mut values = Vec::new();
    for batch in batches {
        let column = datafusion::arrow::compute::cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        values.extend(
            column
                .as_string::<i32>()
                .iter()
                .map(|value| value.unwrap_or_default().to_owned()),
        );
    }
    values
}

/// Rows of a CSV file with a header, without the header.
pub fn data_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

/// The local path of a `file://` URL.
pub fn local(url: &str) -> PathBuf {
    url::Url::parse(url).unwrap().to_file_path().unwrap()
}

/// The MariaDB server the tests use: `CSVGATE_TEST_MYSQL`, or the one `scripts/services` sets up.
pub fn mysql_server() -> String {
    std::env::var("CSVGATE_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://csvgate:csvgate@127.0.0.1:3306".into())
}

/// A new database of its own for one test, initialised: its URL and a target for it. Panics
/// (never skips) when the server cannot be reached.
pub async fn mysql_database() -> (String, MysqlTarget) {
    let name = empty_mysql_database().await;
    let url = format!("{}/{name}", mysql_server());
    let target = MysqlTarget::new(&url, None, Arc::new(Dictionary::hr())).unwrap();
    assert_eq!(
        target.init().await.unwrap(),
        csvgate::sink::mysql::ddl::SCHEMA_VERSION,
        "a new database gets the current schema version"
    );
    (url, target)
}

/// A new empty database of its own for one test: its name.
pub async fn empty_mysql_database() -> String {
    let server = mysql_server();
    let name = format!(
        "csvgate_t_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let opts = mysql_async::Opts::from_url(&server).unwrap();
    let mut admin = mysql_async::Conn::new(opts).await.unwrap_or_else(|error| {
        panic!("MariaDB at {server} is not reachable (run scripts/services): {error}")
    });
    admin
        .query_drop(format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.disconnect().await.unwrap();
    name
}

/// The MariaDB that requires TLS (`require_secure_transport=ON`, as RDS for MySQL 8.4 runs by
/// default), started by `scripts/services`, reached as a remote database is: by TCP.
pub const TLS_SERVER: &str = "mysql://csvgate:csvgate@127.0.0.1:3307";
/// The CA that signed its certificate (for 127.0.0.1 and localhost).
pub const TLS_CA: &str = "/var/lib/csvgate-mariadb-tls/ca.pem";

/// A new empty database on the TLS server (created over TLS).
pub async fn tls_mysql_database() -> String {
    use mysql_async::prelude::Queryable;
    let name = format!(
        "csvgate_tls_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let opts =
        mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(TLS_SERVER).unwrap())
            .ssl_opts(mysql_async::SslOpts::default().with_danger_accept_invalid_certs(true))
            .prefer_socket(false);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut conn = mysql_async::Conn::new(opts).await.unwrap_or_else(|error| {
        panic!("the TLS MariaDB at 127.0.0.1:3307 (run scripts/services): {error}")
    });
    conn.query_drop(format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    name
}

/// Asserts that each table of `target` holds that many rows.
pub async fn assert_row_counts(target: &MysqlTarget, expected: &[(&str, u64)]) {
    for (table, rows) in expected {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(target.query::<u64>(&sql).await.unwrap(), [*rows], "{table}");
    }
}

/// The key and the `Extra` of every step of `sql`'s `EXPLAIN` (with `year` 2021) that reads
/// `table`.
pub async fn explained_reads(
    target: &MysqlTarget,
    sql: &str,
    table: &str,
) -> Vec<(String, String)> {
    let year = mysql_async::Params::from(vec![("year", mysql_async::Value::from(2021))]);
    let plan = target.exec(&format!("EXPLAIN {sql}"), year).await.unwrap();
    let steps: Vec<(String, String)> = (plan.iter())
        .filter(|step| step.get::<Option<String>, _>("table").flatten().as_deref() == Some(table))
        .map(|step| {
            let key = step.get::<Option<String>, _>("key").flatten();
            let extra = step.get::<Option<String>, _>("Extra").flatten();
            (key.unwrap_or_default(), extra.unwrap_or_default())
        })
        .collect();
    assert!(!steps.is_empty(), "no step reads {table}: {plan:?}");
    steps
}

/// The rows `sql` returns from `target`.
pub async fn mysql_rows<T: mysql_async::prelude::FromRow + Send + 'static>(
    target: &MysqlTarget,
    sql: &str,
) -> Vec<T> {
    target.query(sql).await.unwrap()
}

/// A tool of the venv `scripts/services` makes (linters, schemathesis, python); panics (never
/// skips) when it is not installed.
pub fn venv_tool(name: &str) -> PathBuf {
    tool_of("venv", name)
}

/// A tool of the data contracts' venv (datacontract-cli), as [`venv_tool`].
pub fn contracts_tool(name: &str) -> PathBuf {
    tool_of("contracts-venv", name)
}

fn tool_of(venv: &str, name: &str) -> PathBuf {
    let tools = std::env::var_os("CSVGATE_TOOLS").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/csvgate-tools"),
        PathBuf::from,
    );
    let path = tools.join(venv).join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/services",
        path.display()
    );
    path
}

/// Starts `command` with `CSVGATE_PAUSE_AT=point` and returns it once it says it paused there
/// (panics if it ends first), to be killed at that moment.
pub fn spawn_paused_at(command: &mut std::process::Command, point: &str) -> std::process::Child {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = (command.env("CSVGATE_PAUSE_AT", point))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let said = format!("paused at {point}");
    let paused = (stderr.lines().map_while(Result::ok)).any(|line| line.contains(&said));
    assert!(paused, "{command:?} never reached {point}");
    child
}
