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
//! created anew under a running process.) Markers expire ([`super::retention`]), but the clock
//! only ever turns a found marker into a missing one, so a kept answer still tells the truth
//! about its commit.

use std::collections::HashMap;

use deltalake::DeltaTable;

use super::DeltaTarget;
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

impl DeltaTarget {
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
