//! `csvgate serve`: the first AWS version's HTTP front door, thin over the queue, the ledger and the reports.
//!
//! - `PUT /{bucket}/{key}` streams a CSV body into the landing bucket and queues it (`202`,
//!   `Location: /runs/{id}`); `?wait=true` answers when the run has ended.
//! - `POST /tables/{table}/rows`: 1 to 1,000 rows as JSON, checked by the same rules.
//! - `GET /runs`, `GET /runs/{id}`: the ledger.
//! - `GET /reports/hires-by-quarter`, `GET /reports/departments-above-mean` (`?year=2021`,
//!   `?engine=`): JSON, or CSV for `Accept: text/csv`.
//! - `POST /backups`, `GET /backups`, `POST /tables/{table}/restore`: snapshots and restores
//!   (see [`backups`]).
//! - `GET /healthz`, `GET /openapi.json` (see [`openapi`]), both without a key.
//!
//! Every error is a JSON body `{"error": "..."}` with a 4xx or 5xx status, and no answer shows
//! a local folder's path ([`public_paths`]). Handlers only translate between HTTP and the
//! modules below them; [`auth`] and [`access_log`] wrap them all.

mod access_log;
mod auth;
mod backups;
mod bounds;
pub mod openapi;
mod public_paths;
mod reports;
mod routes;
mod server;

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use auth::Auth;
pub use public_paths::PublicPaths;

use crate::backup::Backups;
use crate::batch::BatchError;
use crate::config::ServerLimits;
use crate::dictionary::{NoSuchTable, TableRef};
use crate::queue::{Queue, QueueError};
use crate::report::{Engines, ReportError};
use crate::sink::{SinkError, Target};
use crate::store::UploadError;

pub use crate::config::{DEFAULT_BUCKET, DEFAULT_MAX_UPLOAD_BYTES};

/// What the server needs: the queue that processes uploads, the engines that answer reports.
#[derive(Clone)]
pub struct Api {
    pub queue: Arc<Queue>,
    pub engines: Engines,
    /// The name clients use for the landing bucket in `PUT /{bucket}/{key}`.
    pub bucket: String,
    pub max_upload_bytes: u64,
    pub auth: Auth,
    /// Where snapshots go, and the target a restore replaces rows of (the queue's).
    pub backups: Backups,
    pub target: Arc<dyn Target>,
    pub limits: ServerLimits,
    /// One permit per upload streaming now (`limits.max_uploads` in all).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// What answers show in place of the deployment's local folders.
    pub public_paths: PublicPaths,
}

impl Api {
    /// The table a request names, or `404` listing the tables there are.
    fn table(&self, name: &str) -> Result<TableRef, ApiError> {
        let found = self.target.dictionary().find(name).cloned();
        found.map_err(not_found)
    }

    /// The tables a request names, every table when it names none; `404` for an unknown one.
    fn tables(&self, names: &[String]) -> Result<Vec<TableRef>, ApiError> {
        self.target.dictionary().select(names).map_err(not_found)
    }
}

fn not_found(unknown: NoSuchTable) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, unknown.to_string())
}

/// Serves `api` on `listener` until `shutdown` resolves, then stops accepting connections and
/// lets requests in flight finish, until the shutdown deadline.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = api.limits;
    server::serve(listener, routes::router(api), limits, shutdown).await
}

/// An error answer: a status and a message, sent as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds after which trying again may succeed (`429`, `503`).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The server is at a bound: try again in `seconds`.
    fn busy(status: StatusCode, message: impl Into<String>, seconds: u64) -> Self {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(status, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut message = self.message;
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, error = %message, "request failed");
            // What follows the first line (a library's backtrace) stays in the log.
            if let Some((first, _)) = message.split_once('\n') {
                message = format!("{first} (more in the server log)");
            }
        }
        let body = Json(serde_json::json!({ "error": message }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        let status = match &error {
            QueueError::BadKey(_) | QueueError::UnknownTable { .. } => StatusCode::BAD_REQUEST,
            QueueError::Upload(UploadError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            QueueError::Upload(UploadError::Empty | UploadError::Body(_)) => {
                StatusCode::BAD_REQUEST
            }
            QueueError::Closed => StatusCode::SERVICE_UNAVAILABLE,
            QueueError::Upload(UploadError::Store(_))
            | QueueError::Ledger(_)
            | QueueError::Crashed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<BatchError> for ApiError {
    fn from(error: BatchError) -> Self {
        let status = match &error {
            BatchError::Malformed(_)
            | BatchError::NotAnObject { .. }
            | BatchError::DecimalAsNumber { .. }
            | BatchError::Empty => StatusCode::BAD_REQUEST,
            BatchError::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BatchError::Queue(_) | BatchError::Failed(_) | BatchError::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        match error {
            BatchError::Queue(queued) => queued.into(),
            other => ApiError::new(status, other.to_string()),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        let status = match error {
            ReportError::NoMysqlTarget
            | ReportError::NoScheduler
            | ReportError::NoBallista
            | ReportError::Year(_)
            | ReportError::Param { .. }
            | ReportError::NotInEngine { .. } => StatusCode::BAD_REQUEST,
            ReportError::UnknownReport { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        ApiError::new(rejection.status(), rejection.body_text())
    }
}

impl From<SinkError> for ApiError {
    fn from(error: SinkError) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}
