//! A primary target (MySQL) with a Delta Lake warehouse mirrored from the same validated
//! batches (`mirror_parquet = true`).
//!
//! The two cannot commit atomically together, so the order makes a crash harmless: the mirror
//! commits first (its own application transaction makes a repeat a no-op), the primary
//! second. An object counts as loaded only when both hold it, so a run that died between the
//! two commits is redone and ends with both loaded once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;

use crate::dictionary::{Dictionary, Keys, Table, TableRef};
use crate::ledger::{Entry, Selection};
use crate::sink::claim::{Claim, Claims, Ticket};
use crate::sink::{Health, Ledger, Load, Rows, SinkError, Target};
use crate::store::ObjectVersion;

/// `primary`, with every load also committed to `mirror`.
pub struct Mirrored {
    pub primary: Arc<dyn Target>,
    pub mirror: Arc<dyn Target>,
}

#[async_trait]
impl Rows for Mirrored {
    fn dictionary(&self) -> &Arc<Dictionary> {
        self.primary.dictionary()
    }

    async fn ids(&self, table: &Table) -> Result<Keys, SinkError> {
        self.primary.ids(table).await
    }

    async fn begin(
        &self,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError> {
        let primary = self.primary.begin(table, object).await?;
        paired(primary, self.mirror.begin(table, object).await).await
    }

    async fn begin_replace(
        &self,
        table: &TableRef,
        force: bool,
    ) -> Result<Box<dyn Load>, SinkError> {
        let primary = self.primary.begin_replace(table, force).await?;
        let mirror = self.mirror.begin_replace(table, force).await;
        paired(primary, mirror).await
    }

    async fn references(&self, table: &Table, column: &str) -> Result<Keys, SinkError> {
        self.primary.references(table, column).await
    }
}

#[async_trait]
impl Ledger for Mirrored {
    async fn is_loaded(&self, table: &Table, object: &ObjectVersion) -> Result<bool, SinkError> {
        Ok(self.primary.is_loaded(table, object).await?
            && self.mirror.is_loaded(table, object).await?)
    }

    async fn record(&self, entry: &Entry) -> Result<(), SinkError> {
        self.primary.record(entry).await
    }

    async fn select_runs(&self, selection: &Selection) -> Result<Vec<Entry>, SinkError> {
        self.primary.select_runs(selection).await
    }

    async fn flush(&self) {
        tokio::join!(self.primary.flush(), self.mirror.flush());
    }
}

#[async_trait]
impl Claims for Mirrored {
    async fn claim(
        &self,
        object: &ObjectVersion,
        run_id: &str,
        lease: Duration,
    ) -> Result<Claim, SinkError> {
        self.primary.claim(object, run_id, lease).await
    }

    async fn renew(&self, ticket: &mut Ticket, lease: Duration) -> Result<bool, SinkError> {
        self.primary.renew(ticket, lease).await
    }

    async fn release(&self, ticket: &Ticket) -> Result<(), SinkError> {
        self.primary.release(ticket).await
    }
}

#[async_trait]
impl Health for Mirrored {
    fn describe(&self) -> String {
        format!(
            "{} (mirrored to {})",
            self.primary.describe(),
            self.mirror.describe()
        )
    }

    async fn reachable(&self) -> Result<(), SinkError> {
        self.primary.reachable().await?;
        self.mirror.reachable().await
    }
}

/// The two loads as one; the primary's is dropped when the mirror's could not start.
async fn paired(
    primary: Box<dyn Load>,
    mirror: Result<Box<dyn Load>, SinkError>,
) -> Result<Box<dyn Load>, SinkError> {
    match mirror {
        Ok(mirror) => Ok(Box::new(MirroredLoad { primary, mirror })),
        Err(error) => {
            primary.abort().await;
            Err(error)
        }
    }
}

struct MirroredLoad {
    primary: Box<dyn Load>,
    mirror: Box<dyn Load>,
}

#[async_trait]
impl Load for MirroredLoad {
    async fn write(&mut self, rows: RecordBatch) -> Result<(), SinkError> {
        self.mirror.write(rows.clone()).await?;
        self.primary.write(rows).await
    }

    async fn add_object(&mut self, object: &ObjectVersion) -> Result<(), SinkError> {
        self.mirror.add_object(object).await?;
        self.primary.add_object(object).await
    }

    async fn commit(self: Box<Self>, entries: &[Entry]) -> Result<(), SinkError> {
        if let Err(error) = self.mirror.commit(entries).await {
            self.primary.abort().await;
            return Err(error);
        }
        self.primary.commit(entries).await
    }

    async fn abort(self: Box<Self>) {
        self.mirror.abort().await;
        self.primary.abort().await;
    }
}
