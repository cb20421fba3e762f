//! Which ledger entries a reader wants: a filter and a window of the entries, oldest first.
//! Targets answer it in their own query language, so a page of `/runs` costs a page, not the
//! whole ledger in memory.

use super::{Entry, Status};

/// Entries of one status and/or one run, `limit` of them after the first `offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub status: Option<Status>,
    pub run_id: Option<String>,
    pub offset: usize,
    /// `None`: every entry from `offset` on.
    pub limit: Option<usize>,
}

impl Selection {
    /// Every entry of run `run_id`.
    pub fn run(run_id: &str) -> Selection {
        Selection {
            run_id: Some(run_id.to_owned()),
            ..Selection::default()
        }
    }

    pub fn matches(&self, entry: &Entry) -> bool {
        self.status.is_none_or(|status| entry.status == status)
            && (self.run_id.as_ref()).is_none_or(|run_id| entry.run_id == *run_id)
    }

    /// How many of the first matching entries the window reaches into.
    pub fn reach(&self) -> Option<usize> {
        self.limit.map(|limit| self.offset + limit)
    }

    /// The window of `entries` (the matching ones, in order).
    pub fn window(&self, entries: Vec<Entry>) -> Vec<Entry> {
        let from = entries.into_iter().skip(self.offset);
        match self.limit {
            Some(limit) => from.take(limit).collect(),
            None => from.collect(),
        }
    }
}
