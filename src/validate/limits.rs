//! How much of a file the reader holds at once: the bounds that keep memory independent of
//! what a file contains, whatever its size or the length of its lines.

/// Byte and row bounds of the reading stage; each is a setting of `[ingest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest record, line end not counted. A longer one is a rejected row with reason
    /// `row: longer than N bytes` holding its first N bytes, and reading goes on at the next line.
    pub max_record_bytes: usize,
    /// Longest field: a row with a longer one is rejected with `<column>: longer than N bytes`.
    pub max_field_bytes: usize,
    /// A batch is handed to DataFusion at this many rows…
    pub batch_rows: usize,
    /// …or at this many bytes of fields, whichever comes first.
    pub batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 1024 * 1024,
            max_field_bytes: 64 * 1024,
            batch_rows: 32 * 1024,
            batch_bytes: 16 * 1024 * 1024,
        }
    }
}
