//! Markers (application transactions) looked up once per table version.
//!
//! delta-rs answers "which version of this application transaction does the table hold" by
//! replaying the table's log since its last checkpoint, every time it is asked: up to ten
//! commit files read again (on S3, a request each). A load asks about its object's marker
//! when it begins, before and after its claim, and at its commit, usually all at one table
//! version; a rollup's marker is asked after every load of its table. A committed version never
//! changes, so an answer holds for as long as the table is at that version: answers are kept
//! for the latest version seen of each table, and the rest dropped as it moves on. (An
//! assumption the tables kept in [`super::tables`] share: a table's folder is not deleted and
//! created anew under a running process.)
//!
//! Markers expire. Every object version a table ever loaded would otherwise keep one in its
//! log for good: every checkpoint rewrites them all and every replay reads them, so a busy
//! table's commits slow as it ages. A data table keeps them for its marker retention
//! (`delta.setTransactionRetentionDuration`, set from `ingest.marker_retention_secs`, each
//! marker stamped with its commit's time); past it, "was this object loaded?" is answered
//! from the ledger's `done` entries, which the parked entries reach within seconds of their
//! commit. The clock only ever turns a found marker into a missing one, so an answer kept
//! above still tells the truth about its commit.

use std::collections::HashMap;
use std::time::Duration;

use deltalake::DeltaTable;

use super::DeltaTarget;
use super::commit::commit_properties;
use crate::sink::SinkError;

/// At most this many answers are kept per table: a scan of many objects already loaded asks
/// about each, at one version.
const ANSWERS_PER_TABLE: usize = 10_000;

/// Answers kept per table folder: the version they hold at, and each marker's (`None`: not in
/// the table).
#[derive(Debug, Default)]
pub(super) struct Markers {
    by_table: HashMap<String, (u64, HashMap<String, Option<i64>>)>,
}

impl Markers {
    /// The answer for `app_id` in `folder` at `version`, if it was looked up before.
    fn known(&self, folder: &str, version: u64, app_id: &str) -> Option<Option<i64>> {
        let (at, answers) = self.by_table.get(folder)?;
        (*at == version).then(|| answers.get(app_id).copied())?
    }

    /// Keeps an answer found at `version`, unless answers for a newer version are kept.
    fn note(&mut self, folder: &str, version: u64, app_id: &str, marker: Option<i64>) {
        let (at, answers) = self.by_table.entry(folder.to_owned()).or_default();
        if *at < version || answers.len() >= ANSWERS_PER_TABLE {
            (*at, *answers) = (version, HashMap::new());
        }
        if *at == version {
            answers.insert(app_id.to_owned(), marker);
        }
    }

    /// After this process committed `folder` from `before` to `after` with the markers
    /// `carried`: their answers at `after` are known, and, when no other commit came between,
    /// every answer kept at `before` still holds.
    pub(super) fn committed(
        &mut self,
        folder: &str,
        before: Option<u64>,
        after: u64,
        carried: &[(String, i64)],
    ) {
        let (at, answers) = self.by_table.entry(folder.to_owned()).or_default();
        if *at > after {
            return;
        }
        if before.is_none_or(|before| before + 1 != after || *at != before) {
            answers.clear();
        }
        *at = after;
        for (app_id, version) in carried {
            answers.insert(app_id.clone(), Some(*version));
        }
    }
}

/// Delta's table property for how long markers stay.
const RETENTION_PROPERTY: &str = "delta.setTransactionRetentionDuration";
/// When (Unix milliseconds) csvgate first set a table's marker retention. No marker can have
/// expired before this time plus the retention, so until then a missing marker means "never
/// loaded" and the ledger is not asked: a week of uploads pays no ledger query.
const RETENTION_SINCE_PROPERTY: &str = "csvgate.markerRetentionSince";

/// The properties that make a table keep its markers `retention` long, set at `now_ms`.
pub(super) fn retention_properties(
    retention: Duration,
    now_ms: i64,
) -> [(&'static str, String); 2] {
    [
        (
            RETENTION_PROPERTY,
            format!("interval {} seconds", retention.as_secs()),
        ),
        (RETENTION_SINCE_PROPERTY, now_ms.to_string()),
    ]
}

/// The retention properties `delta` lacks or holds with another retention than `retention`
/// (the time it was first set stays).
pub(super) fn retention_to_set(
    delta: &DeltaTable,
    retention: Duration,
    now_ms: i64,
) -> Option<HashMap<String, String>> {
    let snapshot = delta.snapshot().ok()?;
    let held = snapshot.table_config().set_transaction_retention_duration;
    let since = snapshot
        .metadata()
        .configuration()
        .get(RETENTION_SINCE_PROPERTY);
    if held == Some(retention) && since.is_some() {
        return None;
    }
    let mut wanted: HashMap<String, String> = retention_properties(retention, now_ms)
        .map(|(key, value)| (key.to_owned(), value))
        .into();
    if let Some(since) = since {
        wanted.insert(RETENTION_SINCE_PROPERTY.to_owned(), since.clone());
    }
    Some(wanted)
}

/// Whether a marker of `delta` may have expired at `now_ms`: its retention has run since it was
/// set (or it was set by hand, with no time csvgate knows).
pub(super) fn markers_may_have_expired(delta: &DeltaTable, now_ms: i64) -> bool {
    let Ok(snapshot) = delta.snapshot() else {
        return false;
    };
    let Some(retention) = snapshot.table_config().set_transaction_retention_duration else {
        return false;
    };
    let since = (snapshot.metadata().configuration())
        .get(RETENTION_SINCE_PROPERTY)
        .and_then(|since| since.parse::<i64>().ok());
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    since.is_none_or(|since| now_ms >= since.saturating_add(retention_ms))
}

impl DeltaTarget {
    /// `delta` (the table `name`) keeping markers for this target's retention: a table made
    /// before csvgate set one, or set to another, gets it in a commit of its own. (Processes
    /// sharing a warehouse should share the setting, or they set it back and forth.)
    pub(super) async fn keeping_markers(
        &self,
        name: &str,
        delta: DeltaTable,
    ) -> Result<DeltaTable, SinkError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let Some(wanted) = retention_to_set(&delta, self.marker_retention, now_ms) else {
            return Ok(delta);
        };
        tracing::info!(
            table = name,
            retention_secs = self.marker_retention.as_secs(),
            "setting the table's marker retention"
        );
        let set = (delta.set_tbl_properties())
            .with_properties(wanted)
            .with_raise_if_not_exists(false)
            .with_commit_properties(commit_properties())
            .await;
        match set {
            Ok(set) => {
                self.keep(name, &set);
                Ok(set)
            }
            // Another process committed first: theirs will do if it set the retention.
            Err(error) => {
                let theirs = self.open(name).await?;
                match retention_to_set(&theirs, self.marker_retention, now_ms) {
                    None => Ok(theirs),
                    Some(_) => Err(self.error(name)(error)),
                }
            }
        }
    }

    /// The version of the application transaction `app_id` in the latest version of `table`.
    pub(super) async fn marker_version(
        &self,
        table: &str,
        app_id: &str,
    ) -> Result<Option<i64>, SinkError> {
        let delta = self.open(table).await?;
        self.marker_in(table, &delta, app_id).await
    }

    /// The version of the application transaction `app_id` in the version `delta` (the table
    /// in `folder`) is at.
    pub(super) async fn marker_in(
        &self,
        folder: &str,
        delta: &DeltaTable,
        app_id: &str,
    ) -> Result<Option<i64>, SinkError> {
        let Some(version) = delta.version() else {
            return Ok(None);
        };
        if let Some(known) = self.kept().markers.known(folder, version, app_id) {
            return Ok(known);
        }
        let snapshot = delta.snapshot().map_err(self.error(folder))?;
        let found = snapshot
            .transaction_version(delta.log_store().as_ref(), app_id)
            .await
            .map_err(self.error(folder))?;
        self.kept().markers.note(folder, version, app_id, found);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;
    use crate::sink::delta::DEFAULT_MARKER_RETENTION;
    use crate::sink::delta::tables::delta_columns;
    use crate::store::Location;
    use std::sync::Arc;

    fn retention(delta: &DeltaTable) -> Option<Duration> {
        let snapshot = delta.snapshot().unwrap();
        snapshot.table_config().set_transaction_retention_duration
    }

    fn since(delta: &DeltaTable) -> i64 {
        let snapshot = delta.snapshot().unwrap();
        let since = &snapshot.metadata().configuration()[RETENTION_SINCE_PROPERTY];
        since.parse().unwrap()
    }

    #[tokio::test]
    async fn a_table_takes_the_configured_retention_from_when_it_was_first_set() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let jobs = &Dictionary::hr_table("jobs");
        let target = |retention| {
            DeltaTarget::new(warehouse.clone(), Arc::new(Dictionary::hr()))
                .with_marker_retention(retention)
        };
        let week = target(DEFAULT_MARKER_RETENTION);
        // A table made before csvgate set a retention: its markers never expire.
        let made = (week.open(&jobs.name).await.unwrap().create())
            .with_table_name(&jobs.name)
            .with_columns(delta_columns(jobs))
            .await
            .unwrap();
        assert!(!markers_may_have_expired(&made, i64::MAX));

        let kept = week.open_or_create(jobs).await.unwrap();
        assert_eq!(retention(&kept), Some(DEFAULT_MARKER_RETENTION));
        let (set_at, week_ms) = (since(&kept), 7 * 24 * 3_600_000);
        assert!(!markers_may_have_expired(&kept, set_at + week_ms - 1));
        assert!(markers_may_have_expired(&kept, set_at + week_ms));

        // Another retention is set, counted from the same start; once set, nothing is committed.
        let hour = target(Duration::from_secs(3600));
        let changed = hour.open_or_create(jobs).await.unwrap();
        assert_eq!(retention(&changed), Some(Duration::from_secs(3600)));
        assert_eq!(since(&changed), set_at);
        assert!(markers_may_have_expired(&changed, set_at + 3_600_000));
        let again = hour.open_or_create(jobs).await.unwrap();
        assert_eq!(again.version(), changed.version());
    }

    #[test]
    fn an_answer_holds_at_its_version_only() {
        let mut markers = Markers::default();
        markers.note("t", 3, "a", Some(1));
        markers.note("t", 3, "b", None);
        assert_eq!(markers.known("t", 3, "a"), Some(Some(1)));
        assert_eq!(markers.known("t", 3, "b"), Some(None));
        assert_eq!(markers.known("t", 3, "c"), None, "never looked up");
        assert_eq!(markers.known("t", 4, "a"), None, "another version");
        assert_eq!(markers.known("u", 3, "a"), None, "another table");

        markers.note("t", 4, "c", None);
        assert_eq!(markers.known("t", 3, "a"), None, "older answers go");
        markers.note("t", 3, "a", Some(1));
        assert_eq!(
            markers.known("t", 3, "a"),
            None,
            "an older answer is not kept"
        );
        assert_eq!(markers.known("t", 4, "c"), Some(None));
    }

    #[test]
    fn a_commit_of_this_process_carries_answers_forward() {
        let mut markers = Markers::default();
        markers.note("t", 3, "a", Some(1));
        markers.committed("t", Some(3), 4, &[("b".into(), 7)]);
        assert_eq!(
            markers.known("t", 4, "a"),
            Some(Some(1)),
            "no commit came between"
        );
        assert_eq!(
            markers.known("t", 4, "b"),
            Some(Some(7)),
            "carried by the commit"
        );

        // Another process committed version 5: what was known at 4 may not hold at 6.
        markers.committed("t", Some(5), 6, &[("c".into(), 2)]);
        assert_eq!(markers.known("t", 6, "a"), None);
        assert_eq!(markers.known("t", 6, "c"), Some(Some(2)));

        // A first commit (a table created with it) knows its own markers.
        markers.committed("new", None, 0, &[("d".into(), 1)]);
        assert_eq!(markers.known("new", 0, "d"), Some(Some(1)));
    }

    #[test]
    fn answers_at_one_version_are_bounded() {
        let mut markers = Markers::default();
        for n in 0..=ANSWERS_PER_TABLE {
            markers.note("t", 3, &format!("object {n}"), None);
        }
        let kept = markers.by_table["t"].1.len();
        assert_eq!(kept, 1, "past the bound, the answers start over");
        let last = format!("object {ANSWERS_PER_TABLE}");
        assert_eq!(markers.known("t", 3, &last), Some(None));
    }
}
