//! csvgate validates CSV files landing in an object store and loads their valid rows into a
//! warehouse, keeping every rejected row, with its reason, for review.
//!
//! # Layout
//! The modules read like the pipeline, in the order a file travels:
//! - [`contract`] → [`dictionary`]: the tables and columns one deployment enforces, read from
//!   a data contract file (ODCS v3; the HR contract built in); schemas and rules derive from
//!   the dictionary it makes.
//! - [`store`]: locations (paths, `file://`, `s3://`) and the buckets: landing, invalid,
//!   warehouse (`location`, `local`, `s3`, `listing`, `object`, `transfer`, `conditional`).
//! - [`validate`]: bytes → text Arrow batches with line numbers (`read`, `dialect`,
//!   `text_rows`) → DataFusion SQL rules (`rules`, `compiled`) → valid (typed) and invalid
//!   (with `line` and `reason`) rows, in one streaming pass.
//! - [`shape`]: batches cast to the schemas csvgate declares.
//! - [`sink`]: targets behind one trait of four roles (rows, ledger, claims, health):
//!   [`sink::delta`] (the embedded Delta Lake warehouse, every commit through
//!   `sink::delta::commit`) and [`sink::mysql`]; [`sink::mirror`] keeps both loaded;
//!   [`sink::invalid`] writes rejected rows as CSV; [`sink::claim`] is how workers take an
//!   object version before they read it.
//! - [`ledger`]: which object versions were processed; its contract, and what each target
//!   gives, are stated there.
//! - [`pipeline`]: the run that ties them together: objects of one table up to `workers` at a
//!   time, tables in load order; each object claimed, checked, validated, staged, committed.
//! - [`report`]: Q1/Q2 in every engine, ad-hoc SQL, output formats; `ballista` (a cargo
//!   feature) runs them on a Ballista cluster whose scheduler and executors are csvgate too.
//! - [`rollup`]: a table's rows counted per group, declared as SQL and kept in step with every
//!   load, which reports read instead of the rows (`sink::delta::rollups` keeps them).
//! - [`check`]: the contract's dataset-level rules (`type: sql`, `rowCount`), run after each
//!   load that changed a table and by `csvgate check`, recorded with the run.
//! - [`config`] → [`deployment`]: every setting declared once (`config::settings`) and
//!   resolved over flags, env, file and SSM Parameter Store; the one place they become buckets,
//!   a target, engines and a server, for every entry point below.
//! - [`backup`]: snapshots of tables (AVRO or Parquet) with a manifest that can check them.
//! - [`queue`]: uploads become runs, processed in the background; its state is the ledger's.
//!   Runs of one table waiting together are committed as one group (`pipeline::group`).
//! - [`event`]: S3 object events, in whichever envelope (S3, EventBridge, SQS, SNS), name
//!   objects (and versions) of the landing bucket to process.
//! - [`batch`]: 1 to 1,000 rows sent as JSON become a small file and a run like any other.
//! - [`cli`], [`api`], [`lambda`]: the command line, the HTTP API and the AWS Lambda
//!   handler, thin layers over the above; [`bootstrap`]: the database's one-time set-up that
//!   the function runs for a deployer (schema, a least-privilege user in SSM).
//! - [`generate`]: deterministic test files for benchmarks.
//! - [`logs`]: JSON log lines carrying each run's id, for log stores.
//! - [`fault`]: named points where crash tests stop a process, or make it panic.
//!
//! # Terms
//! - **object version**: one stored version of a file (key, size, ETag or version id); what
//!   is loaded once.
//! - **dictionary**: the tables one deployment enforces; a **table handle** ([`dictionary::TableRef`])
//!   is how code holds one of them, never a `'static` list; **keys** are a key column's values.
//! - **run**: one `ingest`, upload, event or restore; its id names every entry and log line
//!   it makes.
//! - **ledger entry**: what became of one object version in one run (`queued`, `done`,
//!   `skipped`, `failed`, `restored`), kept by the target with the rows: in their transaction
//!   (MySQL), or parked before their commit and appended after it (Delta).
//! - **marker**: the idempotency key a commit carries (a Delta application transaction, a
//!   MySQL ledger row): an object version's, so it never commits twice; a restore's run's.
//! - **group**: runs of one table that waited together in the queue, committed in one Delta
//!   commit or MySQL transaction, each with its own entry and marker.
//! - **claim**: a run's lease on an object version while it loads it; another run finds it
//!   *held* (the one meaning of the word) and waits until it ends or its lease runs out.
//! - **parked entry** (Delta): a commit's ledger entry written just before the commit, so a
//!   crash between the data commit and the ledger append cannot lose it; *settled* later.
//! - **waiting entry** (Delta): an upload's `queued` entry kept outside the log until its run
//!   ends.
//! - **text batch** / **row batch**: Arrow batches of the reader (all text, with `line`) and of
//!   the target (typed); a **JSON batch** ([`batch`]) is rows sent to the API.
//! - **first AWS version**: the system csvgate replaces (API Gateway → S3 → Lambda → RDS);
//!   **HR brief**: what its first user asked of it (the dictionary, Q1/Q2, AVRO backups).
//!
//! # Runtime
//! Run it on a multi-thread tokio runtime, as the binaries do. On a current-thread runtime
//! delta-rs gives each table's engine a runtime of its own on a background thread, whose
//! connections stay pooled in the bucket's shared S3 client after that runtime is gone: a
//! later request can then fail with "runtime dropped the dispatch task".

#[cfg(feature = "cli")]
pub mod api;
pub mod backup;
#[cfg(feature = "ballista")]
pub mod ballista;
pub mod batch;
pub mod bootstrap;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod contract;
pub mod deployment;
pub mod dictionary;
pub mod event;
pub mod fault;
#[cfg(feature = "cli")]
pub mod generate;
pub mod lambda;
pub mod ledger;
pub mod logs;
pub mod pipeline;
pub mod queue;
pub mod report;
pub mod rollup;
pub mod shape;
pub mod sink;
pub mod store;
pub mod validate;
