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
        let report = self.probe.finish(host, summary, sink);
        let digest = {
            let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
            HostDigest::of(&report, &mut kinds)
        };
        let kept = match self.journal.as_ref().and_then(|j| j.record(&report)) {
            Some(Entry::Ticket(t)) => Kept::Journal(t),
            Some(Entry::Line(text)) => Kept::Line(text),
            None => Kept::Memory(Box::new(report)),
        };
        Finished { digest, kept }
    }
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

impl HostSource for ScanHosts<'_> {
    fn for_each_host(
        &mut self,
        each: &mut dyn FnMut(usize, &HostView<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        let scan = self.scan;
        let mut buf = Vec::new();
        for (index, (kept, digest)) in scan.kept.iter().zip(&scan.digest.hosts).enumerate() {
            let mut host = match (kept, &scan.spill) {
                (Kept::Memory(h), _) => HostView::of(h),
                (Kept::Journal(t), Some(spill)) => spill.host(*t, &mut buf)?,
                (Kept::Line(text), Some(spill)) => spill.kept_line(text)?,
                (Kept::Journal(_) | Kept::Line(_), None) => {
                    return Err(scan.changed("the journal is gone".to_owned()));
                }
            };
            if let Some(w) = &self.waivers {
                w.apply_to_view(&mut host);
            }
            if let Some(reason) = mismatch(&host, digest, &scan.digest) {
                return Err(scan.changed(format!("host {} {reason}", index + 1)));
            }
            if each(index, &host).is_break() {
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
