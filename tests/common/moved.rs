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

    /// Three uploads (key, bytes) of disjoint ids that move 100 stored hires each, the last
    /// adding 100 new ones too: what a group of uploads committed together changes.
    pub fn moved_uploads(&self) -> Vec<(String, Vec<u8>)> {
        [(1, 100, 4), (600, 100, 5), (1950, 150, 6)]
            .into_iter()
            .map(|(first, count, shift)| {
                let name = format!("hired_employees_together_{first}.csv");
                let path = self.moved_employees(&name, first, count, shift);
                (name, std::fs::read(path).unwrap())
            })
            .collect()
    }
}
