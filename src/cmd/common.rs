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

/// The variable tokio reads for its number of worker threads.
const WORKER_THREADS_ENV: &str = "TOKIO_WORKER_THREADS";

/// A multi-threaded runtime for one subcommand: a worker per core, or as many as
/// `TOKIO_WORKER_THREADS` says.
///
/// # Errors
/// `TOKIO_WORKER_THREADS` is set to something other than a whole number above 0
/// (tokio would panic on it), or the runtime cannot start.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // Read here rather than by tokio, which panics on a value it cannot use; set
    // explicitly, tokio does not read the variable again.
    if let Some(n) = worker_threads(std::env::var_os(WORKER_THREADS_ENV))? {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// The worker count `TOKIO_WORKER_THREADS` asks for (`None` when it is not set).
fn worker_threads(value: Option<std::ffi::OsString>) -> anyhow::Result<Option<usize>> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.to_str().map(|s| s.trim().parse::<usize>()) {
        Some(Ok(n)) if n > 0 => Ok(Some(n)),
        _ => Err(anyhow::anyhow!(
            "{WORKER_THREADS_ENV}={value:?} is not a number of worker threads; \
             set it to a whole number above 0, or unset it to get one per core"
        )),
    }
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

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[test]
    fn unset_worker_threads_leaves_the_count_to_tokio() {
        assert_eq!(worker_threads(None).ok(), Some(None));
    }

    #[test]
    fn worker_threads_takes_a_whole_number_above_zero() {
        assert_eq!(worker_threads(Some("3".into())).ok(), Some(Some(3)));
        assert_eq!(worker_threads(Some(" 1 ".into())).ok(), Some(Some(1)));
    }

    #[test]
    fn bad_worker_threads_is_an_error_naming_the_variable_and_the_fix() {
        for bad in ["", "0", "abc", "-2", "1.5"] {
            let err = worker_threads(Some(OsString::from(bad)))
                .expect_err(bad)
                .to_string();
            assert!(err.starts_with("TOKIO_WORKER_THREADS="), "{bad}: {err}");
            assert!(err.contains("whole number above 0"), "{bad}: {err}");
        }
    }
}
