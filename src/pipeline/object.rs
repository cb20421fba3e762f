//! One object of a run: claimed, checked against the ledger, its rows validated and staged,
//! then committed with its ledger entry; or its failure recorded.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::{Instrument, debug_span};

use super::staging::ValidRows;
use super::{IngestOptions, Job, Pipeline, PipelineError, Processed, display_name};
use crate::dictionary::{Dictionary, TableRef};
use crate::ledger::{Entry, Status};
use crate::sink::claim::{Claim, Renewing};
use crate::sink::invalid::InvalidRows;
use crate::sink::{Load, SinkError, reference_ids};
use crate::store::{Location, ObjectVersion};
use crate::validate::{self, ReferenceIds};

/// Objects larger than this get a progress bar when one is wanted.
const PROGRESS_MIN_BYTES: u64 = 16 * 1024 * 1024;

impl Pipeline {
    /// Every log line of the object's processing carries its run id and key, so a log store
    /// (CloudWatch Logs Insights, Loki) can gather one run's lines.
    pub(super) async fn process(
        &self,
        run_id: &str,
        job: &Job,
        options: &IngestOptions,
    ) -> Processed {
        let span = tracing::info_span!("object", run_id, key = %job.object.key);
        self.process_in_span(run_id, job, options)
            .instrument(span)
            .await
    }

    async fn process_in_span(&self, run_id: &str, job: &Job, options: &IngestOptions) -> Processed {
        let mut entry = self.started_entry(run_id, job);
        let outcome = match job.table() {
            Ok(table) => {
                self.load(job, table, options, &mut entry)
                    .instrument(debug_span!("process", key = %job.object.key))
                    .await
            }
            Err(error) => Err(error),
        };
        entry.finished_at = Utc::now();
        match outcome {
            Ok(Recorded::ClaimedElsewhere(until)) => return Processed::ClaimedElsewhere(until),
            Ok(Recorded::InCommit) => {}
            Ok(Recorded::NotYet) => self.record(&entry).await,
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

    /// The entry of `job`'s processing by run `run_id`, starting now: `failed` until it ends
    /// otherwise.
    pub(super) fn started_entry(&self, run_id: &str, job: &Job) -> Entry {
        let started_at = Utc::now();
        Entry {
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
            contract: Some(self.target.dictionary().stamp()),
        }
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
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
        entry: &mut Entry,
    ) -> Result<Recorded, PipelineError> {
        let object = &job.object;
        // Begun before the check, so a worker that loads this object after the check is seen
        // at commit time (the load then ends `skipped`, [`SinkError::LoadedMeanwhile`]).
        let load = self.target.begin(table, object);
        let load = load.instrument(debug_span!("begin")).await?;
        if self.loaded_before(table, object, options).await? {
            entry.status = Status::Skipped;
            load.abort().await;
            return Ok(Recorded::NotYet);
        }
        let lease = options.claim_lease;
        let claimed = self.target.claim(object, &entry.run_id, lease);
        let ticket = match claimed.instrument(debug_span!("claim")).await {
            Ok(Claim::Taken(ticket)) => ticket,
            Ok(Claim::Held { run_id, until }) => {
                tracing::info!(object = %object.key, holder = run_id, %until, "another run holds it: later");
                load.abort().await;
                return Ok(Recorded::ClaimedElsewhere(until));
            }
            Err(error) => {
                load.abort().await;
                return Err(error.into());
            }
        };
        let renewing = Renewing::start(Arc::clone(&self.target), ticket, lease);
        crate::fault::pause(crate::fault::CLAIM_TAKEN).await;
        // The holder before this run may have ended its claim right after loading it.
        let loaded = match self.skip_reason(job, table, options).await {
            Ok(None) => {
                self.stage_and_commit(job, table, options, entry, load)
                    .await
            }
            Ok(Some(skip)) => {
                entry.status = Status::Skipped;
                entry.error = skip.superseded_by();
                load.abort().await;
                Ok(Recorded::NotYet)
            }
            Err(error) => {
                load.abort().await;
                Err(error)
            }
        };
        self.end_claim(renewing, object).await;
        loaded
    }

    /// Stops renewing the claim on `object` and ends it.
    pub(super) async fn end_claim(&self, renewing: Renewing, object: &ObjectVersion) {
        let ticket = renewing.stop().await;
        if let Err(error) = self.target.release(&ticket).await {
            tracing::warn!(object = %object.key, %error, "could not end the claim: it ends with its lease");
        }
    }

    /// Whether the object was loaded before (unless the run loads it again on purpose); it
    /// then ends `skipped`.
    pub(super) async fn loaded_before(
        &self,
        table: &TableRef,
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

    /// Why the claimed object is not to be loaded, if it is not: loaded before, or an older
    /// version of its key than one loaded (S3 versions arrive in any order).
    pub(super) async fn skip_reason(
        &self,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
    ) -> Result<Option<Skip>, PipelineError> {
        if self.loaded_before(table, &job.object, options).await? {
            return Ok(Some(Skip::Loaded));
        }
        if options.force {
            return Ok(None);
        }
        // Boxed: the SDK's request future nests deep enough to overflow the compiler's
        // depth limit for the layout of every future that awaits it.
        let newer = Box::pin(job.location.newer_versions(&job.object));
        let newer = match newer.instrument(debug_span!("newer_versions")).await {
            Ok(newer) => newer,
            // A guard against events out of order, not a reason to stop loading.
            Err(error) => {
                tracing::warn!(object = %job.object.key, %error, "cannot tell whether a newer version of this key is loaded: loading this one");
                Vec::new()
            }
        };
        for version in newer {
            // Loaded under its version id (an event, an upload), or as a listing names it.
            for form in [Some(version.clone()), version.as_listed()]
                .into_iter()
                .flatten()
            {
                if self.target.is_loaded(table, &form).await? {
                    tracing::info!(object = %job.object.key, newer = version.version, "superseded, skipping");
                    return Ok(Some(Skip::Superseded(version)));
                }
            }
        }
        Ok(None)
    }

    /// The ids `table`'s foreign keys may point at, as the target holds them now: read once
    /// for an object, or for a whole group.
    pub(super) async fn reference_ids(&self, table: &TableRef) -> Result<ReferenceIds, SinkError> {
        let references = reference_ids(self.target.as_ref(), table);
        references.instrument(debug_span!("reference_ids")).await
    }

    /// Stages the object's rows into `load` and commits them with `entry`.
    async fn stage_and_commit(
        &self,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
        entry: &mut Entry,
        mut load: Box<dyn Load>,
    ) -> Result<Recorded, PipelineError> {
        let staged = async {
            let references = self.reference_ids(table).await?;
            let mut rows = ValidRows::Load(load.as_mut());
            (self.stage_within_budget(job, table, options, entry, &references, &mut rows)).await
        };
        if let Err(error) = staged.await {
            // The rows staged so far must go too: the target stays as it was.
            load.abort().await;
            return Err(error);
        }
        entry.status = Status::Done;
        entry.finished_at = Utc::now();
        match load
            .commit(std::slice::from_ref(entry))
            .instrument(debug_span!("commit"))
            .await
        {
            Ok(()) => Ok(Recorded::InCommit),
            // Another worker loaded it first: as if this run had found it loaded.
            Err(SinkError::LoadedMeanwhile { .. }) => {
                tracing::info!(object = %job.object.key, "loaded by another run meanwhile, skipping");
                entry.status = Status::Skipped;
                Ok(Recorded::NotYet)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Stages the object's rows ([`Pipeline::stage_rows`]), then fails when its rejected rows
    /// are over the table's budget.
    pub(super) async fn stage_within_budget(
        &self,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
        entry: &mut Entry,
        references: &ReferenceIds,
        valid: &mut ValidRows<'_>,
    ) -> Result<(), PipelineError> {
        (self.stage_rows(job, table, options, entry, references, valid)).await?;
        match table.budget.exceeded(entry.rows_read, entry.rows_invalid) {
            None => Ok(()),
            Some(reason) => Err(PipelineError::OverBudget {
                object: display_name(&job.location, &job.object),
                reason,
            }),
        }
    }

    /// Validates one object's rows against the ids they may point at (`references`), writing
    /// the valid ones to `valid` and the rejected ones to the invalid bucket, and fills in
    /// `entry`'s counts and invalid object.
    async fn stage_rows(
        &self,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
        entry: &mut Entry,
        references: &ReferenceIds,
        valid: &mut ValidRows<'_>,
    ) -> Result<(), PipelineError> {
        let (location, object) = (&job.location, &job.object);
        let progress = progress_bar(object, options.progress);
        let input = progress.wrap_read(location.reader_of(object).await?);
        let name = display_name(location, object);
        let mut rows = validate::split(
            &name,
            input,
            table,
            &options.dialect.for_table(table),
            references,
        )
        .instrument(debug_span!("plan_split"))
        .await?;
        let mut invalid = InvalidRows::new(&self.buckets.invalid, table, object, &entry.run_id);
        let copied = async {
            while let Some(batch) = rows.next().await {
                let batch = batch?;
                entry.rows_valid += batch.valid.num_rows() as u64;
                entry.rows_invalid += batch.invalid.num_rows() as u64;
                valid.write(batch.valid).await?;
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

/// Why an object ends `skipped`.
pub(super) enum Skip {
    /// This version was loaded before.
    Loaded,
    /// A newer version of its key is loaded.
    Superseded(ObjectVersion),
}

impl Skip {
    /// The reason an entry records for a superseded version (none for one loaded before).
    fn superseded_by(&self) -> Option<String> {
        match self {
            Skip::Loaded => None,
            Skip::Superseded(newer) => Some(format!(
                "superseded: a newer version of this key ({}) is already loaded",
                newer.version_id().unwrap_or(&newer.version)
            )),
        }
    }
}

/// Whether the entry is already in the ledger.
enum Recorded {
    /// The commit wrote it with the rows.
    InCommit,
    /// It is still to be written (skipped, or failed).
    NotYet,
    /// Neither: another run holds the object's claim until then.
    ClaimedElsewhere(DateTime<Utc>),
}

/// The table of `dictionary` an object of `location` loads into, as its key names it (the
/// location's path counts, so a folder named after a table names it).
pub fn table_of<'a>(
    dictionary: &'a Dictionary,
    location: &Location,
    object: &ObjectVersion,
) -> Option<&'a TableRef> {
    dictionary.table_for_key(&format!("{}{}", location.url.path(), object.key))
}

/// The error of an object whose key names no table.
pub(super) fn unknown_table(location: &Location, object: &ObjectVersion) -> PipelineError {
    PipelineError::UnknownTable {
        object: display_name(location, object),
    }
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
