//! The backup routes: `POST /backups` makes snapshots, `GET /backups` lists them, and
//! `POST /tables/{table}/restore` puts a table back to a snapshot (or, on the warehouse, to
//! one of its versions). Each is one call into [`crate::backup`].

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Api, ApiError};
use crate::backup::{self, BackupError, Format};
use crate::sink::SinkError;
use crate::sink::delta::AsOf;

/// The body of `POST /backups`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    /// Tables to snapshot [default: all].
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    format: Format,
}

/// `POST /backups`: `201` with the manifests of the snapshots made.
pub(super) async fn make(
    State(api): State<Api>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: BackupRequest = json_or_default(&body?)?;
    let tables = api.tables(&request.tables)?;
    let made = (api
        .backups
        .backup_target(&api.engines, &tables, request.format))
    .await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    table: Option<String>,
}

/// `GET /backups`: the complete snapshots' manifests, oldest first.
pub(super) async fn list(
    State(api): State<Api>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let table = params
        .table
        .as_deref()
        .map(|name| api.table(name))
        .transpose()?;
    Ok(Json(api.backups.list(table.as_deref()).await?).into_response())
}

/// The body of `POST /tables/{table}/restore`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    /// A snapshot id, or `latest` [default].
    snapshot: Option<String>,
    /// Instead of a snapshot, a warehouse version or RFC 3339 time.
    as_of: Option<String>,
    #[serde(default)]
    force: bool,
}

/// `POST /tables/{table}/restore`: `200` with what was restored, `409` when refused.
pub(super) async fn restore(
    State(api): State<Api>,
    Path(table): Path<String>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let table = api.table(&table)?;
    let request: RestoreRequest = json_or_default(&body?)?;
    // Between two runs of the queue: a restore's commit never races a load's.
    let restored = match &request.as_of {
        Some(as_of) => {
            let as_of: AsOf =
                (as_of.parse()).map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, why))?;
            let restore = backup::restore_as_of(&api.engines, &table, as_of, request.force);
            api.queue.exclusive(restore).await?
        }
        None => {
            let snapshot = request.snapshot.as_deref();
            let target = api.target.as_ref();
            let restore = api.backups.restore(target, &table, snapshot, request.force);
            api.queue.exclusive(restore).await?
        }
    };
    Ok(Json(serde_json::json!({
        "table": table.name,
        "from": restored.from,
        "rows": restored.rows,
        "run_id": restored.run_id,
        "dangling": restored.dangling,
    }))
    .into_response())
}

/// An empty body is every default.
fn json_or_default<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.to_string()))
}

impl From<BackupError> for ApiError {
    fn from(error: BackupError) -> Self {
        let status = match &error {
            BackupError::NoSnapshot { .. } => StatusCode::NOT_FOUND,
            BackupError::Usage(_) => StatusCode::BAD_REQUEST,
            BackupError::Refused { .. }
            | BackupError::Dangling { .. }
            | BackupError::Sink(SinkError::Config { .. }) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}
