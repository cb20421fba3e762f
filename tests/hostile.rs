//! Hostile and unlucky clients against a real `csvgate serve` on loopback, each with
//! test-sized limits: idle connections, oversized bodies and lines, a crowd of uploads, a
//! client that stalls through a shutdown. Every wait is for a state, bounded.

mod common;

use std::path::Path;
use std::time::Duration;

use common::server::{KEY, Server, client, get_json, put, wait_for_run};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server in `dir` with `config` as its `csvgate.toml`.
fn serve_with(dir: &Path, config: &str) -> Server {
    std::fs::write(dir.join("csvgate.toml"), config).unwrap();
    Server::start(dir, &[])
}

/// Files in the landing folder, which uploads go to.
fn landed(dir: &Path) -> Vec<String> {
    let landing = dir.join("csvgate-data/landing");
    let mut files = Vec::new();
    let mut folders = vec![landing];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            match entry.file_type().unwrap().is_dir() {
                true => folders.push(entry.path()),
                false => files.push(entry.path().display().to_string()),
            }
        }
    }
    files
}

/// Polls `/healthz` until `ready` holds for its body, for at most 30 s.
async fn health_until(server: &Server, ready: impl Fn(&Value) -> bool) -> Value {
    common::eventually(
        Duration::from_secs(30),
        "/healthz in the state waited for",
        || async {
            let health = get_json(server, "/healthz").await;
            if ready(&health) {
                Ok(health)
            } else {
                Err(health.to_string())
            }
        },
    )
    .await
}

#[tokio::test]
async fn idle_connections_are_closed_by_the_header_timeout_and_healthz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(dir.path(), "[api]\nheader_timeout_secs = 1\n");
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let health = get_json(&server, "/healthz").await;
    assert_eq!(health["status"], "ok", "{health}");
    // Each idle connection is closed by the server: a read sees the end of the stream.
    let closed = idle.into_iter().map(|mut stream| async move {
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer)).await;
        matches!(read, Ok(Ok(_)) | Ok(Err(_)))
    });
    let closed = futures::future::join_all(closed).await;
    assert!(
        closed.iter().all(|&closed| closed),
        "some idle connections stayed open"
    );
    assert_eq!(get_json(&server, "/healthz").await["status"], "ok");
}

#[tokio::test]
async fn a_body_twice_the_upload_limit_is_refused_and_leaves_nothing_in_the_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 4 << 20;
    let server = serve_with(dir.path(), &format!("[api]\nmax_upload_bytes = {limit}\n"));
    let line = b"1,A job\n";
    let body: Vec<u8> = line.iter().copied().cycle().take(2 * limit).collect();
    let response = put(&server, "jobs.csv", body, false).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{error}"
    );
    assert_eq!(landed(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_line_over_the_record_limit_is_a_rejected_row_and_the_rows_after_it_load() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(dir.path(), "[ingest]\nmax_record_bytes = 1024\n");
    let long = format!("2,{}\n", "x".repeat(1 << 20));
    let body = format!("1,Cook\n{long}3,Clerk\n4,Driver\n");
    let response = put(&server, "jobs.csv", body.into_bytes(), true).await;
    assert_eq!(response.status(), StatusCode::OK);
    let run: Value = response.json().await.unwrap();
    let entry = &run["entries"][0];
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(
        (entry["rows_valid"].as_u64(), entry["rows_invalid"].as_u64()),
        (Some(3), Some(1))
    );
    let invalid = dir.path().join("csvgate-data");
    let invalid = invalid.join(entry["invalid_object"].as_str().unwrap());
    let rejected = common::data_rows(&invalid);
    assert_eq!(&rejected[0][2], "2");
    assert_eq!(&rejected[0][3], "row: longer than 1024 bytes");
}

#[tokio::test]
async fn fifty_uploads_past_a_bound_of_four_are_told_to_retry_and_the_four_load() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(dir.path(), "[api]\nmax_concurrent_uploads = 4\n");
    // Each body sends its first rows, then holds until released: four uploads fill the slots.
    let (release, released) = tokio::sync::watch::channel(false);
    let uploads = (0..50).map(|n| {
        let mut released = released.clone();
        let first: Result<Vec<u8>, std::io::Error> = Ok(format!("{n},Job {n}\n").into_bytes());
        let rest = async move {
            let _ = released.wait_for(|&go| go).await;
            Ok::<_, std::io::Error>(format!("{},Job\n", n + 100).into_bytes())
        };
        let body = futures::stream::iter([first]).chain(futures::stream::once(rest));
        let url = server.url(&format!("/globant-landing/jobs/{n}.csv"));
        let request = client()
            .put(url)
            .header("x-api-key", KEY)
            .header("content-type", "*/csv");
        tokio::spawn(request.body(reqwest::Body::wrap_stream(body)).send())
    });
    let uploads: Vec<_> = uploads.collect();
    health_until(&server, |health| health["uploads"] == 4).await;
    // Every other upload must have been answered before the four go on: one still connecting
    // when a slot frees would take it.
    common::eventually(Duration::from_secs(30), "46 uploads answered", || async {
        let answered = uploads.iter().filter(|upload| upload.is_finished()).count();
        (answered == 46)
            .then_some(())
            .ok_or(format!("{answered} answered"))
    })
    .await;
    release.send_replace(true);
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for upload in uploads {
        let response = upload.await.unwrap().unwrap();
        match response.status() {
            StatusCode::ACCEPTED => {
                accepted.push(response.headers()["location"].to_str().unwrap().to_owned())
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                assert!(response.headers().contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("an upload got {other}"),
        }
    }
    assert_eq!((accepted.len(), refused), (4, 46));
    for location in accepted {
        assert_eq!(wait_for_run(&server, &location).await["status"], "done");
    }
}

#[tokio::test]
async fn sigterm_with_a_stalled_upload_exits_within_the_shutdown_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve_with(
        dir.path(),
        "[api]\nshutdown_deadline_secs = 2\nbody_timeout_secs = 600\n",
    );
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "PUT /globant-landing/jobs.csv HTTP/1.1\r\nhost: {address}\r\nx-api-key: {KEY}\r\ncontent-length: 100000\r\n\r\n1,Cook\n"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    health_until(&server, |health| health["uploads"] == 1).await;
    let pid = server.child.id().to_string();
    common::succeeded(std::process::Command::new("kill").args(["-TERM", &pid]));
    // Bounded wait for the exit: the deadline is 2 s, so 30 s means it ignored the deadline.
    let child = &mut server.child;
    let status = common::eventually(Duration::from_secs(30), "the server exited", || {
        let exited = child.try_wait().unwrap();
        std::future::ready(exited.ok_or_else(|| "still running".to_owned()))
    })
    .await;
    assert!(status.success(), "{status}");
    assert!(
        server
            .stderr
            .lock()
            .unwrap()
            .contains("shutdown deadline reached")
    );
    assert_eq!(landed(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn runs_come_in_pages_filtered_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    common::server::load_fixtures(&server).await;
    let all = get_json(&server, "/runs").await;
    let all = all.as_array().unwrap().clone();
    let mut paged = Vec::new();
    let mut next = Some("/runs?limit=2".to_owned());
    while let Some(path) = next.take() {
        let response = client()
            .get(server.url(&path))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_owned()
        });
        let page: Value = response.json().await.unwrap();
        assert!(page.as_array().unwrap().len() <= 2);
        paged.extend(page.as_array().unwrap().iter().cloned());
    }
    assert_eq!(paged, all);
    let done = get_json(&server, "/runs?status=done").await;
    let done = done.as_array().unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done.iter().all(|entry| entry["status"] == "done"));
    let bad = client()
        .get(server.url("/runs?limit=0"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn healthz_reports_the_worker_the_queue_and_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let health = get_json(&server, "/healthz").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["worker"], "running");
    assert_eq!(health["target"], "ok");
    assert_eq!(health["queued"], 0);
}
