//! A running `csvgate serve` on an ephemeral port, and a real HTTP client for it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

/// The API key every test server takes.
pub const KEY: &str = "test-key-7f3a";

/// A running `csvgate serve` in `dir`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// What the server printed so far: the access log (stdout) and its logs (stderr).
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

/// Copies every line of `from` into a shared string, so the server never blocks on a pipe.
pub fn collect_lines(from: impl BufRead + Send + 'static) -> Arc<Mutex<String>> {
    let lines = Arc::new(Mutex::new(String::new()));
    let into = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in from.lines().map_while(Result::ok) {
            let mut all = into.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    lines
}

impl Server {
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(dir, extra, &[])
    }

    /// A server whose environment also has `env` (say, the AWS settings of loopback servers).
    pub fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, String)]) -> Server {
        let mut child = super::csvgate_in(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--api-key", KEY])
            .args(extra)
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let base = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "server exited before listening"
            );
            if let Some(address) = line.trim().strip_prefix("csvgate: listening on ") {
                break address.to_owned();
            }
        };
        let stdout = collect_lines(BufReader::new(child.stdout.take().unwrap()));
        Server {
            child,
            base,
            stdout,
            stderr: collect_lines(stderr),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until the server says it paused at `point` (`CSVGATE_PAUSE_AT`).
    pub async fn paused_at(&self, point: &str) {
        let said = format!("paused at {point}");
        let paused = || async {
            let logged = self.stderr.lock().unwrap().clone();
            logged.contains(&said).then_some(()).ok_or(logged)
        };
        super::eventually(Duration::from_secs(30), &said, paused).await;
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A file of `fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    std::fs::read(path.join(name)).unwrap()
}

/// The three fixture files, uploaded in order, each waited for: their ended runs.
pub async fn load_fixtures(server: &Server) -> Vec<Value> {
    let mut runs = Vec::new();
    for name in ["departments.csv", "jobs.csv", "hired_employees.csv"] {
        let response = put(server, name, fixture(name), true).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        runs.push(response.json::<Value>().await.unwrap());
    }
    runs
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn put(server: &Server, key: &str, body: Vec<u8>, wait: bool) -> reqwest::Response {
    let query = if wait { "?wait=true" } else { "" };
    let url = server.url(&format!("/globant-landing/{key}{query}"));
    send(client().put(url), "*/csv", body).await
}

/// `request` with the API key, `content_type` and `body`, sent.
pub async fn send(
    request: reqwest::RequestBuilder,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let request = request.header("x-api-key", KEY);
    let request = request.header("content-type", content_type).body(body);
    request.send().await.unwrap()
}

pub async fn get_json(server: &Server, path: &str) -> Value {
    let response = client()
        .get(server.url(path))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The run at `location` (`/runs/{id}`) once it has ended; fails after a minute.
pub async fn wait_for_run(server: &Server, location: &str) -> Value {
    let what = format!("run {location} ended");
    super::eventually(Duration::from_secs(60), &what, || async {
        let run = get_json(server, location).await;
        match run["status"].as_str() {
            Some("queued" | "running") => Err(run.to_string()),
            _ => Ok(run),
        }
    })
    .await
}
