//! Backups over HTTP and on a schedule: `POST /backups`, `GET /backups` and
//! `POST /tables/{table}/restore` on a running `csvgate serve`, and a `[backup] schedule` that
//! fires within the test.

mod common;

use std::time::Duration;

use common::server::{KEY, Server, client, get_json, load_fixtures, put};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
