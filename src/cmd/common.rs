//! Pieces every fleet subcommand shares: logging to stderr, Ctrl-C handling, a
//! runtime.

use fleetscan::cli::{LogFormat, OutputArgs};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Sets up tracing on stderr: warnings by default, `-v` info, `-vv` debug,
/// `-vvv` trace; `RUST_LOG` wins when set. Logs carry hosts, actions and timings,
/// never headers, bodies or passwords.
pub(crate) fn init_logging(out: &OutputArgs) {
    let level = match out.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("fleetscan={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // try_init: a second call (tests, demo) keeps the first subscriber.
    let _ = match out.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// A multi-threaded runtime for one subcommand.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// Runs `work` to its end on one of `runtime`'s worker threads and waits for it.
///
/// `block_on` would poll `work` on the calling thread, outside the worker pool:
/// the fan-out loop inside it is woken once or twice per host (a finished host,
/// a free concurrency slot), and each of those wake-ups would cross from a worker
/// to this thread. Spawned, it is woken where the host finished.
///
/// # Errors
/// `work` panicked.
pub(crate) fn run_on_workers<F>(
    runtime: &tokio::runtime::Runtime,
    work: F,
) -> anyhow::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime.block_on(runtime.spawn(work)).map_err(|e| {
        anyhow::anyhow!(
            "internal error: the hosts' work stopped unexpectedly ({e}); please report it"
        )
    })
}

/// Cancels the returned token on the first SIGINT or SIGTERM: running hosts then
/// clean up and the reports are written. A second signal exits at once with 130.
/// The handlers are installed before this returns, so no early signal is lost.
pub(crate) fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let mut signals = Signals::watch();
    tokio::spawn(async move {
        signals.next().await;
        eprintln!(
            "fleetscan: interrupted; finishing running hosts and writing reports (press Ctrl-C again to stop at once)"
        );
        cancel.cancel();
        signals.next().await;
        eprintln!("fleetscan: stopped at once");
        std::process::exit(130);
    });
    token
}

/// SIGINT and SIGTERM, watched from creation on.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn watch() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(i), Ok(t)) => Some((i, t)),
                _ => {
                    tracing::warn!(
                        "cannot watch SIGINT/SIGTERM; Ctrl-C will stop without writing reports"
                    );
                    None
                }
            };
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        match &mut self.streams {
            // Both recv() futures are cancel safe: a signal not taken stays queued.
            Some((interrupt, terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Raises the open-file soft limit to the hard limit: every host in flight holds
/// a socket. Returns the limit now in force.
pub(crate) fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit: {e}");
            0
        }
    }
}

/// Prints to stdout; a closed pipe (`fleetscan … | head`) ends quietly.
pub(crate) fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
