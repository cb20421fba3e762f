//! Uploads that wait together in the queue, as a burst of clients makes them, so that the
//! worker takes them as one group.

use std::sync::Arc;

use csvgate::ledger::Entry;
use csvgate::pipeline::{IngestOptions, Pipeline};
use csvgate::queue::Queue;

/// Accepts `files` (key, bytes) on a queue over `pipeline` while its worker is held between
/// two runs ([`Queue::exclusive`]), so they wait behind each other; then lets it go and
/// returns the runs' ending entries, in upload order.
pub async fn upload_together(
    pipeline: &Arc<Pipeline>,
    files: Vec<(String, Vec<u8>)>,
) -> Vec<Entry> {
    upload_together_with(pipeline, files, IngestOptions::default()).await
}

/// [`upload_together`] on a queue with `options` (say, a smaller `group_max`).
pub async fn upload_together_with(
    pipeline: &Arc<Pipeline>,
    files: Vec<(String, Vec<u8>)>,
    options: IngestOptions,
) -> Vec<Entry> {
    let (queue, worker) = Queue::start(Arc::clone(pipeline), options).await.unwrap();
    let accepting = async {
        let mut accepted = Vec::new();
        for (key, bytes) in files {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
            let entry = queue.accept_upload(&key, body, u64::MAX).await;
            accepted.push(entry.unwrap_or_else(|error| panic!("{key}: {error}")));
        }
        accepted
    };
    let accepted = queue.exclusive(accepting).await;
    let mut ended = Vec::new();
    for queued in &accepted {
        let finished = queue.finished(&queued.run_id).await;
        ended.push(finished.unwrap_or_else(|| panic!("{}: never ended", queued.object.key)));
    }
    queue.close();
    worker.await.unwrap();
    ended
}
