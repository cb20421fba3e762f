//! Whether a report reads rollups or scans the rows, and the text that follows from it.

use datafusion::prelude::SessionContext;

use super::named::NamedReport;
use super::{Engines, ReportError};
use crate::sink::mysql::MysqlTarget;

/// Whether a report may read rollups ([`crate::rollup`]) or scans the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scan {
    /// From the rollups, when the report has a text for them and the warehouse brought them
    /// up to date with their tables; else over the rows.
    #[default]
    Rollups,
    /// Over the rows, always (`--exact-scan`, `?exact=true`): the same answer, to compare.
    Exact,
}

impl Scan {
    /// [`Scan::Exact`] when `exact` is asked for, else the default.
    pub fn exact_when(exact: bool) -> Scan {
        match exact {
            true => Scan::Exact,
            false => Scan::Rollups,
        }
    }
}

impl Engines {
    /// The DataFusion text of `report` to run in `ctx`: the one over rollups, registered in
    /// `ctx` once brought up to date, unless `scan` is exact or they cannot be; else the one
    /// over the rows.
    pub(super) async fn datafusion_text<'a>(
        &self,
        ctx: &SessionContext,
        report: &'a NamedReport,
        scan: Scan,
    ) -> Result<&'a str, ReportError> {
        if scan == Scan::Rollups
            && let Some(sql) = report.datafusion_from_rollups.as_deref()
        {
            let tables = read_tables(ctx, sql)?;
            let registered = self.warehouse.register_rollups(ctx, &tables).await;
            // A rollup the deployment does not keep (`rollups = false`) is no table either.
            if registered
                && tables
                    .iter()
                    .all(|name| ctx.table_exist(name.as_str()).unwrap_or(false))
            {
                return Ok(sql);
            }
        }
        (report.datafusion.as_deref()).ok_or_else(|| ReportError::NotInEngine {
            report: report.name.clone(),
            engine: "datafusion",
        })
    }

    /// The MySQL text of `report` to run on `mysql`: the one over rollups when `scan` allows
    /// and every rollup it reads is stored by its current declaration; else the one over the
    /// rows.
    pub(super) async fn mysql_text<'a>(
        mysql: &MysqlTarget,
        report: &'a NamedReport,
        scan: Scan,
    ) -> Result<&'a str, ReportError> {
        if scan == Scan::Rollups
            && let Some(sql) = report.mysql_from_rollups.as_deref()
            && mysql.rollups_readable(sql).await?
        {
            return Ok(sql);
        }
        (report.mysql.as_deref()).ok_or_else(|| ReportError::NotInEngine {
            report: report.name.clone(),
            engine: "mysql",
        })
    }
}

/// The tables `sql` reads (not its `WITH` names).
fn read_tables(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, ReportError> {
    let state = ctx.state();
    let statement = state
        .sql_to_statement(sql, &datafusion::config::Dialect::Generic)
        .map_err(Box::new)?;
    let references = state
        .resolve_table_references(&statement)
        .map_err(Box::new)?;
    Ok(references
        .iter()
        .map(|reference| reference.table().to_owned())
        .collect())
}
