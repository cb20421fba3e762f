//! The pipeline: list → skip what is loaded → validate → load valid rows + write invalid rows →
//! commit with the ledger entry.
//!
//! Objects of one run are processed table by table, reference tables first (the dictionary's
//! load order), so the foreign-key rules of `hired_employees` see the `departments` and `jobs`
//! loaded a moment earlier; the objects of one table are processed up to
//! [`IngestOptions::workers`] at a time. A failure of one object is recorded in the ledger and
//! the run goes on; the caller decides the exit status from the entries. The queue hands over
//! uploads of one table that waited together as a group, committed as one (`group`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tracing::Instrument;

use crate::dictionary::{Dictionary, TableRef};
use crate::ledger::{self, Entry};
use crate::sink::{SinkError, Target};
use crate::store::{Buckets, Location, ObjectVersion, StoreError};
use crate::validate::{Dialect, ValidateError};

mod group;
mod object;
mod staging;

pub use group::{DEFAULT_GROUP_MAX, Member};
pub use object::table_of;

/// Why an object could not be processed; recorded as the ledger entry's `error`.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(
        "{object}: cannot tell which table this file holds (name it after a table, e.g. `jobs.csv` or `jobs/…`, or pass --table)"
    )]
    UnknownTable { object: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Validate(#[from] ValidateError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{object}: nothing loaded: {reason} (its rejected rows are in the invalid file)")]
    OverBudget { object: String, reason: String },
    /// A group's writer stopped taking rows (it failed, and says why).
    #[error("{object}: not staged: its group stopped taking rows")]
    GroupStopped { object: String },
}

/// Choices of one `ingest`.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Load every object into this table instead of telling it from the key.
    pub table: Option<TableRef>,
    pub dialect: Dialect,
    /// Process object versions the target already holds.
    pub force: bool,
    /// Show a progress bar for large objects.
    pub progress: bool,
    /// Objects of one table processed at once, each on a task of its own (0 counts as 1).
    pub workers: usize,
    /// How long a claim on an object lasts unless renewed ([`crate::sink::claim`]).
    pub claim_lease: std::time::Duration,
    /// Uploads of one table waiting in the queue committed together, at most (0 counts as 1).
    pub group_max: usize,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            table: None,
            dialect: Dialect::default(),
            force: false,
            progress: false,
            workers: 1,
            claim_lease: crate::sink::claim::DEFAULT_LEASE,
            group_max: DEFAULT_GROUP_MAX,
        }
    }
}

/// The buckets and the target of one deployment.
pub struct Pipeline {
    pub buckets: Buckets,
    pub target: Arc<dyn Target>,
    /// What runs once a run has loaded rows into a table (the contract's dataset rules).
    pub after_load: Option<Arc<dyn AfterLoad>>,
}

/// Work after a load changed a table, which must not fail it: the rows are committed. A trait,
/// so the pipeline needs no query engine ([`crate::check::Recorder`] is the one there is).
#[async_trait::async_trait]
pub trait AfterLoad: Send + Sync {
    /// `table` changed by the loads of `run_ids` (several when a group committed them), whose
    /// rules' outcomes are recorded with each.
    async fn loaded(&self, run_ids: &[&str], table: &TableRef);
}

/// An object found for a run.
struct Job {
    location: Location,
    object: ObjectVersion,
    /// The table the object loads into: the one the run names, else the one its key names.
    table: Option<TableRef>,
}

impl Job {
    fn new(
        dictionary: &Dictionary,
        location: &Location,
        object: ObjectVersion,
        options: &IngestOptions,
    ) -> Job {
        let table =
            (options.table.clone()).or_else(|| table_of(dictionary, location, &object).cloned());
        Job {
            table,
            location: location.clone(),
            object,
        }
    }

    fn table(&self) -> Result<&TableRef, PipelineError> {
        self.table
            .as_ref()
            .ok_or_else(|| object::unknown_table(&self.location, &self.object))
    }
}

/// What processing an object came to.
enum Processed {
    Ended(Box<Entry>),
    /// Another run holds the object's claim until then: to be tried again.
    ClaimedElsewhere(DateTime<Utc>),
}

impl Pipeline {
    /// Processes every object the sources name (the landing bucket when there are none) and
    /// returns one ledger entry per object, in processing order.
    pub async fn ingest(
        self: &Arc<Self>,
        sources: &[String],
        options: &IngestOptions,
    ) -> Result<Vec<Entry>, PipelineError> {
        // A target that cannot be reached fails the run before any object: each would fail
        // the same way, and their ledger entries could not be written either.
        self.target.reachable().await?;
        let run_id = ledger::new_run_id(Utc::now());
        let dictionary = self.target.dictionary();
        let mut jobs = Vec::new();
        if sources.is_empty() {
            let landing = &self.buckets.landing;
            let objects = landing.csv_objects().await?;
            jobs.extend(
                objects
                    .into_iter()
                    .map(|object| Job::new(dictionary, landing, object, options)),
            );
        }
        for source in sources {
            let (location, objects) = Location::resolve(source, &self.buckets.s3).await?;
            jobs.extend(
                objects
                    .into_iter()
                    .map(|object| Job::new(dictionary, &location, object, options)),
            );
        }
        let mut ranks: BTreeMap<usize, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            let rank = job.table().map_or(usize::MAX, |table| table.load_rank());
            ranks.entry(rank).or_default().push(job);
        }
        let mut entries = Vec::new();
        for (_, jobs) in ranks {
            entries.extend(self.process_all(&run_id, jobs, options).await);
        }
        self.target.flush().await;
        self.after_run(&entries).await;
        Ok(entries)
    }

    /// Runs [`Pipeline::after_load`] once for each table `entries` loaded rows into, in load
    /// order, with the runs that did. [`Pipeline::ingest`] calls it; a caller of
    /// [`Pipeline::ingest_object`] or [`Pipeline::ingest_group`] calls it once its runs'
    /// objects are processed.
    pub async fn after_run(&self, entries: &[Entry]) {
        let Some(after_load) = &self.after_load else {
            return;
        };
        for table in self.target.dictionary().tables() {
            let mut run_ids: Vec<&str> = (entries.iter())
                .filter(|entry| loaded_into(entry, table))
                .map(|entry| entry.run_id.as_str())
                .collect();
            run_ids.dedup();
            if !run_ids.is_empty() {
                after_load.loaded(&run_ids, table).await;
            }
        }
    }

    /// Processes `jobs` up to `options.workers` at a time, each on a task of its own so loads
    /// use every core. Objects another run holds are done last, once their claims end.
    async fn process_all(
        self: &Arc<Self>,
        run_id: &str,
        jobs: Vec<Job>,
        options: &IngestOptions,
    ) -> Vec<Entry> {
        let first = self.spawn_each(run_id, jobs, options, Self::process_once);
        let mut entries = Vec::new();
        let mut claimed_elsewhere = Vec::new();
        for (job, processed) in first.await {
            match processed {
                Processed::Ended(entry) => entries.push(*entry),
                Processed::ClaimedElsewhere(_) => claimed_elsewhere.push(job),
            }
        }
        let waited = self.spawn_each(run_id, claimed_elsewhere, options, Self::process_when_free);
        entries.extend(waited.await.into_iter().map(|(_, entry)| entry));
        entries
    }

    /// `work` on each job, up to `options.workers` at a time, each on a task of its own; what
    /// came of them, in order.
    async fn spawn_each<T, F, W>(
        self: &Arc<Self>,
        run_id: &str,
        jobs: Vec<Job>,
        options: &IngestOptions,
        work: W,
    ) -> Vec<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
        W: Fn(Arc<Self>, String, Job, IngestOptions) -> F,
    {
        let started = jobs.into_iter().map(|job| {
            let (pipeline, run_id, options) =
                (Arc::clone(self), run_id.to_owned(), options.clone());
            tokio::spawn(work(pipeline, run_id, job, options).in_current_span())
        });
        let ended = futures::stream::iter(started).buffered(options.workers.max(1));
        ended
            .map(|ended| {
                ended.unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
            })
            .collect()
            .await
    }

    async fn process_once(
        self: Arc<Self>,
        run_id: String,
        job: Job,
        options: IngestOptions,
    ) -> (Job, Processed) {
        let processed = self.process(&run_id, &job, &options).await;
        (job, processed)
    }

    async fn process_when_free(
        self: Arc<Self>,
        run_id: String,
        job: Job,
        options: IngestOptions,
    ) -> (Job, Entry) {
        let entry = self.process_until_ended(&run_id, &job, &options).await;
        (job, entry)
    }

    /// Processes one known object version under a given run id (the queue's unit of work),
    /// waiting while another run holds it.
    pub async fn ingest_object(
        &self,
        run_id: &str,
        location: &Location,
        object: ObjectVersion,
        options: &IngestOptions,
    ) -> Entry {
        let job = Job::new(self.target.dictionary(), location, object, options);
        self.process_until_ended(run_id, &job, options).await
    }

    /// Processes `job`, and again after a pause each time another run holds it: its holder
    /// ends (the object is then found loaded) or its lease runs out (this run takes it over).
    async fn process_until_ended(&self, run_id: &str, job: &Job, options: &IngestOptions) -> Entry {
        loop {
            match self.process(run_id, job, options).await {
                Processed::Ended(entry) => return *entry,
                Processed::ClaimedElsewhere(until) => {
                    let left = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(left.min(CLAIMED_POLL)).await;
                }
            }
        }
    }
}

/// Whether `entry` committed rows into `table`.
fn loaded_into(entry: &Entry, table: &TableRef) -> bool {
    entry.status == ledger::Status::Done && entry.rows_valid > 0 && entry.table == table.name
}

/// How often a run looks again at an object another run holds, at most.
const CLAIMED_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// A local file as its path, anything else as its URL.
pub(super) fn display_name(location: &Location, object: &ObjectVersion) -> String {
    let url = format!("{}{}", location.url, object.key);
    url::Url::parse(&url)
        .ok()
        .and_then(|url| url.to_file_path().ok())
        .map_or(url, |path| path.display().to_string())
}
