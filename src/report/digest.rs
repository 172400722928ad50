//! The compact digest of a fleet report: per host only what the fleet-wide parts
//! of the reports need (name, address, groups, outcome, error, duration and, per
//! check, a kind number, the status and whether it is waived), a few hundred
//! bytes instead of the tens of kilobytes of evidence a [`HostReport`] holds.
//!
//! A scan keeps the digest in memory and spills the full hosts to the journal;
//! the writers take the figures, the matrix, the ranking, the host table and the
//! JUnit totals from the digest, then the hosts one at a time
//! ([`super::stream`]). Each check's catalogue text (id, title, severity,
//! remediation) is stored once per distinct text, as a [`CheckKind`].

use std::borrow::Cow;
use std::collections::HashMap;

use super::model::{CheckResult, ExitStatus, FleetReport, HostReport, Outcome, Severity, Status};

/// The text a check shares on every host: stored once, numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckKind {
    /// Check id.
    pub id: Cow<'static, str>,
    /// Human title.
    pub title: Cow<'static, str>,
    /// Severity.
    pub severity: Severity,
    /// What to do about a failure.
    pub remediation: Cow<'static, str>,
}

/// Stands in for a kind number that is not in the table (never, by construction).
const NO_KIND: CheckKind = CheckKind {
    id: Cow::Borrowed(""),
    title: Cow::Borrowed(""),
    severity: Severity::Info,
    remediation: Cow::Borrowed(""),
};

/// One check of one host, digested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMark {
    /// Index of the check's [`CheckKind`] in [`CheckKinds`].
    pub kind: u32,
    /// The verdict.
    pub status: Status,
    /// True when a waiver accepted it.
    pub waived: bool,
}

impl CheckMark {
    /// Fails and no waiver accepted it.
    pub fn is_unwaived_failure(self) -> bool {
        self.status == Status::Fail && !self.waived
    }
}

/// The distinct check texts of a report, numbered in the order first seen.
#[derive(Debug, Clone, Default)]
pub struct CheckKinds {
    kinds: Vec<CheckKind>,
    by_id: HashMap<Cow<'static, str>, Vec<u32>>,
    /// The kind found at each position of the previous host: hosts list the same
    /// checks in the same order, so this usually answers without hashing.
    recent: Vec<u32>,
}

impl CheckKinds {
    /// The kind numbered `kind`.
    pub fn get(&self, kind: u32) -> &CheckKind {
        usize::try_from(kind)
            .ok()
            .and_then(|i| self.kinds.get(i))
            .unwrap_or(&NO_KIND)
    }

    /// How many distinct kinds there are.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// True when no check was seen.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The number of `check`'s kind (added when new); `position` is the check's
    /// index within its host.
    fn intern(&mut self, position: usize, check: &CheckResult) -> u32 {
        let same = |k: &CheckKind| {
            k.id == check.id
                && k.severity == check.severity
                && k.title == check.title
                && k.remediation == check.remediation
        };
        if let Some(&kind) = self.recent.get(position)
            && same(self.get(kind))
        {
            return kind;
        }
        let found = self
            .by_id
            .get(check.id.as_ref())
            .and_then(|list| list.iter().copied().find(|&k| same(self.get(k))));
        let kind = found.unwrap_or_else(|| {
            // More than u32::MAX distinct check texts cannot be held in memory anyway.
            let kind = u32::try_from(self.kinds.len()).unwrap_or(u32::MAX);
            self.kinds.push(CheckKind {
                id: check.id.clone(),
                title: check.title.clone(),
                severity: check.severity,
                remediation: check.remediation.clone(),
            });
            self.by_id.entry(check.id.clone()).or_default().push(kind);
            kind
        });
        if let Some(slot) = self.recent.get_mut(position) {
            *slot = kind;
        } else if self.recent.len() == position {
            self.recent.push(kind);
        }
        kind
    }
}

/// How a host's checks came out, waived ones counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckCounts {
    /// Unwaived failures.
    pub fail: usize,
    /// Unwaived warnings.
    pub warn: usize,
    /// Unknown.
    pub unknown: usize,
    /// Waived (whatever the status).
    pub waived: usize,
    /// Passed.
    pub pass: usize,
    /// Not applicable.
    pub na: usize,
}

impl CheckCounts {
    /// Counts `(status, waived)` pairs.
    pub fn of(checks: impl Iterator<Item = (Status, bool)>) -> CheckCounts {
        let mut t = CheckCounts::default();
        for (status, waived) in checks {
            if waived {
                t.waived += 1;
                continue;
            }
            match status {
                Status::Pass => t.pass += 1,
                Status::Warn => t.warn += 1,
                Status::Fail => t.fail += 1,
                Status::Unknown => t.unknown += 1,
                Status::NotApplicable => t.na += 1,
            }
        }
        t
    }
}

/// One host, digested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDigest {
    /// The inventory name.
    pub name: String,
    /// What we connected to, with the port.
    pub address: String,
    /// Inventory groups.
    pub groups: Vec<String>,
    /// How the scan ended.
    pub outcome: Outcome,
    /// What went wrong, for outcomes other than `scanned`.
    pub error: Option<String>,
    /// How long the host took, in milliseconds.
    pub duration_ms: u64,
    /// The checks, in the host's order.
    pub checks: Vec<CheckMark>,
}

impl HostDigest {
    /// Digests `host`, numbering its checks' texts in `kinds`.
    pub fn of(host: &HostReport, kinds: &mut CheckKinds) -> HostDigest {
        HostDigest {
            name: host.name.clone(),
            address: host.address.clone(),
            groups: host.groups.clone(),
            outcome: host.outcome,
            error: host.error.clone(),
            duration_ms: host.duration_ms,
            checks: host
                .checks
                .iter()
                .enumerate()
                .map(|(i, c)| CheckMark {
                    kind: kinds.intern(i, c),
                    status: c.status,
                    waived: c.waived.is_some(),
                })
                .collect(),
        }
    }

    /// At least one check fails and no waiver accepted it.
    pub fn has_unwaived_failure(&self) -> bool {
        self.checks.iter().any(|c| c.is_unwaived_failure())
    }

    /// Scanned completely and no unwaived failure: see [`super::stats::is_ready`].
    pub fn is_ready(&self) -> bool {
        self.outcome == Outcome::Scanned && !self.has_unwaived_failure()
    }

    /// The host's checks counted by status, waived ones apart.
    pub fn counts(&self) -> CheckCounts {
        CheckCounts::of(self.checks.iter().map(|c| (c.status, c.waived)))
    }
}

/// Every host of a report, digested, in report (inventory) order.
#[derive(Debug, Clone, Default)]
pub struct FleetDigest {
    /// The check texts the marks point to.
    pub kinds: CheckKinds,
    /// The hosts.
    pub hosts: Vec<HostDigest>,
}

impl FleetDigest {
    /// Digests an in-memory report.
    pub fn of(report: &FleetReport) -> FleetDigest {
        let mut kinds = CheckKinds::default();
        let hosts = report
            .hosts
            .iter()
            .map(|h| HostDigest::of(h, &mut kinds))
            .collect();
        FleetDigest { kinds, hosts }
    }

    /// The run's exit status, as [`FleetReport::exit_status`] gives it.
    pub fn exit_status(&self, interrupted: bool) -> ExitStatus {
        if interrupted {
            ExitStatus::Interrupted
        } else if self.hosts.iter().any(|h| h.outcome.is_failure()) {
            ExitStatus::HostsUnscanned
        } else if self.hosts.iter().any(HostDigest::has_unwaived_failure) {
            ExitStatus::ChecksFailed
        } else {
            ExitStatus::Clean
        }
    }

    /// The text of `mark`'s check.
    pub fn kind(&self, mark: CheckMark) -> &CheckKind {
        self.kinds.get(mark.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn digest_gives_the_exit_status_of_the_report() {
        let mut reports = vec![sample::fixed_report(), sample::synthetic(60, 42, 3)];
        let mut clean = sample::synthetic(5, 3, 1);
        clean.hosts.iter_mut().for_each(|h| {
            h.outcome = Outcome::Scanned;
            h.checks.iter_mut().for_each(|c| c.status = Status::Pass);
        });
        reports.push(clean.clone());
        clean.hosts[2].checks[1].status = Status::Fail;
        reports.push(clean.clone());
        clean.meta.interrupted = true;
        reports.push(clean);
        let mut seen = Vec::new();
        for r in &reports {
            let status = FleetDigest::of(r).exit_status(r.meta.interrupted);
            assert_eq!(status, r.exit_status());
            seen.push(status.code());
        }
        assert_eq!(seen, [3, 3, 0, 1, 130]);
    }

    #[test]
    fn check_text_is_stored_once_per_distinct_text() {
        let mut report = sample::synthetic(50, 42, 2);
        let digest = FleetDigest::of(&report);
        assert_eq!(digest.kinds.len(), 42);
        // A host whose copy of a check says something else gets its own kind.
        let host = report
            .hosts
            .iter_mut()
            .find(|h| !h.checks.is_empty())
            .unwrap();
        host.checks[0].title = Cow::Owned("another title".into());
        let digest = FleetDigest::of(&report);
        assert_eq!(digest.kinds.len(), 43);
        for (h, d) in report.hosts.iter().zip(&digest.hosts) {
            for (c, m) in h.checks.iter().zip(&d.checks) {
                let k = digest.kind(*m);
                assert_eq!((&k.id, &k.title, m.status), (&c.id, &c.title, c.status));
            }
        }
    }
}
