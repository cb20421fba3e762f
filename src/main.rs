//! The `csvgate` binary: parse, set up logging, run, turn errors into an exit code: 0 all
//! done, 1 some objects failed (their ledger entries say why), 2 could not run.

use std::process::ExitCode;

use csvgate::cli::{self, Cli};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// mimalloc, as datafusion-cli uses: a load makes and frees many small buffers on every core,
/// which glibc's allocator serves a good deal slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_with_settings();
    // A server logs its runs (START/END/REPORT) by default; a command only its problems.
    let serving = cli.command.is_long_running();
    init_logging(cli.log_json, cli.quiet, serving);
    match cli::run(cli).await.map_err(anyhow::Error::from) {
        Ok(code) => code,
        // `csvgate report q1 | head` is not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // Each layer already includes its cause in its message.
            eprintln!("csvgate: {error}");
            ExitCode::from(cli::COULD_NOT_RUN)
        }
    }
}

/// Logs go to stderr, `warn` and up unless `CSVGATE_LOG` says otherwise (e.g. `csvgate=info`);
/// the AWS credential chain's warnings about each provider it tried are left out, since a
/// failed SSM read says what to set.
/// The pipeline's stages are `debug` spans: with `CSVGATE_LOG=csvgate=debug` each one logs its
/// time when it closes, which is how to tell where a slow run spends it.
fn init_logging(json: bool, quiet: bool, serving: bool) {
    let default = match (quiet, serving) {
        (true, _) => "error",
        (false, true) => "warn,csvgate=info,aws_config=error",
        (false, false) => "warn,aws_config=error",
    };
    let filter = EnvFilter::try_from_env("CSVGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
