//! The queue's one worker: runs taken in arrival order, those of one table waiting together
//! as a group, each group in a task of its own so that a panic ends its runs and not the
//! worker.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::mpsc;

use super::{Queue, RunState};
use crate::ledger::{self, Entry};
use crate::pipeline::Member;
use crate::store::Location;

/// At most this many bytes of objects commit together: a larger file gains little from company,
/// and the keys a group holds to compare its objects grow with it.
const GROUP_MAX_BYTES: u64 = 64 * 1024 * 1024;

impl Queue {
    pub(super) async fn work(self: Arc<Self>, mut receiver: mpsc::UnboundedReceiver<Entry>) {
        let mut next = None;
        loop {
            let first = match next.take() {
                Some(first) => first,
                None => match receiver.recv().await {
                    Some(first) => first,
                    None => break,
                },
            };
            if self.is_closed() {
                break;
            }
            let writing = self.writing.lock().await;
            let group;
            (group, next) = gather(first, &mut receiver, self.options.group_max);
            for queued in &group {
                self.set_running(&queued.run_id);
            }
            let ended = Arc::clone(&self).supervise(group.clone()).await;
            drop(writing);
            let mut runs = self.runs.lock().expect("queue lock");
            for (queued, ended) in group.iter().zip(ended) {
                runs.finish(&queued.run_id, ended);
            }
        }
        self.pipeline.target.flush().await;
        self.working.store(false, Ordering::Relaxed);
        // Waiters on runs that will not run here get `None` instead of waiting forever.
        let mut runs = self.runs.lock().expect("queue lock");
        runs.states
            .retain(|_, state| matches!(*state.borrow(), RunState::Finished(_)));
    }

    /// Runs `group` in a task of its own, so that a panic inside it ends those runs, and not
    /// the worker: the runs after them still run and their waiters get answered. A crashed
    /// group's runs run again one at a time; a run that crashed alone is recorded `failed`.
    async fn supervise(self: Arc<Self>, group: Vec<Entry>) -> Vec<Entry> {
        let queue = Arc::clone(&self);
        let runs = group.clone();
        let task = tokio::spawn(async move { queue.run(&runs).await });
        let reason = match task.await {
            Ok(ended) => return ended,
            Err(crash) => match crash.try_into_panic() {
                Ok(panic) => panic_message(panic.as_ref()),
                Err(crash) => crash.to_string(),
            },
        };
        if let [queued] = group.as_slice() {
            tracing::error!(run_id = queued.run_id, %reason, "a run crashed; it is recorded failed");
            return vec![
                self.fail(queued, format!("the run crashed: {reason}"))
                    .await,
            ];
        }
        tracing::error!(runs = group.len(), %reason, "a group of runs crashed; each runs again alone");
        let mut ended = Vec::with_capacity(group.len());
        for queued in group {
            let alone = Box::pin(Arc::clone(&self).supervise(vec![queued]));
            ended.extend(alone.await);
        }
        ended
    }

    /// Processes a group of runs, logging each the way the first AWS version's function logs
    /// were read: `START`, `END` and a `REPORT` line with duration and row counts.
    async fn run(&self, group: &[Entry]) -> Vec<Entry> {
        let started = Instant::now();
        let mut members = Vec::with_capacity(group.len());
        // Per run, in order: its location's error, if it cannot be opened.
        let mut unopened = Vec::with_capacity(group.len());
        for queued in group {
            let (run_id, key) = (&queued.run_id, &queued.object.key);
            tracing::info!(target: "csvgate::run", "START RunId: {run_id} Object: {key}");
            crate::fault::panic(&format!("run {key}"));
            let s3 = &self.pipeline.buckets.s3;
            match Location::open(&queued.object.location, false, s3) {
                Ok(location) => {
                    let object = queued.object.clone();
                    let run_id = run_id.clone();
                    members.push(Member {
                        run_id,
                        location,
                        object,
                    });
                    unopened.push(None);
                }
                Err(error) => unopened.push(Some(error.to_string())),
            }
        }
        let pipeline = &self.pipeline;
        let loaded = pipeline.ingest_group(&members, &self.options).await;
        pipeline.after_run(&loaded).await;
        let mut loaded = loaded.into_iter();
        let mut ended = Vec::with_capacity(group.len());
        for (queued, unopened) in group.iter().zip(unopened) {
            let one = match unopened {
                None => loaded.next().expect("one entry per member"),
                Some(error) => self.fail(queued, error).await,
            };
            log_end(&one, started.elapsed());
            ended.push(one);
        }
        ended
    }

    /// Ends a run that could not be processed (its landing location is gone, or it crashed)
    /// with a `failed` entry saying why.
    async fn fail(&self, queued: &Entry, reason: String) -> Entry {
        let failed = Entry {
            status: ledger::Status::Failed,
            error: Some(reason),
            finished_at: Utc::now(),
            ..queued.clone()
        };
        if let Err(error) = self.pipeline.target.record(&failed).await {
            tracing::error!(%error, "could not write the ledger entry");
        }
        failed
    }

    fn set_running(&self, run_id: &str) {
        if let Some(sender) = self.runs.lock().expect("queue lock").states.get(run_id) {
            sender.send_replace(RunState::Running);
        }
    }
}

/// The runs to process together: `first`, then the runs already waiting behind it for the same
/// table, within `max_objects` and [`GROUP_MAX_BYTES`]; it never waits for more. The first
/// waiting run that does not fit is handed back, to run next: runs keep their order.
fn gather(
    first: Entry,
    receiver: &mut mpsc::UnboundedReceiver<Entry>,
    max_objects: usize,
) -> (Vec<Entry>, Option<Entry>) {
    let mut bytes = first.object.size;
    let mut group = vec![first];
    while group.len() < max_objects {
        let Ok(queued) = receiver.try_recv() else {
            break;
        };
        bytes = bytes.saturating_add(queued.object.size);
        if queued.table != group[0].table || bytes > GROUP_MAX_BYTES {
            return (group, Some(queued));
        }
        group.push(queued);
    }
    (group, None)
}

/// A run's `END` and `REPORT` lines.
fn log_end(ended: &Entry, duration: std::time::Duration) {
    let run_id = &ended.run_id;
    tracing::info!(target: "csvgate::run", "END RunId: {run_id}");
    tracing::info!(
        target: "csvgate::run",
        "REPORT RunId: {run_id}\tDuration: {:.2} ms\tStatus: {}\tRows read: {}\tValid: {}\tInvalid: {}",
        duration.as_secs_f64() * 1000.0,
        ended.status,
        ended.rows_read,
        ended.rows_valid,
        ended.rows_invalid,
    );
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    (panic.downcast_ref::<String>().cloned())
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into())
}
