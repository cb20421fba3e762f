//! Cleaning up a table's expired log files, as Delta writers do, but only where it pays.
//!
//! delta-rs cleans up after every commit by default, listing the whole log each time; csvgate
//! turns that off in its commits and cleans up after checkpoints only.

use chrono::Utc;
use deltalake::DeltaTable;
use deltalake::table::config::TablePropertiesExt;

/// Deletes the log files older than the table's log retention (30 days unless the table sets
/// `delta.logRetentionDuration`) that a checkpoint at the table's version made unneeded. Run
/// only at checkpoint versions: it lists the whole log. A failure only costs disk space: it is
/// logged.
pub(super) async fn clean_up_log(delta: &DeltaTable) {
    let (Some(version), Ok(state)) = (delta.version(), delta.snapshot()) else {
        return;
    };
    let config = state.table_config();
    let at_checkpoint = version % config.checkpoint_interval().get() == 0;
    if !at_checkpoint || !config.enable_expired_log_cleanup() {
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
    async fn log_files_are_cleaned_up_at_checkpoints_only() {
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
        let no_cleanup = CommitProperties::default().with_cleanup_expired_logs(Some(false));
        for _ in 0..3 {
            delta = (delta.write(vec![rows.clone()]))
                .with_commit_properties(no_cleanup.clone())
                .await
                .unwrap();
        }
        wait_until_older_than_now(dir.path()).await;
        assert_eq!(delta.version(), Some(3));
        clean_up_log(&delta).await;
        assert_eq!(
            commit_files(dir.path()).len(),
            4,
            "version 3 is no checkpoint"
        );

        delta = (delta.write(vec![rows]))
            .with_commit_properties(no_cleanup)
            .await
            .unwrap();
        wait_until_older_than_now(dir.path()).await;
        clean_up_log(&delta).await;
        // Versions 0 to 2 are gone; delta-rs keeps the commit just before the checkpoint.
        let kept = [3, 4].map(|version| format!("{version:020}.json"));
        assert_eq!(commit_files(dir.path()), kept);
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let reloaded = deltalake::open_table(url).await.unwrap();
        assert_eq!(reloaded.version(), Some(4));
        assert_eq!(reloaded.snapshot().unwrap().log_data().num_files(), 4);
    }
}
