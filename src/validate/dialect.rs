//! How a file is written: its delimiter and whether a header line names the columns. Both are
//! told from the file when not given, from its first line alone.

use super::Limits;
pub use crate::dictionary::HeaderMode;
use crate::dictionary::{LINE_COLUMN, REASON_COLUMN, Table};

/// Delimiters the sniffer chooses among.
const DELIMITER_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Columns an invalid-rows file adds after the table's own (see [`crate::sink::invalid`]).
pub const INVALID_FILE_EXTRA_COLUMNS: [&str; 2] = [LINE_COLUMN, REASON_COLUMN];

/// How to read a file; the defaults sniff everything.
#[derive(Debug, Clone)]
pub struct Dialect {
    /// Field delimiter; `None` sniffs it from the first line among `, ; TAB |`.
    pub delimiter: Option<u8>,
    pub header: HeaderMode,
    /// How much of the file is held at once.
    pub limits: Limits,
}

impl Dialect {
    /// How `table`'s files are read: its own delimiter and header mode, where its contract or
    /// `[tables.<name>]` sets them, over this deployment-wide dialect.
    pub fn for_table(&self, table: &Table) -> Dialect {
        let own = &table.file_format;
        Dialect {
            delimiter: own.delimiter.or(self.delimiter),
            header: own.header.unwrap_or(self.header),
            limits: self.limits,
        }
    }
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: None,
            header: HeaderMode::Auto,
            limits: Limits::default(),
        }
    }
}

/// `Some(n)` when the record is a header, `n` being the trailing columns to ignore: 2 for an
/// invalid-rows file (`…,line,reason`) submitted again after a fix, else 0.
pub(super) fn header_extra_columns(
    record: &csv::ByteRecord,
    table: &Table,
    mode: HeaderMode,
) -> Option<usize> {
    let names: Vec<String> = record
        .iter()
        .map(|field| String::from_utf8_lossy(field).trim().to_ascii_lowercase())
        .collect();
    let columns = table.columns.len();
    let is_invalid_file = names.len() == columns + INVALID_FILE_EXTRA_COLUMNS.len()
        && names[columns..]
            .iter()
            .eq(INVALID_FILE_EXTRA_COLUMNS.iter());
    let extra = if is_invalid_file {
        INVALID_FILE_EXTRA_COLUMNS.len()
    } else {
        0
    };
    let names_columns = names.len() == columns + extra
        && names.iter().zip(table.column_names()).all(|(a, b)| a == b);
    match mode {
        // Even then, an invalid-rows file csvgate wrote is read as one: its header names the
        // columns, `line` and `reason`, which no data row of the table does.
        HeaderMode::No => (is_invalid_file && names_columns).then_some(extra),
        HeaderMode::Yes => Some(extra),
        HeaderMode::Auto => names_columns.then_some(extra),
    }
}

/// The delimiter of the first line: the candidate that splits it into exactly the table's
/// columns, else the most frequent one, else a comma. Quoted text is not counted.
pub(super) fn sniff_delimiter(start: &[u8], columns: usize) -> u8 {
    let first_line = start.split(|&byte| byte == b'\n').next().unwrap_or(start);
    let counts = DELIMITER_CANDIDATES.map(|delimiter| {
        let mut quoted = false;
        let count = first_line
            .iter()
            .filter(|&&byte| {
                if byte == b'"' {
                    quoted = !quoted;
                }
                !quoted && byte == delimiter
            })
            .count();
        (delimiter, count)
    });
    let exact = counts.iter().find(|(_, count)| *count + 1 == columns);
    let most = counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .max_by_key(|(_, count)| *count);
    exact.or(most).map_or(b',', |(delimiter, _)| *delimiter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;

    #[test]
    fn an_invalid_rows_header_is_one_whatever_the_mode() {
        let jobs = Dictionary::hr_table("jobs");
        let record = |fields: &[&str]| csv::ByteRecord::from(fields.to_vec());
        let invalid = record(&["id", "job", "line", "reason"]);
        for mode in [HeaderMode::Auto, HeaderMode::Yes, HeaderMode::No] {
            assert_eq!(
                header_extra_columns(&invalid, &jobs, mode),
                Some(2),
                "{mode:?}"
            );
        }
        let names = record(&["id", "job"]);
        assert_eq!(
            header_extra_columns(&names, &jobs, HeaderMode::Auto),
            Some(0)
        );
        assert_eq!(header_extra_columns(&names, &jobs, HeaderMode::No), None);
    }
}
