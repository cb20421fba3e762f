//! Where objects live: one parser for locations, and the buckets csvgate reads and writes.
//!
//! A location is a bare path (`./csvgate-data/landing`), a `file://` URL or, in production, an
//! `s3://bucket/prefix` URL. Every location becomes an
//! [`ObjectStore`](datafusion::object_store::ObjectStore) rooted at it, so the rest of csvgate
//! speaks only in keys, and a local folder and an S3 prefix give the same guarantees.
//!
//! - [`location`]: parsing locations, and the [`Location`] type every bucket is;
//! - [`local`]: local folders as stores; [`s3`]: S3 buckets and S3-compatible servers, with
//!   [`aws_profile`] for the keys and region of an AWS CLI profile, and [`sdk_credentials`]
//!   for profiles whose keys come from a role, SSO or a credential process;
//! - [`listing`]: what an `ingest` argument names: one object, or every `.csv` below a prefix;
//! - [`object`]: object versions (what the ledger records) and the keys clients may use;
//! - [`parquet_file`]: Parquet files read by byte ranges;
//! - [`transfer`]: reading objects as streams, and uploads that appear whole or not at all;
//! - [`versions`]: the order of a key's versions in a versioned S3 bucket;
//! - [`conditional`]: whether a store refuses a second create of one object, as Delta commits
//!   need.

mod aws_profile;
mod conditional;
mod listing;
mod local;
mod location;
mod object;
mod parquet_file;
pub mod s3;
mod sdk_credentials;
mod transfer;
mod versions;

pub use location::{BucketRoot, Location, read_object};
pub use object::{ObjectVersion, check_key, object_path};
pub use parquet_file::StoredParquet;
pub use s3::S3Settings;
pub use transfer::READ_AHEAD_BYTES;

/// Why a location could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{location}: {scheme}:// locations are not supported (use a local path, file:// or s3://)"
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
    #[error("{location}: {}", s3::explain(&.source.to_string()))]
    Object {
        location: String,
        source: datafusion::object_store::Error,
    },
    #[error("{location}: listing the key's versions: {reason}")]
    Versions { location: String, reason: String },
    #[error(
        "{location}: this store does not refuse a second create of one object (a conditional \
         write, `If-None-Match: *`), so two writers could both commit one Delta version and \
         lose rows; csvgate will not keep a warehouse there. AWS S3, MinIO, Ceph RGW and s3s-fs \
         support conditional writes: check that AWS_CONDITIONAL_PUT is not `disabled`"
    )]
    NoConditionalWrites { location: String },
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
    /// Settings of `s3://` locations, for the ones `ingest` is given.
    pub s3: S3Settings,
    /// Where uploads land and `ingest` looks by default.
    pub landing: Location,
    /// Where each processed object's rejected rows are written for review.
    pub invalid: Location,
    /// Root of the Delta Lake warehouse: one table folder per dictionary table.
    pub warehouse: Location,
}

impl Buckets {
    /// Opens the three buckets (a missing local folder waits for its first object); `s3` over the environment's AWS
    /// settings for those in S3.
    pub fn open(
        [landing, invalid, warehouse]: [&str; 3],
        s3: &S3Settings,
    ) -> Result<Buckets, StoreError> {
        Ok(Buckets {
            landing: Location::bucket(landing, s3)?,
            invalid: Location::bucket(invalid, s3)?,
            warehouse: Location::bucket(warehouse, s3)?,
            s3: s3.clone(),
        })
    }
}
