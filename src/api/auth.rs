//! API keys, as API Gateway took them: `x-api-key: <key>` (or `Authorization: Bearer <key>`).
//!
//! Writes always need a key unless the server runs with `--insecure-no-auth`; reads (runs,
//! reports) need one too unless `open_reads` is set. `/healthz` and `/openapi.json` are open.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{Api, ApiError};
use crate::config::{Config, Key};

/// Paths anyone may read: probes and the API's own description.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/openapi.json"];

/// Who may call the API.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A request must carry one of these keys (reads too, unless `open_reads`).
    Keys {
        keys: Arc<Vec<String>>,
        open_reads: bool,
    },
    /// Anyone who reaches the port may read and write: for local use only.
    Off,
}

impl Auth {
    /// The keys of `api.api_keys` with `api.open_reads`, or [`Auth::Off`] when `insecure`;
    /// `None` when neither gives a way in, so a server never starts open by accident.
    pub fn configured(config: &Config, insecure: bool) -> Option<Auth> {
        if insecure {
            tracing::warn!(
                "--insecure-no-auth: API keys are OFF; anyone who can reach this port can upload and read"
            );
            return Some(Auth::Off);
        }
        let keys = config.list(Key::ApiKeys);
        (!keys.is_empty()).then(|| Auth::Keys {
            keys: Arc::new(keys.to_vec()),
            open_reads: config.enabled(Key::OpenReads),
        })
    }
}

/// Middleware: lets the request through or answers `401` with a JSON error.
pub async fn check(
    State(api): State<Api>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Auth::Keys { keys, open_reads } = &api.auth else {
        return Ok(next.run(request).await);
    };
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let open = OPEN_PATHS.contains(&request.uri().path()) || (is_read && *open_reads);
    if open || presented_key(&request).is_some_and(|key| is_known(keys, key)) {
        return Ok(next.run(request).await);
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "missing or wrong API key (send it as x-api-key or Authorization: Bearer)",
    ))
}

fn presented_key(request: &Request) -> Option<&str> {
    let headers = request.headers();
    if let Some(key) = headers.get("x-api-key") {
        return key.to_str().ok();
    }
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Compares against every key without stopping early, so timing does not tell how much of
/// a guess was right.
fn is_known(keys: &[String], presented: &str) -> bool {
    keys.iter().fold(false, |found, key| {
        let same_length = key.len() == presented.len();
        let difference = key
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        found | (same_length && difference == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_key_is_known() {
        let keys = vec!["s3cret-key".to_owned(), "other".to_owned()];
        assert!(is_known(&keys, "s3cret-key"));
        assert!(is_known(&keys, "other"));
        for wrong in ["", "s3cret", "s3cret-key ", "S3cret-key", "otherx"] {
            assert!(!is_known(&keys, wrong), "{wrong:?}");
        }
    }
}
