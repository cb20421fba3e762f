//! `[api]`'s bounds on time and counts: what keeps one slow, idle or greedy client from holding
//! the server.

use std::time::Duration;

use super::ApiConfig;

/// Time and count bounds of the server; each is a setting of `[api]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A connection that has not sent a whole request head by then is closed.
    pub header_timeout: Duration,
    /// A request other than an upload must be answered by then (`503` otherwise); an upload
    /// with `?wait=true` waits for its run at most this long, then answers `202`.
    pub request_timeout: Duration,
    /// An upload whose body sends nothing for this long is cut off and stores nothing.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Uploads streamed at once; past it a `PUT` gets `429` with `Retry-After`.
    pub max_uploads: usize,
    /// Runs waiting for the worker; past it a `PUT` gets `503` with `Retry-After`.
    pub max_queued_runs: usize,
    /// How long a shutdown waits for requests in flight before closing their connections.
    pub shutdown_deadline: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_uploads: 8,
            max_queued_runs: 1_000,
            shutdown_deadline: Duration::from_secs(30),
        }
    }
}

impl ApiConfig {
    /// The server's bounds: each setting given, else its default.
    pub fn server_limits(&self) -> ServerLimits {
        let default = ServerLimits::default();
        let seconds =
            |given: Option<u64>, default: Duration| given.map_or(default, Duration::from_secs);
        ServerLimits {
            header_timeout: seconds(self.header_timeout_secs, default.header_timeout),
            request_timeout: seconds(self.request_timeout_secs, default.request_timeout),
            body_timeout: seconds(self.body_timeout_secs, default.body_timeout),
            max_connections: self.max_connections.unwrap_or(default.max_connections),
            max_uploads: self.max_concurrent_uploads.unwrap_or(default.max_uploads),
            max_queued_runs: self.max_queued_runs.unwrap_or(default.max_queued_runs),
            shutdown_deadline: seconds(self.shutdown_deadline_secs, default.shutdown_deadline),
        }
    }
}
