//! Records of one file becoming text Arrow batches: the fields as they were, the line each
//! record starts on, how many fields it had, whether its `id` was seen earlier in the file, and
//! whether it broke one of the reader's [`Limits`].

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, StringBuilder, UInt32Builder, UInt64Builder,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::Limits;
use crate::dictionary::{Keys, TableRef};

/// Column builders for one batch, plus the ids seen so far in the file.
pub(super) struct RowBuffer {
    table: TableRef,
    delimiter: char,
    limits: Limits,
    /// Bytes of fields in the batch being built.
    bytes: usize,
    /// Trailing fields to drop (the `line` and `reason` of a re-submitted invalid file).
    pub(super) ignore_trailing: usize,
    fields: Vec<StringBuilder>,
    lines: UInt64Builder,
    field_counts: UInt32Builder,
    repeated: BooleanBuilder,
    problems: StringBuilder,
    key_index: usize,
    seen_ids: Keys,
}

impl RowBuffer {
    pub(super) fn new(table: &TableRef, delimiter: u8, limits: Limits) -> Self {
        let capacity = limits.batch_rows;
        let key_index = table.key_index();
        RowBuffer {
            table: TableRef::clone(table),
            delimiter: char::from(delimiter),
            limits,
            bytes: 0,
            ignore_trailing: 0,
            fields: (0..table.columns.len())
                .map(|_| StringBuilder::new())
                .collect(),
            lines: UInt64Builder::with_capacity(capacity),
            field_counts: UInt32Builder::with_capacity(capacity),
            repeated: BooleanBuilder::with_capacity(capacity),
            problems: StringBuilder::new(),
            key_index,
            seen_ids: Keys::of(&table.key_column().kind),
        }
    }

    pub(super) fn len(&self) -> usize {
        datafusion::arrow::array::ArrayBuilder::len(&self.lines)
    }

    pub(super) fn is_full(&self) -> bool {
        self.len() >= self.limits.batch_rows || self.bytes >= self.limits.batch_bytes
    }

    /// Appends one record (`cut`: longer than the limit, so holding only its start); on bytes
    /// that are not UTF-8, the name of the field holding them.
    pub(super) fn push(
        &mut self,
        record: &csv::ByteRecord,
        line: u64,
        cut: bool,
    ) -> Result<(), String> {
        let count = record.len().saturating_sub(self.ignore_trailing);
        let columns = self.fields.len();
        let mut texts: Vec<Option<&str>> = Vec::with_capacity(columns);
        for (index, column) in self.table.columns.iter().enumerate() {
            texts.push(match record.get(index).filter(|_| index < count) {
                Some(bytes) => Some(std::str::from_utf8(bytes).map_err(|_| column.name.clone())?),
                None => None,
            });
        }
        // A long row keeps its surplus in the last column, so the invalid file loses nothing.
        let surplus = (count > columns).then(|| self.join_surplus(record, columns - 1, count));
        if let Some(surplus) = &surplus {
            texts[columns - 1] = Some(
                surplus
                    .as_deref()
                    .map_err(|_| self.table.columns[columns - 1].name.clone())?,
            );
        }
        for (builder, text) in self.fields.iter_mut().zip(&texts) {
            builder.append_option(*text);
        }
        // A key spelled as missing is no key, as an empty one is not: never a repeat.
        let repeated = texts[self.key_index]
            .filter(|key| !self.table.file_format.means_missing(key))
            .and_then(|key| self.seen_ids.insert_text(key))
            .is_some_and(|new| !new);
        self.lines.append_value(line);
        self.field_counts
            .append_value(u32::try_from(count).unwrap_or(u32::MAX));
        self.repeated.append_value(repeated);
        self.problems.append_option(self.limit_broken(record, cut));
        self.bytes += record.as_slice().len();
        Ok(())
    }

    /// Why the record breaks a limit, as a rejection reason.
    fn limit_broken(&self, record: &csv::ByteRecord, cut: bool) -> Option<String> {
        let Limits {
            max_record_bytes,
            max_field_bytes,
            ..
        } = self.limits;
        if cut {
            return Some(format!("row: longer than {max_record_bytes} bytes"));
        }
        let long = record
            .iter()
            .position(|field| field.len() > max_field_bytes)?;
        let columns = &self.table.columns;
        let column = &columns[long.min(columns.len() - 1)].name;
        Some(format!("{column}: longer than {max_field_bytes} bytes"))
    }

    fn join_surplus(
        &self,
        record: &csv::ByteRecord,
        from: usize,
        to: usize,
    ) -> Result<String, std::str::Utf8Error> {
        let mut joined = String::new();
        for index in from..to {
            if index > from {
                joined.push(self.delimiter);
            }
            joined.push_str(std::str::from_utf8(&record[index])?);
        }
        Ok(joined)
    }

    pub(super) fn take_batch(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = self
            .fields
            .iter_mut()
            .map(|builder| Arc::new(builder.finish()) as ArrayRef)
            .collect();
        columns.push(Arc::new(self.lines.finish()));
        columns.push(Arc::new(self.field_counts.finish()));
        columns.push(Arc::new(self.repeated.finish()));
        columns.push(Arc::new(self.problems.finish()));
        self.bytes = 0;
        RecordBatch::try_new(self.table.text_schema(), columns)
            .expect("builders follow the text schema")
    }
}
