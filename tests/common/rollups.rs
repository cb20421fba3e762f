//! What the tests that follow rollups check after each change: a stored rollup equals the one
//! recomputed from its table's rows, on either engine.

use std::sync::Arc;

use csvgate::dictionary::Dictionary;
use csvgate::rollup::Rollup;
use csvgate::sink::delta::DeltaTarget;
use csvgate::sink::mysql::MysqlTarget;
use datafusion::arrow::util::pretty::pretty_format_batches;

/// The database `url` as a target keeping the built-in rollups, as a deployment builds it.
pub fn mysql_with_rollups(url: &str) -> MysqlTarget {
    let hr = Dictionary::hr();
    let rollups = Rollup::all(&hr, None).unwrap();
    let target = MysqlTarget::new(url, None, Arc::new(hr)).unwrap();
    target.with_rollups(rollups.into()).unwrap()
}

/// The warehouse's built-in rollup reflects its table's current version and equals the one
/// recomputed from the rows; returns how many groups it stores.
pub async fn warehouse_rollup_holds(warehouse: &DeltaTarget, when: &str) -> usize {
    let rollup = &warehouse.rollups()[0];
    assert_eq!(rollup.name, "hires_by_quarter");
    let check = warehouse.check_rollup(rollup).await.unwrap();
    let check = check.unwrap_or_else(|| panic!("{when}: no rollup stored"));
    assert_eq!(
        check.reflects, check.current,
        "{when}: the rollup was brought up to date with the commit"
    );
    assert!(
        check.differences.is_empty(),
        "{when}: the stored rollup differs from the rows:\n{}",
        pretty_format_batches(&check.differences).unwrap()
    );
    check.groups
}

/// The `index`th rollup of `mysql` is readable and equals the one recomputed from its rows.
pub async fn mysql_rollup_holds(mysql: &MysqlTarget, index: usize, when: &str) {
    let rollup = &mysql.rollups()[index];
    let differences = mysql.check_rollup(rollup).await.unwrap();
    let differences = differences.unwrap_or_else(|| panic!("{when}: {} not readable", rollup.name));
    assert!(
        differences.iter().all(|batch| batch.num_rows() == 0),
        "{when}: the stored rollup differs from the rows:\n{}",
        pretty_format_batches(&differences).unwrap()
    );
}
