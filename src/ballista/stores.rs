//! The object stores a cluster process registers, so that the file URLs a client lists resolve
//! on the scheduler (which plans over them) and on the executors (which read them).

use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnv;

use crate::store::{BucketRoot, Location, StoreError};

/// The stores of one deployment's warehouse, by the URL of their root.
#[derive(Clone, Default)]
pub struct Stores(Vec<BucketRoot>);

impl Stores {
    /// What the warehouse at `warehouse` needs registered: its bucket's client for S3, nothing
    /// for a local folder (`file://` is in every runtime).
    pub fn of(warehouse: &Location) -> Result<Stores, StoreError> {
        Ok(Stores(warehouse.bucket_root()?.into_iter().collect()))
    }

    /// Registers every store in `runtime`.
    pub fn register_in(&self, runtime: &RuntimeEnv) {
        for (url, store) in &self.0 {
            runtime.register_object_store(url, Arc::clone(store));
        }
    }
}
