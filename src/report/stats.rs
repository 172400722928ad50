//! Fleet-wide figures shared by the HTML dashboard and the terminal summary,
//! computed once so the two can never disagree.

use std::collections::BTreeMap;

use super::digest::FleetDigest;
use super::model::{HostReport, Outcome, ScanMeta, Severity, Status};

/// Counts over a whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetStats {
    /// Every host in the report (the selected hosts).
    pub selected: usize,
    /// Hosts per outcome (every outcome present, zero included).
    pub by_outcome: BTreeMap<Outcome, usize>,
    /// Check results per status over all hosts (waived ones included).
    pub by_status: BTreeMap<Status, usize>,
    /// Check results that a waiver accepted.
    pub waived: usize,
    /// Hosts with at least one unwaived failing check (whatever their outcome).
    pub failing_hosts: usize,
    /// Hosts that could not be scanned ([`Outcome::is_failure`]).
    pub unscanned_hosts: usize,
    /// Hosts ready for System State backup: see [`is_ready`].
    pub ready_hosts: usize,
}

/// A host is ready for System State backup when it was fully scanned
/// ([`Outcome::Scanned`]) and has no failing check that a waiver did not accept.
/// Warnings, unknowns and waived failures do not make a host unready.
pub fn is_ready(host: &HostReport) -> bool {
    host.outcome == Outcome::Scanned && !host.has_unwaived_failure()
}

impl FleetStats {
    /// Computes the figures of a report from its digest.
    pub fn of(report: &FleetDigest) -> FleetStats {
        let mut by_outcome: BTreeMap<Outcome, usize> =
            Outcome::ALL.iter().map(|o| (*o, 0)).collect();
        let mut by_status: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        let mut stats = FleetStats {
            selected: report.hosts.len(),
            by_outcome: BTreeMap::new(),
            by_status: BTreeMap::new(),
            waived: 0,
            failing_hosts: 0,
            unscanned_hosts: 0,
            ready_hosts: 0,
        };
        for host in &report.hosts {
            *by_outcome.entry(host.outcome).or_default() += 1;
            for check in &host.checks {
                *by_status.entry(check.status).or_default() += 1;
                if check.waived {
                    stats.waived += 1;
                }
            }
            if host.has_unwaived_failure() {
                stats.failing_hosts += 1;
            }
            if host.outcome.is_failure() {
                stats.unscanned_hosts += 1;
            }
            if host.is_ready() {
                stats.ready_hosts += 1;
            }
        }
        stats.by_outcome = by_outcome;
        stats.by_status = by_status;
        stats
    }

    /// Hosts with the given outcome.
    pub fn outcome(&self, outcome: Outcome) -> usize {
        self.by_outcome.get(&outcome).copied().unwrap_or(0)
    }

    /// Check results with the given status.
    pub fn status(&self, status: Status) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Ready hosts over all selected hosts, in percent; `None` for an empty report.
    pub fn ready_percent(&self) -> Option<f64> {
        (self.selected > 0).then(|| self.ready_hosts as f64 * 100.0 / self.selected as f64)
    }

    /// [`Self::ready_percent`] with one decimal, or `n/a`.
    pub fn ready_percent_text(&self) -> String {
        self.ready_percent()
            .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%"))
    }
}

/// A check that fails (unwaived) on at least one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingCheck<'a> {
    /// Check id.
    pub id: &'a str,
    /// Check title (from the first host that failed it).
    pub title: &'a str,
    /// Severity.
    pub severity: Severity,
    /// What to do.
    pub remediation: &'a str,
    /// Indexes into the report's hosts of the hosts it fails on, in report order.
    pub hosts: Vec<usize>,
}

/// The checks with unwaived failures, most hosts first (then most severe, then id).
pub fn failing_checks(report: &FleetDigest) -> Vec<FailingCheck<'_>> {
    let mut by_id: BTreeMap<&str, FailingCheck<'_>> = BTreeMap::new();
    for (index, host) in report.hosts.iter().enumerate() {
        for &mark in &host.checks {
            if mark.is_unwaived_failure() {
                let check = report.kind(mark);
                by_id
                    .entry(check.id.as_ref())
                    .or_insert_with(|| FailingCheck {
                        id: &check.id,
                        title: &check.title,
                        severity: check.severity,
                        remediation: &check.remediation,
                        hosts: Vec::new(),
                    })
                    .hosts
                    .push(index);
            }
        }
    }
    let mut list: Vec<FailingCheck<'_>> = by_id.into_values().collect();
    list.sort_by(|a, b| {
        b.hosts
            .len()
            .cmp(&a.hosts.len())
            .then(a.severity.cmp(&b.severity))
            .then(a.id.cmp(b.id))
    });
    list
}

/// Every check id in the report, in first-seen order (the selected checks first).
pub fn check_columns<'a>(meta: &'a ScanMeta, report: &'a FleetDigest) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    let mut columns = Vec::new();
    let selected = meta.selected_checks.iter().map(String::as_str);
    let found = report
        .hosts
        .iter()
        .flat_map(|h| h.checks.iter().map(|m| report.kind(*m).id.as_ref()));
    for id in selected.chain(found) {
        if seen.insert(id) {
            columns.push(id);
        }
    }
    columns
}
