//! The MySQL target's claims ([`crate::sink::claim`]): one row of `csvgate_claims` per
//! claimed object version. Taking one is a single upsert, which InnoDB's row lock makes atomic
//! between workers: it takes the row when it is absent, when its lease has run out (the
//! generation goes up) or when it is this run's own; otherwise it leaves it as it is. Reading
//! the row back on the same connection tells which happened.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use super::ledger::utc;
use crate::sink::SinkError;
use crate::sink::claim::{Claim, Claims, Ticket, claim_key};
use crate::store::ObjectVersion;

/// Assignments run left to right and see the columns they changed, so `expires_at` comes last
/// (the others test its old value) and tests `run_id` as just assigned (this run's once taken).
const TAKE: &str = "INSERT INTO csvgate_claims (claim_key, run_id, generation, expires_at) \
     VALUES (?, ?, 0, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND) \
     ON DUPLICATE KEY UPDATE \
     generation = IF(expires_at < UTC_TIMESTAMP(6) OR run_id = VALUES(run_id), generation + 1, generation), \
     run_id = IF(expires_at < UTC_TIMESTAMP(6), VALUES(run_id), run_id), \
     expires_at = IF(run_id = VALUES(run_id), VALUES(expires_at), expires_at)";

const HOLDER: &str =
    "SELECT run_id, generation, CAST(expires_at AS CHAR) FROM csvgate_claims WHERE claim_key = ?";

const RENEW: &str = "UPDATE csvgate_claims SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND \
     WHERE claim_key = ? AND run_id = ? AND generation = ?";

const END: &str =
    "DELETE FROM csvgate_claims WHERE claim_key = ? AND run_id = ? AND generation = ?";

#[async_trait]
impl Claims for MysqlTarget {
    async fn claim(
        &self,
        object: &ObjectVersion,
        run_id: &str,
        lease: Duration,
    ) -> Result<Claim, SinkError> {
        let key = claim_key(object);
        let mut conn = self.conn().await?;
        let micros = lease.as_micros() as u64;
        loop {
            (conn.exec_drop(TAKE, (&key, run_id, micros)).await).map_err(self.error())?;
            let holder: Option<(String, u64, String)> =
                (conn.exec_first(HOLDER, (&key,)).await).map_err(self.error())?;
            // Gone: its holder ended the claim between the two statements; take it again.
            let Some((holder, generation, until)) = holder else {
                continue;
            };
            if holder == run_id {
                let run_id = holder;
                return Ok(Claim::Taken(Ticket {
                    key,
                    run_id,
                    generation,
                }));
            }
            let until = utc(&until).unwrap_or_else(Utc::now);
            return Ok(Claim::Held {
                run_id: holder,
                until,
            });
        }
    }

    async fn renew(&self, ticket: &mut Ticket, lease: Duration) -> Result<bool, SinkError> {
        let mut conn = self.conn().await?;
        let micros = lease.as_micros() as u64;
        let params = (micros, &ticket.key, &ticket.run_id, ticket.generation);
        conn.exec_drop(RENEW, params).await.map_err(self.error())?;
        Ok(conn.affected_rows() == 1)
    }

    async fn release(&self, ticket: &Ticket) -> Result<(), SinkError> {
        let mut conn = self.conn().await?;
        let params = (&ticket.key, &ticket.run_id, ticket.generation);
        conn.exec_drop(END, params).await.map_err(self.error())
    }
}
