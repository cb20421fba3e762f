//! API fuzzing: schemathesis (pinned in the venv `scripts/services` makes) generates requests
//! from the live server's `/openapi.json`, with a fixed seed and a bounded number of examples
//! per operation, against a server holding the fixtures: no answer may be a 5xx, and every
//! answer (error bodies included) must match the document.

mod common;

use std::process::Command;

use common::server::{KEY, Server, load_fixtures};

/// Seed of the generated cases: a failure replays with it.
const SEED: &str = "1";
/// Generated cases per operation in the fuzzing phase.
const EXAMPLES: &str = "5";

#[tokio::test]
async fn generated_requests_get_no_5xx_and_answers_the_document_describes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    load_fixtures(&server).await;
    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,\
                  response_schema_conformance";
    // One worker: with two threads, hypothesis parses its lambdas' source concurrently, which
    // CPython 3.11's `ast` can fail ("AST constructor recursion depth mismatch", seen once).
    let output = Command::new(common::venv_tool("schemathesis"))
        .args(["run", &server.url("/openapi.json")])
        .args(["--header", &format!("x-api-key: {KEY}")])
        .args(["--seed", SEED, "--max-examples", EXAMPLES, "--workers", "1"])
        .args(["--checks", checks])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures (seed {SEED}):\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("Tested: 11"), "{report}");
}
