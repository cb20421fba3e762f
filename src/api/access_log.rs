//! The access log: one JSON line per request on stdout, with the fields of API Gateway's
//! access log (request id, client ip, method, path, status, bytes in and out, latency). The
//! query string and headers are left out: they may carry keys.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;

/// Middleware: counts the body as it streams through, then writes the line.
pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let bytes_in = Arc::new(AtomicU64::new(0));
    let request = counting_body(request, Arc::clone(&bytes_in));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let line = serde_json::json!({
        "requestId": request_id,
        "ip": client_ip,
        "requestTime": chrono::Utc::now().to_rfc3339(),
        "httpMethod": method,
        "path": path,
        "status": response.status().as_u16(),
        "bytesIn": bytes_in.load(Ordering::Relaxed),
        "bytesOut": response.body().size_hint().exact(),
        "latencyMs": started.elapsed().as_secs_f64() * 1000.0,
    });
    println!("{line}");
    response
}

fn counting_body(request: Request, counter: Arc<AtomicU64>) -> Request {
    request.map(|body| {
        Body::from_stream(body.into_data_stream().inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
        }))
    })
}
