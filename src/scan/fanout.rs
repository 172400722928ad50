//! The bounded fan-out: at most `concurrency` hosts at once, a wall-clock deadline
//! per host that always holds, retries for transient failures, and cancellation
//! that stops launching and lets running hosts clean up.
//!
//! Every host ends in exactly one record, in inventory order; one host's failure
//! never touches another's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout_at};
use tokio_util::sync::CancellationToken;

use super::plan::HostPlan;
use super::remote::{FailureClass, HostError, LineSink, Remote, RemoteSession};
use crate::report::model::Outcome;

/// Limits of the fan-out.
#[derive(Debug, Clone)]
pub struct FanOutOptions {
    /// Hosts in flight at once (at least 1).
    pub concurrency: usize,
    /// Wall-clock deadline per host, from the moment it starts.
    pub host_timeout: Duration,
    /// Extra tries after a transient failure.
    pub retries: u32,
    /// Time a host gets after its deadline or Ctrl-C to signal and delete its shell.
    pub cleanup: Duration,
    /// First retry delay; doubled per retry, with ±50 % jitter.
    pub backoff: Duration,
    /// Least time between two host starts ([`START_SPACING_PER_CORE`] over the
    /// cores by default; zero starts every free slot at once).
    pub start_spacing: Duration,
}

/// The default [`FanOutOptions::start_spacing`] times the number of cores: with 2
/// cores a host may start every 0.5 ms (2,000 a second), with 16 every 62.5 µs.
///
/// Without it the first `concurrency` hosts connect, authenticate and create their
/// shells in the same instant, so every one of them waits for all the others'
/// handshakes, they reach their runtime together, finish together, and the slots
/// they free start the next wave together again. Spaced, the first hosts are
/// through their handshakes while the later ones start: at 10,000 hosts and
/// concurrency 1,000 on 2 cores the first wave's hosts took 1.10 s each instead of
/// 1.6-1.8 s, and the scan 12.6 s instead of 13.1 s (docs/BENCHMARKS.md). The rate
/// is far above what a fleet's steady state needs (concurrency / a host's time).
pub const START_SPACING_PER_CORE: Duration = Duration::from_millis(1);

impl Default for FanOutOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            concurrency: 64,
            host_timeout: Duration::from_secs(120),
            retries: 1,
            cleanup: Duration::from_secs(5),
            backoff: Duration::from_millis(500),
            start_spacing: START_SPACING_PER_CORE / u32::try_from(cores).unwrap_or(u32::MAX),
        }
    }
}

/// How one host's run ended, handed to [`Job::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSummary {
    /// The outcome.
    pub outcome: Outcome,
    /// For outcomes other than `scanned`: what went wrong and what to do.
    pub error: Option<String>,
    /// The remote exit code, when the job ran to the end.
    pub exit_code: Option<i32>,
    /// When the host started (after it got its concurrency slot).
    pub started: OffsetDateTime,
    /// How long it took, cleanup included.
    pub duration: Duration,
    /// HTTP requests sent to the host.
    pub requests: u32,
    /// Attempts made (1 + retries used); 0 when never started.
    pub attempts: u32,
}

/// What to do with a host's output: a sink per host, then one record per host.
pub trait Job: Send + Sync + 'static {
    /// Collects one host's output as it arrives.
    type Sink: LineSink + 'static;
    /// The finished host, as the caller wants it.
    type Record: Send + 'static;

    /// A fresh sink for `host`.
    fn sink(&self, host: &HostPlan) -> Self::Sink;
    /// True when the sink holds output worth keeping (retries never repeat it).
    fn received_output(sink: &Self::Sink) -> bool;
    /// Turns the finished host into its record.
    fn finish(&self, host: &HostPlan, summary: HostSummary, sink: Self::Sink) -> Self::Record;
}

/// Scans `hosts` and returns one record per host, in the same order. `on_done` is
/// called with each record as its host finishes (journal, progress).
///
/// Never fails: a host that could not be scanned is a record with that outcome.
///
/// # Cancel safety
/// Cancel through `cancel`, not by dropping: then no new host starts, running
/// hosts get `cleanup` to delete their shells, and the rest are `skipped`.
pub async fn fan_out<R, J, F>(
    hosts: Vec<HostPlan>,
    remote: Arc<R>,
    job: Arc<J>,
    opts: &FanOutOptions,
    cancel: CancellationToken,
    mut on_done: F,
) -> Vec<J::Record>
where
    R: Remote,
    J: Job,
    F: FnMut(&HostPlan, &J::Record),
{
    let hosts: Vec<Arc<HostPlan>> = hosts.into_iter().map(Arc::new).collect();
    let mut records: Vec<Option<J::Record>> = hosts.iter().map(|_| None).collect();
    let limit = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut running: JoinSet<(usize, J::Record)> = JoinSet::new();
    let mut task_index: HashMap<tokio::task::Id, usize> =
        HashMap::with_capacity(opts.concurrency.clamp(1, hosts.len().max(1)));
    let mut next = 0usize;
    // The earliest the next host may start (see `start_spacing`).
    let mut next_start = Instant::now();

    loop {
        let more = next < hosts.len() && !cancel.is_cancelled();
        if !more && running.is_empty() {
            break;
        }
        let paced = opts.start_spacing.is_zero() || Instant::now() >= next_start;
        tokio::select! {
            // Checked first so that no host starts once Ctrl-C was seen, even when a
            // permit is ready in the same poll.
            biased;
            // cancelled() is cancel safe; it only wakes the loop so it stops launching.
            () = cancel.cancelled(), if more => {}
            // join_next is cancel safe: a result not taken now stays in the set.
            Some(joined) = running.join_next_with_id(), if !running.is_empty() => {
                let (index, record) = match joined {
                    Ok((id, done)) => {
                        // Pruned as tasks end, so the map holds the hosts in flight,
                        // not one entry per host of the whole fleet.
                        task_index.remove(&id);
                        done
                    }
                    Err(err) => {
                        // A host task panicked or was aborted: our bug, not the host's.
                        let Some(index) = task_index.remove(&err.id()) else { continue };
                        let summary = failed_summary(
                            Outcome::ProtocolError,
                            format!("internal error while scanning this host ({err}); please report it"),
                        );
                        let host = &hosts[index];
                        (index, job.finish(host, summary, job.sink(host)))
                    }
                };
                on_done(&hosts[index], &record);
                records[index] = Some(record);
            }
            // sleep_until is cancel safe; it only wakes the loop when a start is due.
            () = tokio::time::sleep_until(next_start), if more && !paced => {}
            // Losing the queue place of acquire_owned is fine: only this loop acquires.
            permit = limit.clone().acquire_owned(), if more && paced => {
                let Ok(permit) = permit else { break };
                if cancel.is_cancelled() {
                    continue;
                }
                // One start per spacing; a start that came late (the timer wakes at
                // millisecond grain) may be followed at once by one more, not a burst.
                let now = Instant::now();
                let earliest = now.checked_sub(opts.start_spacing).unwrap_or(now);
                next_start = next_start.max(earliest) + opts.start_spacing;
                let index = next;
                next += 1;
                let (host, remote, job, opts, stop) =
                    (hosts[index].clone(), remote.clone(), job.clone(), opts.clone(), cancel.clone());
                let handle = running.spawn(async move {
                    let record = scan_one(&host, &*remote, &*job, &opts, &stop).await;
                    drop(permit);
                    (index, record)
                });
                task_index.insert(handle.id(), index);
            }
        }
    }

    records
        .into_iter()
        .zip(&hosts)
        .map(|(record, host)| {
            record.unwrap_or_else(|| {
                let summary = failed_summary(
                    Outcome::Skipped,
                    "not scanned: the run was interrupted before this host started".to_owned(),
                );
                let record = job.finish(host, summary, job.sink(host));
                on_done(host, &record);
                record
            })
        })
        .collect()
}

fn failed_summary(outcome: Outcome, error: String) -> HostSummary {
    HostSummary {
        outcome,
        error: Some(error),
        exit_code: None,
        started: OffsetDateTime::now_utc(),
        duration: Duration::ZERO,
        requests: 0,
        attempts: 0,
    }
}

/// One host from start to record. The deadline covers connect, auth, the run and
/// everything else; cleanup gets `opts.cleanup` beyond it, then the attempt is
/// dropped whatever it is doing.
async fn scan_one<R: Remote, J: Job>(
    host: &HostPlan,
    remote: &R,
    job: &J,
    opts: &FanOutOptions,
    stop: &CancellationToken,
) -> J::Record {
    let started = OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let deadline = t0 + opts.host_timeout;
    let mut sink = job.sink(host);
    let mut tally = Tally::default();

    let result = match &host.auth {
        Err(reason) => Err(HostError::permanent(
            FailureClass::Unsupported,
            reason.clone(),
        )),
        Ok(_) => {
            let attempts =
                attempts::<R, J>(host, remote, &mut sink, deadline, opts, stop, &mut tally);
            let backstop = deadline + opts.cleanup;
            let grace_after_cancel = async {
                stop.cancelled().await;
                sleep(opts.cleanup).await;
            };
            // Dropping `attempts` mid-request is accepted here: the deadline plus the
            // cleanup grace has passed (or Ctrl-C plus grace), and the server's
            // IdleTimeOut reaps whatever shell is left.
            tokio::select! {
                r = timeout_at(backstop, attempts) => r.unwrap_or_else(|_| Err(deadline_error(opts.host_timeout))),
                () = grace_after_cancel => Err(HostError::permanent(
                    FailureClass::Cancelled,
                    "interrupted; the host did not finish cleaning up within the grace period",
                )),
            }
        }
    };

    let (outcome, error, exit_code) = match result {
        Ok(code) => (Outcome::Scanned, None, Some(code)),
        Err(e) => {
            let message = if e.class == FailureClass::Cancelled {
                format!("not finished: the run was interrupted ({})", e.message)
            } else {
                e.message
            };
            (e.class.outcome(), Some(message), None)
        }
    };
    let summary = HostSummary {
        outcome,
        error,
        exit_code,
        started,
        duration: t0.elapsed(),
        requests: tally.requests,
        attempts: tally.attempts,
    };
    job.finish(host, summary, sink)
}

fn deadline_error(limit: Duration) -> HostError {
    HostError::permanent(
        FailureClass::Timeout,
        format!(
            "the host did not finish within the {} per-host deadline; raise --timeout or look at the host",
            humantime::format_duration(limit)
        ),
    )
}

#[derive(Default)]
struct Tally {
    requests: u32,
    attempts: u32,
}

async fn attempts<R: Remote, J: Job>(
    host: &HostPlan,
    remote: &R,
    sink: &mut J::Sink,
    deadline: Instant,
    opts: &FanOutOptions,
    stop: &CancellationToken,
    tally: &mut Tally,
) -> Result<i32, HostError> {
    let mut delay = opts.backoff;
    loop {
        tally.attempts += 1;
        let result = attempt_once(host, remote, sink, deadline, opts, stop, tally).await;
        let Err(err) = result else { return result };
        let retries_left = tally.attempts <= opts.retries;
        let wait = jitter(delay);
        let worth_it = err.transient
            && retries_left
            && !J::received_output(sink)
            && !stop.is_cancelled()
            && Instant::now() + wait < deadline;
        if !worth_it {
            return Err(err);
        }
        tracing::debug!(host = %host.name, attempt = tally.attempts, error = %err.message, "transient failure; retrying");
        // sleep and cancelled() are both cancel safe.
        tokio::select! {
            () = sleep(wait) => {}
            () = stop.cancelled() => return Err(err),
        }
        delay = delay.saturating_mul(2);
    }
}

async fn attempt_once<R: Remote>(
    host: &HostPlan,
    remote: &R,
    sink: &mut dyn LineSink,
    deadline: Instant,
    opts: &FanOutOptions,
    stop: &CancellationToken,
    tally: &mut Tally,
) -> Result<i32, HostError> {
    // Connecting is cancel safe (see Remote::connect), so racing it is fine.
    let mut session = tokio::select! {
        r = timeout_at(deadline, remote.connect(host, deadline)) => match r {
            Ok(session) => session?,
            Err(_) => return Err(deadline_error(opts.host_timeout)),
        },
        () = stop.cancelled() => {
            return Err(HostError::permanent(FailureClass::Cancelled, "interrupted while connecting"));
        }
    };
    let result = session.run(sink, deadline, opts.cleanup, stop).await;
    tally.requests += session.requests_sent();
    result
}

/// `base` ± 50 %, so hosts that failed together do not retry together.
fn jitter(base: Duration) -> Duration {
    let factor = 0.5 + fastrand::f64();
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

    use secrecy::SecretString;

    use super::*;
    use crate::credentials::Credentials;
    use crate::inventory::Scheme;
    use crate::scan::plan::{AuthChoice, TlsChoice};

    /// A scripted host, chosen by the host's name.
    #[derive(Default)]
    struct Scripted {
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        connects: Mutex<HashMap<String, u32>>,
        starts: Mutex<Vec<Instant>>,
    }

    struct ScriptedSession {
        name: String,
        owner: Arc<Scripted>,
    }

    impl Remote for Arc<Scripted> {
        type Session = ScriptedSession;
        async fn connect(
            &self,
            host: &HostPlan,
            _deadline: Instant,
        ) -> Result<ScriptedSession, HostError> {
            self.starts.lock().unwrap().push(Instant::now());
            let tries = {
                let mut c = self.connects.lock().unwrap();
                let n = c.entry(host.name.clone()).or_default();
                *n += 1;
                *n
            };
            match host.name.as_str() {
                n if n.starts_with("hang_connect") => std::future::pending().await,
                n if n.starts_with("auth") => {
                    Err(HostError::permanent(FailureClass::AuthFailed, "rejected"))
                }
                n if n.starts_with("flaky") && tries == 1 => Err(HostError {
                    class: FailureClass::Unreachable,
                    transient: true,
                    message: "connect timed out".into(),
                }),
                n if n.starts_with("down") => Err(HostError {
                    class: FailureClass::Unreachable,
                    transient: true,
                    message: "refused".into(),
                }),
                _ => {
                    let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    Ok(ScriptedSession {
                        name: host.name.clone(),
                        owner: self.clone(),
                    })
                }
            }
        }
    }

    impl Drop for ScriptedSession {
        fn drop(&mut self) {
            self.owner.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl RemoteSession for ScriptedSession {
        async fn run(
            &mut self,
            sink: &mut dyn LineSink,
            deadline: Instant,
            _cleanup: Duration,
            cancel: &CancellationToken,
        ) -> Result<i32, HostError> {
            sink.stdout_line("first");
            if self.name.starts_with("panics") {
                panic!("scripted bug while scanning {}", self.name);
            }
            if self.name.starts_with("stuck") {
                // Ignores its deadline entirely: only the backstop can end it.
                std::future::pending::<()>().await;
            }
            if self.name.starts_with("slow") {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(HostError::permanent(FailureClass::Timeout, "deadline"));
                    }
                    () = cancel.cancelled() => {
                        return Err(HostError::permanent(FailureClass::Cancelled, "cancelled"));
                    }
                }
            }
            sleep(Duration::from_millis(100)).await;
            sink.stdout_line("second");
            Ok(0)
        }
        fn requests_sent(&self) -> u32 {
            5
        }
    }

    struct Lines;
    #[derive(Default)]
    struct LineBox(Vec<String>);
    impl LineSink for LineBox {
        fn stdout_line(&mut self, line: &str) {
            self.0.push(line.to_owned());
        }
        fn stderr_text(&mut self, _: &str) {}
    }
    impl Job for Lines {
        type Sink = LineBox;
        type Record = (String, HostSummary, Vec<String>);
        fn sink(&self, _: &HostPlan) -> LineBox {
            LineBox::default()
        }
        fn received_output(sink: &LineBox) -> bool {
            !sink.0.is_empty()
        }
        fn finish(&self, host: &HostPlan, s: HostSummary, sink: LineBox) -> Self::Record {
            (host.name.clone(), s, sink.0)
        }
    }

    fn plan(name: &str) -> HostPlan {
        HostPlan {
            name: name.into(),
            groups: vec![],
            address: "127.0.0.1".into(),
            port: 5985,
            scheme: Scheme::Http,
            path: "/wsman".into(),
            auth: Ok(AuthChoice::Ntlm),
            tls: TlsChoice::Verify,
            credentials: Credentials::new("u", SecretString::from("p".to_owned())),
        }
    }

    fn opts() -> FanOutOptions {
        FanOutOptions {
            concurrency: 3,
            host_timeout: Duration::from_secs(10),
            retries: 1,
            cleanup: Duration::from_secs(2),
            backoff: Duration::from_millis(200),
            start_spacing: Duration::ZERO,
        }
    }

    async fn scan(
        names: &[&str],
        opts: &FanOutOptions,
        cancel: CancellationToken,
    ) -> (Vec<(String, HostSummary, Vec<String>)>, Arc<Scripted>) {
        let remote = Arc::new(Arc::new(Scripted::default()));
        let hosts = names.iter().map(|n| plan(n)).collect();
        let done = AtomicU32::new(0);
        let records = fan_out(
            hosts,
            remote.clone(),
            Arc::new(Lines),
            opts,
            cancel,
            |_, _| {
                done.fetch_add(1, Ordering::SeqCst);
            },
        )
        .await;
        assert_eq!(
            done.load(Ordering::SeqCst) as usize,
            names.len(),
            "on_done once per host"
        );
        (records, Arc::clone(&*remote))
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_hosts_in_flight_than_the_concurrency_limit() {
        let names: Vec<String> = (0..20).map(|i| format!("ok{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (records, remote) = scan(&names, &opts(), CancellationToken::new()).await;
        assert!(records.iter().all(|r| r.1.outcome == Outcome::Scanned));
        assert_eq!(remote.max_in_flight.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn without_spacing_a_free_slot_starts_its_host_at_once() {
        let (_, remote) = scan(&["ok0", "ok1", "ok2"], &opts(), CancellationToken::new()).await;
        let starts = remote.starts.lock().unwrap().clone();
        assert_eq!(starts.len(), 3);
        assert!(starts.iter().all(|t| *t == starts[0]), "{starts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_start_one_spacing_apart_without_waiting_for_each_other() {
        let spacing = Duration::from_millis(10);
        let o = FanOutOptions {
            concurrency: 8,
            start_spacing: spacing,
            ..opts()
        };
        let names: Vec<String> = (0..8).map(|i| format!("ok{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (records, remote) = scan(&names, &o, CancellationToken::new()).await;
        assert!(records.iter().all(|r| r.1.outcome == Outcome::Scanned));
        let starts = remote.starts.lock().unwrap().clone();
        assert_eq!(starts.len(), 8);
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= spacing, "{starts:?}");
        }
        // Each host runs 100 ms: all eight started while the first was still running.
        assert!(
            starts[7] - starts[0] < Duration::from_millis(100),
            "{starts:?}"
        );
        assert_eq!(remote.max_in_flight.load(Ordering::SeqCst), 8);
    }

    #[test]
    fn the_default_spacing_is_a_millisecond_shared_by_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let spacing = FanOutOptions::default().start_spacing;
        assert!(spacing > Duration::ZERO);
        let cores = u32::try_from(cores).unwrap();
        // Integer nanoseconds: at most a nanosecond a core short of the millisecond.
        let shared = spacing * cores;
        assert!(shared <= START_SPACING_PER_CORE, "{spacing:?}");
        assert!(START_SPACING_PER_CORE - shared < Duration::from_nanos(u64::from(cores)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_host_task_becomes_its_own_protocol_error_record_among_many() {
        // More hosts than the concurrency limit, so task ids are looked up (and
        // pruned) while other hosts have already finished and left the map.
        let names: Vec<String> = (0..12)
            .map(|i| {
                if i % 4 == 1 {
                    format!("panics{i}")
                } else {
                    format!("ok{i}")
                }
            })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (records, _) = scan(&names, &opts(), CancellationToken::new()).await;
        for (name, record) in names.iter().zip(&records) {
            assert_eq!(record.0, *name);
            if name.starts_with("panics") {
                assert_eq!(record.1.outcome, Outcome::ProtocolError, "{name}");
                assert!(
                    record
                        .1
                        .error
                        .as_deref()
                        .unwrap()
                        .contains("internal error")
                );
            } else {
                assert_eq!(record.1.outcome, Outcome::Scanned, "{name}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn records_come_back_in_inventory_order() {
        let (records, _) = scan(
            &["slow1", "ok1", "auth1", "ok2"],
            &opts(),
            CancellationToken::new(),
        )
        .await;
        let names: Vec<&str> = records.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(names, ["slow1", "ok1", "auth1", "ok2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn host_hanging_at_connect_times_out_at_its_deadline_and_others_finish() {
        let t0 = Instant::now();
        let (records, _) = scan(&["hang_connect", "ok1"], &opts(), CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::Timeout);
        assert!(records[0].1.error.as_deref().unwrap().contains("--timeout"));
        assert_eq!(records[1].1.outcome, Outcome::Scanned);
        assert!(t0.elapsed() <= Duration::from_secs(10) + Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn host_deadline_keeps_lines_received_before_it() {
        let (records, _) = scan(&["slow"], &opts(), CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::Timeout);
        assert_eq!(records[0].2, ["first"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_that_ignores_its_deadline_is_dropped_after_the_cleanup_grace() {
        let t0 = Instant::now();
        let (records, _) = scan(&["stuck"], &opts(), CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::Timeout);
        assert_eq!(records[0].2, ["first"]);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_secs(12) && took < Duration::from_secs(13),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failure_is_retried_once() {
        let (records, remote) = scan(&["flaky"], &opts(), CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::Scanned);
        assert_eq!(records[0].1.attempts, 2);
        assert_eq!(remote.connects.lock().unwrap()["flaky"], 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_configured_count() {
        let mut o = opts();
        o.retries = 2;
        let (records, remote) = scan(&["down"], &o, CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::Unreachable);
        assert_eq!(remote.connects.lock().unwrap()["down"], 3);
    }

    #[tokio::test(start_paused = true)]
    async fn auth_failure_is_never_retried() {
        let (records, remote) = scan(&["auth"], &opts(), CancellationToken::new()).await;
        assert_eq!(records[0].1.outcome, Outcome::AuthFailed);
        assert_eq!(remote.connects.lock().unwrap()["auth"], 1);
    }

    #[tokio::test(start_paused = true)]
    async fn unsupported_transport_is_reported_without_connecting() {
        let remote = Arc::new(Arc::new(Scripted::default()));
        let mut h = plan("dc01");
        h.auth = Err("WinRM transport 'kerberos' is not supported yet".into());
        let records = fan_out(
            vec![h],
            remote.clone(),
            Arc::new(Lines),
            &opts(),
            CancellationToken::new(),
            |_, _| {},
        )
        .await;
        assert_eq!(records[0].1.outcome, Outcome::Skipped);
        assert!(records[0].1.error.as_deref().unwrap().contains("kerberos"));
        assert!(remote.connects.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_stops_launching_and_skips_the_rest() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            sleep(Duration::from_secs(1)).await;
            trigger.cancel();
        });
        let mut o = opts();
        o.concurrency = 1;
        let (records, _) = scan(&["slow", "ok1", "ok2"], &o, cancel).await;
        assert_eq!(records[0].1.outcome, Outcome::Skipped);
        assert_eq!(
            records[0].2,
            ["first"],
            "lines of the interrupted host are kept"
        );
        assert!(
            records[0]
                .1
                .error
                .as_deref()
                .unwrap()
                .contains("interrupted")
        );
        assert_eq!(records[1].1.outcome, Outcome::Skipped);
        assert_eq!(records[2].1.outcome, Outcome::Skipped);
        assert_eq!(records[2].1.attempts, 0);
    }
}
