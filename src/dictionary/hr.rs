//! The built-in dictionary: the tables of the HR contract, csvgate's first user
//! (`contracts/hr.odcs.yaml`, compiled in).

use super::{Dictionary, TableRef};
use crate::contract::Contract;

impl Dictionary {
    /// The HR tables, which every deployment enforces unless its contract says otherwise.
    pub fn hr() -> Dictionary {
        Contract::hr().dictionary.clone()
    }

    /// One table of [`Dictionary::hr`], for tests and benchmarks.
    pub fn hr_table(name: &str) -> TableRef {
        TableRef::clone(Dictionary::hr().find(name).expect("an HR table"))
    }
}
