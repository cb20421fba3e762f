//! Hires that move: files whose rows, given ids already loaded, move their counts between
//! years, quarters, departments and jobs, for the tests that follow rollups.

use std::fmt::Write;
use std::path::PathBuf;

use super::Sandbox;

impl Sandbox {
    /// `landing/<name>`: `count` employees from id `first` on, spread over 2020-2022, the
    /// quarters, the 12 departments and the 183 jobs by `shift`.
    pub fn moved_employees(&self, name: &str, first: u32, count: u32, shift: u32) -> PathBuf {
        let mut lines = String::new();
        for id in first..first + count {
            let (year, month) = (2020 + (id + shift) % 3, 1 + (id * 5 + shift) % 12);
            let (department, job) = (1 + (id + shift) % 12, 1 + (id * 7 + shift) % 183);
            writeln!(
                lines,
                "{id},Moved {id},{year}-{month:02}-15T12:00:00Z,{department},{job}"
            )
            .unwrap();
        }
        self.file(&format!("landing/{name}"), lines.as_bytes())
    }
}
