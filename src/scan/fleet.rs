//! A whole fleet scan, from resolved hosts to a [`FleetScan`]: the probe job,
//! the fan-out, the journal and progress, and the scan's metadata.
//!
//! Memory does not grow with the fleet beyond a small digest per host: each
//! finished host is judged, digested ([`HostDigest`]: what the fleet-wide parts
//! of the reports need) and written to the journal, and its full record is
//! dropped. The report writers then read the hosts back from the journal, one
//! at a time, in inventory order ([`FleetScan::write_files`]).

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Date, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use super::fanout::{FanOutOptions, HostSummary, Job, fan_out};
use super::journal::{Entry, Journal, Spill};
use super::plan::HostPlan;
use super::probe_job::{ProbeJob, ProbeSink};
use super::progress::{Progress, ProgressMode, Tally};
use super::remote::Remote;
use crate::probes::{Program, Settings};
use crate::report::digest::{CheckKinds, FleetDigest, HostDigest};
use crate::report::model::{
    ExitStatus, FleetReport, HostReport, Outcome, SCHEMA_VERSION, ScanMeta,
};
use crate::report::waivers::{Waivers, WaiversOn};
use crate::report::{HostSource, HostView, OutputPaths, ReportError, ReportHead, terminal};

/// Everything one scan needs, resolved before the first connection.
#[derive(Debug)]
pub struct ScanRequest {
    /// The scan's id (also written in every journal line).
    pub scan_id: String,
    /// The hosts, in inventory order.
    pub hosts: Vec<HostPlan>,
    /// The probe program every host runs.
    pub program: Arc<Program>,
    /// Thresholds for the judges.
    pub settings: Arc<Settings>,
    /// Concurrency, deadlines, retries.
    pub fan_out: FanOutOptions,
    /// Inventory files (and `-t` targets) for the report's metadata.
    pub inventory_files: Vec<String>,
    /// Where finished hosts are journaled and kept until the reports are
    /// written; without one every host stays in memory.
    pub journal: Option<Journal>,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// Where a finished host's full record is.
#[derive(Debug)]
enum Kept {
    /// In the journal (or held by it after a write failure).
    Journal(u64),
    /// A journal line the journal could no longer take.
    Line(String),
    /// In memory (no journal).
    Memory(Box<HostReport>),
}

/// A finished host as the fan-out keeps it.
#[derive(Debug)]
struct Finished {
    digest: HostDigest,
    kept: Kept,
}

/// The probe job, plus digesting and spilling each host as it finishes (on the
/// host's own task, so the work spreads over the runtime's threads).
struct SpillingJob {
    probe: ProbeJob,
    journal: Option<Journal>,
    kinds: Mutex<CheckKinds>,
}

impl Job for SpillingJob {
    type Sink = ProbeSink;
    type Record = Finished;

    fn sink(&self, host: &HostPlan) -> ProbeSink {
        self.probe.sink(host)
    }

    fn received_output(sink: &ProbeSink) -> bool {
        ProbeJob::received_output(sink)
    }

    fn finish(&self, host: &HostPlan, summary: HostSummary, sink: ProbeSink) -> Finished {
        keep(
            self.probe.finish(host, summary, sink),
            self.journal.as_ref(),
            &self.kinds,
        )
    }
}

/// Digests a finished host and hands its full record to the journal (or keeps
/// it, when there is no journal or it cannot take the host).
fn keep(report: HostReport, journal: Option<&Journal>, kinds: &Mutex<CheckKinds>) -> Finished {
    let digest = {
        let mut kinds = kinds.lock().unwrap_or_else(PoisonError::into_inner);
        HostDigest::of(&report, &mut kinds)
    };
    let kept = match journal.and_then(|j| j.record(&report)) {
        Some(Entry::Ticket(t)) => Kept::Journal(t),
        Some(Entry::Line(text)) => Kept::Line(text),
        None => Kept::Memory(Box::new(report)),
    };
    Finished { digest, kept }
}

/// Scans the fleet through `remote` (which runs `request.program` on each host).
/// Hosts that could not be scanned are in the result with their outcome; the
/// scan itself does not fail.
///
/// # Cancel safety
/// Cancel with `cancel` (Ctrl-C): running hosts clean up, the rest are skipped, and
/// the report says `interrupted`.
pub async fn scan_fleet<R: Remote>(
    remote: Arc<R>,
    request: ScanRequest,
    cancel: CancellationToken,
) -> FleetScan {
    let started = OffsetDateTime::now_utc();
    let ScanRequest {
        scan_id,
        hosts,
        program,
        settings,
        fan_out: opts,
        inventory_files,
        journal,
        progress,
    } = request;

    let mut settings_map = settings.to_map();
    settings_map.insert("scan.concurrency".into(), opts.concurrency.to_string());
    settings_map.insert(
        "scan.timeout".into(),
        humantime::format_duration(opts.host_timeout).to_string(),
    );
    settings_map.insert("scan.retries".into(), opts.retries.to_string());
    let selected_checks = program.check_ids().into_iter().map(str::to_owned).collect();

    let job = Arc::new(SpillingJob {
        probe: ProbeJob::new(program, settings),
        journal,
        kinds: Mutex::new(CheckKinds::default()),
    });
    let progress = Progress::start(hosts.len(), progress);
    let finished = fan_out(
        hosts,
        remote,
        job.clone(),
        &opts,
        cancel.clone(),
        |_, host: &Finished| progress.host_done(tally(&host.digest)),
    )
    .await;
    progress.finish().await;
    let spill = job.journal.as_ref().map(|j| {
        let (spill, error) = j.finish();
        if let Some(e) = error {
            tracing::error!("{e}");
        }
        spill
    });
    let kinds = std::mem::take(&mut *job.kinds.lock().unwrap_or_else(PoisonError::into_inner));
    let (hosts, kept) = finished.into_iter().map(|f| (f.digest, f.kept)).unzip();

    FleetScan {
        meta: ScanMeta {
            scan_id,
            started,
            finished: OffsetDateTime::now_utc(),
            fleetscan_version: env!("CARGO_PKG_VERSION").to_owned(),
            inventory_files,
            selected_checks,
            settings: settings_map,
            interrupted: cancel.is_cancelled(),
            expired_waivers: Vec::new(),
        },
        digest: FleetDigest { kinds, hosts },
        kept,
        spill,
        waivers: None,
    }
}

/// `report`'s hosts journaled at `journal` as a scan would, finishing in
/// `finish_order` (indexes into `report.hosts`; hosts not listed finish last, in
/// order): for tests and measurements of the spilled path.
///
/// # Errors
/// The journal cannot be created.
#[doc(hidden)]
pub fn spill_report(
    report: &FleetReport,
    journal: &std::path::Path,
    finish_order: &[usize],
) -> Result<FleetScan, super::JournalError> {
    let journal = Journal::create(journal, &report.meta.scan_id)?;
    let kinds = Mutex::new(CheckKinds::default());
    let mut finished: Vec<Option<Finished>> = report.hosts.iter().map(|_| None).collect();
    let rest = 0..report.hosts.len();
    for i in finish_order.iter().copied().chain(rest) {
        if let (Some(slot @ None), Some(host)) = (finished.get_mut(i), report.hosts.get(i)) {
            *slot = Some(keep(host.clone(), Some(&journal), &kinds));
        }
    }
    let (spill, error) = journal.finish();
    if let Some(e) = error {
        tracing::error!("{e}");
    }
    let (hosts, kept) = finished
        .into_iter()
        .flatten()
        .map(|f| (f.digest, f.kept))
        .unzip();
    Ok(FleetScan {
        meta: report.meta.clone(),
        digest: FleetDigest {
            kinds: kinds.into_inner().unwrap_or_else(PoisonError::into_inner),
            hosts,
        },
        kept,
        spill: Some(spill),
        waivers: None,
    })
}

fn tally(host: &HostDigest) -> Tally {
    if host.outcome != Outcome::Scanned {
        Tally::NotScanned
    } else if host.has_unwaived_failure() {
        Tally::Failing
    } else {
        Tally::Clean
    }
}

/// A finished scan: its metadata and per-host digest in memory, the full hosts
/// in the journal (or in memory when there was none), in inventory order.
#[derive(Debug)]
pub struct FleetScan {
    meta: ScanMeta,
    digest: FleetDigest,
    kept: Vec<Kept>,
    spill: Option<Spill>,
    waivers: Option<(Waivers, Date)>,
}

impl FleetScan {
    /// The scan's metadata (expired waivers listed once waivers are applied).
    pub fn meta(&self) -> &ScanMeta {
        &self.meta
    }

    /// Every host, digested, in inventory order.
    pub fn digest(&self) -> &FleetDigest {
        &self.digest
    }

    /// Applies `waivers` as they stand on `today`, as [`Waivers::apply`] does
    /// to a whole report: the digest is marked now, each host as the writers
    /// read it back, and expired waivers are listed in the metadata. Returns how
    /// many checks were waived.
    pub fn apply_waivers(&mut self, waivers: Waivers, today: Date) -> usize {
        let waived = {
            let on = waivers.on(today);
            on.list_expired(&mut self.meta);
            on.apply_to_digest(&mut self.digest)
        };
        self.waivers = Some((waivers, today));
        waived
    }

    /// What every writer knows before the first host.
    pub fn head(&self) -> ReportHead<'_> {
        ReportHead {
            schema_version: SCHEMA_VERSION,
            meta: &self.meta,
            digest: &self.digest,
        }
    }

    /// The run's exit code (CLI.md, "Exit codes").
    pub fn exit_status(&self) -> ExitStatus {
        self.digest.exit_status(self.meta.interrupted)
    }

    /// The terminal summary.
    pub fn summary(&self, color: bool) -> String {
        terminal::summary_of(&self.head(), color)
    }

    /// Writes the requested report files, reading each host back once.
    ///
    /// # Errors
    /// As [`crate::report::write_reports`]; [`ReportError::JournalChanged`] when
    /// the journal no longer holds what was written to it.
    pub fn write_files(&self, paths: &OutputPaths) -> Result<(), ReportError> {
        if *paths == OutputPaths::default() {
            return Ok(());
        }
        crate::report::write_reports(&self.head(), &mut self.hosts(), paths)
    }

    /// Every host read back into memory: the whole report, waivers applied.
    /// For tests and small fleets; [`FleetScan::write_files`] never does this.
    ///
    /// # Errors
    /// As [`FleetScan::write_files`].
    pub fn into_report(self) -> Result<FleetReport, ReportError> {
        let mut hosts = Vec::with_capacity(self.kept.len());
        let mut bad = None;
        self.hosts()
            .for_each_host(&mut |_, view| match view.to_report() {
                Ok(h) => {
                    hosts.push(h);
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    bad = Some(e);
                    ControlFlow::Break(())
                }
            })?;
        if let Some(e) = bad {
            return Err(self.changed(format!("a host's evidence no longer parses ({e})")));
        }
        Ok(FleetReport {
            schema_version: SCHEMA_VERSION,
            meta: self.meta,
            hosts,
        })
    }

    fn hosts(&self) -> ScanHosts<'_> {
        ScanHosts {
            scan: self,
            waivers: self.waivers.as_ref().map(|(w, today)| w.on(*today)),
        }
    }

    fn changed(&self, reason: String) -> ReportError {
        ReportError::JournalChanged {
            path: self
                .spill
                .as_ref()
                .map_or_else(Default::default, |s| s.path().to_owned()),
            reason,
        }
    }
}

/// The hosts of a scan as the writers read them: from the journal (or memory),
/// waivers applied, each checked against its digest.
struct ScanHosts<'s> {
    scan: &'s FleetScan,
    waivers: Option<WaiversOn<'s>>,
}

impl<'s> ScanHosts<'s> {
    /// Host `index` as the writers see it: read back (into `buf`), waivers
    /// applied, checked against its digest.
    fn view<'b>(&'b self, index: usize, buf: &'b mut Vec<u8>) -> Result<HostView<'b>, ReportError>
    where
        's: 'b,
    {
        let scan = self.scan;
        let (kept, digest) = scan
            .kept
            .get(index)
            .zip(scan.digest.hosts.get(index))
            .ok_or_else(|| scan.changed(format!("host {} was never scanned", index + 1)))?;
        let mut host = match (kept, &scan.spill) {
            (Kept::Memory(h), _) => HostView::of(h),
            (Kept::Journal(t), Some(spill)) => spill.host(*t, buf)?,
            (Kept::Line(text), Some(spill)) => spill.kept_line(text)?,
            (Kept::Journal(_) | Kept::Line(_), None) => {
                return Err(scan.changed("the journal is gone".to_owned()));
            }
        };
        if let Some(w) = &self.waivers
            && w.apply_to_view(&mut host) > 0
        {
            host.serialised = None;
        }
        if let Some(reason) = mismatch(&host, digest, &scan.digest) {
            return Err(scan.changed(format!("host {} {reason}", index + 1)));
        }
        Ok(host)
    }
}

impl HostSource for ScanHosts<'_> {
    fn for_each_host(
        &mut self,
        each: &mut dyn FnMut(usize, &HostView<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        let mut buf = Vec::new();
        for index in 0..self.scan.kept.len() {
            if each(index, &self.view(index, &mut buf)?).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn for_each_run(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(usize, &[HostView<'_>]) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        // One read buffer per host of a run, kept from run to run. Each run is
        // read back and parsed by as many threads as there are cores, each a
        // share of its hosts (the journal is read at offsets, not through a
        // shared position).
        let mut bufs: Vec<Vec<u8>> = Vec::new();
        bufs.resize_with(max.max(1), Vec::new);
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let share = bufs.len().div_ceil(threads).max(1);
        let total = self.scan.kept.len();
        let this = &*self;
        for first in (0..total).step_by(bufs.len()) {
            let views: Vec<HostView<'_>> = std::thread::scope(|scope| {
                let parts: Vec<_> = bufs
                    .chunks_mut(share)
                    .enumerate()
                    .map(|(part, bufs)| {
                        let from = first + part * share;
                        scope.spawn(move || {
                            bufs.iter_mut()
                                .zip(from..total)
                                .map(|(buf, index)| this.view(index, buf))
                                .collect::<Result<Vec<_>, _>>()
                        })
                    })
                    .collect();
                let mut views = Vec::with_capacity(max);
                for part in parts {
                    let part = part.join().unwrap_or_else(|_| {
                        Err(this.scan.changed(
                            "reading the hosts back stopped unexpectedly; please report it"
                                .to_owned(),
                        ))
                    })?;
                    views.extend(part);
                }
                Ok::<_, ReportError>(views)
            })?;
            if each(first, &views).is_break() {
                break;
            }
        }
        Ok(())
    }
}

/// Why a host read back is not the one that was digested, if it is not.
fn mismatch(host: &HostView<'_>, digest: &HostDigest, fleet: &FleetDigest) -> Option<String> {
    if host.name != digest.name {
        return Some(format!(
            "is {} in the journal but {} was scanned",
            host.name, digest.name
        ));
    }
    let same_checks = host.checks.len() == digest.checks.len()
        && host.checks.iter().zip(&digest.checks).all(|(c, m)| {
            c.status == m.status && c.waived.is_some() == m.waived && c.id == fleet.kind(*m).id
        });
    let same = same_checks && host.outcome == digest.outcome;
    (!same).then(|| {
        format!(
            "({}) has other results in the journal than were scanned",
            host.name
        )
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::report::model::Status;
    use crate::report::{sample, write_files};

    fn spilled(report: &FleetReport, finish_order: &[usize], journal: &Path) -> FleetScan {
        spill_report(report, journal, finish_order).unwrap()
    }

    fn reversed(report: &FleetReport) -> Vec<usize> {
        (0..report.hosts.len()).rev().collect()
    }

    fn paths(dir: &Path) -> OutputPaths {
        OutputPaths {
            csv: Some(dir.join("r.csv")),
            json: Some(dir.join("r.json")),
            html: Some(dir.join("r.html")),
            junit: Some(dir.join("r.xml")),
        }
    }

    /// Every report file of `dir`, by name.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e != "jsonl"))
            .map(|p: PathBuf| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    /// Asserts that the spilled scan writes exactly what the in-memory report does.
    fn assert_same_output(scan: &FleetScan, report: &FleetReport) {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        scan.write_files(&paths(a.path())).unwrap();
        write_files(report, &paths(b.path())).unwrap();
        let (spilled, memory) = (files(a.path()), files(b.path()));
        assert_eq!(spilled.len(), 4);
        for ((name, x), (_, y)) in spilled.iter().zip(&memory) {
            assert!(
                x == y,
                "{name} differs between the spilled and in-memory paths"
            );
        }
        for color in [false, true] {
            assert_eq!(
                scan.summary(color),
                crate::report::terminal::summary(report, color)
            );
        }
        assert_eq!(scan.exit_status(), report.exit_status());
    }

    /// A report whose evidence holds numbers that only survive an exact copy.
    fn with_awkward_numbers() -> FleetReport {
        let mut report = sample::fixed_report();
        report.hosts[0].checks[0].evidence = json!({
            "sum": 0.1 + 0.2, "big": 1.7976931348623157e308, "tiny": 5e-324,
            "neg": -0.0, "third": 1.0 / 3.0, "u": u64::MAX, "i": i64::MIN,
            "text": "tab\tquote\"é\u{1}"
        });
        report
    }

    #[test]
    fn spilled_scan_writes_every_format_byte_identical_to_the_in_memory_report() {
        let mut interrupted = sample::synthetic(120, 42, 11);
        interrupted.meta.interrupted = true;
        for h in interrupted.hosts.iter_mut().skip(100) {
            h.outcome = Outcome::Skipped;
            h.checks.clear();
        }
        for report in [
            sample::fixed_report(),
            sample::fixed_report_with_expired_waiver(),
            with_awkward_numbers(),
            sample::synthetic(300, 42, 4),
            interrupted,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let scan = spilled(&report, &reversed(&report), &dir.path().join("j.jsonl"));
            assert_same_output(&scan, &report);
            assert_eq!(scan.into_report().unwrap().hosts.len(), report.hosts.len());
        }
    }

    #[test]
    fn hosts_finishing_out_of_order_are_reported_in_inventory_order() {
        let report = sample::synthetic(50, 5, 2);
        let mut order: Vec<usize> = (0..50).collect();
        fastrand::Rng::with_seed(7).shuffle(&mut order);
        let dir = tempfile::tempdir().unwrap();
        let scan = spilled(&report, &order, &dir.path().join("j.jsonl"));
        let back = scan.into_report().unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn waivers_apply_to_a_spilled_scan_as_to_the_whole_report() {
        let waivers = Waivers::from_yaml(
            "- host: \"srv0000*\"\n  check: \"*\"\n  justification: all of it\n\
             - host: \"*\"\n  check: svc.*\n  justification: services\n  expires: 2030-01-01\n\
             - host: \"*\"\n  check: wsb.*\n  justification: old\n  expires: 2020-01-01\n",
            Path::new("w.yaml"),
        )
        .unwrap();
        let today = date!(2026 - 11 - 24);
        let report = sample::synthetic(200, 42, 9);
        let dir = tempfile::tempdir().unwrap();
        let mut scan = spilled(&report, &reversed(&report), &dir.path().join("j.jsonl"));
        let mut waived = report.clone();
        let n = waivers.apply(&mut waived, today);
        assert!(n > 0);
        assert_eq!(scan.apply_waivers(waivers, today), n);
        assert_eq!(scan.meta().expired_waivers, waived.meta.expired_waivers);
        assert_same_output(&scan, &waived);
    }

    #[test]
    fn waived_failures_make_a_spilled_scan_exit_clean() {
        let mut report = sample::synthetic(20, 42, 3);
        for h in &mut report.hosts {
            h.outcome = Outcome::Scanned;
            h.checks.iter_mut().for_each(|c| c.status = Status::Pass);
        }
        report.hosts[3].checks[2].status = Status::Fail;
        let dir = tempfile::tempdir().unwrap();
        let mut scan = spilled(&report, &reversed(&report), &dir.path().join("j.jsonl"));
        assert_eq!(scan.exit_status(), ExitStatus::ChecksFailed);
        let id = report.hosts[3].checks[2].id.clone();
        let waivers = Waivers::from_yaml(
            &format!("- host: \"*\"\n  check: {id}\n  justification: ok\n"),
            Path::new("w.yaml"),
        )
        .unwrap();
        scan.apply_waivers(waivers, date!(2026 - 11 - 24));
        assert_eq!(scan.exit_status(), ExitStatus::Clean);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_journal_that_cannot_be_written_still_gives_complete_reports() {
        let report = sample::synthetic(40, 42, 5);
        let scan = spilled(&report, &reversed(&report), Path::new("/dev/full"));
        assert!(scan.kept.iter().all(|k| matches!(k, Kept::Journal(_))));
        assert_same_output(&scan, &report);
    }

    #[test]
    fn a_truncated_journal_stops_the_reports_with_an_error_naming_it() {
        let report = sample::synthetic(30, 42, 6);
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        let scan = spilled(&report, &reversed(&report), &journal);
        let len = std::fs::metadata(&journal).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&journal)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = scan
            .write_files(&paths(out.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("j.jsonl") && err.contains("changed"), "{err}");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_journal_rewritten_with_other_hosts_is_caught() {
        let report = sample::synthetic(10, 42, 6);
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        let scan = spilled(&report, &(0..10).collect::<Vec<_>>(), &journal);
        // Same bytes, two hosts' names swapped: every line still parses.
        let text = std::fs::read_to_string(&journal).unwrap();
        let swapped = text
            .replace("srv00001.", "srv0000X.")
            .replace("srv00002.", "srv00001.")
            .replace("srv0000X.", "srv00002.");
        std::fs::write(&journal, swapped).unwrap();
        let err = scan.into_report().unwrap_err().to_string();
        assert!(
            err.contains("host 2") && err.contains("was scanned"),
            "{err}"
        );
    }
}
