//! `GET /reports/…`: the HR reports under their own routes, and any named report (built in or
//! from the `queries` folder) by name, its parameters in the query string.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use serde::Deserialize;

use super::{Api, ApiError};
use crate::report::format::{self, Format};
use crate::report::{DEFAULT_YEAR, Engine, Report, Scan};

#[derive(Debug, Deserialize)]
pub(super) struct HrParams {
    year: Option<i32>,
    engine: Option<Engine>,
    /// `true`: over the rows, never from a rollup.
    #[serde(default)]
    exact: bool,
}

/// An HR report as a JSON array of rows, or CSV when the client accepts `text/csv`.
pub(super) async fn hr(
    report: Report,
    State(api): State<Api>,
    Query(params): Query<HrParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let year = params.year.unwrap_or(DEFAULT_YEAR);
    let answer = api
        .engines
        .answer(report, year, params.engine, Scan::exact_when(params.exact));
    let answer = answer.await?;
    answered(&headers, &answer)
}

/// `GET /reports/{name}?PARAM=VALUE…&engine=…`: the named report, its parameters read from
/// the query string (`engine` chooses the engine).
pub(super) async fn named(
    State(api): State<Api>,
    Path(name): Path<String>,
    Query(mut given): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let engine = match given.remove("engine").as_deref() {
        None => None,
        Some("datafusion") => Some(Engine::Datafusion),
        Some("mysql") => Some(Engine::Mysql),
        Some(other) => {
            let reason = format!("engine {other:?}: expected datafusion or mysql");
            return Err(ApiError::new(StatusCode::BAD_REQUEST, reason));
        }
    };
    let exact = match given.remove("exact").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            let reason = format!("exact {other:?}: expected true or false");
            return Err(ApiError::new(StatusCode::BAD_REQUEST, reason));
        }
    };
    let (schema, batches) = api
        .engines
        .report(&name, &given, engine, Scan::exact_when(exact))
        .await?;
    let answer = concat_batches(&schema, &batches)
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    answered(&headers, &answer)
}

/// `answer` as JSON, or CSV when the client accepts `text/csv`.
fn answered(headers: &HeaderMap, answer: &RecordBatch) -> Result<Response, ApiError> {
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    let (format, content_type) = match wants_csv {
        true => (Format::Csv, "text/csv; charset=utf-8"),
        false => (Format::Json, "application/json"),
    };
    let bytes = formatted(format, answer)?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// `batch` in `format`.
pub(super) fn formatted(format: Format, batch: &RecordBatch) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    format::write(
        format,
        &batch.schema(),
        std::slice::from_ref(batch),
        &mut out,
    )
    .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    Ok(out)
}
