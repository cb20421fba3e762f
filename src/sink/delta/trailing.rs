//! Work that trails a load's commit: once the data commit is durable, the load answers, and
//! its ledger append and its rollups' commits (two other tables, a conditional write each),
//! and the table's checkpoint when one is due, run behind it.
//!
//! Nothing is lost if the process dies before they end: the ledger entry was parked before
//! the commit and is settled by the next reader or load ([`super::parked`]), a rollup that is
//! behind its table is caught up by the next load or report ([`super::rollups`]), and a
//! checkpoint not written comes at the table's next checkpoint version (readers replay a
//! longer log meanwhile). What changes is when they happen, so a process that stops, or
//! answers for a whole run (an `ingest`, an event, a Lambda invocation), waits for them first
//! ([`Trailing::finished`]).
//!
//! The work is batched per table, as group commit batches rows: while one batch runs, the
//! commits that come wait together, and the next batch takes them all at once (one ledger
//! append, one commit per rollup), so commits that come faster than their work runs do not
//! queue behind it one by one. Batches of one table run one after another, in the order their
//! commits reached here (the versions' order, but for `ingest --workers` committing one table
//! at once, where the rollup catches up instead). A commit answers without waiting for the
//! work before it unless [`WAITING_AT_MOST`] commits already wait: then it waits for the
//! running batch, so the backlog stays bounded however fast uploads come.
//!
//! A batch is chained as it is started, so a commit whose answer is abandoned (its caller
//! dropped while it waits) still leaves its work running and waited for by
//! [`Trailing::finished`]. A panic in it is logged, and ends no run: the rows are committed,
//! and what the work did not do is done later, as after a crash.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared, join_all};
use tracing::Instrument;

/// How many commits of one table may wait for their trailing work without holding up their
/// answers. Their work is small (parked entries, group counts), so the bound is about how far
/// the ledger may lag the commits in a busy process, not about memory.
pub(super) const WAITING_AT_MOST: usize = 16;

/// Each table's latest batch of trailing work, shared by a target's clones.
pub(super) struct Trailing<T> {
    latest: Mutex<HashMap<String, Batch<T>>>,
}

/// The trailing work of some commits of one table, run together.
struct Batch<T> {
    /// Each commit's part, until the batch starts (then `None`: later commits start a batch).
    waiting: Arc<Mutex<Option<Vec<T>>>>,
    /// The batch before ended (`None`: there was none).
    previous: Option<Ended>,
    /// This batch ended (and so every one of its table before it).
    ended: Ended,
}

type Ended = Shared<BoxFuture<'static, ()>>;

impl<T: Send + 'static> Trailing<T> {
    /// Hands `part` of a commit of `table` to the batch waiting to run, or starts a batch with
    /// it that runs `work` once the running one has ended. Waits for the running batch only
    /// when more than [`WAITING_AT_MOST`] commits wait.
    pub(super) async fn follow<W>(&self, table: &str, part: T, work: W)
    where
        W: FnOnce(Vec<T>) -> BoxFuture<'static, ()> + Send + 'static,
    {
        if let Some(running) = self.hand_over(table, part, work) {
            running.await;
        }
    }

    /// Waits until the trailing work of every commit so far has ended.
    pub(super) async fn finished(&self) {
        let latest: Vec<Ended> = (self.latest.lock().expect("trailing lock").values())
            .map(|batch| batch.ended.clone())
            .collect();
        join_all(latest).await;
    }

    /// Puts `part` in a batch; returns the running batch when the commit must wait for it.
    fn hand_over<W>(&self, table: &str, part: T, work: W) -> Option<Ended>
    where
        W: FnOnce(Vec<T>) -> BoxFuture<'static, ()> + Send + 'static,
    {
        let mut latest = self.latest.lock().expect("trailing lock");
        let part = match latest.get(table) {
            Some(batch) => match batch.join(part) {
                Ok(waiting) if waiting <= WAITING_AT_MOST => return None,
                Ok(_) => return batch.previous.clone(),
                Err(part) => part,
            },
            None => part,
        };
        let previous = latest.get(table).map(|batch| batch.ended.clone());
        latest.insert(table.to_owned(), Batch::start(previous, part, work));
        None
    }
}

impl<T: Send + 'static> Batch<T> {
    /// A batch of `part`, whose `work` runs on a task of its own once `previous` has ended,
    /// with the parts joined by then.
    fn start<W>(previous: Option<Ended>, part: T, work: W) -> Batch<T>
    where
        W: FnOnce(Vec<T>) -> BoxFuture<'static, ()> + Send + 'static,
    {
        let waiting = Arc::new(Mutex::new(Some(vec![part])));
        let (parts, after) = (Arc::clone(&waiting), previous.clone());
        let run = async move {
            if let Some(after) = after {
                after.await;
            }
            let parts = parts.lock().expect("trailing lock").take();
            let work = work(parts.unwrap_or_default());
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
        Batch {
            waiting,
            previous,
            ended: ended.shared(),
        }
    }

    /// Adds `part` to the batch and says how many parts it holds; gives `part` back when the
    /// batch has started.
    fn join(&self, part: T) -> Result<usize, T> {
        match self.waiting.lock().expect("trailing lock").as_mut() {
            Some(parts) => {
                parts.push(part);
                Ok(parts.len())
            }
            None => Err(part),
        }
    }
}

impl<T> Default for Trailing<T> {
    fn default() -> Self {
        Trailing {
            latest: Mutex::default(),
        }
    }
}

impl<T> std::fmt::Debug for Trailing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tables = self
            .latest
            .lock()
            .map(|latest| latest.len())
            .unwrap_or_default();
        f.debug_struct("Trailing").field("tables", &tables).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::Notify;

    /// The parts each batch ran, in the order the batches ran.
    type Batches = Arc<Mutex<Vec<Vec<&'static str>>>>;

    /// Work that records its batch's parts, once `gate` opens when there is one.
    fn recorded(
        batches: &Batches,
        gate: Option<Arc<Notify>>,
    ) -> impl FnOnce(Vec<&'static str>) -> BoxFuture<'static, ()> + Send + 'static {
        let batches = Arc::clone(batches);
        move |parts| {
            Box::pin(async move {
                if let Some(gate) = gate {
                    gate.notified().await;
                }
                batches.lock().unwrap().push(parts);
            })
        }
    }

    /// Lets every other task of this (one-thread) runtime run until it waits.
    async fn let_others_run() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    /// A first batch of `first` on "jobs" that runs until the gate it returns opens.
    async fn running(trailing: &Trailing<&'static str>, batches: &Batches) -> Arc<Notify> {
        let gate = Arc::new(Notify::new());
        let work = recorded(batches, Some(Arc::clone(&gate)));
        trailing.follow("jobs", "first", work).await;
        let_others_run().await;
        gate
    }

    #[tokio::test]
    async fn commits_that_come_while_a_batch_runs_are_taken_together_by_the_next() {
        let (trailing, batches) = (Trailing::default(), Batches::default());
        let gate = running(&trailing, &batches).await;
        for part in ["second", "third"] {
            let answered = trailing.follow("jobs", part, recorded(&batches, None));
            assert!(answered.now_or_never().is_some(), "{part} does not wait");
        }
        assert!(batches.lock().unwrap().is_empty(), "the first still runs");
        gate.notify_one();
        trailing.finished().await;
        let ran = batches.lock().unwrap().clone();
        assert_eq!(ran, [vec!["first"], vec!["second", "third"]]);
    }

    #[tokio::test]
    async fn a_commit_past_the_bound_waits_for_the_running_batch_and_its_work_runs_anyway() {
        let (trailing, batches) = (Trailing::default(), Batches::default());
        let gate = running(&trailing, &batches).await;
        for _ in 0..WAITING_AT_MOST {
            let answered = trailing.follow("jobs", "waiting", recorded(&batches, None));
            assert!(answered.now_or_never().is_some(), "within the bound");
        }
        let past = trailing.follow("jobs", "past", recorded(&batches, None));
        assert!(past.now_or_never().is_none(), "it waits for the first");
        gate.notify_one();
        trailing.finished().await;
        let ran = batches.lock().unwrap().clone();
        assert_eq!(ran.len(), 2, "{ran:?}");
        assert_eq!(ran[1].len(), WAITING_AT_MOST + 1, "{ran:?}");
        assert_eq!(ran[1].last(), Some(&"past"), "abandoned, it still ran");
    }

    #[tokio::test]
    async fn tables_do_not_wait_for_each_other() {
        let (trailing, batches) = (Trailing::default(), Batches::default());
        let gate = running(&trailing, &batches).await;
        let departments = trailing.follow("departments", "departments", recorded(&batches, None));
        tokio::time::timeout(Duration::from_secs(10), departments)
            .await
            .expect("another table's work does not wait for this one's");
        let_others_run().await;
        assert_eq!(*batches.lock().unwrap(), [vec!["departments"]]);
        gate.notify_one();
        trailing.finished().await;
        assert_eq!(batches.lock().unwrap()[1], ["first"]);
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_logged_and_the_next_batch_runs() {
        let (trailing, batches) = (Trailing::default(), Batches::default());
        let panics = |_: Vec<&'static str>| -> BoxFuture<'static, ()> {
            Box::pin(async { panic!("injected") })
        };
        trailing.follow("jobs", "first", panics).await;
        let_others_run().await;
        trailing
            .follow("jobs", "after", recorded(&batches, None))
            .await;
        trailing.finished().await;
        assert_eq!(*batches.lock().unwrap(), [vec!["after"]]);
    }
}
