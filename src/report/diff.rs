//! What changed between two reports of the same fleet: new failures, fixed
//! checks, hosts that became unscannable or recovered, hosts added or removed.
//!
//! Hosts are matched by inventory name, checks by id. "Failing" means status
//! `fail` without a waiver. A failure counts as new when the older report did
//! not have that host failing that check, including when the host was absent or
//! could not be scanned then (we had no evidence of the failure, so it is news).
//! A check counts as fixed when it failed before and now has a result that is
//! `pass`, `warn` or `not_applicable` (an `unknown` or a waiver is not a fix).

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::model::{CheckResult, FleetReport, HostReport, Outcome, Severity, Status};
use super::text::printable;

/// A check whose state changed on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckChange {
    /// Host name.
    pub host: String,
    /// Check id.
    pub check: String,
    /// Check title.
    pub title: String,
    /// Check severity.
    pub severity: Severity,
    /// Status in the older report (`None`: no result for it there).
    pub old_status: Option<Status>,
    /// Status in the newer report.
    pub new_status: Status,
    /// The newer report's summary.
    pub summary: String,
}

/// A host whose outcome changed between scannable and not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostChange {
    /// Host name.
    pub host: String,
    /// Outcome in the older report (`None`: the host was not in it).
    pub old_outcome: Option<Outcome>,
    /// Outcome in the newer report.
    pub new_outcome: Outcome,
    /// The newer report's error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The differences between an older and a newer report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Scan id of the older report.
    pub old_scan_id: String,
    /// Scan id of the newer report.
    pub new_scan_id: String,
    /// (host, check) pairs failing now that did not fail before.
    pub new_failures: Vec<CheckChange>,
    /// (host, check) pairs that failed before and pass (or warn, or no longer apply) now.
    pub fixed: Vec<CheckChange>,
    /// Hosts that could not be scanned now ([`Outcome::is_failure`]: unreachable,
    /// auth failed, timeout, protocol error, skipped) but could before (or are new).
    pub newly_unreachable: Vec<HostChange>,
    /// Hosts that could not be scanned before and were scanned now.
    pub recovered: Vec<HostChange>,
    /// Host names only in the newer report.
    pub hosts_added: Vec<String>,
    /// Host names only in the older report.
    pub hosts_removed: Vec<String>,
}

fn failing(check: &CheckResult) -> bool {
    check.status == Status::Fail && check.waived.is_none()
}

/// Compares `old` with `new`. Lists follow the newer report's host and check order
/// (removed hosts and fixed checks on them follow the older report).
pub fn diff(old: &FleetReport, new: &FleetReport) -> Diff {
    let old_hosts: HashMap<&str, &HostReport> =
        old.hosts.iter().map(|h| (h.name.as_str(), h)).collect();
    let new_names: HashSet<&str> = new.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut d = Diff {
        old_scan_id: old.meta.scan_id.clone(),
        new_scan_id: new.meta.scan_id.clone(),
        new_failures: Vec::new(),
        fixed: Vec::new(),
        newly_unreachable: Vec::new(),
        recovered: Vec::new(),
        hosts_added: Vec::new(),
        hosts_removed: old
            .hosts
            .iter()
            .filter(|h| !new_names.contains(h.name.as_str()))
            .map(|h| h.name.clone())
            .collect(),
    };
    for host in &new.hosts {
        let before = old_hosts.get(host.name.as_str()).copied();
        if before.is_none() {
            d.hosts_added.push(host.name.clone());
        }
        let old_outcome = before.map(|h| h.outcome);
        if host.outcome.is_failure() && !old_outcome.is_some_and(Outcome::is_failure) {
            d.newly_unreachable.push(HostChange {
                host: host.name.clone(),
                old_outcome,
                new_outcome: host.outcome,
                error: host.error.clone(),
            });
        }
        if host.outcome == Outcome::Scanned && old_outcome.is_some_and(Outcome::is_failure) {
            d.recovered.push(HostChange {
                host: host.name.clone(),
                old_outcome,
                new_outcome: host.outcome,
                error: None,
            });
        }
        let old_checks: HashMap<&str, &CheckResult> = before
            .map(|h| h.checks.iter().map(|c| (c.id.as_ref(), c)).collect())
            .unwrap_or_default();
        let change = |check: &CheckResult, old_status: Option<Status>| CheckChange {
            host: host.name.clone(),
            check: check.id.to_string(),
            title: check.title.to_string(),
            severity: check.severity,
            old_status,
            new_status: check.status,
            summary: check.summary.clone(),
        };
        for check in &host.checks {
            let was = old_checks.get(check.id.as_ref()).copied();
            let was_failing = was.is_some_and(failing);
            if failing(check) && !was_failing {
                d.new_failures.push(change(check, was.map(|c| c.status)));
            }
            if was_failing
                && matches!(
                    check.status,
                    Status::Pass | Status::Warn | Status::NotApplicable
                )
            {
                d.fixed.push(change(check, Some(Status::Fail)));
            }
        }
    }
    d
}

impl Diff {
    /// True when something got worse: a new failure or a newly unscannable host.
    pub fn got_worse(&self) -> bool {
        !self.new_failures.is_empty() || !self.newly_unreachable.is_empty()
    }

    /// True when nothing at all changed.
    pub fn is_empty(&self) -> bool {
        self.new_failures.is_empty()
            && self.fixed.is_empty()
            && self.newly_unreachable.is_empty()
            && self.recovered.is_empty()
            && self.hosts_added.is_empty()
            && self.hosts_removed.is_empty()
    }

    /// A readable rendering, one section per kind of change (empty sections left
    /// out). Remote text has its control characters replaced.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "fleetscan diff {} -> {}: {}",
            printable(&self.old_scan_id),
            printable(&self.new_scan_id),
            if self.got_worse() {
                "got worse"
            } else if self.is_empty() {
                "no change"
            } else {
                "nothing got worse"
            }
        )?;
        let checks = |out: &mut String, title: &str, list: &[CheckChange]| -> std::fmt::Result {
            if list.is_empty() {
                return Ok(());
            }
            writeln!(out, "\n{title} ({}):", list.len())?;
            for c in list {
                writeln!(
                    out,
                    "  {}  {} [{}] {} -> {}: {}",
                    printable(&c.host),
                    printable(&c.check),
                    c.severity,
                    c.old_status.map_or("none", Status::as_str),
                    c.new_status,
                    printable(&c.summary)
                )?;
            }
            Ok(())
        };
        let hosts = |out: &mut String, title: &str, list: &[HostChange]| -> std::fmt::Result {
            if list.is_empty() {
                return Ok(());
            }
            writeln!(out, "\n{title} ({}):", list.len())?;
            for h in list {
                write!(
                    out,
                    "  {}  {} -> {}",
                    printable(&h.host),
                    h.old_outcome.map_or("absent", Outcome::as_str),
                    h.new_outcome
                )?;
                match &h.error {
                    Some(e) => writeln!(out, ": {}", printable(e))?,
                    None => writeln!(out)?,
                }
            }
            Ok(())
        };
        let names = |out: &mut String, title: &str, list: &[String]| -> std::fmt::Result {
            if list.is_empty() {
                return Ok(());
            }
            writeln!(out, "\n{title} ({}):", list.len())?;
            for name in list {
                writeln!(out, "  {}", printable(name))?;
            }
            Ok(())
        };
        checks(out, "New failures", &self.new_failures)?;
        hosts(out, "Hosts newly not scanned", &self.newly_unreachable)?;
        checks(out, "Fixed", &self.fixed)?;
        hosts(out, "Recovered hosts", &self.recovered)?;
        names(out, "Hosts added", &self.hosts_added)?;
        names(out, "Hosts removed", &self.hosts_removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn identical_reports_have_no_differences() {
        let r = sample::fixed_report();
        let d = diff(&r, &r);
        assert!(d.is_empty() && !d.got_worse(), "{d:?}");
        assert!(d.render_text().ends_with("no change\n"));
    }
}
