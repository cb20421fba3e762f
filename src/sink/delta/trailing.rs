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
//! commit that started it waits for that previous one before it answers: the rollups of one
//! process advance in the order its commits reached here (their versions' order, but for
//! `ingest --workers` committing one table at once, where the rollup catches up instead), and
//! at most one commit's work is waiting per table, however fast uploads come.
//!
//! The work is chained as it is started, so a commit whose answer is abandoned (its caller
//! dropped while it waits for the previous work) still leaves its own work running and waited
//! for by [`Trailing::finished`]. A panic in it is logged, and ends no run: the rows are
//! committed, and what the work did not do is done later, as after a crash.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures::future::{BoxFuture, FutureExt, Shared, join_all};
use tracing::Instrument;

/// The trailing work of each table's latest commit, shared by a target's clones.
#[derive(Debug, Default)]
pub(super) struct Trailing {
    latest: Mutex<HashMap<String, Ended>>,
}

/// A commit's trailing work (and so the work of every commit of its table before it) ended.
type Ended = Shared<BoxFuture<'static, ()>>;

impl Trailing {
    /// Starts `work` for a commit of `table`, to run once the previous commit's has ended, and
    /// waits for that previous one.
    pub(super) async fn follow(&self, table: &str, work: BoxFuture<'static, ()>) {
        let previous = {
            let mut latest = self.latest.lock().expect("trailing lock");
            let previous = latest.get(table).cloned();
            latest.insert(table.to_owned(), chained(previous.clone(), work));
            previous
        };
        if let Some(previous) = previous {
            previous.await;
        }
    }

    /// Waits until the trailing work of every commit so far has ended.
    pub(super) async fn finished(&self) {
        let latest: Vec<Ended> = (self.latest.lock().expect("trailing lock").values())
            .cloned()
            .collect();
        join_all(latest).await;
    }
}

/// `work` on a task of its own, once `previous` has ended.
fn chained(previous: Option<Ended>, work: BoxFuture<'static, ()>) -> Ended {
    let run = async move {
        if let Some(previous) = previous {
            previous.await;
        }
        if let Err(panic) = AssertUnwindSafe(work).catch_unwind().await {
            let reason = (panic.downcast_ref::<String>().cloned())
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_default();
            tracing::error!(%reason, "the work after a commit panicked: its ledger entries stay parked until read, its rollups are caught up later");
        }
    };
    let task = tokio::spawn(run.in_current_span());
    // The task is never aborted; it ends early only when the runtime shuts down.
    let ended: BoxFuture<'static, ()> = Box::pin(task.map(|_| ()));
    ended.shared()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
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
        let first = gated("first", Arc::clone(&gate), &turns);
        trailing.follow("jobs", first).await;
        let next = Arc::clone(&trailing);
        let second = at_once("second", &turns);
        let next = tokio::spawn(async move { next.follow("jobs", second).await });
        let_others_run().await;
        assert!(
            turns.lock().unwrap().is_empty(),
            "the second waits for the first"
        );
        assert!(!next.is_finished(), "its commit waits for the work before");
        gate.notify_one();
        next.await.unwrap();
        trailing.finished().await;
        assert_eq!(*turns.lock().unwrap(), ["first", "second"]);
    }

    #[tokio::test]
    async fn tables_do_not_wait_for_each_other() {
        let trailing = Trailing::default();
        let (gate, turns) = (Arc::new(tokio::sync::Notify::new()), Turns::default());
        let jobs = gated("jobs", Arc::clone(&gate), &turns);
        trailing.follow("jobs", jobs).await;
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

    #[tokio::test]
    async fn work_whose_commit_stopped_waiting_still_runs_and_is_waited_for() {
        let trailing = Trailing::default();
        let (gate, turns) = (Arc::new(tokio::sync::Notify::new()), Turns::default());
        trailing
            .follow("jobs", gated("first", Arc::clone(&gate), &turns))
            .await;
        let abandoned = trailing.follow("jobs", at_once("second", &turns));
        assert!(abandoned.now_or_never().is_none(), "it waits for the first");
        gate.notify_one();
        trailing.finished().await;
        assert_eq!(*turns.lock().unwrap(), ["first", "second"]);
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_logged_and_the_next_work_runs() {
        let trailing = Trailing::default();
        let turns = Turns::default();
        trailing
            .follow("jobs", Box::pin(async { panic!("injected") }))
            .await;
        trailing.follow("jobs", at_once("after", &turns)).await;
        trailing.finished().await;
        assert_eq!(*turns.lock().unwrap(), ["after"]);
    }
}
