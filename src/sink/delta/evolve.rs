//! A table's schema against the contract's, before a load writes anything: a column the
//! contract adds, optional, is added to the table (its old rows read it as NULL, Delta's schema
//! evolution); any other difference is refused, naming the column and what to do, so a changed
//! contract never leaves a table half in one shape and half in another.

use deltalake::DeltaTable;
use deltalake::kernel::StructField;

use super::DeltaTarget;
use super::tables::{KEY_PROPERTY, delta_columns};
use crate::dictionary::Table;
use crate::sink::SinkError;

impl DeltaTarget {
    /// `delta` (which exists) with the columns `table` adds, or why its contract cannot apply.
    pub(super) async fn evolved(
        &self,
        table: &Table,
        delta: DeltaTable,
    ) -> Result<DeltaTable, SinkError> {
        let refused = |reason| SinkError::SchemaChange {
            table: table.name.clone(),
            reason,
        };
        self.same_key(table, &delta).map_err(refused)?;
        let added = columns_to_add(&self.stored_columns(table, &delta)?, &delta_columns(table))
            .map_err(refused)?;
        if added.is_empty() {
            return Ok(delta);
        }
        tracing::info!(table = %table.name, columns = ?added.iter().map(StructField::name).collect::<Vec<_>>(), "adding the contract's new columns");
        match delta.add_columns().with_fields(added).await {
            Ok(evolved) => {
                self.keep(&table.name, &evolved);
                Ok(evolved)
            }
            // Another process added them at the same moment: its table is ours.
            Err(error) => {
                let theirs = self.open(&table.name).await?;
                let now = self.stored_columns(table, &theirs)?;
                match columns_to_add(&now, &delta_columns(table)) {
                    Ok(left) if left.is_empty() => Ok(theirs),
                    _ => Err(self.error(&table.name)(error)),
                }
            }
        }
    }

    /// Whether `delta` was created keyed by the column `table` is keyed by (a table made before
    /// csvgate recorded its key is taken as it is).
    fn same_key(&self, table: &Table, delta: &DeltaTable) -> Result<(), String> {
        let Ok(snapshot) = delta.snapshot() else {
            return Ok(());
        };
        let stored = snapshot.metadata().configuration().get(KEY_PROPERTY);
        let key = &table.key_column().name;
        match stored {
            Some(stored) if stored != key => Err(format!(
                "the table is keyed by {stored} and the contract now keys it by {key}: changing a table's key is refused (declare a new table)"
            )),
            _ => Ok(()),
        }
    }

    /// The columns `delta` (the table of `table`) has now.
    fn stored_columns(
        &self,
        table: &Table,
        delta: &DeltaTable,
    ) -> Result<Vec<StructField>, SinkError> {
        let snapshot = delta.snapshot().map_err(self.error(&table.name))?;
        Ok(snapshot.schema().fields().cloned().collect())
    }
}

/// The columns of `wanted` (the contract's) that a table of `current` columns lacks, each
/// optional; or why the table cannot take the contract.
pub(super) fn columns_to_add(
    current: &[StructField],
    wanted: &[StructField],
) -> Result<Vec<StructField>, String> {
    for held in current {
        let name = held.name();
        let Some(declared) = wanted.iter().find(|field| field.name() == name) else {
            return Err(format!(
                "column {name} is in the table and not in the contract: removing a column is refused (keep it in the contract, optional if it is no longer filled)"
            ));
        };
        if declared.data_type() != held.data_type() {
            return Err(format!(
                "column {name} holds {} and the contract now says {}: changing a type is refused (add a column of the new type instead)",
                held.data_type(),
                declared.data_type()
            ));
        }
        if declared.is_nullable() && !held.is_nullable() {
            return Err(format!(
                "column {name} was required and the contract makes it optional: relaxing it is refused (the table cannot hold an empty value there)"
            ));
        }
    }
    let added: Vec<StructField> = (wanted.iter())
        .filter(|field| !current.iter().any(|held| held.name() == field.name()))
        .cloned()
        .collect();
    if let Some(required) = added.iter().find(|field| !field.is_nullable()) {
        return Err(format!(
            "column {} is new and required: the rows the table holds have no value for it (declare it optional)",
            required.name()
        ));
    }
    Ok(added)
}
