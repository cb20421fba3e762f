//! `[api]`'s bounds on time and counts: what keeps one slow, idle or greedy client from holding
//! the server.

use std::time::Duration;

use super::{Config, Key};

/// The bucket name the first AWS version's API used; clients keep their URLs.
pub const DEFAULT_BUCKET: &str = "globant-landing";
/// Largest upload accepted unless configured otherwise.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;

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

impl Config {
    /// The server's bounds, from `[api]`.
    pub fn server_limits(&self) -> ServerLimits {
        let seconds = |key| Duration::from_secs(self.count(key));
        let count = |key| self.count(key);
        ServerLimits {
            header_timeout: seconds(Key::HeaderTimeoutSecs),
            request_timeout: seconds(Key::RequestTimeoutSecs),
            body_timeout: seconds(Key::BodyTimeoutSecs),
            max_connections: count(Key::MaxConnections),
            max_uploads: count(Key::MaxConcurrentUploads),
            max_queued_runs: count(Key::MaxQueuedRuns),
            shutdown_deadline: seconds(Key::ShutdownDeadlineSecs),
        }
    }
}
