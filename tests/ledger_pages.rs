//! A target answers a selection of its ledger (a status, a run, a window) itself, with the
//! entries that filtering the whole ledger would give, on the warehouse and on MariaDB.

mod common;

use std::sync::Arc;

use common::Sandbox;
use csvgate::ledger::{Entry, Selection, Status};
use csvgate::sink::Target;

/// The fixtures ingested twice (three `done`, then three `skipped`), and one upload waiting.
async fn ledger_of(sandbox: &Sandbox) -> Vec<Entry> {
    let fixtures = common::fixtures();
    let files = ["departments.csv", "jobs.csv", "hired_employees.csv"].map(|f| fixtures.join(f));
    let paths: Vec<&std::path::Path> = files.iter().map(|path| path.as_path()).collect();
    sandbox.ingest(&paths).await;
    sandbox.ingest(&paths).await;
    let target = &sandbox.pipeline.target;
    let waiting = target.runs().await.unwrap()[0].clone();
    let waiting = Entry::queued("a-waiting-run".into(), waiting.object, &waiting.table);
    target.record(&waiting).await.unwrap();
    target.runs().await.unwrap()
}

async fn selections_match_filtering(target: &Arc<dyn Target>, all: &[Entry]) {
    let done_run = all
        .iter()
        .find(|entry| entry.status == Status::Done)
        .unwrap();
    let selections = [
        Selection::default(),
        Selection::run(&done_run.run_id),
        Selection::run("a-waiting-run"),
        Selection {
            status: Some(Status::Skipped),
            offset: 1,
            limit: Some(1),
            ..Selection::default()
        },
        Selection {
            status: Some(Status::Queued),
            ..Selection::default()
        },
        Selection {
            offset: 2,
            limit: Some(3),
            ..Selection::default()
        },
        Selection::run("no-such-run' OR 'a' = 'a"),
    ];
    for selection in selections {
        let matching = all.iter().filter(|entry| selection.matches(entry)).cloned();
        let expected = selection.window(matching.collect());
        let selected = target.select_runs(&selection).await.unwrap();
        assert_eq!(selected, expected, "{selection:?}");
    }
}

#[tokio::test]
async fn the_warehouse_selects_entries_as_filtering_would() {
    let sandbox = Sandbox::new();
    let all = ledger_of(&sandbox).await;
    assert_eq!(all.len(), 7, "{all:?}");
    selections_match_filtering(&sandbox.pipeline.target, &all).await;
}

#[tokio::test]
async fn mariadb_selects_entries_as_filtering_would() {
    let (_, target) = common::mysql_database().await;
    let sandbox = Sandbox::with_target(Arc::new(target));
    let all = ledger_of(&sandbox).await;
    assert_eq!(all.len(), 7, "{all:?}");
    selections_match_filtering(&sandbox.pipeline.target, &all).await;
}
