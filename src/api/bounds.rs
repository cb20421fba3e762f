//! The per-request bounds of [`ServerLimits`](crate::config::ServerLimits): a deadline for
//! answers, a pause limit for upload bodies, and the admission of uploads.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use super::{Api, ApiError};

/// Seconds a client told to retry is asked to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// Answers `503` when the handler has not answered within the request timeout; the work it
/// was doing is dropped (only reads and enqueues run under it, never a load or a restore).
pub(super) async fn deadline(State(api): State<Api>, request: Request, next: Next) -> Response {
    let limit = api.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::busy(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no answer within the request timeout of {} s",
                limit.as_secs_f64()
            ),
            RETRY_AFTER_SECS,
        )
        .into_response(),
    }
}

/// Lets an upload in when fewer than `max_uploads` stream and fewer than `max_queued_runs`
/// wait; the permit is held until the body is stored.
pub(super) fn admit_upload(api: &Api) -> Result<OwnedSemaphorePermit, ApiError> {
    let limits = &api.limits;
    let slot = api.upload_slots.clone().try_acquire_owned().map_err(|_| {
        let message = format!(
            "{} uploads are in progress, the most this server takes at once; retry shortly",
            limits.max_uploads
        );
        ApiError::busy(StatusCode::TOO_MANY_REQUESTS, message, RETRY_AFTER_SECS)
    })?;
    let waiting = api.queue.waiting();
    if waiting >= limits.max_queued_runs {
        let message = format!("{waiting} runs are waiting for the worker; retry later");
        return Err(ApiError::busy(
            StatusCode::SERVICE_UNAVAILABLE,
            message,
            RETRY_AFTER_SECS,
        ));
    }
    Ok(slot)
}

/// Reads and drops what is left of a refused upload's body, up to `cap` bytes and for `time` at
/// most: a client still sending when the refusal comes would otherwise meet a reset connection
/// (the kernel resets a socket closed with unread data) and never read the answer. A client
/// sending more, or longer, is cut off as before.
pub(super) async fn drain_refused(
    body: &mut (impl Stream<Item = Result<Bytes, String>> + Unpin),
    cap: u64,
    time: Duration,
) {
    let drain = async {
        let mut drained = 0;
        while let Some(Ok(chunk)) = body.next().await {
            drained += chunk.len() as u64;
            if drained > cap {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(time, drain).await;
}

/// `body`, ending with an error when it sends nothing for `idle`: a stalled client loses its
/// upload instead of holding a slot.
pub(super) fn pausing_at_most<E: std::fmt::Display>(
    body: impl Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    idle: Duration,
) -> impl Stream<Item = Result<Bytes, String>> + Send + Unpin + 'static {
    let chunks = futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(|error| error.to_string()), Some(body))),
            Ok(None) => None,
            Err(_) => {
                let stalled = format!("the body sent nothing for {} s", idle.as_secs_f64());
                Some((Err(stalled), None))
            }
        }
    });
    Box::pin(chunks)
}
