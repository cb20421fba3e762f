//! The business questions, answered by either engine: DataFusion over the Delta warehouse or
//! the MySQL target. The SQL lives in `queries/<engine>/`, one file per query, for people to
//! read ([`named`]: a team adds its own); the HR brief's two ([`Report`]) are shaped into the
//! same Arrow schema in both engines so they can be compared cell by cell.

pub mod adhoc;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod format;
pub mod named;
pub mod param;
mod scan;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use mysql_async::{Params, Row};

use crate::shape::to_schema;
use crate::sink::SinkError;
use crate::sink::delta::DeltaTarget;
use crate::sink::mysql::MysqlTarget;
use named::{Catalog, NamedReport};
use param::ParamValue;
pub use scan::Scan;

/// The year the HR brief asks about.
pub const DEFAULT_YEAR: i32 = 2021;

/// A report csvgate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Report {
    /// Hires per department and job in a year, by quarter.
    Q1,
    /// Departments that hired more than the mean in a year.
    Q2,
}

/// Which engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// DataFusion over the Delta Lake warehouse.
    Datafusion,
    /// The MySQL target.
    Mysql,
    /// DataFusion on a Ballista cluster over the warehouse's live files (the `ballista`
    /// feature; the scheduler is given with `--scheduler`). Not offered by the HTTP API.
    #[serde(skip_deserializing)]
    Ballista,
}

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("query failed: {0}")]
    Query(#[from] Box<DataFusionError>),
    #[error(transparent)]
    Target(#[from] SinkError),
    #[error("shaping the result: {0}")]
    Arrow(#[from] ArrowError),
    #[error("the mysql engine needs a MySQL target (--target or CSVGATE_TARGET)")]
    NoMysqlTarget,
    #[error(
        "the ballista engine needs a scheduler: --scheduler df://HOST:PORT or CSVGATE_BALLISTA_SCHEDULER"
    )]
    NoScheduler,
    #[error("on the ballista cluster at {scheduler}: {source}")]
    OnCluster {
        scheduler: String,
        source: Box<ReportError>,
    },
    #[error("scheduler {0:?}: expected df://HOST:PORT")]
    SchedulerUrl(String),
    #[error("this csvgate was built without the ballista engine (cargo feature `ballista`)")]
    NoBallista,
    #[error(
        "table {table}: {file} has a deletion vector or partition values, which the ballista engine cannot read"
    )]
    NotPlainParquet { table: String, file: String },
    #[error("year {0}: must be {first} to {last}, the years a stored timestamp can hold", first = YEARS.start(), last = YEARS.end())]
    Year(i32),
    #[error("{path}: {reason}")]
    Catalog { path: String, reason: String },
    #[error("no report {name}: the reports are {known}")]
    UnknownReport { name: String, known: String },
    #[error("report {report}: {reason}")]
    Param { report: String, reason: String },
    #[error("report {report} is not written for {engine} (no {engine}/{report}.sql)")]
    NotInEngine {
        report: String,
        engine: &'static str,
    },
}

/// Years a report can be asked for: those of nanosecond timestamps, which every stored hire
/// date is (the validation rules refuse others).
pub const YEARS: std::ops::RangeInclusive<i32> = 1678..=2261;

/// The engines one deployment can answer from: DataFusion over its Delta warehouse always,
/// MySQL when a MySQL target is configured (then the default, being the system of record),
/// and a Ballista cluster over the same warehouse when a scheduler is named.
#[derive(Clone)]
pub struct Engines {
    pub warehouse: DeltaTarget,
    pub mysql: Option<MysqlTarget>,
    /// The Ballista scheduler, `df://HOST:PORT`.
    pub ballista: Option<String>,
    /// The named reports they answer.
    pub reports: Arc<Catalog>,
}

/// The engine a question goes to, once the default is applied.
pub enum Chosen<'a> {
    Datafusion,
    Mysql(&'a MysqlTarget),
    Ballista,
}

impl Engines {
    /// These engines with the Ballista cluster whose scheduler is `scheduler`, if any.
    pub fn with_scheduler(self, scheduler: Option<String>) -> Engines {
        Engines {
            ballista: scheduler,
            ..self
        }
    }

    /// The engine `engine` names, or the default one (MySQL when configured, being the
    /// system of record, else DataFusion) when none is asked for.
    pub fn choose(&self, engine: Option<Engine>) -> Result<Chosen<'_>, ReportError> {
        match (engine, &self.mysql) {
            (Some(Engine::Mysql) | None, Some(mysql)) => Ok(Chosen::Mysql(mysql)),
            (Some(Engine::Mysql), None) => Err(ReportError::NoMysqlTarget),
            (Some(Engine::Datafusion) | None, _) => Ok(Chosen::Datafusion),
            (Some(Engine::Ballista), _) => Ok(Chosen::Ballista),
        }
    }

    /// `report` for `year` from `engine`, or from the default engine when none is asked for.
    pub async fn answer(
        &self,
        report: Report,
        year: i32,
        engine: Option<Engine>,
        scan: Scan,
    ) -> Result<RecordBatch, ReportError> {
        if !YEARS.contains(&year) {
            return Err(ReportError::Year(year));
        }
        match self.choose(engine)? {
            Chosen::Mysql(mysql) => {
                let sql = Engines::mysql_text(mysql, report.built_in(), scan).await?;
                report.run_mysql(mysql, sql, year).await
            }
            Chosen::Datafusion => {
                let ctx = self.warehouse.session().await?;
                let sql = self.datafusion_text(&ctx, report.built_in(), scan).await?;
                report.run_datafusion(&ctx, sql, year).await
            }
            Chosen::Ballista => {
                (self.on_cluster(|ctx| async move { report.datafusion(&ctx, year).await })).await
            }
        }
    }

    /// The report called `name` with the parameters `given` as text, from `engine` (the
    /// default when `None`): an HR one in its typed shape, any other as [`Engines::run_named`]
    /// answers it. What the CLI and the HTTP API both answer with.
    pub async fn report(
        &self,
        name: &str,
        given: &BTreeMap<String, String>,
        engine: Option<Engine>,
        scan: Scan,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
        let report = self.reports.get(name)?;
        let bound = param::bind(&report.name, &report.params, given)?;
        match Report::named(name) {
            Some(hr) => {
                let answer = self.answer(hr, hr.year(&bound), engine, scan).await?;
                Ok((answer.schema(), vec![answer]))
            }
            None => self.run_named(report, &bound, engine, scan).await,
        }
    }

    /// The named `report` with parameters `bound`, from `engine` (the default when `None`).
    /// MySQL's columns come back as text, as `csvgate sql` gives them.
    pub async fn run_named(
        &self,
        report: &NamedReport,
        bound: &[(String, ParamValue)],
        engine: Option<Engine>,
        scan: Scan,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), ReportError> {
        let missing = |engine| ReportError::NotInEngine {
            report: report.name.clone(),
            engine,
        };
        match self.choose(engine)? {
            Chosen::Mysql(mysql) => {
                let sql = Engines::mysql_text(mysql, report, scan).await?;
                adhoc::mysql_bound(mysql, sql, bound).await
            }
            Chosen::Ballista => {
                let sql = report
                    .datafusion
                    .as_deref()
                    .ok_or_else(|| missing("datafusion"))?;
                let run = |ctx| async move { adhoc::read_only_bound(&ctx, sql, bound).await };
                self.on_cluster(run).await
            }
            Chosen::Datafusion => {
                let ctx = self.warehouse.session().await?;
                let sql = self.datafusion_text(&ctx, report, scan).await?;
                adhoc::read_only_bound(&ctx, sql, bound).await
            }
        }
    }

    /// Runs `work` in a session on the Ballista cluster with the warehouse's current tables;
    /// an error names the scheduler, since it may come from any process of the cluster.
    pub async fn on_cluster<T, F>(
        &self,
        work: impl FnOnce(SessionContext) -> F,
    ) -> Result<T, ReportError>
    where
        F: Future<Output = Result<T, ReportError>>,
    {
        let Some(scheduler) = self.ballista.as_deref() else {
            return Err(ReportError::NoScheduler);
        };
        let answer = async { work(self.ballista_session(scheduler).await?).await };
        answer.await.map_err(|error| match error {
            ReportError::SchedulerUrl(_) => error,
            error => ReportError::OnCluster {
                scheduler: scheduler.to_owned(),
                source: Box::new(error),
            },
        })
    }

    #[cfg(feature = "ballista")]
    async fn ballista_session(&self, scheduler: &str) -> Result<SessionContext, ReportError> {
        cluster::session(&self.warehouse, scheduler).await
    }

    #[cfg(not(feature = "ballista"))]
    async fn ballista_session(&self, _scheduler: &str) -> Result<SessionContext, ReportError> {
        Err(ReportError::NoBallista)
    }

    /// The MySQL target, or why there is none.
    pub fn mysql(&self) -> Result<&MysqlTarget, ReportError> {
        self.mysql.as_ref().ok_or(ReportError::NoMysqlTarget)
    }
}

impl Report {
    /// The HR report a name (its file stem or `q1`/`q2`) calls, if it is one.
    pub fn named(name: &str) -> Option<Report> {
        [Report::Q1, Report::Q2]
            .into_iter()
            .find(|report| report.built_in().name == name || report.alias() == name)
    }

    /// The year among its `bound` parameters (it declares `@param year integer`); a year out of
    /// i32's range is one [`Engines::answer`] refuses.
    fn year(self, bound: &[(String, ParamValue)]) -> i32 {
        match bound.iter().find(|(name, _)| name == "year") {
            Some((_, ParamValue::Integer(year))) => i32::try_from(*year).unwrap_or(i32::MAX),
            _ => DEFAULT_YEAR,
        }
    }

    fn alias(self) -> &'static str {
        match self {
            Report::Q1 => "q1",
            Report::Q2 => "q2",
        }
    }

    /// Its SQL files, compiled in.
    pub fn built_in(self) -> &'static NamedReport {
        static BUILT_IN: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(Catalog::built_in);
        BUILT_IN
            .get(self.alias())
            .expect("the HR reports are built in")
    }

    fn datafusion_sql(self) -> &'static str {
        self.built_in()
            .datafusion
            .as_deref()
            .expect("written for datafusion")
    }

    fn mysql_sql(self) -> &'static str {
        self.built_in().mysql.as_deref().expect("written for mysql")
    }

    /// The columns of the answer, the same for both engines.
    pub fn schema(self) -> SchemaRef {
        let text = |name| Field::new(name, DataType::Utf8, false);
        let count = |name| Field::new(name, DataType::Int64, false);
        Arc::new(Schema::new(match self {
            Report::Q1 => vec![
                text("department"),
                text("job"),
                count("Q1"),
                count("Q2"),
                count("Q3"),
                count("Q4"),
            ],
            Report::Q2 => vec![count("id"), text("department"), count("hired")],
        }))
    }

    /// The answer for `year` from DataFusion over the rows of the tables registered in `ctx`.
    pub async fn datafusion(
        self,
        ctx: &SessionContext,
        year: i32,
    ) -> Result<RecordBatch, ReportError> {
        self.run_datafusion(ctx, self.datafusion_sql(), year).await
    }

    /// The answer for `year` from `sql`, one of its DataFusion texts, run in `ctx`.
    async fn run_datafusion(
        self,
        ctx: &SessionContext,
        sql: &str,
        year: i32,
    ) -> Result<RecordBatch, ReportError> {
        let frame = ctx.sql(sql).await.map_err(Box::new)?;
        let frame = frame
            .with_param_values(vec![("year", ScalarValue::Int64(Some(year.into())))])
            .map_err(Box::new)?;
        let batches = frame.collect().await.map_err(Box::new)?;
        let schema = self.schema();
        let shaped = batches
            .iter()
            .map(|batch| to_schema(batch, &schema))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(concat_batches(&schema, &shaped)?)
    }

    /// The answer for `year` from the MySQL target, over the rows.
    pub async fn mysql(self, target: &MysqlTarget, year: i32) -> Result<RecordBatch, ReportError> {
        self.run_mysql(target, self.mysql_sql(), year).await
    }

    /// The answer for `year` from `sql`, one of its MySQL texts, run on `target`.
    async fn run_mysql(
        self,
        target: &MysqlTarget,
        sql: &str,
        year: i32,
    ) -> Result<RecordBatch, ReportError> {
        let year = Params::from(vec![("year", mysql_async::Value::from(year))]);
        let rows: Vec<Row> = target.exec(sql, year).await?;
        let schema = self.schema();
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| -> ArrayRef {
                match field.data_type() {
                    DataType::Int64 => Arc::new(
                        rows.iter()
                            .map(|row| row.get::<i64, _>(index))
                            .collect::<Int64Array>(),
                    ),
                    _ => Arc::new(
                        rows.iter()
                            .map(|row| row.get::<String, _>(index))
                            .collect::<StringArray>(),
                    ),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}
