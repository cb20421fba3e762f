//! A deployment: the buckets, the target, the query engines and the ingest settings that one
//! [`Config`] describes, wired in one place.
//!
//! The command line, the HTTP server, event handlers and tests all build what they run through
//! [`Deployment::open`], so "which target, mirrored or not, which buckets" is decided once and
//! the same way for all of them. Opening is cheap and connects to nothing: a MySQL pool
//! connects on first use, and a Delta table is read when a load or a query needs it.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, TargetConfig};
use crate::pipeline::{IngestOptions, Pipeline};
use crate::queue::{Queue, QueueError};
use crate::report::Engines;
use crate::sink::delta::DeltaTarget;
use crate::sink::mirror::Mirrored;
use crate::sink::mysql::MysqlTarget;
use crate::sink::{SinkError, Target};
use crate::store::{Buckets, StoreError};

/// Why a deployment could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(
        "target {0:?}: expected mysql://user@host:3306/database, or no target for the Delta warehouse"
    )]
    UnknownTarget(String),
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
}

impl Deployment {
    /// Opens the buckets (creating local folders) and builds the target `config` names.
    pub fn open(config: Config) -> Result<Deployment, DeploymentError> {
        let locations = &config.locations;
        let names = [&locations.landing, &locations.invalid, &locations.warehouse];
        let buckets = Buckets::open(names.map(String::as_str), &config.s3)?;
        let warehouse = DeltaTarget::new(buckets.warehouse.clone());
        let mysql = mysql_target(&config.target)?;
        let target: Arc<dyn Target> = match &mysql {
            None => Arc::new(warehouse.clone()),
            Some(mysql) if config.target.mirror_parquet => Arc::new(Mirrored {
                primary: Arc::new(mysql.clone()),
                mirror: Arc::new(warehouse.clone()),
            }),
            Some(mysql) => Arc::new(mysql.clone()),
        };
        let options = IngestOptions {
            dialect: config.ingest.dialect()?,
            workers: config.ingest.workers.unwrap_or(1),
            claim_lease: (config.ingest.claim_lease_secs).map_or(
                crate::sink::claim::DEFAULT_LEASE,
                std::time::Duration::from_secs,
            ),
            ..IngestOptions::default()
        };
        Ok(Deployment {
            pipeline: Arc::new(Pipeline { buckets, target }),
            engines: Engines {
                warehouse,
                mysql,
                ballista: None,
            },
            options,
            config,
        })
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

/// The MySQL target `target` names, if any.
fn mysql_target(target: &TargetConfig) -> Result<Option<MysqlTarget>, DeploymentError> {
    match &target.url {
        None => Ok(None),
        Some(url) if url.starts_with("mysql://") => {
            Ok(Some(MysqlTarget::new(url, target.password.as_deref())?))
        }
        Some(other) => Err(DeploymentError::UnknownTarget(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_that_is_not_mysql_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        config.target.url = Some("postgres://db/hr".into());
        let error = Deployment::open(config).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("target \"postgres://db/hr\": expected mysql://"),
            "{error}"
        );
    }

    #[test]
    fn a_delimiter_that_is_not_ascii_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        config.ingest.delimiter = Some('¦');
        let error = Deployment::open(config).err().unwrap();
        assert_eq!(
            error.to_string(),
            "delimiter '¦': must be a single ASCII character"
        );
    }

    #[test]
    fn a_mysql_target_is_the_pipeline_target_and_an_engine() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::in_folder(dir.path());
        config.target.url = Some("mysql://csvgate@127.0.0.1:3306/hr".into());
        config.target.password = Some("s3cret".into());
        config.target.mirror_parquet = true;
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
        assert!(dir.path().join("landing").is_dir() && dir.path().join("invalid").is_dir());
    }
}
