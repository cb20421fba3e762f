//! A group's objects staged at once ([`super::group`]): each read and validated as one
//! object's would be, side by side (on S3 an object takes a few requests in sequence), while
//! one writer takes their valid rows into the group's load, newest object first, leaving out
//! the rows whose key a later object holds: of two objects with one key the later wins, as
//! if they had been committed apart.
//!
//! Side by side only when every object fits in what a read from S3 buffers ahead
//! ([`crate::store::READ_AHEAD_BYTES`]): an object waiting for the writer then holds its
//! whole body, and no request stays open past its timeout. Otherwise one after another.

use chrono::Utc;
use datafusion::arrow::compute;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tracing::{Instrument, debug_span};

use super::group::{Member, NotGrouped};
use super::{IngestOptions, Job, Pipeline, PipelineError, display_name};
use crate::dictionary::{ColumnKind, Keys, Table, TableRef};
use crate::ledger::{Entry, Status};
use crate::sink::Load;
use crate::store::READ_AHEAD_BYTES;
use crate::validate::{ReferenceIds, ValidateError};

/// Objects of a group read and validated at once.
const STAGED_AT_ONCE: usize = 8;

/// Batches of valid rows an object may have validated ahead of the writer, on top of those
/// the split holds in flight: it goes on while the writer takes another object's rows.
const AHEAD: usize = 2;

/// A member's entry, and whether its rows were staged.
type Staged = (Entry, Result<(), PipelineError>);

/// Where an object's valid rows go as they are validated.
pub(super) enum ValidRows<'a> {
    /// Into the object's own load.
    Load(&'a mut dyn Load),
    /// To its group's writer, which takes each object's rows in turn.
    Group {
        sender: mpsc::Sender<RecordBatch>,
        object: String,
    },
}

impl ValidRows<'_> {
    pub(super) async fn write(&mut self, rows: RecordBatch) -> Result<(), PipelineError> {
        match self {
            ValidRows::Load(load) => Ok(load.write(rows).await?),
            ValidRows::Group { sender, object } => {
                (sender.send(rows).await).map_err(|_| PipelineError::GroupStopped {
                    object: object.clone(),
                })
            }
        }
    }
}

impl Pipeline {
    /// Validates every member's rows into `load`, each with its own entry and invalid file;
    /// leaves the entries in `entries`, in arrival order, whatever the outcome (their invalid
    /// files are to be removed when the group does not commit).
    pub(super) async fn stage_each(
        &self,
        members: &[Member],
        jobs: &[Job],
        table: &TableRef,
        options: &IngestOptions,
        load: &mut dyn Load,
        entries: &mut Vec<Entry>,
    ) -> Result<(), NotGrouped> {
        let references = self.reference_ids(table).await?;
        let (senders, receivers): (Vec<_>, Vec<_>) =
            members.iter().map(|_| mpsc::channel(AHEAD)).unzip();
        // Newest first: the writer takes that one's rows first. Boxed and collected, so the
        // stream holds no closure (whose borrows the compiler cannot prove `Send` here).
        let staging: Vec<BoxFuture<'_, Staged>> = (members.iter().zip(jobs).zip(senders).rev())
            .map(|((member, job), sender)| {
                let staged = self.stage_member(member, job, table, options, &references, sender);
                Box::pin(staged) as BoxFuture<_>
            })
            .collect();
        let staged = futures::stream::iter(staging).buffered(at_once(jobs));
        let written = write_newest_first(load, table, receivers, jobs);
        let written = written.instrument(debug_span!("write_group"));
        let (mut staged, written): (Vec<_>, _) = tokio::join!(staged.collect(), written);
        staged.reverse();
        let finished_at = Utc::now();
        let mut outcome = Ok(());
        for ((mut entry, staged), job) in staged.into_iter().zip(jobs) {
            entry.finished_at = finished_at;
            entries.push(entry);
            // Of the members that failed, the newest is named, as one after another it
            // would have failed first.
            if let Err(source) = staged {
                let key = job.object.key.clone();
                outcome = Err(NotGrouped::Staging { key, source });
            }
        }
        // A member whose rows the writer failed on is named before those that stopped since.
        written.map_err(|(at, source)| NotGrouped::Staging {
            key: jobs[at].object.key.clone(),
            source,
        })?;
        outcome
    }

    /// Validates one member's rows, sending the valid ones to the group's writer.
    async fn stage_member(
        &self,
        member: &Member,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
        references: &ReferenceIds,
        sender: mpsc::Sender<RecordBatch>,
    ) -> Staged {
        let mut entry = self.started_entry(&member.run_id, job);
        let span = tracing::info_span!("object", run_id = member.run_id, key = %job.object.key);
        let object = job.object.key.clone();
        let mut rows = ValidRows::Group { sender, object };
        let staged =
            self.stage_within_budget(job, table, options, &mut entry, references, &mut rows);
        let staged = staged.instrument(span).await;
        if staged.is_ok() {
            entry.status = Status::Done;
        }
        (entry, staged)
    }
}

/// How many of `jobs` are read and validated at once: all but one wait for the writer, which
/// only an object that fits in a read's buffer may do.
fn at_once(jobs: &[Job]) -> usize {
    let fits = |job: &Job| job.object.size <= u64::from(READ_AHEAD_BYTES);
    match jobs.iter().all(fits) {
        true => STAGED_AT_ONCE,
        false => 1,
    }
}

/// Takes each member's valid rows (`receivers`, in arrival order, one per job of `jobs`) into
/// `load`, newest first, leaving out those whose key a later member holds; an error comes
/// with the member whose rows it was writing. Returning drops the receivers left, so a member
/// still validating stops at its next batch.
async fn write_newest_first(
    load: &mut dyn Load,
    table: &Table,
    receivers: Vec<mpsc::Receiver<RecordBatch>>,
    jobs: &[Job],
) -> Result<(), (usize, PipelineError)> {
    let mut keys = GroupKeys::new(table);
    for (at, mut receiver) in receivers.into_iter().enumerate().rev() {
        while let Some(rows) = receiver.recv().await {
            let latest = keys.latest(rows).map_err(|source| {
                let file = display_name(&jobs[at].location, &jobs[at].object);
                (at, ValidateError::Split { file, source }.into())
            })?;
            load.write(latest)
                .await
                .map_err(|error| (at, error.into()))?;
        }
        keys.end_object();
    }
    Ok(())
}

/// The keys of a group's objects written so far (the later ones, as they are written newest
/// first), and of the one being written: its rows with a later object's key are left out.
struct GroupKeys {
    column: String,
    kind: ColumnKind,
    later: Keys,
    current: Keys,
}

impl GroupKeys {
    fn new(table: &Table) -> GroupKeys {
        let key = table.key_column();
        GroupKeys {
            column: key.name.clone(),
            kind: key.kind.clone(),
            later: Keys::of(&key.kind),
            current: Keys::of(&key.kind),
        }
    }

    /// The valid rows of the object being written whose key no later object holds.
    fn latest(&mut self, rows: RecordBatch) -> Result<RecordBatch, ArrowError> {
        let keys = rows.column_by_name(&self.column);
        let keys = keys.expect("valid rows hold their table's key column");
        self.current.insert_column(keys);
        if self.later.is_empty() {
            return Ok(rows);
        }
        let kept = compute::not(&self.later.contains_each(keys))?;
        compute::filter_record_batch(&rows, &kept)
    }

    /// Ends the object being written: its keys are a later object's for the next one.
    fn end_object(&mut self) {
        let current = std::mem::replace(&mut self.current, Keys::of(&self.kind));
        self.later = self.later.union(&current);
    }
}
