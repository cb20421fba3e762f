//! Criterion: Q1 and Q2 in DataFusion over the Delta warehouse and in MariaDB, and from the
//! `hires_by_quarter` rollup end to end (`Q1/rollup`: session, freshness check, query).
//!
//! By default the fixtures are loaded into a temporary warehouse (and, when
//! `CSVGATE_BENCH_MYSQL` names a server such as `mysql://csvgate:csvgate@127.0.0.1:3306`, into
//! a fresh MariaDB database). `benches/reports.sh` points `CSVGATE_BENCH_WAREHOUSE` (and
//! `CSVGATE_BENCH_MYSQL_DB`) at warehouses it prepared at 1M and 10M rows, and times DuckDB on
//! the same Parquet files in the same run. With the `ballista` feature and
//! `CSVGATE_BENCH_BALLISTA` naming a scheduler (`df://127.0.0.1:50050`), the same queries run on
//! that cluster too, named `Q1/ballista_<CSVGATE_BENCH_BALLISTA_LABEL>` (`benches/ballista.sh`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use csvgate::config::{Config, Key};
use csvgate::deployment::Deployment;
use csvgate::dictionary::Dictionary;
use csvgate::pipeline::IngestOptions;
use csvgate::report::named::Catalog;
use csvgate::report::{Engine, Engines, Report, Scan};
use csvgate::rollup::Rollup;
use csvgate::sink::delta::DeltaTarget;
use csvgate::sink::mysql::MysqlTarget;
use csvgate::store::Location;
use mysql_async::prelude::Queryable;

/// The warehouse (and MySQL database) to query, loading the fixtures when none is given.
fn prepare(
    runtime: &tokio::runtime::Runtime,
    scratch: &std::path::Path,
) -> (DeltaTarget, Option<MysqlTarget>) {
    runtime.block_on(async {
        if let Ok(warehouse) = std::env::var("CSVGATE_BENCH_WAREHOUSE") {
            let rollups: Arc<[Rollup]> = Rollup::all(&Dictionary::hr(), None).expect("the built-in rollup").into();
            let mysql = std::env::var("CSVGATE_BENCH_MYSQL_DB").ok().map(|url| {
                let target = MysqlTarget::new(&url, None, Arc::new(Dictionary::hr())).expect("bench MySQL URL");
                target.with_rollups(Arc::clone(&rollups)).expect("MySQL keeps the built-in rollup")
            });
            let delta = DeltaTarget::new(Location::parse(&warehouse, false).expect("bench warehouse"), Arc::new(Dictionary::hr()));
            return (delta.with_rollups(rollups), mysql);
        }
        let mut config = Config::in_folder(scratch);
        if let Ok(server) = std::env::var("CSVGATE_BENCH_MYSQL") {
            let mut admin = mysql_async::Conn::new(mysql_async::Opts::from_url(&server).expect("URL")).await.expect("MariaDB");
            admin.query_drop("DROP DATABASE IF EXISTS csvgate_bench_reports; CREATE DATABASE csvgate_bench_reports").await.expect("database");
            config.set(Key::Target, format!("{server}/csvgate_bench_reports"));
            config.set(Key::MirrorParquet, "true");
        }
        let deployment = Deployment::open(config).expect("deployment");
        if let Some(mysql) = deployment.mysql() {
            mysql.init().await.expect("schema");
        }
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures").to_owned();
        deployment.pipeline.ingest(&[fixtures], &IngestOptions::default()).await.expect("fixtures load");
        (deployment.engines.warehouse, deployment.engines.mysql)
    })
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let scratch = tempfile::tempdir().expect("scratch folder");
    let (delta, mysql) = prepare(&runtime, scratch.path());
    let ctx = runtime.block_on(delta.session()).expect("session");
    let engines = Engines {
        warehouse: delta.clone(),
        mysql: None,
        ballista: None,
        reports: Arc::new(Catalog::built_in()),
    };
    let mut group = c.benchmark_group("reports");
    group.sample_size(10);
    for report in [Report::Q1, Report::Q2] {
        // End to end, as a request is answered: a session opened, the rollup found up to date
        // with its table (or brought up), the .rollup.sql text run.
        group.bench_function(format!("{report:?}/rollup"), |b| {
            b.iter(|| {
                let answer = engines.answer(report, 2021, Some(Engine::Datafusion), Scan::Rollups);
                runtime.block_on(answer).expect("answer")
            })
        });
        group.bench_function(format!("{report:?}/datafusion"), |b| {
            b.iter(|| {
                runtime
                    .block_on(report.datafusion(&ctx, 2021))
                    .expect("answer")
            })
        });
        if let Some(mysql) = &mysql {
            group.bench_function(format!("{report:?}/mariadb"), |b| {
                b.iter(|| runtime.block_on(report.mysql(mysql, 2021)).expect("answer"))
            });
            let from_rollup = Engines {
                mysql: Some(mysql.clone()),
                ..engines.clone()
            };
            let text = engines
                .reports
                .get(&format!("{report:?}").to_lowercase())
                .expect("an HR report");
            let text = text
                .mysql_from_rollups
                .as_deref()
                .expect("read from the rollup");
            assert!(
                runtime
                    .block_on(mysql.rollups_readable(text))
                    .expect("MariaDB"),
                "the rollup is stored"
            );
            // End to end: the rollup's record checked, the .rollup.sql text run.
            group.bench_function(format!("{report:?}/mariadb_rollup"), |b| {
                b.iter(|| {
                    let answer =
                        from_rollup.answer(report, 2021, Some(Engine::Mysql), Scan::Rollups);
                    runtime.block_on(answer).expect("answer")
                })
            });
        }
        #[cfg(feature = "ballista")]
        if let Ok(scheduler) = std::env::var("CSVGATE_BENCH_BALLISTA") {
            let label = std::env::var("CSVGATE_BENCH_BALLISTA_LABEL").unwrap_or_default();
            let cluster = runtime
                .block_on(csvgate::report::cluster::session(&delta, &scheduler))
                .expect("ballista session");
            group.bench_function(format!("{report:?}/ballista_{label}"), |b| {
                b.iter(|| {
                    runtime
                        .block_on(report.datafusion(&cluster, 2021))
                        .expect("answer")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
