//! `csvgate serve` as a deployment runs it: the upload queue, the backup schedule and the HTTP
//! API over this deployment's buckets and target, until a [`Shutdown`].

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Deployment, Shutdown};
use crate::api::{self, Api, Auth, PublicPaths};
use crate::backup::BackupError;
use crate::backup::schedule::Schedule;
use crate::config::Key;
use crate::queue::{Queue, QueueError};

/// Why serving stopped other than by a shutdown.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

impl Deployment {
    /// Serves the API on `listener` until `shutdown` is asked; then takes no new request or
    /// run, lets requests in flight finish, and waits for the run in progress, each until
    /// `api.shutdown_deadline_secs` after the shutdown was asked.
    pub async fn serve(
        &self,
        listener: TcpListener,
        auth: Auth,
        shutdown: Shutdown,
    ) -> Result<(), ServeError> {
        let (queue, worker) = self.start_queue().await?;
        let api = self.api(Arc::clone(&queue), auth);
        let scheduled = self.schedule_backups()?;
        let mut asked = shutdown.clone();
        api::serve(listener, api, async move {
            asked.asked().await;
            tracing::warn!("shutting down: no new requests; finishing the run in progress");
            queue.close();
        })
        .await?;
        let deadline = shutdown
            .asked_at()
            .map_or_else(tokio::time::Instant::now, |at| {
                at + self.config.server_limits().shutdown_deadline
            });
        // A scheduled backup in flight is dropped: without its manifest it is never listed.
        if let Some(scheduled) = scheduled {
            scheduled.abort();
        }
        // Runs still queued stay queued in the ledger and resume at the next start. A run
        // still in progress at the deadline is abandoned: if its load never committed, the
        // next start runs it again from its `queued` entry; if it did, and only the ledger
        // append or rollup commits after it were cut off, the next read of the ledger settles
        // its parked entry and the next load or report catches the rollups up.
        if tokio::time::timeout_at(deadline, worker).await.is_err() {
            tracing::warn!(
                "shutdown deadline reached with work in progress: a run not committed runs again at the next start; a committed one's ledger entry and rollups are completed later"
            );
        }
        Ok(())
    }

    fn api(&self, queue: Arc<Queue>, auth: Auth) -> Api {
        let limits = self.config.server_limits();
        let buckets = &self.pipeline.buckets;
        let public_paths = PublicPaths::of(&[
            ("landing", &buckets.landing),
            ("invalid", &buckets.invalid),
            ("warehouse", &buckets.warehouse),
            ("backups", &self.backups.location),
        ]);
        Api {
            bucket: self.api_bucket(),
            max_upload_bytes: self.config.count(Key::MaxUploadBytes),
            queue,
            engines: self.engines.clone(),
            auth,
            backups: self.backups.clone(),
            target: Arc::clone(&self.pipeline.target),
            limits,
            upload_slots: Arc::new(tokio::sync::Semaphore::new(limits.max_uploads)),
            public_paths,
        }
    }

    /// The bucket name in `PUT /{bucket}/{key}`: configured, else an S3 landing location's
    /// bucket, else the first AWS version's.
    fn api_bucket(&self) -> String {
        let landing = &self.pipeline.buckets.landing;
        let s3_bucket = landing.is_s3().then(|| landing.url.host_str()).flatten();
        let configured = self.config.get(Key::ApiBucket);
        configured
            .or(s3_bucket)
            .unwrap_or(api::DEFAULT_BUCKET)
            .to_owned()
    }

    /// Starts the backup schedule of `[backup]`, unless it is `off`.
    fn schedule_backups(&self) -> Result<Option<JoinHandle<()>>, BackupError> {
        let Some(schedule) = Schedule::parse(self.config.backup_schedule())? else {
            return Ok(None);
        };
        let job = (self.config).backup_job(self.backups.clone(), self.engines.clone());
        Ok(Some(tokio::spawn(job.run_on(schedule))))
    }
}
