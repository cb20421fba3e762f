//! Work that trails a load's commit: once the data commit is durable, the load answers, and
//! its ledger append and its rollups' commits (two other tables, a conditional write each)
//! run behind it.
//!
//! Nothing is lost if the process dies before they end: the ledger entry was parked before
//! the commit and is settled by the next reader or load ([`super::parked`]), and a rollup that
//! is behind its table is caught up by the next load or report ([`super::rollups`]). What
//! changes is when they happen, so a process that stops, or answers for a whole run (an
//! `ingest`, an event, a Lambda invocation), waits for them first ([`Trailing::finished`]).
//!
//! Per table, the work of one commit starts only once the previous one's has ended, and the
//! next commit of the table waits for that before it answers: rollups advance in commit order,
//! and at most one commit's work is outstanding per table, however fast uploads come.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The trailing work of each table's latest commit, shared by a target's clones.
#[derive(Debug, Default)]
pub(super) struct Trailing {
    latest: Mutex<HashMap<String, Slot>>,
}

/// One table's latest trailing work, locked while a commit waits for it and starts its own.
type Slot = Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>;

impl Trailing {
    /// Starts `work` for a commit of `table` once the previous commit's has ended; returns
    /// when it has started.
    pub(super) async fn follow(&self, table: &str, work: BoxFuture<'static, ()>) {
        let slot = self.slot(table);
        let mut latest = slot.lock().await;
        if let Some(previous) = latest.take() {
            ended(previous).await;
        }
        *latest = Some(tokio::spawn(work.in_current_span()));
    }

    /// Waits until the trailing work of every commit so far has ended.
    pub(super) async fn finished(&self) {
        let slots: Vec<_> = (self.latest.lock().expect("trailing lock").values())
            .map(Arc::clone)
            .collect();
        for slot in slots {
            if let Some(latest) = slot.lock().await.take() {
                ended(latest).await;
            }
        }
    }

    fn slot(&self, table: &str) -> Slot {
        let mut latest = self.latest.lock().expect("trailing lock");
        Arc::clone(latest.entry(table.to_owned()).or_default())
    }
}

/// Waits for `work`; a panic in it goes on in the waiter, as it would have without the task.
async fn ended(work: JoinHandle<()>) {
    if let Err(failed) = work.await
        && failed.is_panic()
    {
        std::panic::resume_unwind(failed.into_panic());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    type Turns = Arc<Mutex<Vec<&'static str>>>;

    /// Work that records `name`'s turn once `gate` opens.
    fn gated(
        name: &'static str,
        gate: Arc<tokio::sync::Notify>,
        turns: &Turns,
    ) -> BoxFuture<'static, ()> {
        let turns = Arc::clone(turns);
        Box::pin(async move {
            gate.notified().await;
            turns.lock().unwrap().push(name);
        })
    }

    /// Work that records `name`'s turn at once.
    fn at_once(name: &'static str, turns: &Turns) -> BoxFuture<'static, ()> {
        let turns = Arc::clone(turns);
        Box::pin(async move { turns.lock().unwrap().push(name) })
    }

    /// Lets every other task of this (one-thread) runtime run until it waits.
    async fn let_others_run() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn work_of_one_table_runs_in_commit_order_and_finished_waits_for_it() {
        let trailing = Arc::new(Trailing::default());
        let (gate, turns) = (Arc::new(tokio::sync::Notify::new()), Turns::default());
        trailing
            .follow("jobs", gated("first", Arc::clone(&gate), &turns))
            .await;
        let next = Arc::clone(&trailing);
        let second = at_once("second", &turns);
        let next = tokio::spawn(async move { next.follow("jobs", second).await });
        let_others_run().await;
        assert!(
            turns.lock().unwrap().is_empty(),
            "the second waits for the first"
        );
        gate.notify_one();
        next.await.unwrap();
        trailing.finished().await;
        assert_eq!(*turns.lock().unwrap(), ["first", "second"]);
    }

    #[tokio::test]
    async fn tables_do_not_wait_for_each_other() {
        let trailing = Trailing::default();
        let (gate, turns) = (Arc::new(tokio::sync::Notify::new()), Turns::default());
        trailing
            .follow("jobs", gated("jobs", Arc::clone(&gate), &turns))
            .await;
        let departments = trailing.follow("departments", at_once("departments", &turns));
        tokio::time::timeout(Duration::from_secs(10), departments)
            .await
            .expect("another table's work does not wait for this one's");
        let_others_run().await;
        assert_eq!(*turns.lock().unwrap(), ["departments"]);
        gate.notify_one();
        trailing.finished().await;
        assert_eq!(*turns.lock().unwrap(), ["departments", "jobs"]);
    }
}
