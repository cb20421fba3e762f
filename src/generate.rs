//! A deterministic generator of `hired_employees` files for benchmarks and scale tests.
//!
//! The same `(rows, seed)` always gives the same bytes. About 3.5% of rows are invalid, in the
//! ways real files go wrong (the HR brief's file has 70 of 1,999): an empty field, a department
//! that does not exist, an impossible timestamp, a missing field, a repeated id, a job id that is
//! not a number. Valid rows reference departments 1–12 and jobs 1–183, as in `fixtures/`.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, Timelike};

const FIRST_NAMES: [&str; 16] = [
    "Harold", "Ty", "Lyman", "Ann", "Maria", "José", "Wei", "Fatima", "Olga", "Kwame", "Priya",
    "Sven", "Lucía", "Noah", "Amara", "Kenji",
];
const LAST_NAMES: [&str; 16] = [
    "Vogt", "Hofer", "Hadye", "Smith", "García", "Chen", "Okafor", "Ivanova", "Müller", "Nakamura",
    "Silva", "Patel", "O'Brien", "Kowalski", "Haddad", "Jensen",
];
const DEPARTMENTS: u64 = 12;
const JOBS: u64 = 183;
/// 2020-01-01T00:00:00Z, and three years of seconds after it.
const FIRST_HIRE: i64 = 1_577_836_800;
const HIRE_SPAN: u64 = 3 * 365 * 24 * 3600;

/// How many rows of each kind a generated file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    pub valid: u64,
    pub invalid: u64,
}

/// Writes `rows` employee rows (no header) to `out`.
pub fn write_employees(out: &mut impl Write, rows: u64, seed: u64) -> io::Result<Generated> {
    let mut random = SplitMix64(seed);
    let mut counts = Generated::default();
    let mut previous_id = 0;
    for id in 1..=rows {
        let row = Row::random(id, &mut random);
        let defect = Defect::pick(random.below(1000), id);
        previous_id = row.write(out, defect, previous_id, &mut random)?;
        if defect == Defect::None {
            counts.valid += 1;
        } else {
            counts.invalid += 1;
        }
    }
    out.flush()?;
    Ok(counts)
}

/// What is wrong with a row, drawn per mille.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    EmptyField,
    UnknownDepartment,
    BadTimestamp,
    MissingField,
    RepeatedId,
    JobNotANumber,
}

impl Defect {
    fn pick(per_mille: u64, id: u64) -> Defect {
        match per_mille {
            0..=14 => Defect::EmptyField,
            15..=19 => Defect::UnknownDepartment,
            20..=24 => Defect::BadTimestamp,
            25..=27 => Defect::MissingField,
            28..=29 if id > 1 => Defect::RepeatedId,
            30..=34 => Defect::JobNotANumber,
            _ => Defect::None,
        }
    }
}

struct Row {
    id: u64,
    first: &'static str,
    last: &'static str,
    hired: i64,
    department: u64,
    job: u64,
}

impl Row {
    fn random(id: u64, random: &mut SplitMix64) -> Row {
        Row {
            id,
            first: FIRST_NAMES[random.below(16) as usize],
            last: LAST_NAMES[random.below(16) as usize],
            hired: FIRST_HIRE + random.below(HIRE_SPAN) as i64,
            department: 1 + random.below(DEPARTMENTS),
            job: 1 + random.below(JOBS),
        }
    }

    /// Writes the row and returns the id it was written with. A repeated id is the previous
    /// row's, which is always in the file already.
    fn write(
        &self,
        out: &mut impl Write,
        defect: Defect,
        previous_id: u64,
        random: &mut SplitMix64,
    ) -> io::Result<u64> {
        let id = if defect == Defect::RepeatedId {
            previous_id
        } else {
            self.id
        };
        let mut fields = [
            id.to_string(),
            self.name(random),
            timestamp(self.hired),
            self.department.to_string(),
            self.job.to_string(),
        ];
        match defect {
            Defect::None | Defect::RepeatedId | Defect::MissingField => {}
            Defect::EmptyField => fields[1 + random.below(4) as usize].clear(),
            Defect::UnknownDepartment => {
                fields[3] = (DEPARTMENTS + 1 + random.below(80)).to_string()
            }
            Defect::BadTimestamp => fields[2] = "2021-02-30T25:61:00Z".to_owned(),
            Defect::JobNotANumber => fields[4] = format!("J{}", self.job),
        }
        let kept = if defect == Defect::MissingField { 4 } else { 5 };
        writeln!(out, "{}", fields[..kept].join(","))?;
        Ok(id)
    }

    /// Mostly `First Last`; one in fifty quoted as `"Last, First"` as exports often do.
    fn name(&self, random: &mut SplitMix64) -> String {
        if random.below(50) == 0 {
            format!("\"{}, {}\"", self.last, self.first)
        } else {
            format!("{} {}", self.first, self.last)
        }
    }
}

fn timestamp(seconds: i64) -> String {
    let at = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A tiny, fast, seedable generator: reproducible files without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_counts_add_up() {
        let mut first = Vec::new();
        let counts = write_employees(&mut first, 5_000, 7).unwrap();
        let mut second = Vec::new();
        write_employees(&mut second, 5_000, 7).unwrap();
        assert_eq!(first, second);
        assert_eq!(counts.valid + counts.invalid, 5_000);
        // About 3.5% invalid: far from zero, far from everything.
        assert!((100..300).contains(&counts.invalid), "{counts:?}");
        let mut other = Vec::new();
        write_employees(&mut other, 5_000, 8).unwrap();
        assert_ne!(first, other);
    }
}
