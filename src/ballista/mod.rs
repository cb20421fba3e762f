//! Apache DataFusion Ballista, the distributed engine of our own query stack: the reports and
//! ad-hoc SQL run on a cluster over the warehouse, and the cluster's processes are csvgate
//! itself (`csvgate ballista scheduler|executor`), so both sides are one build.
//!
//! A Ballista session sees each warehouse table as the live Parquet files of its current Delta
//! version, listed by the client when the session is made ([`crate::report::cluster`]). The scheduler plans
//! over those files and the executors read them and no others: a file a later load removed is
//! never read, and one query sees one version of each table even while loads commit. Neither
//! side needs to understand Delta, so no codec has to travel; what the processes share is the
//! object store, registered on each from the same configuration ([`stores`]).

pub mod executor;
pub mod scheduler;
pub mod stores;

/// Why a cluster process could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error("scheduler {0:?}: expected df://HOST:PORT")]
    SchedulerUrl(String),
    #[error("binding {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("executor work folder {path}: {source}")]
    WorkDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The host and port of a scheduler given as `df://HOST:PORT` (the form Ballista's clients
/// take); the port defaults to Ballista's 50050.
pub fn scheduler_address(url: &str) -> Result<(String, u16), ClusterError> {
    let invalid = || ClusterError::SchedulerUrl(url.to_owned());
    let parsed = url::Url::parse(url).map_err(|_| invalid())?;
    if parsed.scheme() != "df" {
        return Err(invalid());
    }
    let host = parsed.host_str().filter(|host| !host.is_empty());
    let host = host.ok_or_else(invalid)?.to_owned();
    Ok((host, parsed.port().unwrap_or(DEFAULT_SCHEDULER_PORT)))
}

/// Ballista's own default scheduler port.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_is_named_by_a_df_url() {
        assert_eq!(
            scheduler_address("df://10.0.0.7:6000").unwrap(),
            ("10.0.0.7".to_owned(), 6000)
        );
        assert_eq!(
            scheduler_address("df://scheduler").unwrap(),
            ("scheduler".to_owned(), DEFAULT_SCHEDULER_PORT)
        );
        for wrong in ["http://scheduler:50050", "scheduler:50050", "df://:50050"] {
            assert_eq!(
                scheduler_address(wrong).unwrap_err().to_string(),
                format!("scheduler {wrong:?}: expected df://HOST:PORT")
            );
        }
    }
}
