//! Backups: snapshots of the warehouse's and MariaDB's tables (what the manifest promises
//! holds; independent readers, fastavro and pyarrow from the venv `scripts/services` makes,
//! read the same rows and the dictionary's schema), listing, verifying, pruning, and a
//! `[backup] schedule` of `csvgate serve` that fires within the test.

mod common;

use std::sync::Arc;

use std::time::Duration;

use common::Sandbox;
use common::backups::{backups, warehouse_rows};
use common::server::{Server, get_json, load_fixtures};
use csvgate::backup::{Backups, Format, Manifest};
use csvgate::dictionary::{Dictionary, Table};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn loaded_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    let fixtures = common::fixtures();
    sandbox.ingest(&[&fixtures]).await;
    sandbox
}

/// What the independent reader of `format` makes of the snapshot's data files.
fn read_independently(backups: &Backups, manifest: &Manifest) -> Value {
    let folder = common::local(backups.location.url.as_str())
        .join(&manifest.table)
        .join(&manifest.id);
    let files = manifest.files.iter().map(|file| folder.join(&file.name));
    let python = std::env::var("HOME").unwrap() + "/.cache/csvgate-tools/venv/bin/python";
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/read_backup.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(manifest.format.name())
        .args(files)
        .output()
        .expect("the venv of scripts/services has fastavro and pyarrow");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The Avro schema the dictionary implies: every field mandatory, the timestamp in UTC micros.
fn avro_schema(table: &Table) -> Value {
    let fields: Vec<Value> = table
        .columns
        .iter()
        .map(|column| {
            let kind = match column.name.as_str() {
                "datetime" => json!({"logicalType": "timestamp-micros", "type": "long"}),
                "name" | "department" | "job" => json!("string"),
                _ => json!("long"),
            };
            json!({"name": column.name, "type": kind})
        })
        .collect();
    // fastavro gives the record's full name, namespace included.
    let name = format!("csvgate.{}", table.name);
    json!({"type": "record", "name": name, "fields": fields})
}

#[tokio::test]
async fn each_format_holds_the_tables_rows_and_schema_for_independent_readers() {
    let sandbox = loaded_sandbox().await;
    let backups = backups(&sandbox);
    for format in [Format::Avro, Format::Parquet] {
        for table in Dictionary::hr().tables() {
            let manifest = backups
                .backup_warehouse(&sandbox.target, table, format)
                .await
                .unwrap()
                .unwrap();
            let expected = warehouse_rows(&sandbox, table).await;
            assert_eq!(manifest.rows, expected.len() as u64, "{}", table.name);
            let read = read_independently(&backups, &manifest);
            assert_eq!(
                read["rows"].as_array().unwrap(),
                &expected,
                "{}",
                table.name
            );
            match format {
                Format::Avro => assert_eq!(read["schema"], avro_schema(table)),
                Format::Parquet => {
                    let names: Vec<&str> = (read["schema"].as_array().unwrap().iter())
                        .map(|field| field[0].as_str().unwrap())
                        .collect();
                    assert_eq!(names, table.column_names().collect::<Vec<_>>());
                    let nullable = read["schema"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f[2] == true);
                    assert!(!nullable, "{}", read["schema"]);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_parquet_snapshot_of_the_warehouse_is_its_live_files_copied_as_they_are() {
    let sandbox = loaded_sandbox().await;
    let more = sandbox.file(
        "more/hired_employees_more.csv",
        b"9001,Ann Lee,2021-03-01T10:00:00Z,1,1\n9002,Bo Diaz,2021-11-30T23:59:59Z,2,3\n",
    );
    sandbox.ingest(&[&more]).await;
    let employees = &Dictionary::hr_table("hired_employees");
    let backups = backups(&sandbox);
    let manifest = backups
        .backup_warehouse(&sandbox.target, employees, Format::Parquet)
        .await
        .unwrap()
        .unwrap();

    let live = sandbox.target.live_files(employees).await.unwrap().unwrap();
    assert_eq!(live.files.len(), 2, "one file per load");
    assert_eq!(manifest.source.version, live.version);
    let live_sums: Vec<String> = (live.files.iter())
        .map(|file| {
            let path = sandbox
                .path("warehouse/hired_employees")
                .join(file.path.as_ref());
            format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
        })
        .collect();
    let copied_sums: Vec<String> = manifest.files.iter().map(|f| f.sha256.clone()).collect();
    assert_eq!(copied_sums, live_sums);

    let expected = warehouse_rows(&sandbox, employees).await;
    assert_eq!(manifest.rows, expected.len() as u64);
    assert_eq!(
        read_independently(&backups, &manifest)["rows"],
        json!(expected)
    );
    assert_eq!(backups.verify(&manifest).await.unwrap(), manifest.rows);
}

#[tokio::test]
async fn files_of_another_delta_writer_not_in_the_dictionarys_schema_are_rewritten() {
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use deltalake::kernel::{DataType, StructField};

    let sandbox = Sandbox::new();
    let folder = sandbox.path("warehouse/jobs");
    std::fs::create_dir_all(&folder).unwrap();
    let url = url::Url::from_directory_path(&folder).unwrap();
    let foreign = deltalake::DeltaTableBuilder::from_url(url)
        .unwrap()
        .build()
        .unwrap();
    // Nullable columns: the dictionary's are mandatory.
    let columns = [("id", DataType::LONG), ("job", DataType::STRING)];
    let foreign = foreign
        .create()
        .with_columns(columns.map(|(name, kind)| StructField::new(name, kind, true)))
        .await
        .unwrap();
    let batch = RecordBatch::try_from_iter_with_nullable([
        (
            "id",
            std::sync::Arc::new(Int64Array::from(vec![1, 2])) as _,
            true,
        ),
        (
            "job",
            std::sync::Arc::new(StringArray::from(vec!["Chef", "Pilot"])) as _,
            true,
        ),
    ])
    .unwrap();
    foreign.write([batch]).await.unwrap();

    let jobs = &Dictionary::hr_table("jobs");
    let backups = backups(&sandbox);
    let manifest = backups
        .backup_warehouse(&sandbox.target, jobs, Format::Parquet)
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["data.parquet"], "rewritten, not copied");
    assert_eq!(manifest.rows, 2);
    let read = read_independently(&backups, &manifest);
    assert_eq!(
        read["rows"],
        json!([{"id": 1, "job": "Chef"}, {"id": 2, "job": "Pilot"}])
    );
    assert!(
        read["schema"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f[2] == false)
    );
}

#[tokio::test]
async fn the_manifest_states_the_files_bytes_checksum_and_source_version() {
    let sandbox = loaded_sandbox().await;
    let backups = backups(&sandbox);
    let jobs = &Dictionary::hr_table("jobs");
    let manifest = backups
        .backup_warehouse(&sandbox.target, jobs, Format::Avro)
        .await
        .unwrap()
        .unwrap();
    let folder = common::local(backups.location.url.as_str())
        .join("jobs")
        .join(&manifest.id);
    let data = std::fs::read(folder.join("data.avro")).unwrap();
    assert_eq!(manifest.files[0].bytes, data.len() as u64);
    assert_eq!(
        manifest.files[0].sha256,
        format!("{:x}", Sha256::digest(&data))
    );
    assert_eq!(
        (manifest.source.target.as_str(), manifest.source.version),
        ("delta", 1)
    );
    let written: Manifest =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(written, manifest);
    let names: Vec<&str> = manifest.schema.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "job"]);
}

#[tokio::test]
async fn listing_shows_complete_snapshots_only_oldest_first() {
    let sandbox = loaded_sandbox().await;
    let backups = backups(&sandbox);
    let jobs = &Dictionary::hr_table("jobs");
    let departments = &Dictionary::hr_table("departments");
    let mut made = Vec::new();
    for (table, format) in [
        (jobs, Format::Avro),
        (departments, Format::Parquet),
        (jobs, Format::Parquet),
    ] {
        let manifest = backups
            .backup_warehouse(&sandbox.target, table, format)
            .await;
        made.push(manifest.unwrap().unwrap().id);
    }
    // A snapshot cut short before its manifest: data, and nothing else.
    let partial = sandbox.path("backups/jobs/20990101T000000.000000Z-cut/data.avro");
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, b"Obj\x01").unwrap();

    let all: Vec<String> = backups
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all, made);
    let only_jobs: Vec<String> = backups
        .list(Some(jobs))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(only_jobs, [made[0].clone(), made[2].clone()]);

    let never_loaded = Sandbox::new();
    let nothing = backups
        .backup_warehouse(&never_loaded.target, jobs, Format::Avro)
        .await;
    assert!(nothing.unwrap().is_none());
}

#[tokio::test]
async fn a_mysql_target_is_backed_up_in_one_snapshot_with_the_same_rows() {
    let (url, _) = common::mysql_database().await;
    let sandbox = Sandbox::mysql_mirrored(&url);
    sandbox.ingest(&[&common::fixtures()]).await;
    let target =
        csvgate::sink::mysql::MysqlTarget::new(&url, None, Arc::new(Dictionary::hr())).unwrap();
    let backups = backups(&sandbox);
    let tables = Dictionary::hr().tables().to_vec();
    for format in [Format::Avro, Format::Parquet] {
        let made = backups
            .backup_mysql(&target, &tables, format)
            .await
            .unwrap();
        assert_eq!(made.len(), 3);
        for (manifest, table) in made.iter().zip(&tables) {
            assert_eq!(manifest.source.target, "mysql");
            assert_eq!(
                manifest.source.version, made[0].source.version,
                "one snapshot"
            );
            // The Delta mirror was loaded from the same rows.
            let expected = warehouse_rows(&sandbox, table).await;
            let read = read_independently(&backups, manifest);
            assert_eq!(
                read["rows"].as_array().unwrap(),
                &expected,
                "{}",
                table.name
            );
        }
    }
    let ledger_entries = target
        .query::<u64>("SELECT MAX(entry_id) FROM csvgate_runs")
        .await
        .unwrap();
    let listed = backups.list(None).await.unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.iter().all(|m| m.source.version == ledger_entries[0]));
}

#[tokio::test]
async fn a_damaged_snapshot_is_refused_naming_the_problem() {
    let sandbox = loaded_sandbox().await;
    let backups = backups(&sandbox);
    let employees = &Dictionary::hr_table("hired_employees");
    for format in [Format::Avro, Format::Parquet] {
        let made = backups
            .backup_warehouse(&sandbox.target, employees, format)
            .await;
        let manifest = made.unwrap().unwrap();
        let found = backups.find(employees, Some(&manifest.id)).await.unwrap();
        assert_eq!(backups.verify(&found).await.unwrap(), 1929);
        let folder = common::local(backups.location.url.as_str())
            .join("hired_employees")
            .join(&manifest.id);
        let data = folder.join(&manifest.files[0].name);
        let original = std::fs::read(&data).unwrap();
        let refusal = |expected: &str| {
            let expected = expected.to_owned();
            let backups = &backups;
            let manifest = &manifest;
            async move {
                let error = backups.verify(manifest).await.unwrap_err().to_string();
                assert!(
                    error.contains("refused") && error.contains(&expected),
                    "{format:?}: {error}"
                );
            }
        };

        let mut flipped = original.clone();
        flipped[original.len() / 2] ^= 0x01;
        std::fs::write(&data, &flipped).unwrap();
        refusal("SHA-256").await;

        std::fs::write(&data, &original[..original.len() - 100]).unwrap();
        refusal("truncated").await;

        std::fs::remove_file(&data).unwrap();
        refusal("is missing").await;

        std::fs::write(&data, &original).unwrap();
        let mut other_schema = manifest.clone();
        other_schema.schema[2].data_type = "Utf8".into();
        let error = backups.verify(&other_schema).await.unwrap_err().to_string();
        assert!(error.contains("is not the table's"), "{error}");

        let mut fewer = manifest.clone();
        fewer.rows -= 1;
        let error = backups.verify(&fewer).await.unwrap_err().to_string();
        assert!(
            error.contains("holds 1929 rows, the manifest says 1928"),
            "{error}"
        );
        assert_eq!(backups.verify(&manifest).await.unwrap(), 1929);
    }
    let missing = backups
        .find(employees, Some("20000101T000000.000000Z-none"))
        .await;
    assert!(missing.unwrap_err().to_string().contains("no snapshot"));
}

/// `csvgate backups ARGS --format json` on the sandbox's backups folder: its JSON answer.
fn backups_cli(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let out = common::csvgate_in(sandbox.dir.path())
        .arg("--backups")
        .arg(sandbox.path("backups"))
        .arg("backups")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(listed: &[Value]) -> Vec<&str> {
    listed
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn prune_keeps_the_newest_and_says_what_it_removes() {
    let sandbox = loaded_sandbox().await;
    let backups = backups(&sandbox);
    let jobs = &Dictionary::hr_table("jobs");
    let mut made = Vec::new();
    for _ in 0..3 {
        let manifest = backups.backup_warehouse(&sandbox.target, jobs, Format::Avro);
        made.push(manifest.await.unwrap().unwrap().id);
    }
    let departments = &Dictionary::hr_table("departments");
    let other = backups.backup_warehouse(&sandbox.target, departments, Format::Parquet);
    let other = other.await.unwrap().unwrap().id;

    let would = backups_cli(&sandbox, &["prune", "--keep-last", "1", "--dry-run"]);
    assert_eq!(ids(&would), [made[0].as_str(), made[1].as_str()]);
    assert_eq!(ids(&backups_cli(&sandbox, &["list"])).len(), 4);

    let removed = backups_cli(&sandbox, &["prune", "--keep-last", "1"]);
    assert_eq!(ids(&removed), ids(&would));
    let left = backups_cli(&sandbox, &["list"]);
    assert_eq!(ids(&left), [made[2].as_str(), other.as_str()]);
    let jobs_folder = sandbox.path("backups").join("jobs");
    let files: usize = (std::fs::read_dir(jobs_folder).unwrap().flatten())
        .map(|snapshot| std::fs::read_dir(snapshot.path()).unwrap().count())
        .sum();
    assert_eq!(files, 2, "the removed snapshots' files are gone");

    let nothing_kept = common::csvgate_in(sandbox.dir.path())
        .arg("--backups")
        .arg(sandbox.path("backups"))
        .args(["backups", "prune"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&nothing_kept.stderr);
    assert!(!nothing_kept.status.success());
    assert!(
        said.contains("a prune that keeps nothing is refused"),
        "{said}"
    );
}

#[tokio::test]
async fn a_schedule_that_fires_every_second_backs_up_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[backup]\nschedule = \"* * * * * *\"\nformat = \"parquet\"\nkeep_last = 2\nkeep_weekly = 0\n";
    std::fs::write(dir.path().join("csvgate.toml"), config).unwrap();
    let server = Server::start(dir.path(), &[]);
    load_fixtures(&server).await;
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let what = "four scheduled snapshots of jobs seen";
    let listed = common::eventually(Duration::from_secs(60), what, || async {
        let listed = get_json(&server, "/backups?table=jobs").await;
        let listed = listed.as_array().unwrap().clone();
        let mut seen = seen.lock().unwrap();
        for snapshot in &listed {
            let id = snapshot["id"].as_str().unwrap().to_owned();
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        (seen.len() >= 4)
            .then_some(listed)
            .ok_or(format!("seen {seen:?}"))
    })
    .await;
    let seen = seen.into_inner().unwrap();
    // Kept: the last two (a third only between a backup and its prune).
    assert!(listed.len() <= 3, "{listed:?}");
    let listed_ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(
        !listed_ids.contains(&seen[0].as_str()),
        "the oldest was pruned"
    );
    assert!(
        listed
            .iter()
            .all(|snapshot| snapshot["format"] == "parquet")
    );
    let stderr = server.stderr.lock().unwrap().clone();
    assert!(stderr.contains("scheduled backup done"), "{stderr}");
}
