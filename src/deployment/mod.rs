//! A deployment: the buckets, the target, the query engines and the ingest settings that one
//! [`Config`] describes, wired in one place.
//!
//! The command line, the HTTP server, event handlers and tests all build what they run through
//! [`Deployment::open`], so "which target, mirrored or not, which buckets" is decided once and
//! the same way for all of them. Opening is cheap and connects to nothing: a MySQL pool
//! connects on first use, and a Delta table is read when a load or a query needs it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::backup::Backups;
use crate::check::Recorder;
use crate::config::{Config, Key};
use crate::dictionary::Dictionary;
use crate::pipeline::{IngestOptions, Pipeline};
use crate::queue::{Queue, QueueError};
use crate::report::Engines;
use crate::report::named::Catalog;
use crate::rollup::Rollup;
use crate::sink::delta::DeltaTarget;
use crate::sink::mirror::Mirrored;
use crate::sink::mysql::{MysqlTarget, TlsMode};
use crate::sink::{SinkError, Target};
use crate::store::{Buckets, Location, StoreError};

#[cfg(feature = "cli")]
mod serve;
mod shutdown;

#[cfg(feature = "cli")]
pub use serve::ServeError;
pub use shutdown::{Shutdown, Trigger};

/// Why a deployment could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(
        "target {0:?}: expected mysql://user@host:3306/database, or no target for the Delta warehouse"
    )]
    UnknownTarget(String),
    #[error("{0}")]
    Tls(String),
    #[error(transparent)]
    Contract(#[from] crate::contract::ContractError),
    #[error("reports: {0}")]
    Reports(#[from] crate::report::ReportError),
    #[error(transparent)]
    Rollup(#[from] crate::rollup::RollupError),
}

/// Everything one configuration runs on.
pub struct Deployment {
    pub config: Config,
    /// The buckets and the target loads go to.
    pub pipeline: Arc<Pipeline>,
    /// DataFusion over the Delta warehouse, and MySQL when it is the target. The warehouse
    /// shares its kept tables with the pipeline's Delta target.
    pub engines: Engines,
    /// How objects are read when no command line says otherwise (uploads, events).
    pub options: IngestOptions,
    /// Where snapshots go.
    pub backups: Backups,
}

/// The target loads go to: the warehouse, or MySQL (mirrored into the warehouse if `config`
/// says so).
fn loading_target(
    config: &Config,
    warehouse: &DeltaTarget,
    mysql: Option<&MysqlTarget>,
) -> Arc<dyn Target> {
    match mysql {
        None => Arc::new(warehouse.clone()),
        Some(mysql) if config.enabled(Key::MirrorParquet) => Arc::new(Mirrored {
            primary: Arc::new(mysql.clone()),
            mirror: Arc::new(warehouse.clone()),
        }),
        Some(mysql) => Arc::new(mysql.clone()),
    }
}

impl Deployment {
    /// Opens the buckets (a missing local folder waits for its first object) and builds the
    /// target `config` names.
    pub fn open(config: Config) -> Result<Deployment, DeploymentError> {
        let location = |key| config.value(key);
        let names = [Key::Landing, Key::Invalid, Key::Warehouse].map(location);
        let buckets = Buckets::open(names, &config.s3())?;
        let dictionary = config.dictionary()?;
        let queries = config.get(Key::Queries).map(std::path::Path::new);
        let rollups: Arc<[Rollup]> = match config.enabled(Key::Rollups) {
            true => Rollup::all(&dictionary, queries)?.into(),
            false => Arc::from([]),
        };
        let marker_retention = Duration::from_secs(config.count(Key::MarkerRetentionSecs));
        let warehouse = DeltaTarget::new(buckets.warehouse.clone(), Arc::clone(&dictionary))
            .with_rollups(Arc::clone(&rollups))
            .with_marker_retention(marker_retention);
        let mysql = match mysql_target(&config, Arc::clone(&dictionary))? {
            Some(mysql) => Some(mysql.with_rollups(rollups)?),
            None => None,
        };
        let target = loading_target(&config, &warehouse, mysql.as_ref());
        let options = IngestOptions {
            dialect: config.dialect(),
            workers: config.count(Key::Workers),
            group_max: config.count(Key::GroupMax),
            claim_lease: Duration::from_secs(config.count(Key::ClaimLeaseSecs)),
            ..IngestOptions::default()
        };
        let reports = match queries {
            Some(folder) => Catalog::with_folder(folder)?,
            None => Catalog::built_in(),
        };
        let engines = Engines {
            warehouse,
            mysql,
            ballista: None,
            reports: Arc::new(reports),
        };
        let recorder = Recorder {
            engines: engines.clone(),
            bucket: buckets.invalid.clone(),
        };
        Ok(Deployment {
            pipeline: Arc::new(Pipeline {
                buckets,
                target,
                after_load: Some(Arc::new(recorder)),
            }),
            engines,
            options,
            backups: Backups {
                location: Location::bucket(location(Key::Backups), &config.s3())?,
                dictionary,
            },
            config,
        })
    }

    /// The tables this deployment enforces.
    pub fn dictionary(&self) -> &Arc<Dictionary> {
        self.pipeline.target.dictionary()
    }

    /// The MySQL target, when one is configured.
    pub fn mysql(&self) -> Option<&MysqlTarget> {
        self.engines.mysql.as_ref()
    }

    /// Starts the upload queue's worker over this deployment's pipeline.
    pub async fn start_queue(&self) -> Result<(Arc<Queue>, JoinHandle<()>), QueueError> {
        Queue::start(Arc::clone(&self.pipeline), self.options.clone()).await
    }
}

/// The MySQL target `config` names, if any.
fn mysql_target(
    config: &Config,
    dictionary: Arc<Dictionary>,
) -> Result<Option<MysqlTarget>, DeploymentError> {
    match config.get(Key::Target) {
        None => Ok(None),
        Some(url) if url.starts_with("mysql://") => {
            let password = config.get(Key::TargetPassword);
            let tls = TlsMode::new(config.value(Key::TargetTls), config.get(Key::TargetTlsCa))
                .map_err(DeploymentError::Tls)?;
            Ok(Some(MysqlTarget::with_tls(
                url, password, &tls, dictionary,
            )?))
        }
        Some(other) => Err(DeploymentError::UnknownTarget(
            crate::config::without_password(other),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_that_is_not_mysql_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        config.set(Key::Target, "postgres://db/hr");
        let error = Deployment::open(config).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("target \"postgres://db/hr\": expected mysql://"),
            "{error}"
        );
    }

    #[test]
    fn a_mysql_target_is_the_pipeline_target_and_an_engine() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        config.set(Key::Target, "mysql://csvgate@127.0.0.1:3306/hr");
        config.set(Key::TargetPassword, "s3cret");
        config.set(Key::MirrorParquet, "true");
        let deployment = Deployment::open(config).unwrap();
        let described = deployment.pipeline.target.describe();
        assert!(
            described.starts_with(
                "mysql://csvgate@127.0.0.1:3306/hr (mirrored to delta warehouse file://"
            ),
            "{described}"
        );
        assert!(!described.contains("s3cret"));
        assert!(deployment.mysql().is_some());
        let made: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(made.is_empty(), "opening made {made:?}");
    }
}
