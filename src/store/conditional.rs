//! Whether a store refuses a second create of one object, which Delta commits rely on: each
//! commit file is created with `If-None-Match: *`, so of two writers of one version exactly
//! one wins. A store that quietly overwrites instead would let both win and lose a commit, so
//! a warehouse is only kept where the check passes.

use datafusion::object_store::path::Path;
use datafusion::object_store::{Error as ObjectError, ObjectStoreExt, PutMode, PutOptions};

use super::{Location, StoreError};

/// Folder of the probe objects, removed after the check.
const PROBE_FOLDER: &str = "_csvgate_probe";

impl Location {
    /// Creates one probe object twice: the second create must be refused. Local folders refuse
    /// by construction and are not probed.
    pub async fn check_conditional_writes(&self) -> Result<(), StoreError> {
        if !self.is_s3() {
            return Ok(());
        }
        let probe = Path::from(format!("{PROBE_FOLDER}/{}", uuid::Uuid::new_v4().simple()));
        let refused = self.create_twice(&probe).await;
        if let Err(error) = self.store.delete(&probe).await {
            tracing::warn!(location = %self.url, %error, "could not remove the conditional-write probe");
        }
        match refused? {
            true => Ok(()),
            false => Err(StoreError::NoConditionalWrites {
                location: self.url.to_string(),
            }),
        }
    }

    /// Whether the second of two creates of `probe` was refused.
    async fn create_twice(&self, probe: &Path) -> Result<bool, StoreError> {
        let create = || PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let first = self.store.put_opts(probe, "1".into(), create()).await;
        match first {
            Ok(_) => {}
            Err(ObjectError::NotImplemented { .. }) => return Ok(false),
            Err(source) => return Err(self.object_error(probe.as_ref(), source)),
        }
        match self.store.put_opts(probe, "2".into(), create()).await {
            Ok(_) => Ok(false),
            Err(ObjectError::AlreadyExists { .. } | ObjectError::Precondition { .. }) => Ok(true),
            Err(source) => Err(self.object_error(probe.as_ref(), source)),
        }
    }
}
