//! Q1 and Q2 on a Ballista cluster: a scheduler and two executors, each a separate
//! `csvgate ballista` process on loopback, answer as the embedded engine does, cell by cell,
//! on the fixtures, on a generated 100k-row warehouse, and after a load that replaced rows
//! (when only the new version's files may be read).
#![cfg(feature = "ballista")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server::collect_lines;
use common::{Sandbox, csv_lines, fixtures, succeeded};
use csvgate::report::Report;
use datafusion::prelude::SessionContext;

/// How to run `csvgate` on one sandbox's buckets: its folder, its location flags and the
/// environment that reaches them.
struct On {
    dir: std::path::PathBuf,
    flags: Vec<String>,
    env: Vec<(&'static str, String)>,
}

impl On {
    /// The sandbox, its buckets where `locate` says, reached with `env`.
    fn new(
        sandbox: &Sandbox,
        locate: impl Fn(&str) -> String,
        env: Vec<(&'static str, String)>,
    ) -> On {
        let flag = |bucket| [format!("--{bucket}"), locate(bucket)];
        On {
            dir: sandbox.dir.path().to_owned(),
            flags: ["landing", "invalid", "warehouse"]
                .into_iter()
                .flat_map(flag)
                .collect(),
            env,
        }
    }

    /// The sandbox's local folders.
    fn folders(sandbox: &Sandbox) -> On {
        On::new(
            sandbox,
            |bucket| sandbox.path(bucket).display().to_string(),
            Vec::new(),
        )
    }

    /// `csvgate` with the locations, its stdout and stderr piped.
    fn csvgate(&self) -> Command {
        let mut command = common::csvgate_in(&self.dir);
        command.args(&self.flags);
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }
}

/// A scheduler and its executors, killed when dropped.
struct Cluster {
    /// `df://127.0.0.1:PORT`.
    url: String,
    scheduler: Child,
    scheduler_log: Arc<Mutex<String>>,
    executors: Vec<(Child, Arc<Mutex<String>>)>,
}

impl Cluster {
    /// Starts a scheduler and `executors` executors on the warehouse of `on`, and waits until
    /// the scheduler has every executor registered.
    fn start(on: &On, executors: usize) -> Cluster {
        let mut scheduler = on
            .csvgate()
            .args(["ballista", "scheduler", "--listen", "127.0.0.1:0"])
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(scheduler.stderr.take().unwrap());
        let url = read_until_listening(&mut stderr);
        let mut cluster = Cluster {
            url,
            scheduler,
            scheduler_log: collect_lines(stderr),
            executors: Vec::new(),
        };
        for _ in 0..executors {
            cluster.add_executor(on);
        }
        cluster.wait_for_executors(on, executors);
        cluster
    }

    /// Starts again, on new ports, an executor that ended because another process took its
    /// ports between [`free_ports`] and its bind (tests run side by side); three times at most.
    fn restart_if_ports_taken(&mut self, on: &On, restarts: &mut usize) {
        let taken = |(child, log): &mut (Child, Arc<Mutex<String>>)| {
            let ended = child.try_wait().unwrap().is_some();
            ended && log.lock().unwrap().contains("Address already in use")
        };
        while *restarts < 3 {
            let Some(at) = self.executors.iter_mut().position(taken) else {
                return;
            };
            self.executors.remove(at);
            self.add_executor(on);
            *restarts += 1;
        }
    }

    fn add_executor(&mut self, on: &On) {
        let [port, grpc_port] = free_ports();
        let mut executor = on
            .csvgate()
            .args(["ballista", "executor", "--scheduler", &self.url])
            .args(["--port", &port.to_string()])
            .args(["--grpc-port", &grpc_port.to_string()])
            .args(["--vcores", "2"])
            .spawn()
            .unwrap();
        let log = collect_lines(BufReader::new(executor.stderr.take().unwrap()));
        self.executors.push((executor, log));
    }

    /// Waits until the scheduler logs `count` registered executors; fails at once when a
    /// process of the cluster has exited, but for an executor whose ports were taken.
    fn wait_for_executors(&mut self, on: &On, count: usize) {
        let expected = format!("{count} executors registered");
        let mut restarts = 0;
        common::eventually_blocking(Duration::from_secs(60), &expected, || {
            self.restart_if_ports_taken(on, &mut restarts);
            let exited =
                (self.executors.iter_mut()).any(|(child, _)| child.try_wait().unwrap().is_some());
            let scheduler_exited = self.scheduler.try_wait().unwrap().is_some();
            assert!(!exited && !scheduler_exited, "{}", self.logs());
            let registered = self.scheduler_log.lock().unwrap().contains(&expected);
            registered.then_some(()).ok_or_else(|| self.logs())
        });
    }

    fn logs(&self) -> String {
        let mut logs = format!("scheduler:\n{}", self.scheduler_log.lock().unwrap());
        for (index, (_, log)) in self.executors.iter().enumerate() {
            logs.push_str(&format!("executor {index}:\n{}", log.lock().unwrap()));
        }
        logs
    }

    async fn session(&self, sandbox: &Sandbox) -> SessionContext {
        csvgate::report::cluster::session(&sandbox.target, &self.url)
            .await
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let children = (self.executors.iter_mut().map(|(child, _)| child))
            .chain(std::iter::once(&mut self.scheduler));
        for child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_until_listening(stderr: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "scheduler exited before listening"
        );
        let said = line.trim();
        if let Some(url) = said.strip_prefix("csvgate: ballista scheduler listening on ") {
            return url.to_owned();
        }
    }
}

/// Two ports free on loopback (an executor's Flight and gRPC ports must be named up front:
/// it tells the scheduler what it bound).
fn free_ports() -> [u16; 2] {
    let listeners = [(); 2].map(|()| TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|listener| listener.local_addr().unwrap().port())
}

/// Q1 and Q2 for 2021 from `ctx`, as CSV lines.
async fn answers(ctx: &SessionContext) -> Vec<Vec<String>> {
    let mut answers = Vec::new();
    for report in [Report::Q1, Report::Q2] {
        answers.push(csv_lines(&report.datafusion(ctx, 2021).await.unwrap()));
    }
    answers
}

async fn embedded_answers(sandbox: &Sandbox) -> Vec<Vec<String>> {
    answers(&sandbox.target.session().await.unwrap()).await
}

async fn load(sandbox: &Sandbox, paths: &[&Path]) {
    let entries = sandbox.ingest(paths).await;
    assert!(
        entries.iter().all(|entry| entry.error.is_none()),
        "{entries:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_fixtures_the_cluster_answers_as_the_embedded_engine() {
    let sandbox = Sandbox::new();
    load(&sandbox, &[&fixtures()]).await;
    let cluster = Cluster::start(&On::folders(&sandbox), 2);

    let embedded = embedded_answers(&sandbox).await;
    assert!(embedded.iter().all(|lines| !lines.is_empty()));
    assert_eq!(answers(&cluster.session(&sandbox).await).await, embedded);

    // The command line asks the same cluster.
    for report in ["q1", "q2"] {
        let ask = |engine: &[&str]| {
            let out = succeeded(
                On::folders(&sandbox)
                    .csvgate()
                    .args(["report", report, "--format", "csv"])
                    .args(engine),
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let on_cluster = ask(&["--engine", "ballista", "--scheduler", &cluster.url]);
        assert_eq!(on_cluster, ask(&["--engine", "datafusion"]), "{report}");
    }
    let count = "SELECT COUNT(*) AS n FROM hired_employees";
    let out = succeeded(
        On::folders(&sandbox)
            .csvgate()
            .args(["sql", count, "--format", "csv"])
            .args(["--engine", "ballista", "--scheduler", &cluster.url]),
    );
    let expected = sandbox.count("hired_employees").await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("n\n{expected}\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_generated_100k_row_warehouse_the_cluster_answers_as_the_embedded_engine() {
    let sandbox = Sandbox::new();
    let references = ["departments.csv", "jobs.csv"].map(|name| fixtures().join(name));
    load(&sandbox, &references.each_ref().map(|path| path.as_path())).await;
    let employees = sandbox.path("hired_employees_100k.csv");
    let mut out = std::fs::File::create(&employees).unwrap();
    let generated = csvgate::generate::write_employees(&mut out, 100_000, 7).unwrap();
    load(&sandbox, &[&employees]).await;
    assert_eq!(
        sandbox.count("hired_employees").await,
        generated.valid as i64
    );
    let cluster = Cluster::start(&On::folders(&sandbox), 2);

    let embedded = embedded_answers(&sandbox).await;
    assert!(embedded.iter().all(|lines| !lines.is_empty()));
    assert_eq!(answers(&cluster.session(&sandbox).await).await, embedded);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_load_that_replaced_rows_the_cluster_reads_the_new_version_only() {
    let sandbox = Sandbox::new();
    load(&sandbox, &[&fixtures()]).await;
    let cluster = Cluster::start(&On::folders(&sandbox), 2);
    let before = answers(&cluster.session(&sandbox).await).await;

    // The first 300 hires move to department 1, job 1, in December 2021: a load that replaces
    // rows rewrites the files holding them, and the version after it removes those files.
    let replacing: String = (1..=300)
        .map(|id| format!("{id},Moved {id},2021-12-01T10:00:00Z,1,1\n"))
        .collect();
    let file = sandbox.file("hired_employees_moved.csv", replacing.as_bytes());
    load(&sandbox, &[&file]).await;

    let embedded = embedded_answers(&sandbox).await;
    assert_ne!(embedded, before, "the replacing load changed the answers");
    let ctx = cluster.session(&sandbox).await;
    assert_eq!(answers(&ctx).await, embedded);
    // Read with the removed files too, the moved rows would count twice.
    let totals = "SELECT COUNT(*), SUM(id), SUM(department_id) FROM hired_employees";
    let on_cluster = ctx.sql(totals).await.unwrap().collect().await.unwrap();
    assert_eq!(
        csv_lines(&on_cluster[0]),
        csv_lines(&sandbox.sql(totals).await[0])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_an_s3_warehouse_every_process_reads_the_bucket_from_the_same_settings() {
    let bucket = common::s3::bucket();
    let sandbox = common::s3::sandbox(&bucket);
    load(&sandbox, &[&fixtures()]).await;
    let on = On::new(
        &sandbox,
        |name| format!("s3://{bucket}/{name}"),
        common::s3::env().into(),
    );
    let cluster = Cluster::start(&on, 2);

    let embedded = embedded_answers(&sandbox).await;
    assert!(embedded.iter().all(|lines| !lines.is_empty()));
    assert_eq!(answers(&cluster.session(&sandbox).await).await, embedded);
}

#[test]
fn a_missing_wrong_or_unreachable_scheduler_is_said_plainly() {
    let sandbox = Sandbox::new();
    let refused = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("df://{}", refused.local_addr().unwrap());
    drop(refused);
    let cases: [(&[&str], String); 3] = [
        (
            &[],
            "csvgate: the ballista engine needs a scheduler: --scheduler df://HOST:PORT or CSVGATE_BALLISTA_SCHEDULER".into(),
        ),
        (
            &["--scheduler", "http://scheduler:50050"],
            "csvgate: scheduler \"http://scheduler:50050\": expected df://HOST:PORT".into(),
        ),
        (
            &["--scheduler", &closed],
            format!("csvgate: on the ballista cluster at {closed}: query failed:"),
        ),
    ];
    for (flags, expected) in cases {
        let out = On::folders(&sandbox)
            .csvgate()
            .args(["report", "q2", "--engine", "ballista"])
            .args(flags)
            .output()
            .unwrap();
        let said = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success());
        assert!(said.starts_with(&expected), "{said}");
    }
}
