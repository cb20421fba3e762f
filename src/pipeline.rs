//! The pipeline: list → skip what is loaded → validate → load valid rows + write invalid rows →
//! commit with the ledger entry.
//!
//! Objects of one run are processed table by table, reference tables first (the dictionary's
//! load order), so the foreign-key rules of `hired_employees` see the `departments` and `jobs`
//! loaded a moment earlier; the objects of one table are processed up to
//! [`IngestOptions::workers`] at a time. A failure of one object is recorded in the ledger and
//! the run goes on; the caller decides the exit status from the entries.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tracing::{Instrument, debug_span};

use crate::dictionary::{Table, table_for_key};
use crate::ledger::{self, Entry, Status};
use crate::sink::claim::{Claim, Renewing};
use crate::sink::invalid::InvalidRows;
use crate::sink::{Load, SinkError, Target, reference_ids};
use crate::store::{Buckets, Location, ObjectVersion, StoreError};
use crate::validate::{self, Dialect, ValidateError};

/// Objects larger than this get a progress bar when one is wanted.
const PROGRESS_MIN_BYTES: u64 = 16 * 1024 * 1024;

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
}

/// Choices of one `ingest`.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Load every object into this table instead of telling it from the key.
    pub table: Option<&'static Table>,
    pub dialect: Dialect,
    /// Process object versions the target already holds.
    pub force: bool,
    /// Show a progress bar for large objects.
    pub progress: bool,
    /// Objects of one table processed at once, each on a task of its own (0 counts as 1).
    pub workers: usize,
    /// How long a claim on an object lasts unless renewed ([`crate::sink::claim`]).
    pub claim_lease: std::time::Duration,
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
        }
    }
}

/// The buckets and the target of one deployment.
pub struct Pipeline {
    pub buckets: Buckets,
    pub target: Arc<dyn Target>,
}

/// An object found for a run.
struct Job {
    location: Location,
    object: ObjectVersion,
    /// The table every object of the run loads into, when the run names one.
    told: Option<&'static Table>,
}

impl Job {
    fn new(location: &Location, object: ObjectVersion, options: &IngestOptions) -> Job {
        Job {
            told: options.table,
            location: location.clone(),
            object,
        }
    }

    /// The table the object loads into: the one the run names, else told from its key.
    fn table(&self) -> Result<&'static Table, PipelineError> {
        (self.told).map_or_else(|| table_of(&self.location, &self.object), Ok)
    }
}

/// What processing an object came to.
enum Processed {
    Ended(Box<Entry>),
    /// Another run holds the object's claim until then: to be tried again.
    Held(DateTime<Utc>),
}

impl Pipeline {
    /// Processes every object the sources name (the landing bucket when there are none) and
    /// returns one ledger entry per object, in processing order.
    pub async fn ingest(
        self: &Arc<Self>,
        sources: &[String],
        options: &IngestOptions,
    ) -> Result<Vec<Entry>, PipelineError> {
        let run_id = ledger::new_run_id(Utc::now());
        let mut jobs = Vec::new();
        let landing = [self.buckets.landing.url.to_string()];
        for source in if sources.is_empty() {
            &landing[..]
        } else {
            sources
        } {
            let (location, objects) = Location::resolve(source, &self.buckets.s3).await?;
            jobs.extend(
                objects
                    .into_iter()
                    .map(|object| Job::new(&location, object, options)),
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
        Ok(entries)
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
        let mut held = Vec::new();
        for (job, processed) in first.await {
            match processed {
                Processed::Ended(entry) => entries.push(*entry),
                Processed::Held(_) => held.push(job),
            }
        }
        let waited = self.spawn_each(run_id, held, options, Self::process_when_free);
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
        let job = Job::new(location, object, options);
        self.process_until_ended(run_id, &job, options).await
    }

    /// Processes `job`, and again after a pause each time another run holds it: its holder
    /// ends (the object is then found loaded) or its lease runs out (this run takes it over).
    async fn process_until_ended(&self, run_id: &str, job: &Job, options: &IngestOptions) -> Entry {
        loop {
            match self.process(run_id, job, options).await {
                Processed::Ended(entry) => return *entry,
                Processed::Held(until) => {
                    let left = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(left.min(HELD_POLL)).await;
                }
            }
        }
    }

    /// Every log line of the object's processing carries its run id and key, so a log store
    /// (CloudWatch Logs Insights, Loki) can gather one run's lines.
    async fn process(&self, run_id: &str, job: &Job, options: &IngestOptions) -> Processed {
        let span = tracing::info_span!("object", run_id, key = %job.object.key);
        self.process_in_span(run_id, job, options)
            .instrument(span)
            .await
    }

    async fn process_in_span(&self, run_id: &str, job: &Job, options: &IngestOptions) -> Processed {
        let started_at = Utc::now();
        let mut entry = Entry {
            run_id: run_id.to_owned(),
            object: job.object.clone(),
            table: job
                .table()
                .map_or_else(|_| String::new(), |table| table.name.to_owned()),
            status: Status::Failed,
            rows_read: 0,
            rows_valid: 0,
            rows_invalid: 0,
            invalid_object: None,
            started_at,
            finished_at: started_at,
            error: None,
        };
        let outcome = match job.table() {
            Ok(table) => {
                self.load(&job.location, &job.object, table, options, &mut entry)
                    .instrument(debug_span!("process", key = %job.object.key))
                    .await
            }
            Err(error) => Err(error),
        };
        entry.finished_at = Utc::now();
        match outcome {
            Ok(Recorded::Held(until)) => return Processed::Held(until),
            Ok(Recorded::Yes) => {}
            Ok(Recorded::No) => self.record(&entry).await,
            Err(error) => {
                tracing::error!(object = %job.object.key, %error, "object not loaded");
                entry.status = Status::Failed;
                entry.error = Some(error.to_string());
                self.record(&entry).await;
            }
        }
        tracing::info!(
            status = entry.status.as_str(),
            rows_valid = entry.rows_valid,
            rows_invalid = entry.rows_invalid,
            "object processed"
        );
        Processed::Ended(Box::new(entry))
    }

    async fn record(&self, entry: &Entry) {
        let recorded = self.target.record(entry).instrument(debug_span!("record"));
        if let Err(error) = recorded.await {
            tracing::error!(object = %entry.object.key, %error, "could not write the ledger entry");
        }
    }

    /// Validates and loads one object, filling in `entry`.
    async fn load(
        &self,
        location: &Location,
        object: &ObjectVersion,
        table: &'static Table,
        options: &IngestOptions,
        entry: &mut Entry,
    ) -> Result<Recorded, PipelineError> {
        // Begun before the check, so a worker that loads this object after the check is seen
        // at commit time (the load then ends `skipped`, [`SinkError::LoadedMeanwhile`]).
        let load = self.target.begin(table, object);
        let load = load.instrument(debug_span!("begin")).await?;
        if self.loaded_before(table, object, options).await? {
            entry.status = Status::Skipped;
            load.abort().await;
            return Ok(Recorded::No);
        }
        let lease = options.claim_lease;
        let claimed = self.target.claim(object, &entry.run_id, lease);
        let ticket = match claimed.instrument(debug_span!("claim")).await {
            Ok(Claim::Taken(ticket)) => ticket,
            Ok(Claim::Held { run_id, until }) => {
                tracing::info!(object = %object.key, holder = run_id, %until, "another run holds it: later");
                load.abort().await;
                return Ok(Recorded::Held(until));
            }
            Err(error) => {
                load.abort().await;
                return Err(error.into());
            }
        };
        let renewing = Renewing::start(Arc::clone(&self.target), ticket, lease);
        crate::fault::pause(crate::fault::CLAIM_TAKEN).await;
        // The holder before this run may have ended its claim right after loading it.
        let loaded = match self.loaded_before(table, object, options).await {
            Ok(false) => {
                self.stage_and_commit(location, object, table, options, entry, load)
                    .await
            }
            Ok(true) => {
                entry.status = Status::Skipped;
                load.abort().await;
                Ok(Recorded::No)
            }
            Err(error) => {
                load.abort().await;
                Err(error)
            }
        };
        let ticket = renewing.stop().await;
        if let Err(error) = self.target.release(&ticket).await {
            tracing::warn!(object = %object.key, %error, "could not end the claim: it ends with its lease");
        }
        loaded
    }

    /// Whether the object was loaded before (unless the run loads it again on purpose); it
    /// then ends `skipped`.
    async fn loaded_before(
        &self,
        table: &'static Table,
        object: &ObjectVersion,
        options: &IngestOptions,
    ) -> Result<bool, PipelineError> {
        let loaded = self.target.is_loaded(table, object);
        if options.force || !loaded.instrument(debug_span!("is_loaded")).await? {
            return Ok(false);
        }
        tracing::info!(object = %object.key, "already loaded, skipping");
        Ok(true)
    }

    /// Stages the object's rows into `load` and commits them with `entry`.
    async fn stage_and_commit(
        &self,
        location: &Location,
        object: &ObjectVersion,
        table: &'static Table,
        options: &IngestOptions,
        entry: &mut Entry,
        mut load: Box<dyn Load>,
    ) -> Result<Recorded, PipelineError> {
        if let Err(error) = self
            .stage_rows(location, object, table, options, entry, load.as_mut())
            .await
        {
            // The rows staged so far must go too: the target stays as it was.
            load.abort().await;
            return Err(error);
        }
        entry.status = Status::Done;
        entry.finished_at = Utc::now();
        match load.commit(entry).instrument(debug_span!("commit")).await {
            Ok(()) => Ok(Recorded::Yes),
            // Another worker loaded it first: as if this run had found it loaded.
            Err(SinkError::LoadedMeanwhile { .. }) => {
                tracing::info!(object = %object.key, "loaded by another run meanwhile, skipping");
                entry.status = Status::Skipped;
                Ok(Recorded::No)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Validates one object's rows, writing the valid ones into `load` and the rejected ones
    /// to the invalid bucket, and fills in `entry`'s counts and invalid object.
    async fn stage_rows(
        &self,
        location: &Location,
        object: &ObjectVersion,
        table: &'static Table,
        options: &IngestOptions,
        entry: &mut Entry,
        load: &mut dyn Load,
    ) -> Result<(), PipelineError> {
        let references = reference_ids(self.target.as_ref(), table)
            .instrument(debug_span!("reference_ids"))
            .await?;
        let progress = progress_bar(object, options.progress);
        let input = progress.wrap_read(location.reader(&object.key).await?);
        let name = display_name(location, object);
        let mut rows = validate::split(&name, input, table, &options.dialect, &references)
            .instrument(debug_span!("plan_split"))
            .await?;
        let mut invalid = InvalidRows::new(&self.buckets.invalid, table, object, &entry.run_id);
        let copied = async {
            while let Some(batch) = rows.next().await {
                let batch = batch?;
                entry.rows_valid += batch.valid.num_rows() as u64;
                entry.rows_invalid += batch.invalid.num_rows() as u64;
                load.write(batch.valid).await?;
                invalid.write(&batch.invalid).await?;
            }
            Ok::<_, PipelineError>(rows.finish().await?)
        }
        .instrument(debug_span!("validate_and_write"))
        .await;
        progress.finish_and_clear();
        let summary = match copied {
            Ok(summary) => summary,
            Err(error) => {
                invalid.abort().await;
                return Err(error);
            }
        };
        entry.rows_read = summary.rows;
        entry.invalid_object = invalid.finish().await?;
        Ok(())
    }
}

/// Whether the entry is already in the ledger (a commit writes it with the rows).
enum Recorded {
    Yes,
    No,
    /// Neither: another run holds the object until then.
    Held(DateTime<Utc>),
}

/// How often a run looks again at an object another run holds, at most.
const HELD_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The table an object of `location` loads into, told from its key.
pub fn table_of(
    location: &Location,
    object: &ObjectVersion,
) -> Result<&'static Table, PipelineError> {
    table_for_key(&format!("{}{}", location.url.path(), object.key)).ok_or_else(|| {
        PipelineError::UnknownTable {
            object: display_name(location, object),
        }
    })
}

/// A local file as its path, anything else as its URL.
fn display_name(location: &Location, object: &ObjectVersion) -> String {
    let url = format!("{}{}", location.url, object.key);
    url::Url::parse(&url)
        .ok()
        .and_then(|url| url.to_file_path().ok())
        .map_or(url, |path| path.display().to_string())
}

fn progress_bar(object: &ObjectVersion, wanted: bool) -> ProgressBar {
    if !wanted || object.size < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(object.size).with_message(object.key.clone());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
