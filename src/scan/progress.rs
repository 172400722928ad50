//! Progress while a fleet is scanned: an indicatif bar on a terminal, a plain line
//! every few seconds otherwise (cron, CI logs), nothing with `-q`. Always on stderr.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An animated bar (stderr is a terminal).
    Bar,
    /// A plain line every `interval` (stderr is a file or a pipe).
    Lines {
        /// Time between two lines.
        interval: Duration,
    },
    /// Nothing (`-q`).
    Quiet,
}

impl ProgressMode {
    /// The mode for this process: a bar on a terminal, lines every 5 s otherwise.
    pub fn detect(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            ProgressMode::Quiet
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines {
                interval: Duration::from_secs(5),
            }
        }
    }
}

/// How one finished host counts in the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Scanned, no failing check.
    Clean,
    /// Scanned, at least one failing check.
    Failing,
    /// Not scanned (unreachable, auth failed, timeout, protocol error, skipped).
    NotScanned,
}

#[derive(Debug, Default)]
struct Counts {
    done: AtomicU64,
    clean: AtomicU64,
    failing: AtomicU64,
    not_scanned: AtomicU64,
}

/// Live progress of one scan.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    started: Instant,
}

impl Progress {
    /// Starts showing progress for `total` hosts. Must be called inside a tokio
    /// runtime when the mode is [`ProgressMode::Lines`].
    pub fn start(total: usize, mode: ProgressMode) -> Self {
        let total = total as u64;
        let counts = Arc::new(Counts::default());
        let started = Instant::now();
        let mut bar = None;
        let mut ticker = None;
        match mode {
            ProgressMode::Quiet => {}
            ProgressMode::Bar => {
                let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} hosts {msg} · {per_sec} · ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                b.set_style(style);
                b.enable_steady_tick(Duration::from_millis(200));
                bar = Some(b);
            }
            ProgressMode::Lines { interval } => {
                let stop = CancellationToken::new();
                let (c, s) = (counts.clone(), stop.clone());
                let handle = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(interval);
                    tick.tick().await;
                    loop {
                        // Both branches are cancel safe.
                        tokio::select! {
                            _ = tick.tick() => eprintln!("{}", line(&c, total, started.elapsed())),
                            () = s.cancelled() => break,
                        }
                    }
                });
                ticker = Some((stop, handle));
            }
        }
        Self {
            total,
            counts,
            bar,
            ticker,
            started,
        }
    }

    /// Counts one finished host.
    pub fn host_done(&self, tally: Tally) {
        let c = &self.counts;
        c.done.fetch_add(1, Ordering::Relaxed);
        match tally {
            Tally::Clean => &c.clean,
            Tally::Failing => &c.failing,
            Tally::NotScanned => &c.not_scanned,
        }
        .fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "· ok {} · failing {} · not scanned {}",
                c.clean.load(Ordering::Relaxed),
                c.failing.load(Ordering::Relaxed),
                c.not_scanned.load(Ordering::Relaxed)
            ));
        }
    }

    /// Stops the display; in line mode prints a last line.
    pub async fn finish(mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((stop, handle)) = self.ticker.take() {
            stop.cancel();
            let _ = handle.await;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "{}",
                line(&self.counts, self.total, self.started.elapsed())
            );
        }
    }
}

fn line(c: &Counts, total: u64, elapsed: Duration) -> String {
    let done = c.done.load(Ordering::Relaxed);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if done == 0 || rate <= 0.0 {
        "unknown".to_owned()
    } else {
        let left = total.saturating_sub(done) as f64 / rate;
        humantime::format_duration(Duration::from_secs(left.round() as u64)).to_string()
    };
    format!(
        "progress: {done}/{total} hosts done (ok {}, failing {}, not scanned {}), {rate:.1} hosts/s, ETA {eta}",
        c.clean.load(Ordering::Relaxed),
        c.failing.load(Ordering::Relaxed),
        c.not_scanned.load(Ordering::Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_counts_each_kind_and_estimates_the_rest() {
        let c = Counts::default();
        for (n, tally) in [(3u64, &c.clean), (1, &c.failing), (1, &c.not_scanned)] {
            tally.fetch_add(n, Ordering::Relaxed);
            c.done.fetch_add(n, Ordering::Relaxed);
        }
        let text = line(&c, 10, Duration::from_secs(5));
        assert!(
            text.starts_with("progress: 5/10 hosts done (ok 3, failing 1, not scanned 1)"),
            "{text}"
        );
        assert!(text.contains("1.0 hosts/s"), "{text}");
        assert!(text.contains("ETA 5s"), "{text}");
    }

    #[tokio::test]
    async fn quiet_mode_counts_without_output() {
        let p = Progress::start(2, ProgressMode::Quiet);
        p.host_done(Tally::Clean);
        assert_eq!(p.counts.done.load(Ordering::Relaxed), 1);
        p.finish().await;
    }
}
