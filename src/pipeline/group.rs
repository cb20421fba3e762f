//! Group commit: objects of one table that waited together in the queue, committed together
//! (one Delta commit, one MySQL transaction), each still with its own run, ledger entry,
//! marker and invalid file. A table on S3 takes about 15 conditional commits a second; a
//! group pays for one.
//!
//! Its objects are staged at once ([`super::staging`]); of two objects with one key the
//! later wins, as if they had been committed apart.
//!
//! A group commits only on the plain path: no two objects are versions of one key (their
//! order is the store's to tell), the table's rows point at none of its own, every object is
//! to be loaded (none loaded before, superseded, or held by another run), every object's rows
//! are validated within budget, and the target accepts the commit. Anything else aborts the
//! group with nothing of it committed. When one object was the cause (loaded before,
//! superseded, held, or its rows not staged), it is processed alone by the one-object path,
//! and the objects before it and those after it are grouped again (once), so arrival order
//! holds; otherwise each object is processed alone, in arrival order. An object that fails
//! fails alone.

use std::sync::Arc;

use tracing::Instrument;

use super::{IngestOptions, Job, Pipeline, PipelineError};
use crate::dictionary::TableRef;
use crate::ledger::Entry;
use crate::sink::claim::{Claim, Renewing};
use crate::sink::{Load, SinkError};
use crate::store::{Location, ObjectVersion};

/// Uploads committed together at most, unless configured (`api.group_max`): bounds a commit's
/// ledger entries.
pub const DEFAULT_GROUP_MAX: usize = 64;

/// One object of a group, with the run it is processed under.
#[derive(Debug, Clone)]
pub struct Member {
    pub run_id: String,
    pub location: Location,
    pub object: ObjectVersion,
}

/// Why a group was not committed as one; its objects are then processed one at a time.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotGrouped {
    #[error("its objects load into different tables (or one into none)")]
    Tables,
    #[error("two of its objects are versions of {0}, whose order only the store knows")]
    SameKey(String),
    #[error("its table's rows point at rows of the same table, which its objects add one by one")]
    ReferencesItself,
    #[error("{0} was loaded before")]
    Loaded(String),
    #[error("another run holds {0}")]
    Held(String),
    #[error("{0} is older than a version of its key already loaded")]
    Superseded(String),
    #[error(transparent)]
    Failed(#[from] PipelineError),
    /// One member's rows could not be staged (unreadable, or over its rejected-row budget).
    #[error("{key}: {source}")]
    Staging { key: String, source: PipelineError },
}

impl NotGrouped {
    /// The key of the member whose own state kept the group from committing: without it, the
    /// others may still commit as one.
    fn culprit(&self) -> Option<&str> {
        match self {
            NotGrouped::Loaded(key) | NotGrouped::Held(key) | NotGrouped::Superseded(key) => {
                Some(key)
            }
            NotGrouped::Staging { key, .. } => Some(key),
            _ => None,
        }
    }
}

impl From<SinkError> for NotGrouped {
    fn from(error: SinkError) -> NotGrouped {
        NotGrouped::Failed(error.into())
    }
}

impl Pipeline {
    /// Processes `members` (objects of one table, in arrival order) in one commit when it can,
    /// else one at a time; returns one ledger entry per member, in order.
    pub async fn ingest_group(&self, members: &[Member], options: &IngestOptions) -> Vec<Entry> {
        self.group_or_alone(members, options, true).await
    }

    /// [`Pipeline::ingest_group`]; a group that fails because of one object is grouped again
    /// without it when `regroup`, else each object runs alone.
    async fn group_or_alone(
        &self,
        members: &[Member],
        options: &IngestOptions,
        regroup: bool,
    ) -> Vec<Entry> {
        if members.len() > 1 {
            let span = tracing::info_span!("group", objects = members.len());
            let why = match self.commit_group(members, options).instrument(span).await {
                Ok(entries) => return entries,
                Err(why) => why,
            };
            let culprit = (why.culprit())
                .and_then(|key| members.iter().position(|member| member.object.key == key));
            if let (true, Some(at)) = (regroup, culprit) {
                tracing::info!(objects = members.len(), %why, "group not committed as one: that object alone, the others regrouped");
                return self.regrouped(members, at, options).await;
            }
            tracing::info!(objects = members.len(), %why, "group not committed as one: each object alone");
        }
        self.each_alone(members, options).await
    }

    /// The members before `at` as a group, the one at `at` alone, then those after it as a
    /// group: in arrival order still, which two objects with one key must load in. Only once:
    /// a batch with many culprits (a replayed batch of events, all loaded before) would
    /// otherwise claim and check its objects again for each.
    async fn regrouped(
        &self,
        members: &[Member],
        at: usize,
        options: &IngestOptions,
    ) -> Vec<Entry> {
        let before = Box::pin(self.group_or_alone(&members[..at], options, false));
        let mut entries = before.await;
        entries.extend(self.each_alone(&members[at..=at], options).await);
        let after = Box::pin(self.group_or_alone(&members[at + 1..], options, false));
        entries.extend(after.await);
        entries
    }

    /// Processes each member by the one-object path, in order.
    async fn each_alone(&self, members: &[Member], options: &IngestOptions) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(members.len());
        for member in members {
            let (location, object) = (&member.location, member.object.clone());
            let ended = self.ingest_object(&member.run_id, location, object, options);
            entries.push(ended.await);
        }
        entries
    }

    async fn commit_group(
        &self,
        members: &[Member],
        options: &IngestOptions,
    ) -> Result<Vec<Entry>, NotGrouped> {
        let dictionary = self.target.dictionary();
        let jobs: Vec<Job> = (members.iter())
            .map(|member| Job::new(dictionary, &member.location, member.object.clone(), options))
            .collect();
        let table = one_table(&jobs).ok_or(NotGrouped::Tables)?;
        if table.references().any(|(_, name)| name == table.name) {
            return Err(NotGrouped::ReferencesItself);
        }
        if let Some(key) = repeated_key(members) {
            return Err(NotGrouped::SameKey(key));
        }
        // Begun before the checks, as one object's load is ([`Pipeline::load`]).
        let mut load = self.target.begin(&table, &jobs[0].object).await?;
        let mut claims = Vec::with_capacity(jobs.len());
        let mut entries = Vec::with_capacity(jobs.len());
        let staged = async {
            for job in &jobs[1..] {
                load.add_object(&job.object).await?;
            }
            self.claim_each(members, &jobs, &table, options, &mut claims)
                .await?;
            (self.stage_each(members, &jobs, &table, options, load.as_mut(), &mut entries)).await
        };
        let committed = match staged.await {
            Ok(()) => commit(load, &entries).await,
            Err(why) => {
                load.abort().await;
                Err(why)
            }
        };
        if committed.is_err() {
            // Each object runs again alone, and may not get as far as writing its own.
            self.discard_invalid_files(&entries).await;
        }
        let ended = (claims.into_iter())
            .map(|(renewing, object)| async move { self.end_claim(renewing, &object).await });
        futures::future::join_all(ended).await;
        committed.map(|()| entries)
    }

    /// Removes the invalid files `entries` name: a group's, which did not commit.
    async fn discard_invalid_files(&self, entries: &[Entry]) {
        let invalid = &self.buckets.invalid;
        for url in entries
            .iter()
            .filter_map(|entry| entry.invalid_object.as_deref())
        {
            let removed = match invalid.key_of(url) {
                Ok(key) => invalid.delete(&key).await,
                Err(error) => Err(error),
            };
            if let Err(error) = removed {
                tracing::warn!(%url, %error, "could not remove the invalid file of a group that did not commit");
            }
        }
    }

    /// Claims every member for its run, each checked as one object's load checks it; all at
    /// once, as each claim is a conditional write (tens of milliseconds on S3). Every claim
    /// taken is in `claims`, to be ended, whatever the outcome.
    async fn claim_each(
        &self,
        members: &[Member],
        jobs: &[Job],
        table: &TableRef,
        options: &IngestOptions,
        claims: &mut Vec<(Renewing, ObjectVersion)>,
    ) -> Result<(), NotGrouped> {
        let each = (members.iter().zip(jobs))
            .map(|(member, job)| self.claim_one(&member.run_id, job, table, options));
        let mut outcome = Ok(());
        for (claim, loadable) in futures::future::join_all(each).await {
            claims.extend(claim);
            outcome = outcome.and(loadable);
        }
        if outcome.is_ok() {
            crate::fault::pause(crate::fault::CLAIM_TAKEN).await;
        }
        outcome
    }

    /// Checks `job` and claims it for run `run_id`, as one object's load does; returns the
    /// claim when taken, and whether the object is to be loaded.
    async fn claim_one(
        &self,
        run_id: &str,
        job: &Job,
        table: &TableRef,
        options: &IngestOptions,
    ) -> (Option<(Renewing, ObjectVersion)>, Result<(), NotGrouped>) {
        let key = || job.object.key.clone();
        match self.loaded_before(table, &job.object, options).await {
            Ok(false) => {}
            Ok(true) => return (None, Err(NotGrouped::Loaded(key()))),
            Err(error) => return (None, Err(error.into())),
        }
        let lease = options.claim_lease;
        let ticket = match self.target.claim(&job.object, run_id, lease).await {
            Ok(Claim::Taken(ticket)) => ticket,
            Ok(Claim::Held { .. }) => return (None, Err(NotGrouped::Held(key()))),
            Err(error) => return (None, Err(error.into())),
        };
        let renewing = Renewing::start(Arc::clone(&self.target), ticket, lease);
        // The holder before this run may have ended its claim right after loading it.
        let loadable = match self.skip_reason(job, table, options).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(NotGrouped::Superseded(key())),
            Err(error) => Err(error.into()),
        };
        (Some((renewing, job.object.clone())), loadable)
    }
}

/// Commits the group's rows with its entries.
async fn commit(load: Box<dyn Load>, entries: &[Entry]) -> Result<(), NotGrouped> {
    let committed = load.commit(entries);
    committed.instrument(tracing::debug_span!("commit")).await?;
    for entry in entries {
        tracing::info!(
            run_id = entry.run_id,
            key = entry.object.key,
            status = entry.status.as_str(),
            rows_valid = entry.rows_valid,
            rows_invalid = entry.rows_invalid,
            objects = entries.len(),
            "object processed, committed with its group"
        );
    }
    Ok(())
}

/// A key two members name (two versions of one object).
fn repeated_key(members: &[Member]) -> Option<String> {
    let mut keys = std::collections::HashSet::new();
    let repeated = members
        .iter()
        .find(|member| !keys.insert(&member.object.key));
    repeated.map(|member| member.object.key.clone())
}

/// The table every job loads into, when they agree.
fn one_table(jobs: &[Job]) -> Option<TableRef> {
    let first = jobs.first()?.table.clone()?;
    let same = |job: &Job| {
        job.table
            .as_ref()
            .is_some_and(|table| table.name == first.name)
    };
    jobs.iter().all(same).then_some(first)
}
