//! A whole fleet scan, from resolved hosts to a [`FleetReport`]: the probe job,
//! the fan-out, the journal and progress, and the scan's metadata.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::fanout::{FanOutOptions, fan_out};
use super::journal::Journal;
use super::plan::HostPlan;
use super::probe_job::ProbeJob;
use super::progress::{Progress, ProgressMode, Tally};
use super::remote::Remote;
use crate::probes::{Program, Settings};
use crate::report::model::{FleetReport, HostReport, Outcome, SCHEMA_VERSION, ScanMeta};

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
    /// Where finished hosts are journaled, if anywhere.
    pub journal: Option<Journal>,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// Scans the fleet through `remote` (which runs `request.program` on each host)
/// and returns the report. Hosts that could not be scanned are in it with their
/// outcome; the scan itself does not fail.
///
/// # Cancel safety
/// Cancel with `cancel` (Ctrl-C): running hosts clean up, the rest are skipped, and
/// the report says `interrupted`.
pub async fn scan_fleet<R: Remote>(
    remote: Arc<R>,
    request: ScanRequest,
    cancel: CancellationToken,
) -> FleetReport {
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

    let job = Arc::new(ProbeJob::new(program, settings));
    let progress = Progress::start(hosts.len(), progress);
    let hosts = fan_out(
        hosts,
        remote,
        job,
        &opts,
        cancel.clone(),
        |_, host: &HostReport| {
            progress.host_done(tally(host));
            if let Some(j) = &journal {
                j.record(host);
            }
        },
    )
    .await;
    progress.finish().await;
    if let Some(Err(e)) = journal.map(Journal::finish) {
        tracing::error!("{e}");
    }

    FleetReport {
        schema_version: SCHEMA_VERSION,
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
        hosts,
    }
}

fn tally(host: &HostReport) -> Tally {
    if host.outcome != Outcome::Scanned {
        Tally::NotScanned
    } else if host.has_unwaived_failure() {
        Tally::Failing
    } else {
        Tally::Clean
    }
}
