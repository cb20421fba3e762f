//! Log lines as JSON, one object a line, for log stores that query fields (CloudWatch Logs
//! Insights, Loki): each line carries the fields of the spans it was written in, so the
//! pipeline's `object` span gives every line of one object's processing its `run_id`.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// A JSON-lines subscriber writing to `writer`; `CSVGATE_LOG` beats `default_filter`.
pub fn json_lines<W>(default_filter: &str, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_env("CSVGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
        .finish()
}
