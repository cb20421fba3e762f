//! An S3 object read as ranges fetched ahead of the reader: while the reading stage parses one
//! range, the next ones are on their way, in parallel requests (one stream from one server
//! leaves the reading stage waiting on the network). Memory stays at [`AHEAD`] ranges of
//! [`RANGE_BYTES`] whatever the object's size; every range is asked for at the version first
//! seen (`If-Match` its ETag), so an object overwritten mid-read fails the read instead of
//! mixing two versions.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::object_store::path::Path;
use datafusion::object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

/// Bytes per ranged request.
const RANGE_BYTES: u64 = 4 << 20;
/// Ranges in flight at once.
const AHEAD: usize = 2;

/// The object `meta` describes, in order, as ranges fetched [`AHEAD`] at a time.
pub(super) fn ranges(
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
) -> BoxStream<'static, io::Result<Bytes>> {
    let size = meta.size;
    let starts = (0..size).step_by(RANGE_BYTES as usize);
    futures::stream::iter(starts)
        .map(move |start| {
            let (store, path): (_, Path) = (Arc::clone(&store), meta.location.clone());
            let options = GetOptions {
                range: Some(GetRange::Bounded(start..(start + RANGE_BYTES).min(size))),
                if_match: meta.e_tag.clone(),
                ..GetOptions::default()
            };
            async move { store.get_opts(&path, options).await?.bytes().await }
        })
        .buffered(AHEAD)
        .map_err(io::Error::other)
        .boxed()
}
