//! The work queue behind uploads: an object stored in the landing bucket becomes a run that a
//! single worker processes in the background, like the first AWS version's "object created" trigger.
//!
//! The queue's state lives in the ledger, not in memory: accepting an object first writes a
//! `queued` entry, and the run's ending entry (`done`, `skipped`, `failed`) is the one the
//! pipeline writes anyway. So a process killed with work accepted finds it again at start
//! ([`ledger::pending`]) and finishes it; and since loads are idempotent (the target knows which
//! object versions it committed), work interrupted halfway is never loaded twice.
//!
//! One worker processes runs one after the other: reference tables uploaded just before a
//! `hired_employees` file are loaded before it is validated, as in a CLI run. Runs of one table
//! that wait behind each other are taken together and committed as one ([`Pipeline::ingest_group`]):
//! only what is already waiting, so a lone upload never waits for company.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug_span};

use crate::dictionary::Dictionary;
use crate::ledger::{self, Entry, Selection};
use crate::pipeline::{IngestOptions, Pipeline};
use crate::sink::SinkError;
use crate::store::{Location, ObjectVersion, StoreError, UploadError, check_key};
use crate::validate::Dialect;

mod worker;

/// Why work could not be accepted; nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the server is shutting down and accepts no new work")]
    Closed,
    #[error("recording the run in the ledger: {0}")]
    Ledger(#[from] SinkError),
    #[error("key {0}")]
    BadKey(String),
    #[error(
        "{key}: cannot tell which table this file holds (name it after a table, e.g. `jobs.csv` or `jobs/2024.csv`)"
    )]
    UnknownTable { key: String },
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("accepting the run stopped unexpectedly: {0}")]
    Crashed(String),
}

/// Where a run accepted by this process is.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Queued,
    Running,
    /// The run's ending ledger entry.
    Finished(Box<Entry>),
}

/// A run as clients see it: where it is, and its ledger entries.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// `queued`, `running`, or the status of its ending entry.
    pub status: &'static str,
    pub entries: Vec<Entry>,
}

/// The queue and its one worker.
pub struct Queue {
    pipeline: Arc<Pipeline>,
    /// How the worker reads objects where a table does not say otherwise.
    options: IngestOptions,
    sender: Mutex<Option<mpsc::UnboundedSender<Entry>>>,
    runs: Mutex<Runs>,
    /// Cleared when the worker has ended, by a shutdown or otherwise.
    working: AtomicBool,
    /// Held by the worker through each run, and by [`Queue::exclusive`] work: this process
    /// writes to the target one commit at a time, so a restore never races a load's commit.
    writing: tokio::sync::Mutex<()>,
}

/// Runs accepted by this process. Finished ones are kept for their waiters and `GET /runs/{id}`,
/// the oldest forgotten past [`FINISHED_KEPT`] (the ledger has them all), so that the map does
/// not grow with the server's uptime.
#[derive(Default)]
struct Runs {
    states: HashMap<String, watch::Sender<RunState>>,
    finished: VecDeque<String>,
}

/// Finished runs whose state this process keeps in memory.
const FINISHED_KEPT: usize = 4_096;

impl Runs {
    fn finish(&mut self, run_id: &str, ended: Entry) {
        if let Some(sender) = self.states.get(run_id) {
            sender.send_replace(RunState::Finished(Box::new(ended)));
            self.finished.push_back(run_id.to_owned());
        }
        while self.finished.len() > FINISHED_KEPT {
            let forgotten = self.finished.pop_front().expect("longer than the bound");
            self.states.remove(&forgotten);
        }
    }
}

impl Queue {
    /// Starts the worker and hands it, first, the runs the ledger says were accepted and never
    /// finished. The handle ends once [`Queue::close`] was called and the current run is done.
    pub async fn start(
        pipeline: Arc<Pipeline>,
        options: IngestOptions,
    ) -> Result<(Arc<Queue>, JoinHandle<()>), QueueError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue = Arc::new(Queue {
            pipeline,
            options,
            sender: Mutex::new(Some(sender)),
            runs: Mutex::new(Runs::default()),
            working: AtomicBool::new(true),
            writing: tokio::sync::Mutex::new(()),
        });
        let pending = ledger::pending(&queue.pipeline.target.runs().await?);
        if !pending.is_empty() {
            tracing::info!(
                runs = pending.len(),
                "resuming runs accepted before a restart"
            );
        }
        for entry in pending {
            queue.enqueue(entry)?;
        }
        let worker = tokio::spawn(Arc::clone(&queue).work(receiver));
        Ok((queue, worker))
    }

    /// Stores an uploaded object in the landing bucket under `key` (at most `limit` bytes),
    /// then accepts it. A bad key, an unknown table or a failed upload stores nothing.
    pub async fn accept_upload<E: std::fmt::Display>(
        self: &Arc<Self>,
        key: &str,
        body: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        limit: u64,
    ) -> Result<Entry, QueueError> {
        check_key(key).map_err(QueueError::BadKey)?;
        let table = self.dictionary().table_for_key(key);
        let table = table.ok_or_else(|| QueueError::UnknownTable {
            key: key.to_owned(),
        })?;
        if self.is_closed() {
            return Err(QueueError::Closed);
        }
        let object = self
            .pipeline
            .buckets
            .landing
            .upload(key, body, limit)
            .instrument(debug_span!("upload"))
            .await?;
        self.accept(object, &table.name).await
    }

    /// Records `object` as queued in the ledger, then queues it; returns the queued entry.
    ///
    /// Both happen in a task of their own: a client that hangs up drops its request halfway,
    /// and must not leave a ledger append cut short, or an entry recorded that no one works on.
    pub async fn accept(
        self: &Arc<Self>,
        object: ObjectVersion,
        table: &str,
    ) -> Result<Entry, QueueError> {
        if self.is_closed() {
            return Err(QueueError::Closed);
        }
        let run_id = ledger::new_run_id(Utc::now());
        let entry = Entry::queued(run_id, object, table, self.dictionary().stamp());
        let queue = Arc::clone(self);
        let accepted = tokio::spawn(async move {
            queue
                .pipeline
                .target
                .record(&entry)
                .instrument(debug_span!("record_queued"))
                .await?;
            queue.enqueue(entry.clone())?;
            Ok(entry)
        });
        accepted
            .await
            .map_err(|crash| QueueError::Crashed(crash.to_string()))?
    }

    /// The tables uploads are checked against.
    pub fn dictionary(&self) -> &Dictionary {
        self.pipeline.target.dictionary()
    }

    /// The landing bucket uploads and events name objects of.
    pub fn landing(&self) -> &Location {
        &self.pipeline.buckets.landing
    }

    /// The invalid-rows file a run wrote (by its URL, as in the ledger). Small files only.
    pub async fn invalid_file(&self, url: &str) -> Result<bytes::Bytes, StoreError> {
        let invalid = &self.pipeline.buckets.invalid;
        invalid.read_small(&invalid.key_of(url)?).await
    }

    /// The ledger entries `selection` names, oldest first.
    pub async fn ledger(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        self.pipeline.target.select_runs(selection).await
    }

    /// The run `run_id`, from the ledger and this process's own knowledge of it.
    pub async fn view(&self, run_id: &str) -> Result<Option<RunView>, SinkError> {
        let entries = self.ledger(&Selection::run(run_id)).await?;
        let ended = entries
            .iter()
            .rev()
            .find(|entry| entry.status != ledger::Status::Queued);
        let status = match (self.state(run_id), ended) {
            (Some(RunState::Running), _) => "running",
            (_, Some(entry)) => entry.status.as_str(),
            (Some(_), None) => "queued",
            (None, None) if entries.is_empty() => return Ok(None),
            (None, None) => "queued",
        };
        Ok(Some(RunView { status, entries }))
    }

    /// What this process knows of a run (`None`: not accepted by this process).
    pub fn state(&self, run_id: &str) -> Option<RunState> {
        let runs = self.runs.lock().expect("queue lock");
        runs.states.get(run_id).map(|state| state.borrow().clone())
    }

    /// Runs `work` (a restore, say) between two runs, while the worker waits, once what the
    /// runs before left running after their commits ended.
    pub async fn exclusive<T>(&self, work: impl Future<Output = T>) -> T {
        let _writing = self.writing.lock().await;
        self.pipeline.target.flush().await;
        work.await
    }

    /// Runs accepted and not started yet.
    pub fn waiting(&self) -> usize {
        let runs = self.runs.lock().expect("queue lock");
        let states = runs.states.values();
        states
            .filter(|state| matches!(*state.borrow(), RunState::Queued))
            .count()
    }

    /// Whether the worker still takes runs (false once closed and done, or if it ended).
    pub fn is_working(&self) -> bool {
        self.working.load(Ordering::Relaxed) && !self.is_closed()
    }

    /// Waits until the run ends; `None` when this process does not know the run, or stopped
    /// before running it (it stays queued in the ledger for the next start).
    pub async fn finished(&self, run_id: &str) -> Option<Entry> {
        let mut state = {
            let runs = self.runs.lock().expect("queue lock");
            runs.states.get(run_id)?.subscribe()
        };
        let ended = state
            .wait_for(|state| matches!(state, RunState::Finished(_)))
            .await
            .ok()?;
        match &*ended {
            RunState::Finished(entry) => Some((**entry).clone()),
            _ => None,
        }
    }

    /// The CSV dialect runs are read in, under each table's own ([`Dialect::for_table`]).
    pub fn dialect(&self) -> &Dialect {
        &self.options.dialect
    }

    /// Stops accepting work; the worker ends after the run in progress. Queued runs stay
    /// queued in the ledger and are taken up by the next start.
    pub fn close(&self) {
        self.sender.lock().expect("queue lock").take();
    }

    fn is_closed(&self) -> bool {
        self.sender.lock().expect("queue lock").is_none()
    }

    fn enqueue(&self, entry: Entry) -> Result<(), QueueError> {
        let mut runs = self.runs.lock().expect("queue lock");
        let queued = watch::Sender::new(RunState::Queued);
        runs.states.insert(entry.run_id.clone(), queued);
        drop(runs);
        let sender = self.sender.lock().expect("queue lock");
        sender
            .as_ref()
            .and_then(|sender| sender.send(entry).ok())
            .ok_or(QueueError::Closed)
    }
}
