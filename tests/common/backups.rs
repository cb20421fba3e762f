//! Backups of a sandbox, and a table's rows as each target holds them, to compare before and
//! after a backup or a restore.

use std::sync::Arc;

use csvgate::backup::Backups;
use csvgate::dictionary::{Dictionary, Table};
use csvgate::sink::mysql::MysqlTarget;
use csvgate::store::{Location, S3Settings};
use datafusion::arrow::json::ArrayWriter;
use serde_json::Value;

use super::Sandbox;

/// The sandbox's backups folder.
pub fn backups(sandbox: &Sandbox) -> Backups {
    let folder = sandbox.path("backups");
    let location = Location::open(folder.to_str().unwrap(), true, &S3Settings::default());
    Backups {
        location: location.unwrap(),
        dictionary: Arc::new(Dictionary::hr()),
    }
}

/// The table's rows as the warehouse has them, as JSON objects sorted by id, timestamps as
/// microseconds since the epoch.
pub async fn warehouse_rows(sandbox: &Sandbox, table: &Table) -> Vec<Value> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| match column.name.as_str() {
            "datetime" => "CAST(datetime AS BIGINT) AS datetime".to_owned(),
            name => name.to_owned(),
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY id",
        columns.join(", "),
        table.name
    );
    let batches = sandbox.sql(&sql).await;
    let mut writer = ArrayWriter::new(Vec::new());
    writer
        .write_batches(&batches.iter().collect::<Vec<_>>())
        .unwrap();
    writer.finish().unwrap();
    serde_json::from_slice(&writer.into_inner()).unwrap()
}

/// The table's rows in MySQL, every column of each as one `|`-separated text, sorted by id.
pub async fn mysql_rows(target: &MysqlTarget, table: &Table) -> Vec<String> {
    let columns: Vec<&str> = table.column_names().collect();
    let sql = format!(
        "SELECT CONCAT_WS('|', {}) FROM {} ORDER BY id",
        columns.join(", "),
        table.name
    );
    super::mysql_rows(target, &sql).await
}
