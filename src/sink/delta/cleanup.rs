//! A data table's checkpoint, and its expired log files cleaned up, behind a load's answer.
//!
//! delta-rs writes a checkpoint inside the commit that reaches one (every tenth version of
//! csvgate's tables) and cleans up expired log files after every commit, listing the whole log
//! each time. A checkpoint rewrites every action the table keeps (its files, and a marker per
//! object version loaded within the marker retention), which held every tenth answer 60-100 ms (`benches/README.md`):
//! loads commit without either, and the work that trails their commits ([`super::trailing`])
//! writes the checkpoint and cleans up when one of their commits is at a checkpoint version.

use chrono::Utc;
use deltalake::DeltaTable;
use deltalake::table::config::TablePropertiesExt;

use super::DeltaTarget;

/// Whether delta-rs would have written a checkpoint inside the commit that made `delta`'s
/// version: at every `checkpointInterval`th commit (versions 9, 19, ... for ten).
pub(super) fn checkpoint_due(delta: &DeltaTable) -> bool {
    let (Some(version), Ok(state)) = (delta.version(), delta.snapshot()) else {
        return false;
    };
    (version + 1).is_multiple_of(state.table_config().checkpoint_interval().get())
}

impl DeltaTarget {
    /// Writes `table`'s checkpoint at its latest version, and cleans up the log it covers.
    pub(super) async fn checkpoint(&self, table: &str) {
        match self.open(table).await {
            Ok(delta) => {
                crate::fault::pause(crate::fault::CHECKPOINT_BEFORE_WRITE).await;
                checkpoint_and_clean_up(&delta).await;
            }
            Err(error) => {
                tracing::warn!(table, %error, "no checkpoint: the table could not be read")
            }
        }
    }
}

/// Writes a checkpoint at `delta`'s version, then deletes the log files older than the
/// table's log retention (30 days unless the table sets `delta.logRetentionDuration`) that it
/// made unneeded. A failure only costs replay time or disk space: it is logged.
pub(super) async fn checkpoint_and_clean_up(delta: &DeltaTable) {
    let (Some(version), Ok(state)) = (delta.version(), delta.snapshot()) else {
        return;
    };
    if let Err(error) = deltalake::checkpoints::create_checkpoint(delta, None).await {
        tracing::warn!(version, %error, "could not write a table's checkpoint");
        return;
    }
    let config = state.table_config();
    if !config.enable_expired_log_cleanup() {
        return;
    }
    let retention = i64::try_from(config.log_retention_duration().as_millis()).unwrap_or(i64::MAX);
    let cutoff = Utc::now().timestamp_millis().saturating_sub(retention);
    let log_store = delta.log_store();
    let cleaned =
        deltalake::checkpoints::cleanup_expired_logs_for(version, log_store.as_ref(), cutoff, None);
    if let Err(error) = cleaned.await {
        tracing::warn!(version, %error, "could not clean up a table's expired log files");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use crate::sink::delta::DELTA_LOG;
    use crate::sink::delta::tables::delta_columns;
    use crate::sink::delta::tests::one_job;
    use deltalake::DeltaTableBuilder;
    use deltalake::kernel::transaction::CommitProperties;

    fn commit_files(folder: &std::path::Path) -> Vec<String> {
        let log = std::fs::read_dir(folder.join(DELTA_LOG)).unwrap();
        let mut names: Vec<String> = log
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".json") && !name.starts_with('_'))
            .collect();
        names.sort();
        names
    }

    /// Waits until every commit file is older than the clock's current millisecond, which a
    /// retention of zero needs to count it expired (they may all be written within one).
    async fn wait_until_older_than_now(folder: &std::path::Path) {
        let newest = std::fs::read_dir(folder.join(DELTA_LOG))
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().modified().unwrap())
            .max()
            .unwrap();
        let millis = |at: std::time::SystemTime| {
            at.duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        };
        while millis(std::time::SystemTime::now()) <= millis(newest) {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_checkpoint_written_after_the_commits_cleans_up_the_log_it_covers() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = &Dictionary::hr_table("jobs");
        let properties = [
            ("delta.checkpointInterval", Some("2")),
            ("delta.logRetentionDuration", Some("interval 0 seconds")),
        ];
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let mut delta = DeltaTableBuilder::from_url(url).unwrap().build().unwrap();
        delta = delta
            .create()
            .with_columns(delta_columns(jobs))
            .with_configuration(properties)
            .await
            .unwrap();
        let rows = one_job(jobs);
        let as_loads_commit = CommitProperties::default()
            .with_cleanup_expired_logs(Some(false))
            .with_create_checkpoint(false);
        let mut due = vec![checkpoint_due(&delta)];
        for _ in 0..3 {
            delta = (delta.write(vec![rows.clone()]))
                .with_commit_properties(as_loads_commit.clone())
                .await
                .unwrap();
            due.push(checkpoint_due(&delta));
        }
        assert_eq!(
            due,
            [false, true, false, true],
            "every second version from 1"
        );
        assert_eq!(delta.version(), Some(3));
        assert!(
            checkpoints(dir.path()).is_empty(),
            "none inside the commits"
        );
        assert_eq!(commit_files(dir.path()).len(), 4);

        wait_until_older_than_now(dir.path()).await;
        checkpoint_and_clean_up(&delta).await;
        assert_eq!(checkpoints(dir.path()), [3]);
        assert_eq!(commit_files(dir.path()), [format!("{:020}.json", 3)]);
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let reloaded = deltalake::open_table(url).await.unwrap();
        assert_eq!(reloaded.version(), Some(3));
        assert_eq!(reloaded.snapshot().unwrap().log_data().num_files(), 3);
    }

    /// The versions the table's checkpoints are at.
    fn checkpoints(folder: &std::path::Path) -> Vec<u64> {
        let log = std::fs::read_dir(folder.join(DELTA_LOG)).unwrap();
        let mut versions: Vec<u64> = log
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".checkpoint.parquet")?.parse().ok()
            })
            .collect();
        versions.sort();
        versions
    }
}
