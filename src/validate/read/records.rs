//! CSV records of a byte stream, none longer than a byte budget.
//!
//! The `csv` crate grows a record to whatever the input holds: one unterminated quote or a
//! 1 GB line becomes a 1 GB buffer. This drives `csv_core`'s parser itself, feeding it no more
//! than the budget allows; a record that reaches the budget is cut there, the rest of its
//! physical line is skipped unread into memory, and parsing starts afresh on the next line.

use std::io::{self, BufRead};

use csv_core::ReadRecordResult;

/// What a record may take past the budget for its line end (`\r\n`), which is not counted.
const LINE_END_BYTES: usize = 2;

/// Where a record came from and whether it is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RecordStart {
    /// The physical line the record starts on, from 1.
    pub line: u64,
    /// The record was longer than the budget: its fields hold at most what came before the cut.
    pub cut: bool,
}

/// Reads records out of `input`, counting lines as it goes.
pub(super) struct Records<R> {
    input: R,
    parser: csv_core::Reader,
    /// Most bytes of input one record may take, its line end not counted.
    max_bytes: usize,
    /// Newlines consumed so far: the line of the next record's first byte, less one.
    newlines: u64,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(input: R, delimiter: u8, max_bytes: usize) -> Self {
        Records {
            input,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            max_bytes,
            newlines: 0,
            fields: vec![0; 1024],
            ends: vec![0; 32],
        }
    }

    /// Reads the next record into `record`; `None` at the end of the input.
    pub(super) fn next(&mut self, record: &mut csv::ByteRecord) -> io::Result<Option<RecordStart>> {
        if !self.skip_line_ends()? {
            return Ok(None);
        }
        let line = 1 + self.newlines;
        let (mut taken, mut written, mut ended) = (0, 0, 0);
        loop {
            let budget = self.max_bytes + LINE_END_BYTES - taken;
            if budget == 0 {
                self.skip_rest_of_line()?;
                self.parser.reset();
                self.fill(record, written, ended, true);
                return Ok(Some(RecordStart { line, cut: true }));
            }
            let buffer = self.input.fill_buf()?;
            let chunk = &buffer[..buffer.len().min(budget)];
            let (result, read, wrote, ends) = self.parser.read_record(
                chunk,
                &mut self.fields[written..],
                &mut self.ends[ended..],
            );
            let consumed = &chunk[..read];
            self.newlines += memchr::memchr_iter(b'\n', consumed).count() as u64;
            let line_end = consumed
                .iter()
                .rev()
                .take(2)
                .take_while(|&&b| is_line_end(b))
                .count();
            self.input.consume(read);
            (taken, written, ended) = (taken + read, written + wrote, ended + ends);
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.fields.resize(self.fields.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    self.fill(record, written, ended, false);
                    let cut = taken - line_end > self.max_bytes;
                    return Ok(Some(RecordStart { line, cut }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// Consumes the line ends before a record, so that it starts on a known line; `false` at
    /// the end of the input.
    fn skip_line_ends(&mut self) -> io::Result<bool> {
        loop {
            let buffer = self.input.fill_buf()?;
            if buffer.is_empty() {
                return Ok(false);
            }
            let ends = buffer.iter().take_while(|&&byte| is_line_end(byte)).count();
            self.newlines += memchr::memchr_iter(b'\n', &buffer[..ends]).count() as u64;
            let found = ends < buffer.len();
            self.input.consume(ends);
            if found {
                return Ok(true);
            }
        }
    }

    /// Consumes input up to and including the next newline, holding one buffer at a time.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let buffer = self.input.fill_buf()?;
            if buffer.is_empty() {
                return Ok(());
            }
            match memchr::memchr(b'\n', buffer) {
                Some(at) => {
                    self.newlines += 1;
                    self.input.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let all = buffer.len();
                    self.input.consume(all);
                }
            }
        }
    }

    /// Copies the parsed fields into `record`; a cut record also keeps its partial last field.
    fn fill(&self, record: &mut csv::ByteRecord, written: usize, ended: usize, cut: bool) {
        record.clear();
        let mut start = 0;
        for &end in &self.ends[..ended] {
            record.push_field(&self.fields[start..end]);
            start = end;
        }
        if cut && (written > start || ended == 0) {
            record.push_field(whole_chars(&self.fields[start..written]));
        }
    }
}

/// `field` less a UTF-8 character the cut split in two, so that the kept start stays text.
fn whole_chars(field: &[u8]) -> &[u8] {
    match std::str::from_utf8(field) {
        Err(error) if error.error_len().is_none() => &field[..error.valid_up_to()],
        _ => field,
    }
}

fn is_line_end(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}
