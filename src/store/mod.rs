//! Where objects live: one parser for locations, and the buckets csvgate reads and writes.
//!
//! A location is a bare path (`./csvgate-data/landing`), a `file://` URL or, in production, an
//! `s3://` URL (not built yet: [`StoreError::Unsupported`] is the seam). Every location becomes
//! an [`ObjectStore`](datafusion::object_store::ObjectStore) rooted at it, so the rest of
//! csvgate speaks only in keys.
//!
//! - [`location`]: parsing locations, and the [`Location`] type every bucket is;
//! - [`local`]: local folders as stores, and what an `ingest` argument names in them;
//! - [`object`]: object versions (what the ledger records) and the keys clients may use;
//! - [`transfer`]: reading objects as streams, and uploads that appear whole or not at all.

mod local;
mod location;
mod object;
mod transfer;

pub use location::Location;
pub use object::{ObjectVersion, check_key};

/// Why a location could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{location}: {scheme}:// locations are not supported yet (use a local path or file://)"
    )]
    Unsupported { location: String, scheme: String },
    #[error("{location}: not a usable location: {reason}")]
    Invalid { location: String, reason: String },
    #[error("{location}: no such file or folder")]
    NotFound { location: String },
    #[error("{location}: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
    #[error("{location}: {source}")]
    Object {
        location: String,
        source: datafusion::object_store::Error,
    },
}

/// Why an upload was not stored; nothing of it is left in the store.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body is empty")]
    Empty,
    #[error("reading the body: {0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The locations one csvgate deployment works with.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// Where uploads land and `ingest` looks by default.
    pub landing: Location,
    /// Where each processed object's rejected rows are written for review.
    pub invalid: Location,
    /// Root of the Delta Lake warehouse: one table folder per dictionary table.
    pub warehouse: Location,
}

impl Buckets {
    /// Opens (and creates, when local) the three buckets.
    pub fn open(landing: &str, invalid: &str, warehouse: &str) -> Result<Buckets, StoreError> {
        Ok(Buckets {
            landing: Location::parse(landing, true)?,
            invalid: Location::parse(invalid, true)?,
            warehouse: Location::parse(warehouse, true)?,
        })
    }
}
