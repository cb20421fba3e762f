//! The routes: each handler turns a request into one call below and the result into HTTP.

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;

use super::reports::{self, formatted};
use super::{Api, ApiError, access_log, auth, backups, bounds, public_paths};
use crate::batch;
use crate::event::Notification;
use crate::ledger::{self, Entry, Selection};
use crate::queue::QueueError;
use crate::report::Report;
use crate::report::format::Format;
use crate::store::UploadError;

/// Largest batch-insert body: 1,000 rows of generous size.
const BATCH_BODY_LIMIT: usize = 4 << 20;
/// Largest event notification: S3 sends a few records per notification.
const EVENT_BODY_LIMIT: usize = 1 << 20;
/// Most of a plain-text error kept when it is turned into JSON.
const ERROR_TEXT_LIMIT: usize = 64 << 10;

pub fn router(api: Api) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route(
            "/reports/hires-by-quarter",
            get(|api, params, headers| reports::hr(Report::Q1, api, params, headers)),
        )
        .route(
            "/reports/departments-above-mean",
            get(|api, params, headers| reports::hr(Report::Q2, api, params, headers)),
        )
        .route("/reports/{name}", get(reports::named))
        .route(
            "/events/s3",
            post(s3_event).layer(DefaultBodyLimit::max(EVENT_BODY_LIMIT)),
        )
        .route(
            "/tables/{table}/rows",
            post(insert_rows).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        // Routes above answer within the request timeout; the ones below run to their end (a
        // backup, a restore) or are bounded by their body's pace (an upload).
        .route_layer(middleware::from_fn_with_state(
            api.clone(),
            bounds::deadline,
        ))
        .route("/backups", post(backups::make).get(backups::list))
        .route("/tables/{table}/restore", post(backups::restore))
        // Uploads are streamed to the store with their own limit, never buffered whole.
        .route(
            "/{bucket}/{*key}",
            put(upload).layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(
            api.clone(),
            public_paths::hide,
        ))
        .layer(middleware::from_fn_with_state(api.clone(), auth::check))
        .layer(middleware::from_fn(access_log::log))
        .with_state(api)
}

/// `GET /healthz`: `200` while the worker takes runs and the target answers, else `503`
/// saying which of them is not well, so that a load balancer stops sending work here.
async fn healthz(State(api): State<Api>) -> Response {
    let working = api.queue.is_working();
    let worker = if working { "running" } else { "stopped" };
    let target = api.target.reachable().await;
    let healthy = working && target.is_ok();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "worker": worker,
        "queued": api.queue.waiting(),
        "uploads": api.limits.max_uploads - api.upload_slots.available_permits(),
        "target": target.map_or_else(|error| error.to_string(), |()| "ok".to_owned()),
    });
    let status = match healthy {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, axum::Json(body)).into_response()
}

async fn openapi(State(api): State<Api>) -> impl IntoResponse {
    axum::Json(super::openapi::document(api.target.dictionary()))
}

/// Errors axum answers by itself (a query that does not parse, a method the route does not
/// take, a body over its limit) come as text; the API promises `{"error": …}` for every error.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = (response.headers().get(header::CONTENT_TYPE))
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let text =
        (axum::body::to_bytes(response.into_body(), ERROR_TEXT_LIMIT).await).unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = match text.is_empty() {
        true => status.canonical_reason().unwrap_or("error").to_owned(),
        false => text,
    };
    let mut answer = ApiError::new(status, message).into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such resource")
}

#[derive(Debug, Deserialize)]
struct UploadParams {
    #[serde(default)]
    wait: bool,
}

/// `PUT /{bucket}/{key}`: store, queue, answer `202` (or the ended run with `?wait=true`);
/// `429`/`503` with `Retry-After` past the upload and queue bounds.
async fn upload(
    State(api): State<Api>,
    Path((bucket, key)): Path<(String, String)>,
    Query(params): Query<UploadParams>,
    body: Body,
) -> Result<Response, ApiError> {
    if bucket != api.bucket {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no bucket {bucket:?} (uploads go to {:?})", api.bucket),
        ));
    }
    let slot = bounds::admit_upload(&api)?;
    let mut body = bounds::pausing_at_most(body.into_data_stream(), api.limits.body_timeout);
    let accepted = (api.queue)
        .accept_upload(&key, &mut body, api.max_upload_bytes)
        .await;
    if let Err(QueueError::Upload(UploadError::TooLarge { limit })) = &accepted {
        bounds::drain_refused(&mut body, *limit, api.limits.request_timeout).await;
    }
    let queued = accepted?;
    drop(slot);
    let location = format!("/runs/{}", queued.run_id);
    // A wait longer than the request timeout answers `202`: the run goes on, the client polls.
    let ended = match params.wait {
        true => {
            let waiting = api.queue.finished(&queued.run_id);
            (tokio::time::timeout(api.limits.request_timeout, waiting).await).unwrap_or(None)
        }
        false => None,
    };
    let (status, entry) = match ended {
        Some(entry) => (StatusCode::OK, entry),
        None => (StatusCode::ACCEPTED, queued),
    };
    let body = run_json(
        &entry.run_id,
        entry.status.as_str(),
        std::slice::from_ref(&entry),
    )?;
    Ok((status, [(header::LOCATION, location)], axum::Json(body)).into_response())
}

/// `POST /tables/{table}/rows`: 1 to 1,000 rows as JSON; the accepted count and, per rejected
/// row, its index and reason.
async fn insert_rows(
    State(api): State<Api>,
    Path(table): Path<String>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let table = api.table(&table)?;
    let outcome = batch::insert(&api.queue, &table, &body).await?;
    let body = serde_json::json!({
        "run_id": outcome.run.run_id,
        "accepted": outcome.run.rows_valid,
        "rejected": outcome.rejected,
    });
    Ok(axum::Json(body).into_response())
}

/// Most entries one `GET /runs` answers with.
const RUNS_PAGE_MAX: usize = 1_000;

#[derive(Debug, Deserialize)]
struct RunsParams {
    status: Option<ledger::Status>,
    #[serde(default = "runs_page_max")]
    limit: usize,
    #[serde(default)]
    offset: usize,
}

fn runs_page_max() -> usize {
    RUNS_PAGE_MAX
}

/// `GET /runs`: ledger entries, oldest first, a page at a time (`?limit=&offset=`, the next
/// page's URL in a `Link: <…>; rel="next"` header), optionally only those of one `?status=`.
async fn runs(
    State(api): State<Api>,
    Query(params): Query<RunsParams>,
) -> Result<Response, ApiError> {
    if !(1..=RUNS_PAGE_MAX).contains(&params.limit) {
        let message = format!("limit {}: must be 1 to {RUNS_PAGE_MAX}", params.limit);
        return Err(ApiError::new(StatusCode::BAD_REQUEST, message));
    }
    // One entry past the page tells whether a next page exists.
    let selection = Selection {
        status: params.status,
        run_id: None,
        offset: params.offset,
        limit: Some(params.limit + 1),
    };
    let mut page = api.queue.ledger(&selection).await?;
    let more = page.len() > params.limit;
    page.truncate(params.limit);
    let mut response = axum::Json(entries_json(&page)?).into_response();
    if more {
        let status = params
            .status
            .map_or(String::new(), |s| format!("&status={}", s.as_str()));
        let next = format!(
            "</runs?limit={}&offset={}{status}>; rel=\"next\"",
            params.limit,
            params.offset + params.limit
        );
        let next = header::HeaderValue::from_str(&next).expect("ASCII");
        response.headers_mut().insert(header::LINK, next);
    }
    Ok(response)
}

/// `GET /runs/{id}`: the run's state and its ledger entries.
async fn run(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = api
        .queue
        .view(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run {id:?}")))?;
    Ok(axum::Json(run_json(&id, view.status, &view.entries)?).into_response())
}

/// `POST /events/s3`: each `ObjectCreated` record of the landing bucket becomes a queued run.
async fn s3_event(
    State(api): State<Api>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let notification = Notification::parse(&body)
        .map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.to_string()))?;
    let outcomes = notification.enqueue(&api.queue).await;
    let answer = axum::Json(notification.outcomes_json(&outcomes));
    Ok((StatusCode::ACCEPTED, answer).into_response())
}

/// Ledger entries as JSON objects with the columns `csvgate runs` prints.
fn entries_json(entries: &[Entry]) -> Result<serde_json::Value, ApiError> {
    let batch = ledger::to_batch(entries)
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    let json = formatted(Format::Json, &batch)?;
    serde_json::from_slice(&json)
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))
}

fn run_json(id: &str, status: &str, entries: &[Entry]) -> Result<serde_json::Value, ApiError> {
    Ok(serde_json::json!({
        "run_id": id,
        "status": status,
        "entries": entries_json(entries)?,
    }))
}
