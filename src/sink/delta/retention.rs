//! How long a data table keeps its markers, and what a missing one means once they expire.
//!
//! Without expiry, every object version a table ever loaded keeps its marker in the table's
//! log for good: every checkpoint rewrites them all and every replay reads them, so a busy
//! table's commits slow as it ages. A data table keeps them for its marker retention
//! (`delta.setTransactionRetentionDuration`, set from `ingest.marker_retention_secs`, each
//! marker stamped with its commit's time); past it, "was this object loaded?" is answered
//! from the ledger's `done` entries, which the parked entries reach within seconds of their
//! commit. Only an object the store dates before the retention needs the ledger: one written
//! since cannot have lost its marker.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use deltalake::DeltaTable;

use super::DeltaTarget;
use super::commit::commit_properties;
use crate::sink::SinkError;
use crate::store::ObjectVersion;

/// Delta's table property for how long markers stay.
const RETENTION_PROPERTY: &str = "delta.setTransactionRetentionDuration";
/// When (Unix milliseconds) csvgate first set a table's marker retention. No marker can have
/// expired before this time plus the retention, so until then a missing marker means "never
/// loaded" and the ledger is not asked: a week of uploads pays no ledger query.
const RETENTION_SINCE_PROPERTY: &str = "csvgate.markerRetentionSince";

/// The properties that make a table keep its markers `retention` long, counted from `since_ms`.
pub(super) fn retention_properties(
    retention: Duration,
    since_ms: i64,
) -> [(&'static str, String); 2] {
    [
        (
            RETENTION_PROPERTY,
            format!("interval {} seconds", retention.as_secs()),
        ),
        (RETENTION_SINCE_PROPERTY, since_ms.to_string()),
    ]
}

/// The retention properties `delta`, a table with commits, lacks or holds with another
/// retention than `retention`. The time it was first set stays; a table without one (made
/// before csvgate set a retention, or restored to such a version) may hold markers stamped at
/// any time, so its retention counts from the epoch.
pub(super) fn retention_to_set(
    delta: &DeltaTable,
    retention: Duration,
) -> Option<HashMap<String, String>> {
    let held = delta
        .snapshot()
        .ok()?
        .table_config()
        .set_transaction_retention_duration;
    let since = retention_start(delta);
    if held == Some(retention) && since.is_some() {
        return None;
    }
    let since = since.flatten().unwrap_or(0);
    let wanted = retention_properties(retention, since).map(|(key, value)| (key.to_owned(), value));
    Some(wanted.into())
}

/// When `delta`'s retention started, as [`RETENTION_SINCE_PROPERTY`] holds it: `None` when
/// unset, `Some(None)` when unreadable.
fn retention_start(delta: &DeltaTable) -> Option<Option<i64>> {
    let snapshot = delta.snapshot().ok()?;
    let since = snapshot
        .metadata()
        .configuration()
        .get(RETENTION_SINCE_PROPERTY)?;
    Some(since.parse().ok())
}

/// Leeway for clocks (the store's, which dates an object, and the hosts', which date markers
/// and the retention's start): a quarter of the retention, at most this.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// Whether `object` may have been loaded into `delta` though its marker is not there at
/// `now_ms`: the marker may have expired ([`may_hide_a_load`]).
pub(super) fn missing_marker_may_hide_a_load(
    delta: &DeltaTable,
    object: &ObjectVersion,
    now_ms: i64,
) -> bool {
    let Ok(snapshot) = delta.snapshot() else {
        return false;
    };
    let retention = snapshot.table_config().set_transaction_retention_duration;
    let since = retention_start(delta);
    let modified = object.modified.map(|at| at.timestamp_millis());
    may_hide_a_load(retention, since, modified, now_ms)
}

/// Whether a missing marker leaves open that an object was loaded: only if the table expires
/// markers (`retention`), one could have expired by `now_ms` (the retention has run since it
/// was set: `since`, `None` when unset, `Some(None)` when unreadable), and the object is not
/// younger than the retention (`modified`, by the store's clock): a load comes after the
/// object's write, and its marker stays the retention from then.
fn may_hide_a_load(
    retention: Option<Duration>,
    since: Option<Option<i64>>,
    modified: Option<i64>,
    now_ms: i64,
) -> bool {
    let Some(retention) = retention else {
        return false;
    };
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let leeway = (retention_ms / 4).min(CLOCK_SKEW_MS);
    let expired_yet = match since {
        Some(Some(since)) => now_ms >= since.saturating_add(retention_ms - leeway),
        Some(None) | None => true,
    };
    let written_within = |at: i64| {
        at <= now_ms.saturating_add(leeway) && now_ms.saturating_sub(at) < retention_ms - leeway
    };
    expired_yet && !modified.is_some_and(written_within)
}

/// At most this many `done` answers are kept: a re-ingest of many old objects asks about each.
const DONE_SEEN_KEPT: usize = 10_000;

/// `done` entries seen in the ledger, by table and object version.
#[derive(Debug, Default)]
pub(super) struct DoneSeen(HashSet<String>);

impl DoneSeen {
    pub(super) fn contains(&self, seen: &str) -> bool {
        self.0.contains(seen)
    }

    /// Keeps `seen`; past the bound, the answers start over.
    pub(super) fn insert(&mut self, seen: String) {
        if self.0.len() >= DONE_SEEN_KEPT {
            self.0.clear();
        }
        self.0.insert(seen);
    }
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
        let Some(wanted) = retention_to_set(&delta, self.marker_retention) else {
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
                match retention_to_set(&theirs, self.marker_retention) {
                    None => Ok(theirs),
                    Some(_) => Err(self.error(name)(error)),
                }
            }
        }
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

    /// An object version of unknown age, as the ledger gives one back.
    fn undated() -> ObjectVersion {
        ObjectVersion {
            location: "file:///landing/".into(),
            key: "jobs.csv".into(),
            version: "v1".into(),
            size: 1,
            modified: None,
        }
    }

    #[tokio::test]
    async fn a_table_takes_the_configured_retention_from_when_it_was_first_set() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Location::parse(dir.path().to_str().unwrap(), true).unwrap();
        let (jobs, departments) = (
            &Dictionary::hr_table("jobs"),
            &Dictionary::hr_table("departments"),
        );
        let target = |retention| {
            DeltaTarget::new(warehouse.clone(), Arc::new(Dictionary::hr()))
                .with_marker_retention(retention)
        };
        let week = target(DEFAULT_MARKER_RETENTION);
        let now = chrono::Utc::now().timestamp_millis();
        let week_ms = 7 * 24 * 3_600_000;

        // A table csvgate creates counts its retention from its creation.
        let created = week.open_or_create(departments).await.unwrap();
        assert_eq!(retention(&created), Some(DEFAULT_MARKER_RETENTION));
        assert!(since(&created) >= now);
        let expires = since(&created) + week_ms - CLOCK_SKEW_MS;
        assert!(!missing_marker_may_hide_a_load(
            &created,
            &undated(),
            expires - 1
        ));
        assert!(missing_marker_may_hide_a_load(
            &created,
            &undated(),
            expires
        ));

        // A table made before csvgate set a retention: its markers never expired, but those
        // stamped from now on will, and when is unknown to a later reader of a restored copy.
        let made = (week.open(&jobs.name).await.unwrap().create())
            .with_table_name(&jobs.name)
            .with_columns(delta_columns(jobs))
            .await
            .unwrap();
        assert!(!missing_marker_may_hide_a_load(&made, &undated(), i64::MAX));
        let kept = week.open_or_create(jobs).await.unwrap();
        assert_eq!(retention(&kept), Some(DEFAULT_MARKER_RETENTION));
        assert_eq!(since(&kept), 0, "counted from the epoch");
        assert!(missing_marker_may_hide_a_load(&kept, &undated(), now));

        // Another retention is set, counted from the same start; once set, nothing is committed.
        let hour = target(Duration::from_secs(3600));
        let changed = hour.open_or_create(departments).await.unwrap();
        assert_eq!(retention(&changed), Some(Duration::from_secs(3600)));
        assert_eq!(since(&changed), since(&created));
        let again = hour.open_or_create(departments).await.unwrap();
        assert_eq!(again.version(), changed.version());
    }

    #[test]
    fn only_an_object_older_than_the_retention_may_have_lost_its_marker() {
        let hour = Some(Duration::from_secs(3600));
        let (set, now) = (Some(Some(0)), 10 * 3_600_000);
        let written = |hours_ago: i64| Some(now - hours_ago * 3_600_000);
        assert!(
            !may_hide_a_load(None, set, None, now),
            "markers never expire"
        );
        assert!(
            !may_hide_a_load(hour, Some(Some(now)), None, now),
            "none expired yet"
        );
        assert!(may_hide_a_load(hour, set, None, now), "undated");
        assert!(
            may_hide_a_load(hour, set, written(2), now),
            "written before the retention"
        );
        assert!(
            !may_hide_a_load(hour, set, written(0), now),
            "written just now"
        );
        assert!(
            may_hide_a_load(hour, set, written(-1), now),
            "dated past the clock's leeway"
        );
        let by_hand = None;
        assert!(
            !may_hide_a_load(hour, by_hand, written(0), now),
            "set by hand, written now"
        );
        assert!(
            may_hide_a_load(hour, by_hand, None, now),
            "set by hand, undated"
        );
        assert!(
            may_hide_a_load(hour, Some(None), written(2), now),
            "unreadable since"
        );
    }

    #[test]
    fn done_answers_kept_are_bounded() {
        let mut seen = DoneSeen::default();
        for n in 0..DONE_SEEN_KEPT {
            seen.insert(format!("jobs\nobject {n}"));
        }
        assert!(seen.contains("jobs\nobject 0"));
        seen.insert("jobs\nobject past the bound".into());
        assert!(
            !seen.contains("jobs\nobject 0"),
            "past the bound, the answers start over"
        );
        assert!(seen.contains("jobs\nobject past the bound"));
    }
}
