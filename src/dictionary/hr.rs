//! The built-in dictionary: the three tables of the HR migration, csvgate's first user.

use super::{Column, ColumnKind, Dictionary, TableRef};

/// `departments`, `jobs` and `hired_employees`; every field mandatory, no header in the files.
pub fn tables() -> Vec<(&'static str, Vec<Column>)> {
    let reference = |table: &str| ColumnKind::Reference(table.to_owned());
    vec![
        (
            "departments",
            vec![
                Column::new("id", ColumnKind::Id),
                Column::new("department", ColumnKind::Text),
            ],
        ),
        (
            "jobs",
            vec![
                Column::new("id", ColumnKind::Id),
                Column::new("job", ColumnKind::Text),
            ],
        ),
        (
            "hired_employees",
            vec![
                Column::new("id", ColumnKind::Id),
                Column::new("name", ColumnKind::Text),
                Column::new("datetime", ColumnKind::Timestamp),
                Column::new("department_id", reference("departments")),
                Column::new("job_id", reference("jobs")),
            ],
        ),
    ]
}

impl Dictionary {
    /// The HR tables, which every deployment enforces unless told otherwise.
    pub fn hr() -> Dictionary {
        Dictionary::new(tables()).expect("the HR dictionary is well formed")
    }

    /// One table of [`Dictionary::hr`], for tests and benchmarks.
    pub fn hr_table(name: &str) -> TableRef {
        TableRef::clone(Dictionary::hr().find(name).expect("an HR table"))
    }
}
