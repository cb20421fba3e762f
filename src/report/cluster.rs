//! A client session on a Ballista cluster with the warehouse's tables registered.

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::ReportError;
use crate::dictionary::Table;
use crate::sink::Rows;
use crate::sink::delta::{DeltaTarget, LiveFiles, set_report_options};

/// A session on the cluster whose scheduler is at `scheduler` (`df://HOST:PORT`), with every
/// dictionary table that exists registered under its name, as of its current version.
pub async fn session(
    warehouse: &DeltaTarget,
    scheduler: &str,
) -> Result<SessionContext, ReportError> {
    // Ballista takes any URL and would dial whatever host it names; csvgate takes its own form.
    crate::ballista::scheduler_address(scheduler)
        .map_err(|_| ReportError::SchedulerUrl(scheduler.to_owned()))?;
    // A table's files are grouped into `target_partitions` scan tasks (whole files: Ballista
    // turns off DataFusion's splitting of one file into ranges), by default one per core of
    // this client; `DATAFUSION_EXECUTION_TARGET_PARTITIONS` sets it to the cluster's slots.
    let mut config = SessionConfig::from_env().map_err(Box::new)?;
    set_report_options(config.options_mut());
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build();
    let ctx = (SessionContext::remote_with_state(scheduler, state).await).map_err(Box::new)?;
    for table in warehouse.dictionary().tables() {
        if let Some(live) = warehouse.live_files(table).await? {
            let scan = live_table(table, &live)?;
            ctx.register_table(table.name.as_str(), Arc::new(scan))
                .map_err(Box::new)?;
        }
    }
    Ok(ctx)
}

/// `table` as exactly the files of `live`, read with the version's schema.
fn live_table(table: &Table, live: &LiveFiles) -> Result<ListingTable, ReportError> {
    // A file whose rows are not exactly its Parquet rows would be misread as plain Parquet.
    if let Some(file) = live.files.iter().find(|file| !file.whole) {
        return Err(ReportError::NotPlainParquet {
            table: table.name.clone(),
            file: format!("{}{}", live.location.url, file.path),
        });
    }
    let urls = (live.urls()?.iter())
        .map(|url| ListingTableUrl::parse(url.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Box::new)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(Arc::clone(&live.schema));
    Ok(ListingTable::try_new(config).map_err(Box::new)?)
}
