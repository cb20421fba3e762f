//! The warehouse's claims ([`crate::sink::claim`]): one small JSON object per claim,
//! `_csvgate_claims/<claim key>/<generation>.json` holding the run and the lease's end.
//!
//! Every claim, take-over and renewal *creates* the next generation's object, only if it is
//! absent (the conditional write Delta's own commits rely on), so of two workers reaching for
//! one generation exactly one gets it, as with two commits of one table version. The highest
//! generation is the claim in force; ending a claim removes its generations.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::object_store::path::Path;
use datafusion::object_store::{Error as ObjectError, ObjectStoreExt, PutMode, PutOptions};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::DeltaTarget;
use crate::sink::SinkError;
use crate::sink::claim::{Claim, Claims, Ticket, claim_key};
use crate::store::{Location, ObjectVersion};

/// Folder of the claims inside the warehouse.
const CLAIMS: &str = "_csvgate_claims";

/// What one generation of a claim holds.
#[derive(Debug, Serialize, Deserialize)]
struct Held {
    run_id: String,
    until: DateTime<Utc>,
}

#[async_trait]
impl Claims for DeltaTarget {
    async fn claim(
        &self,
        object: &ObjectVersion,
        run_id: &str,
        lease: Duration,
    ) -> Result<Claim, SinkError> {
        let claims = self.claims()?;
        let key = claim_key(object);
        loop {
            let next = match latest(&claims, &key).await? {
                None => 0,
                Some((_, Some(held))) if held.run_id != run_id && held.until > Utc::now() => {
                    let (run_id, until) = (held.run_id, held.until);
                    return Ok(Claim::Held { run_id, until });
                }
                // Free: its lease ran out, it was ended meanwhile, or it is this run's own.
                Some((generation, _)) => generation + 1,
            };
            let ticket = Ticket {
                key: key.clone(),
                run_id: run_id.to_owned(),
                generation: next,
            };
            if create(&claims, &ticket, lease).await? {
                return Ok(Claim::Taken(ticket));
            }
            // Another worker created that generation first: look again.
        }
    }

    async fn renew(&self, ticket: &mut Ticket, lease: Duration) -> Result<bool, SinkError> {
        let renewed = Ticket {
            generation: ticket.generation + 1,
            ..ticket.clone()
        };
        if !create(&self.claims()?, &renewed, lease).await? {
            return Ok(false);
        }
        *ticket = renewed;
        Ok(true)
    }

    /// Removes the ticket's generations, oldest first; a later one (another run's take-over)
    /// stays.
    async fn release(&self, ticket: &Ticket) -> Result<(), SinkError> {
        let claims = self.claims()?;
        for generation in generations(&claims, &ticket.key).await? {
            if generation <= ticket.generation {
                let path = generation_path(&ticket.key, generation);
                match claims.store.delete(&path).await {
                    Ok(()) | Err(ObjectError::NotFound { .. }) => {}
                    Err(source) => return Err(claims.object_error(path.as_ref(), source).into()),
                }
            }
        }
        Ok(())
    }
}

impl DeltaTarget {
    fn claims(&self) -> Result<Location, SinkError> {
        Ok(self.warehouse.child(CLAIMS)?)
    }
}

fn generation_path(key: &str, generation: u64) -> Path {
    Path::from(format!("{key}/{generation:020}.json"))
}

/// The generations of claim `key` that exist, ascending.
async fn generations(claims: &Location, key: &str) -> Result<Vec<u64>, SinkError> {
    let prefix = Path::from(key);
    let listed: Vec<_> = (claims.store.list(Some(&prefix)).try_collect().await)
        .map_err(|source| claims.object_error(key, source))?;
    let mut generations: Vec<u64> = (listed.iter())
        .filter_map(|meta| {
            meta.location
                .filename()?
                .strip_suffix(".json")?
                .parse()
                .ok()
        })
        .collect();
    generations.sort_unstable();
    Ok(generations)
}

/// The claim in force on `key`: its generation and what it holds (`None` when it was ended
/// between the listing and the read).
async fn latest(claims: &Location, key: &str) -> Result<Option<(u64, Option<Held>)>, SinkError> {
    let Some(&generation) = generations(claims, key).await?.last() else {
        return Ok(None);
    };
    let path = generation_path(key, generation);
    let bytes = match claims.store.get(&path).await {
        Ok(found) => found.bytes().await,
        Err(error) => Err(error),
    };
    let held = match bytes {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes).map_err(|error| SinkError::Config {
                target: format!("{}{path}", claims.url),
                reason: format!("not a claim: {error}"),
            })?,
        ),
        Err(ObjectError::NotFound { .. }) => None,
        Err(source) => return Err(claims.object_error(path.as_ref(), source).into()),
    };
    Ok(Some((generation, held)))
}

/// Creates the ticket's generation, held until `lease` from now; `false` when it exists.
async fn create(claims: &Location, ticket: &Ticket, lease: Duration) -> Result<bool, SinkError> {
    let held = Held {
        run_id: ticket.run_id.clone(),
        until: Utc::now() + lease,
    };
    let path = generation_path(&ticket.key, ticket.generation);
    let body = serde_json::to_vec(&held).expect("a claim serialises");
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match claims.store.put_opts(&path, body.into(), create).await {
        Ok(_) => Ok(true),
        Err(ObjectError::AlreadyExists { .. } | ObjectError::Precondition { .. }) => Ok(false),
        Err(source) => Err(claims.object_error(path.as_ref(), source).into()),
    }
}
