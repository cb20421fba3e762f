//! The dictionary's checks and load order.

use super::*;

#[test]
fn keys_name_their_table_by_file_or_folder() {
    let hr = Dictionary::hr();
    let name = |key| hr.table_for_key(key).map(|table| table.name.as_str());
    assert_eq!(name("hired_employees.csv"), Some("hired_employees"));
    assert_eq!(
        name("landing/hired_employees/2021-07.csv"),
        Some("hired_employees")
    );
    assert_eq!(name("jobs_2024.csv"), Some("jobs"));
    assert_eq!(name("x/departments-v2.csv"), Some("departments"));
    assert_eq!(
        name("hired_employees/hired_employees.run-1.csv"),
        Some("hired_employees")
    );
    assert_eq!(name("jobsite.csv"), None);
    assert_eq!(name("employees.csv"), None);
}

/// A table's file-name patterns come before names and folders; of two that match, the
/// longer (the more specific) wins.
#[test]
fn file_name_patterns_name_tables_before_stems_and_folders() {
    let patterns = |table: &Table| {
        let file_names: &[&str] = match table.name.as_str() {
            "jobs" => &["*_roles.csv", "*.csv"],
            "departments" => &["*_units_*.csv"],
            _ => &[],
        };
        TableKnobs {
            file_format: crate::dictionary::FileFormat {
                file_names: file_names.iter().map(|p| p.to_string()).collect(),
                ..Default::default()
            },
            ..TableKnobs::default()
        }
    };
    let hr = Dictionary::hr().with_knobs(patterns);
    let name = |key| hr.table_for_key(key).map(|table| table.name.as_str());
    assert_eq!(name("exports/2024-05-01_roles.csv"), Some("jobs"));
    assert_eq!(
        name("hired_employees/x_units_2024.csv"),
        Some("departments")
    );
    assert_eq!(
        name("hired_employees.csv"),
        Some("jobs"),
        "`*.csv` before the stem"
    );
    assert_eq!(name("hired_employees.txt"), Some("hired_employees"));
    let tied = Dictionary::hr().with_knobs(|table| TableKnobs {
        file_format: crate::dictionary::FileFormat {
            file_names: vec![format!("{}*.csv", &table.name[..1])],
            ..Default::default()
        },
        ..TableKnobs::default()
    });
    let name = |key| tied.table_for_key(key).map(|table| table.name.as_str());
    assert_eq!(name("jobs.csv"), Some("jobs"));
    assert_eq!(name("x.csv"), None, "no pattern and no table name");
    let both = Dictionary::hr().with_knobs(|_| TableKnobs {
        file_format: crate::dictionary::FileFormat {
            file_names: vec!["*.csv".into()],
            ..Default::default()
        },
        ..TableKnobs::default()
    });
    assert_eq!(
        both.table_for_key("jobs.csv")
            .map(|table| table.name.as_str()),
        None,
        "two tables match alike: the file is not guessed"
    );
}

#[test]
fn the_longest_table_name_a_file_starts_with_wins() {
    let key = || vec![Column::id("id")];
    let tables = vec![("jobs", key()), ("jobs_history", key())];
    let dictionary = Dictionary::new(tables).unwrap();
    let name = |key| {
        dictionary
            .table_for_key(key)
            .map(|table| table.name.as_str())
    };
    assert_eq!(name("jobs_history_2024.csv"), Some("jobs_history"));
    assert_eq!(name("jobs_2024.csv"), Some("jobs"));
}

#[test]
fn references_point_at_tables_loaded_earlier() {
    let hr = Dictionary::hr();
    for table in hr.tables() {
        for (column, referenced) in table.references() {
            let referenced = hr.table(referenced).expect("reference to a declared table");
            assert!(
                referenced.load_rank() < table.load_rank(),
                "{}",
                column.name
            );
        }
    }
    let departments = hr.table("departments").unwrap();
    assert!(departments.is_referenced());
    assert!(!hr.table("hired_employees").unwrap().is_referenced());
    let pointing: Vec<_> = (hr.referencing(departments))
        .map(|(table, column)| (table.name.as_str(), column.name.as_str()))
        .collect();
    assert_eq!(pointing, [("hired_employees", "department_id")]);
}

#[test]
fn unknown_names_are_refused_with_the_known_ones() {
    let hr = Dictionary::hr();
    assert_eq!(
        hr.find("employees").unwrap_err().to_string(),
        "no table \"employees\": one of departments, jobs, hired_employees"
    );
    let picked = hr.select(&["jobs".into(), "departments".into()]).unwrap();
    assert_eq!(
        picked.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["jobs", "departments"]
    );
    assert_eq!(hr.select(&[]).unwrap().len(), 3);
}

#[test]
fn load_order_follows_references_not_declaration() {
    let hr = Dictionary::hr();
    let mut declared: Vec<(&str, Vec<Column>)> = (hr.tables().iter())
        .map(|table| (table.name.as_str(), table.columns.clone()))
        .collect();
    declared.reverse();
    let dictionary = Dictionary::new(declared).unwrap();
    assert_eq!(
        dictionary.names(),
        ["jobs", "departments", "hired_employees"]
    );
    assert_eq!(dictionary.tables()[2].load_rank(), 2);
}

#[test]
fn malformed_dictionaries_are_refused_by_name() {
    let key = || Column::id("id");
    let points_at = |table: &str| Column::reference("ref", table);
    let refused = |declared| Dictionary::new(declared).unwrap_err().to_string();
    assert_eq!(
        refused(vec![
            ("a", vec![key(), points_at("b")]),
            ("b", vec![key(), points_at("a")])
        ]),
        "tables a, b reference each other in a circle, so none can be loaded first"
    );
    assert_eq!(
        refused(vec![("a", vec![key(), points_at("nowhere")])]),
        "table a: column ref references \"nowhere\", which is not declared"
    );
    assert_eq!(
        refused(vec![("a", vec![key()]), ("a", vec![key()])]),
        "table \"a\" is declared twice"
    );
    assert_eq!(
        refused(vec![("a", vec![key(), key()])]),
        "table a: column \"id\" is declared twice"
    );
    assert_eq!(
        refused(vec![("a", vec![Column::text("x", 9)])]),
        "table a: not exactly one key column"
    );
}

#[test]
fn typed_schema_follows_column_kinds() {
    let hr = Dictionary::hr();
    let employees = hr.table("hired_employees").unwrap();
    let schema = employees.typed_schema();
    use datafusion::arrow::datatypes::DataType;
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
    assert!(
        matches!(schema.field(2).data_type(), DataType::Timestamp(_, Some(zone)) if zone.as_ref() == "UTC")
    );
    assert!(schema.fields().iter().all(|field| !field.is_nullable()));
    assert_eq!(employees.text_schema().fields().len(), 5 + 4);
}
