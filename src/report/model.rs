//! The report model: the typed data that `probes` and `scan` produce and every
//! writer consumes. It depends on nothing else in the crate.
//!
//! `FleetReport { meta, hosts: [HostReport] }`; a host that could not be scanned is
//! a `HostReport` with an [`Outcome`] other than `Scanned` and an `error`, never a
//! missing row.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Version of the JSON report layout; bump it when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// How one host's scan ended. Exactly one per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The probe program ran (its checks may still fail).
    Scanned,
    /// DNS failure, connection refused, connect timeout, TLS failure.
    Unreachable,
    /// The server rejected the credentials or the auth method.
    AuthFailed,
    /// The per-host deadline passed; checks received before it are kept.
    Timeout,
    /// The server answered something we could not use (fault, malformed XML, caps).
    ProtocolError,
    /// Not attempted (interrupted run, or excluded before connecting).
    Skipped,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 6] = [
        Outcome::Scanned,
        Outcome::Unreachable,
        Outcome::AuthFailed,
        Outcome::Timeout,
        Outcome::ProtocolError,
        Outcome::Skipped,
    ];

    /// The name used in CSV, JSON and CLI.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Scanned => "scanned",
            Outcome::Unreachable => "unreachable",
            Outcome::AuthFailed => "auth_failed",
            Outcome::Timeout => "timeout",
            Outcome::ProtocolError => "protocol_error",
            Outcome::Skipped => "skipped",
        }
    }

    /// True for the outcomes that make a run exit 3: the host could not be
    /// scanned. A host skipped by an interrupted run makes it exit 130 instead
    /// (see [`FleetReport::exit_status`]); one skipped for another reason (an
    /// unsupported transport) counts as not scanned.
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Scanned)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check's verdict on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Evidence shows the item is fine.
    Pass,
    /// Not a blocker, but worth fixing.
    Warn,
    /// System State backup will or is likely to fail.
    Fail,
    /// The probe failed, the account is not elevated, or the evidence is ambiguous.
    Unknown,
    /// The check does not apply to this host (e.g. MARS-only checks without MARS).
    NotApplicable,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Warn,
        Status::Fail,
        Status::Unknown,
        Status::NotApplicable,
    ];

    /// The name used in CSV, JSON and CLI.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a failing check is for System State backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// System State backup will fail.
    Critical,
    /// Likely failure.
    High,
    /// Worth fixing soon.
    Medium,
    /// Minor.
    Low,
    /// Context only.
    Info,
}

impl Severity {
    /// The name used in CSV, JSON and CLI.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A waiver that matched a check on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    /// Why the failure is accepted.
    pub reason: String,
    /// Last day the waiver applies (`YYYY-MM-DD`), if it expires.
    pub expires: Option<String>,
}

/// One check's result on one host.
///
/// `id`, `title`, `seed_section` and `remediation` come from the static catalogue,
/// so a scan borrows them instead of copying four strings per check per host; a
/// report read back from JSON owns them. Serialised either way they are plain strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable check id from the catalogue, e.g. `svc.vss_startup`.
    pub id: Cow<'static, str>,
    /// Human title of the check.
    pub title: Cow<'static, str>,
    /// Section of Microsoft's article the check comes from.
    pub seed_section: Cow<'static, str>,
    /// How bad a failure of this check is.
    pub severity: Severity,
    /// The verdict.
    pub status: Status,
    /// One line saying what was seen.
    pub summary: String,
    /// The evidence worth showing (a JSON object of selected facts), raw as received.
    pub evidence: serde_json::Value,
    /// What to do about a failure, in our own words.
    pub remediation: Cow<'static, str>,
    /// Set when a waiver accepted this check's failure or warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<AppliedWaiver>,
}

/// One host's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// The inventory name of the host.
    pub name: String,
    /// What we connected to (`ansible_host` or the name), with the port.
    pub address: String,
    /// Inventory groups the host belongs to.
    pub groups: Vec<String>,
    /// How the scan of this host ended.
    pub outcome: Outcome,
    /// For outcomes other than `scanned`: what went wrong and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the host's scan started.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// How long the host took, in milliseconds.
    pub duration_ms: u64,
    /// HTTP requests sent to this host (auth legs included).
    #[serde(default)]
    pub requests: u32,
    /// The checks' results (those received before a timeout, the rest `unknown`).
    pub checks: Vec<CheckResult>,
}

impl HostReport {
    /// The worst status among this host's checks that is not waived.
    pub fn has_unwaived_failure(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.status == Status::Fail && c.waived.is_none())
    }
}

/// Facts about the scan as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanMeta {
    /// Unique id of this scan (a UUID).
    pub scan_id: String,
    /// When the scan started.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// When the scan ended.
    #[serde(with = "time::serde::rfc3339")]
    pub finished: OffsetDateTime,
    /// `CARGO_PKG_VERSION` of the fleetscan that ran it.
    pub fleetscan_version: String,
    /// Inventory files read (and `-t` targets as `target:HOST`).
    pub inventory_files: Vec<String>,
    /// Ids of the checks that were selected.
    pub selected_checks: Vec<String>,
    /// Thresholds and options in force (`--set` values included), as text.
    pub settings: BTreeMap<String, String>,
    /// True when the run was interrupted (SIGINT/SIGTERM); unfinished hosts are `skipped`.
    #[serde(default)]
    pub interrupted: bool,
    /// Waivers that had expired and so no longer applied (`pattern check_id expires`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_waivers: Vec<String>,
}

/// The whole report of one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// Scan metadata.
    pub meta: ScanMeta,
    /// Every selected host, scanned or not, in inventory order.
    pub hosts: Vec<HostReport>,
}

/// Exit codes of CLI.md, as a pure function of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every host scanned, no unwaived failure.
    Clean,
    /// 1: every host scanned, at least one check failed.
    ChecksFailed,
    /// 3: at least one host could not be scanned.
    HostsUnscanned,
    /// 130: interrupted.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code for this status.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::ChecksFailed => 1,
            ExitStatus::HostsUnscanned => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl FleetReport {
    /// What the run's exit code should be (CLI.md, "Exit codes").
    pub fn exit_status(&self) -> ExitStatus {
        if self.meta.interrupted {
            ExitStatus::Interrupted
        } else if self.hosts.iter().any(|h| h.outcome.is_failure()) {
            ExitStatus::HostsUnscanned
        } else if self.hosts.iter().any(HostReport::has_unwaived_failure) {
            ExitStatus::ChecksFailed
        } else {
            ExitStatus::Clean
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(outcome: Outcome, status: Option<Status>) -> HostReport {
        HostReport {
            name: "web01".into(),
            address: "127.0.0.1:5985".into(),
            groups: vec![],
            outcome,
            error: None,
            started: OffsetDateTime::UNIX_EPOCH,
            duration_ms: 1,
            requests: 5,
            checks: status
                .map(|status| CheckResult {
                    id: "svc.vss_startup".into(),
                    title: "VSS startup".into(),
                    seed_section: "Pre-requisite".into(),
                    severity: Severity::Critical,
                    status,
                    summary: String::new(),
                    evidence: serde_json::Value::Null,
                    remediation: Cow::Borrowed(""),
                    waived: None,
                })
                .into_iter()
                .collect(),
        }
    }

    fn report(hosts: Vec<HostReport>, interrupted: bool) -> FleetReport {
        FleetReport {
            schema_version: SCHEMA_VERSION,
            meta: ScanMeta {
                scan_id: "x".into(),
                started: OffsetDateTime::UNIX_EPOCH,
                finished: OffsetDateTime::UNIX_EPOCH,
                fleetscan_version: "0".into(),
                inventory_files: vec![],
                selected_checks: vec![],
                settings: BTreeMap::new(),
                interrupted,
                expired_waivers: vec![],
            },
            hosts,
        }
    }

    #[test]
    fn exit_status_is_clean_when_every_host_passes_or_warns() {
        let r = report(
            vec![
                host(Outcome::Scanned, Some(Status::Pass)),
                host(Outcome::Scanned, Some(Status::Warn)),
            ],
            false,
        );
        assert_eq!(r.exit_status().code(), 0);
    }

    #[test]
    fn exit_status_is_one_when_a_check_fails_on_a_scanned_fleet() {
        let r = report(vec![host(Outcome::Scanned, Some(Status::Fail))], false);
        assert_eq!(r.exit_status().code(), 1);
    }

    #[test]
    fn waived_failure_does_not_fail_the_run() {
        let mut h = host(Outcome::Scanned, Some(Status::Fail));
        h.checks[0].waived = Some(AppliedWaiver {
            reason: "known".into(),
            expires: None,
        });
        assert_eq!(report(vec![h], false).exit_status().code(), 0);
    }

    #[test]
    fn exit_status_is_three_when_any_host_could_not_be_scanned() {
        for outcome in [
            Outcome::Unreachable,
            Outcome::AuthFailed,
            Outcome::Timeout,
            Outcome::ProtocolError,
            Outcome::Skipped,
        ] {
            let r = report(
                vec![
                    host(Outcome::Scanned, Some(Status::Fail)),
                    host(outcome, None),
                ],
                false,
            );
            assert_eq!(r.exit_status().code(), 3, "{outcome}");
        }
    }

    #[test]
    fn interrupted_run_exits_130_whatever_the_hosts() {
        let r = report(vec![host(Outcome::Skipped, None)], true);
        assert_eq!(r.exit_status().code(), 130);
    }

    #[test]
    fn borrowed_catalogue_text_serialises_as_plain_strings_and_reads_back_owned() {
        let check = CheckResult {
            id: Cow::Borrowed("svc.vss_startup"),
            title: Cow::Borrowed("VSS startup"),
            seed_section: Cow::Borrowed("Pre-requisite"),
            severity: Severity::Critical,
            status: Status::Fail,
            summary: "VSS is Disabled".into(),
            evidence: serde_json::json!({"start_mode": "Disabled"}),
            remediation: Cow::Borrowed("Set-Service VSS -StartupType Manual"),
            waived: None,
        };
        let text = serde_json::to_string(&check).expect("serialize");
        assert_eq!(
            text,
            r#"{"id":"svc.vss_startup","title":"VSS startup","seed_section":"Pre-requisite","severity":"critical","status":"fail","summary":"VSS is Disabled","evidence":{"start_mode":"Disabled"},"remediation":"Set-Service VSS -StartupType Manual"}"#
        );
        let back: CheckResult = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, check);
        for field in [&back.id, &back.title, &back.seed_section, &back.remediation] {
            assert!(matches!(field, Cow::Owned(_)), "{field:?} borrowed");
        }
        assert_eq!(serde_json::to_string(&back).expect("serialize"), text);
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = report(vec![host(Outcome::Scanned, Some(Status::Warn))], false);
        let text = serde_json::to_string(&r).expect("serialize");
        let back: FleetReport = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, r);
    }
}
