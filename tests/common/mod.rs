//! A throw-away csvgate deployment in a temporary folder, driven through the library.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use csvgate::ledger::Entry;
use csvgate::pipeline::{IngestOptions, Pipeline};
use csvgate::sink::Target;
use csvgate::sink::delta::DeltaTarget;
use csvgate::sink::mysql::MysqlTarget;
use csvgate::store::Buckets;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use mysql_async::prelude::Queryable;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub pipeline: Pipeline,
    /// The sandbox's Delta warehouse (the pipeline's target unless another was given).
    pub target: Arc<DeltaTarget>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Self::with_target(|delta| delta)
    }

    /// A sandbox whose pipeline loads into the target `choose` makes from its Delta warehouse.
    pub fn with_target(choose: impl FnOnce(Arc<dyn Target>) -> Arc<dyn Target>) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let buckets =
            Buckets::open(&path("landing"), &path("invalid"), &path("warehouse")).unwrap();
        let target = Arc::new(DeltaTarget::new(buckets.warehouse.clone()));
        let pipeline = Pipeline {
            buckets,
            target: choose(target.clone()),
        };
        Sandbox {
            dir,
            pipeline,
            target,
        }
    }

    /// A second pipeline on this sandbox's buckets with a target of its own: another process
    /// (a CLI run beside a server) working on the same warehouse.
    pub fn other_process(&self) -> Pipeline {
        let path = |name: &str| self.path(name).to_str().unwrap().to_owned();
        let buckets =
            Buckets::open(&path("landing"), &path("invalid"), &path("warehouse")).unwrap();
        Pipeline {
            target: Arc::new(DeltaTarget::new(buckets.warehouse.clone())),
            buckets,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
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
    let url = format!("{server}/{name}");
    let target = MysqlTarget::new(&url, None).unwrap();
    assert_eq!(
        target.init().await.unwrap(),
        1,
        "a new database gets schema version 1"
    );
    (url, target)
}
