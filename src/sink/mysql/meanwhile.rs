//! The last check of a load before its `COMMIT`, which keeps it exactly-once among workers:
//! the load goes on only if no other run holds the object's claim (one whose lease ran out
//! mid-load and was taken over) and no `done` entry for the object was committed since the
//! load began. The claim is read with a lock, in the load's transaction: a worker taking the
//! claim over waits for this commit. The ledger is read outside it, as committed now (a
//! locking read there would lock gaps of its index that other loads insert into, and
//! deadlock them).

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use super::ddl::{CLAIMS_TABLE, RUNS_TABLE};
use crate::ledger::Entry;
use crate::sink::SinkError;
use crate::sink::claim::claim_key;
use crate::store::ObjectVersion;

/// What a load of one object version checks at its commit.
pub(super) struct Meanwhile {
    claim_key: String,
    fingerprint: String,
    /// `done` entries of the object when the load began (more than 0 when forced).
    done_before: u64,
}

impl Meanwhile {
    pub(super) async fn begin(
        target: &MysqlTarget,
        object: &ObjectVersion,
    ) -> Result<Meanwhile, SinkError> {
        let fingerprint = object.fingerprint();
        let done_before = done(target, &fingerprint).await?;
        Ok(Meanwhile {
            claim_key: claim_key(object),
            fingerprint,
            done_before,
        })
    }

    /// The object's fingerprint, as its ledger entry gives it.
    pub(super) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether another run claimed or loaded the object since the load began; `conn` is the
    /// load's, in its transaction, which holds the claim's lock until the commit.
    pub(super) async fn loaded_elsewhere(
        &self,
        target: &MysqlTarget,
        conn: &mut Conn,
        entry: &Entry,
    ) -> Result<bool, SinkError> {
        let sql = format!("SELECT run_id FROM {CLAIMS_TABLE} WHERE claim_key = ? FOR UPDATE");
        let holder: Option<String> =
            (conn.exec_first(sql, (&self.claim_key,)).await).map_err(target.error())?;
        if holder.is_some_and(|holder| holder != entry.run_id) {
            return Ok(true);
        }
        Ok(done(target, &self.fingerprint).await? > self.done_before)
    }
}

/// The object's `done` entries, as committed now.
async fn done(target: &MysqlTarget, fingerprint: &str) -> Result<u64, SinkError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {RUNS_TABLE} WHERE fingerprint = SHA2(?, 256) AND status = 'done'"
    );
    let mut conn = target.conn().await?;
    let count: Option<u64> = conn
        .exec_first(sql, (fingerprint,))
        .await
        .map_err(target.error())?;
    Ok(count.unwrap_or_default())
}
