//! Restores on both targets, through the library, `csvgate` and `POST /tables/{table}/restore`:
//! a table comes back row for row from each format, a damaged snapshot or one that would orphan
//! rows is refused with the table untouched, a restore killed before its commit leaves the
//! table as it was, and `as_of` brings back a version of the table's history.

mod common;

use std::process::Command;

use common::Sandbox;
use common::backups::{backups, mysql_rows, warehouse_rows};
use common::server::{KEY, Server, client, get_json, load_fixtures, put};
use csvgate::backup::{BackupError, Format, Manifest, Restored, restore_as_of};
use csvgate::config::Key;
use csvgate::dictionary::{Dictionary, TableRef};
use csvgate::ledger::Status;
use csvgate::sink::delta::AsOf;
use csvgate::sink::mysql::MysqlTarget;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Where a test restores into.
enum Side {
    Warehouse,
    Mariadb { url: String, target: MysqlTarget },
}

/// A sandbox loaded with the fixtures, on one side.
struct Case {
    sandbox: Sandbox,
    side: Side,
}

impl Case {
    async fn warehouse() -> Case {
        Case::loaded(Sandbox::new(), Side::Warehouse).await
    }

    async fn mariadb() -> Case {
        let (url, target) = common::mysql_database().await;
        let sandbox = Sandbox::with_config(|config| config.set(Key::Target, url.clone()));
        Case::loaded(sandbox, Side::Mariadb { url, target }).await
    }

    async fn loaded(sandbox: Sandbox, side: Side) -> Case {
        sandbox.ingest(&[&common::fixtures()]).await;
        Case { sandbox, side }
    }

    async fn both() -> [Case; 2] {
        [Case::warehouse().await, Case::mariadb().await]
    }

    fn name(&self) -> &'static str {
        match self.side {
            Side::Warehouse => "warehouse",
            Side::Mariadb { .. } => "mariadb",
        }
    }

    /// Every row of `table`, every column, ordered by id.
    async fn rows(&self, table: &str) -> Vec<String> {
        let table = &Dictionary::hr_table(table);
        match &self.side {
            Side::Warehouse => (warehouse_rows(&self.sandbox, table).await.iter())
                .map(|row| row.to_string())
                .collect(),
            Side::Mariadb { target, .. } => mysql_rows(target, table).await,
        }
    }

    async fn backup(&self, table: &str, format: Format) -> Manifest {
        let table = &Dictionary::hr_table(table);
        let backups = backups(&self.sandbox);
        match &self.side {
            Side::Warehouse => (backups.backup_warehouse(&self.sandbox.target, table, format))
                .await
                .unwrap()
                .unwrap(),
            Side::Mariadb { target, .. } => {
                let made = backups
                    .backup_mysql(target, &[TableRef::clone(table)], format)
                    .await;
                made.unwrap().remove(0)
            }
        }
    }

    async fn restore(
        &self,
        table: &str,
        snapshot: &str,
        force: bool,
    ) -> Result<Restored, BackupError> {
        let table = &Dictionary::hr_table(table);
        let target = self.sandbox.pipeline.target.as_ref();
        (backups(&self.sandbox))
            .restore(target, table, Some(snapshot), force)
            .await
    }

    /// Deletes the employees with ids up to 20, changes two and adds one.
    async fn change_employees(&self) {
        let changes = self.sandbox.file(
            "hired_employees_changes.csv",
            b"21,Changed One,2021-03-01T10:00:00Z,1,1\n\
              22,Changed Two,2021-03-02T10:00:00Z,2,2\n\
              5000,Someone New,2021-07-01T10:00:00Z,3,3\n",
        );
        self.sandbox.ingest(&[&changes]).await;
        match &self.side {
            Side::Warehouse => {
                let url = url::Url::from_directory_path(self.sandbox.path("warehouse"));
                let url = url.unwrap().join("hired_employees/").unwrap();
                let table = deltalake::open_table(url).await.unwrap();
                table.delete().with_predicate("id <= 20").await.unwrap();
            }
            Side::Mariadb { target, .. } => {
                let deleted = "DELETE FROM hired_employees WHERE id <= 20";
                target
                    .exec(deleted, mysql_async::Params::Empty)
                    .await
                    .unwrap();
            }
        }
    }

    /// The `csvgate` command on this case's folders and target.
    fn csvgate(&self, args: &[&str]) -> Command {
        let mut command = common::csvgate_in(self.sandbox.dir.path());
        for bucket in ["landing", "invalid", "warehouse", "backups"] {
            let folder = self.sandbox.path(bucket);
            command.arg(format!("--{bucket}")).arg(folder);
        }
        if let Side::Mariadb { url, .. } = &self.side {
            command.arg("--target").arg(url);
        }
        command.args(args);
        command
    }
}

#[tokio::test]
async fn each_format_brings_the_table_back_row_for_row_on_each_target() {
    for case in Case::both().await {
        for format in [Format::Avro, Format::Parquet] {
            let snapshot = case.backup("hired_employees", format).await;
            let original = case.rows("hired_employees").await;
            case.change_employees().await;
            let changed = case.rows("hired_employees").await;
            assert!(changed.len() < original.len(), "{}", case.name());
            assert!(changed.iter().any(|row| row.contains("Someone New")));

            let restored = case.restore("hired_employees", &snapshot.id, false).await;
            let restored = restored.unwrap();
            assert_eq!(restored.rows, 1929);
            assert!(restored.dangling.is_empty());
            assert_eq!(
                case.rows("hired_employees").await,
                original,
                "{} {format:?}",
                case.name()
            );

            let runs = case.sandbox.pipeline.target.runs().await.unwrap();
            let entry = runs.last().unwrap();
            assert_eq!(entry.status, Status::Restored);
            assert_eq!(entry.run_id, restored.run_id);
            assert_eq!(entry.object.version, snapshot.id);
            assert!(entry.object.key.starts_with("hired_employees/"));
            assert_eq!((entry.rows_read, entry.rows_valid), (1929, 1929));
        }
    }
}

#[tokio::test]
async fn a_damaged_snapshot_is_refused_and_the_table_left_untouched() {
    for case in Case::both().await {
        let snapshot = case.backup("hired_employees", Format::Avro).await;
        case.change_employees().await;
        let before = case.rows("hired_employees").await;
        let folder = common::local(backups(&case.sandbox).location.url.as_str())
            .join("hired_employees")
            .join(&snapshot.id);
        let (data, manifest) = (folder.join("data.avro"), folder.join("manifest.json"));
        let (original, original_manifest) = (
            std::fs::read(&data).unwrap(),
            std::fs::read(&manifest).unwrap(),
        );
        let mut flipped = original.clone();
        flipped[original.len() / 2] ^= 0x01;
        let other_schema = String::from_utf8(original_manifest.clone())
            .unwrap()
            .replacen("\"Int64\"", "\"Utf8\"", 1);
        let problems = ["SHA-256", "truncated", "is missing", "is not the table's"];
        for problem in problems {
            match problem {
                "SHA-256" => std::fs::write(&data, &flipped).unwrap(),
                "truncated" => std::fs::write(&data, &original[..original.len() - 100]).unwrap(),
                "is missing" => std::fs::remove_file(&data).unwrap(),
                _ => std::fs::write(&manifest, &other_schema).unwrap(),
            }
            let error = case.restore("hired_employees", &snapshot.id, true).await;
            let error = error.unwrap_err().to_string();
            assert!(
                error.contains("refused") && error.contains(problem),
                "{}: {error}",
                case.name()
            );
            assert_eq!(
                case.rows("hired_employees").await,
                before,
                "{} {problem}",
                case.name()
            );
            std::fs::write(&data, &original).unwrap();
            std::fs::write(&manifest, &original_manifest).unwrap();
        }
        assert!(
            case.restore("hired_employees", &snapshot.id, false)
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn a_restore_that_would_orphan_rows_says_which_and_needs_force() {
    for case in Case::both().await {
        // A snapshot of departments from before department 12 existed.
        let twelve = case.rows("departments").await;
        let all = std::fs::read_to_string(common::fixtures().join("departments.csv")).unwrap();
        let eleven: String = all
            .lines()
            .filter(|line| !line.starts_with("12,"))
            .map(|line| format!("{line}\n"))
            .collect();
        let employees = case.rows("hired_employees").await;
        let employees_snapshot = case.backup("hired_employees", Format::Parquet).await;
        let snapshot = {
            let sandbox = Sandbox::new();
            sandbox
                .ingest(&[&sandbox.file("departments.csv", eleven.as_bytes())])
                .await;
            let made = backups(&sandbox)
                .backup_warehouse(
                    &sandbox.target,
                    &Dictionary::hr_table("departments"),
                    Format::Avro,
                )
                .await;
            let made = made.unwrap().unwrap();
            let from = common::local(backups(&sandbox).location.url.as_str())
                .join("departments")
                .join(&made.id);
            let to = case
                .sandbox
                .path("backups")
                .join("departments")
                .join(&made.id);
            std::fs::create_dir_all(&to).unwrap();
            for file in ["data.avro", "manifest.json"] {
                std::fs::copy(from.join(file), to.join(file)).unwrap();
            }
            made
        };

        let error = case
            .restore("departments", &snapshot.id, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("restoring departments refused, nothing was changed: rows of hired_employees would point at 1 id: 12 through department_id (--force restores anyway)"),
            "{}: {error}",
            case.name()
        );
        assert_eq!(case.rows("departments").await, twelve);

        let forced = case
            .restore("departments", &snapshot.id, true)
            .await
            .unwrap();
        assert_eq!(
            forced.dangling,
            ["rows of hired_employees would point at 1 id: 12 through department_id"]
        );
        assert_eq!(case.rows("departments").await.len(), 11, "{}", case.name());
        assert_eq!(case.rows("hired_employees").await, employees);

        // The other way round: employees whose department is gone.
        let error = case
            .restore("hired_employees", &employees_snapshot.id, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("its rows' department_id point at 1 id: 12 the table departments lacks"),
            "{}: {error}",
            case.name()
        );
    }
}

#[tokio::test]
async fn a_restore_killed_before_its_commit_leaves_the_table_as_it_was() {
    for case in Case::both().await {
        let snapshot = case.backup("hired_employees", Format::Parquet).await;
        let original = case.rows("hired_employees").await;
        case.change_employees().await;
        let before = case.rows("hired_employees").await;

        let mut command = case.csvgate(&["restore", "hired_employees", "--snapshot", &snapshot.id]);
        let point = csvgate::fault::RESTORE_BEFORE_COMMIT;
        let mut restore = common::spawn_paused_at(&mut command, point);
        // Mid-restore, others still see the table as it was.
        assert_eq!(
            case.rows("hired_employees").await,
            before,
            "{}",
            case.name()
        );
        restore.kill().unwrap();
        restore.wait().unwrap();
        assert_eq!(
            case.rows("hired_employees").await,
            before,
            "{}",
            case.name()
        );

        let out = case
            .csvgate(&["restore", "hired_employees"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.starts_with(&format!(
                "hired_employees restored from snapshot {}: 1929 rows (run ",
                snapshot.id
            )),
            "{said}"
        );
        assert_eq!(
            case.rows("hired_employees").await,
            original,
            "{}",
            case.name()
        );
    }
}

#[tokio::test]
async fn history_names_each_version_and_as_of_brings_one_back_exactly() {
    let case = Case::warehouse().await;
    let employees = &Dictionary::hr_table("hired_employees");
    let warehouse = &case.sandbox.target;
    let history = warehouse.history(employees).await.unwrap();
    let loaded = &history[0];
    assert_eq!(loaded.operation, "WRITE");
    assert!(
        loaded
            .object
            .as_deref()
            .unwrap()
            .ends_with("/hired_employees.csv")
    );
    let runs = case.sandbox.pipeline.target.runs().await.unwrap();
    let load = runs
        .iter()
        .find(|entry| entry.table == "hired_employees")
        .unwrap();
    assert_eq!(loaded.run.as_deref(), Some(load.run_id.as_str()));
    assert_eq!(history.last().unwrap().version, 0, "{history:?}");

    let original = case.rows("hired_employees").await;
    case.change_employees().await;
    assert_ne!(case.rows("hired_employees").await, original);
    let at = loaded.timestamp.unwrap();
    let by_time = warehouse.version_as_of(employees, AsOf::Time(at)).await;
    assert_eq!(by_time.unwrap(), loaded.version);

    let engines = csvgate::report::Engines {
        warehouse: warehouse.clone(),
        mysql: None,
        ballista: None,
        reports: Default::default(),
    };
    let restored = restore_as_of(&engines, employees, AsOf::Version(loaded.version), false);
    let restored = restored.await.unwrap();
    assert_eq!(restored.from, format!("version {}", loaded.version));
    assert_eq!(case.rows("hired_employees").await, original);
    let newest = &warehouse.history(employees).await.unwrap()[0];
    assert_eq!(newest.operation, "RESTORE");
    assert_eq!(newest.run.as_deref(), Some(restored.run_id.as_str()));
    let runs = case.sandbox.pipeline.target.runs().await.unwrap();
    assert_eq!(runs.last().unwrap().status, Status::Restored);

    let shown = case
        .csvgate(&["history", "hired_employees", "--format", "json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown[0]["operation"], "RESTORE");
    assert_eq!(shown[0]["run_id"], restored.run_id.as_str());

    let past = case
        .csvgate(&["restore", "hired_employees", "--as-of", "999"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&past.stderr);
    assert!(!past.status.success());
    assert!(
        said.contains("Version(999) is not among the versions its log holds (0 to "),
        "{said}"
    );
    let before_time = case
        .csvgate(&[
            "restore",
            "hired_employees",
            "--as-of",
            "2001-01-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&before_time.stderr);
    assert!(
        said.contains("is not among the versions its log holds"),
        "{said}"
    );
}

#[tokio::test]
async fn as_of_is_refused_on_a_mysql_target() {
    let case = Case::mariadb().await;
    let out = case
        .csvgate(&["restore", "jobs", "--as-of", "1"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("MySQL, which keeps no versions"), "{said}");
}

/// `POST path` with the key and a JSON body: the status and the answer.
async fn post(server: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    let request = client().post(server.url(path)).header("x-api-key", KEY);
    let response = request.json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The job named by `id` in the server's warehouse, through the CLI.
fn job(dir: &std::path::Path, id: u32) -> String {
    let sql = format!("SELECT job FROM jobs WHERE id = {id}");
    let out = common::succeeded(common::csvgate_in(dir).args(["sql", &sql, "--format", "csv"]));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn backups_and_restores_over_http_need_a_key_and_say_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    load_fixtures(&server).await;
    for (method, path) in [
        (reqwest::Method::POST, "/backups"),
        (reqwest::Method::GET, "/backups"),
        (reqwest::Method::POST, "/tables/jobs/restore"),
    ] {
        let response = client()
            .request(method, server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let no_snapshots = get_json(&server, "/backups").await;
    assert_eq!(no_snapshots, json!([]));

    let (status, made) = post(
        &server,
        "/backups",
        json!({"tables": ["jobs"], "format": "parquet"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let snapshot = &made[0];
    assert_eq!(
        (&snapshot["table"], &snapshot["format"], &snapshot["rows"]),
        (&json!("jobs"), &json!("parquet"), &json!(183))
    );
    let listed = get_json(&server, "/backups?table=jobs").await;
    assert_eq!(listed, made);

    let original = job(dir.path(), 1);
    let changed = put(
        &server,
        "jobs_change.csv",
        b"1,Changed Job\n".to_vec(),
        true,
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(job(dir.path(), 1).contains("Changed Job"));

    let (status, restored) = post(&server, "/tables/jobs/restore", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    let from = format!("snapshot {}", snapshot["id"].as_str().unwrap());
    assert_eq!(
        (&restored["from"], &restored["rows"]),
        (&json!(from), &json!(183))
    );
    assert_eq!(job(dir.path(), 1), original);
    let runs = get_json(&server, "/runs").await;
    let last = runs.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["status"], &last["run_id"]),
        (&json!("restored"), &restored["run_id"])
    );

    let refusals = [
        (
            "/tables/nothing/restore",
            json!({}),
            StatusCode::NOT_FOUND,
            "no table",
        ),
        (
            "/tables/jobs/restore",
            json!({"snapshot": "19700101T000000.000000Z-none"}),
            StatusCode::NOT_FOUND,
            "no snapshot",
        ),
        (
            "/tables/jobs/restore",
            json!({"as_of": "999"}),
            StatusCode::CONFLICT,
            "not among the versions",
        ),
        (
            "/tables/jobs/restore",
            json!({"as_of": "yesterday"}),
            StatusCode::BAD_REQUEST,
            "expected a version number",
        ),
        (
            "/tables/jobs/restore",
            json!({"snapshots": "latest"}),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
    ];
    for (path, body, expected, message) in refusals {
        let (status, answer) = post(&server, path, body).await;
        assert_eq!(status, expected, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{answer}"
        );
    }
    assert_eq!(job(dir.path(), 1), original);
}
