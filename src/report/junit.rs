//! JUnit XML for CI dashboards: one `testsuite` per host, one `testcase` per check.
//!
//! - `fail` → `<failure>` (message: the summary; type: the severity; body: the fix and evidence).
//! - `not_applicable` → `<skipped>`; a waived failure or warning → `<skipped>` with the waiver.
//! - `warn` and `unknown` → a passing testcase with the status and summary in
//!   `<system-out>`: JUnit has no "warning" result, and failing a CI job on a
//!   warning would contradict the exit code (warnings exit 0).
//! - A host that could not be scanned gets a `scan` testcase with `<error>`, so a
//!   dashboard cannot hide unreachable hosts (Ansible's junit callback does;
//!   ansible/ansible#63962). A timed-out host keeps its check testcases as well.
//!   A host skipped because the run was interrupted gets a skipped `scan`
//!   testcase instead; one skipped for another reason is an error like the rest.
//!
//! `classname` is the host name and `name` the check id, so a CI server keys each
//! result's history by host and check. Text is escaped and characters XML 1.0
//! forbids (most C0 controls, U+FFFE, U+FFFF) are dropped.

use std::io::Write;

use time::OffsetDateTime;
use time::macros::format_description;

use super::ReportError;
use super::model::{CheckResult, FleetReport, HostReport, Outcome, Status};
use super::text::{Xml, compact_json};

fn attr(text: &str) -> Xml<'_> {
    Xml {
        text,
        attribute: true,
    }
}

fn body(text: &str) -> Xml<'_> {
    Xml {
        text,
        attribute: false,
    }
}

/// The `scan` testcase a host that was not scanned gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostCase {
    /// Could not be scanned: `<error>`.
    Error,
    /// Not attempted because the run was interrupted: `<skipped>`.
    Skipped,
}

impl HostCase {
    fn of(host: &HostReport, interrupted: bool) -> Option<HostCase> {
        if host.outcome == Outcome::Skipped && interrupted {
            Some(HostCase::Skipped)
        } else if host.outcome.is_failure() {
            Some(HostCase::Error)
        } else {
            None
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(host: &HostReport, interrupted: bool) -> Counts {
        let mut c = Counts {
            tests: host.checks.len(),
            ..Counts::default()
        };
        for check in &host.checks {
            match (check.status, &check.waived) {
                (Status::Fail, None) => c.failures += 1,
                (_, Some(_)) | (Status::NotApplicable, None) => c.skipped += 1,
                _ => {}
            }
        }
        match HostCase::of(host, interrupted) {
            Some(HostCase::Error) => {
                c.tests += 1;
                c.errors += 1;
            }
            Some(HostCase::Skipped) => {
                c.tests += 1;
                c.skipped += 1;
            }
            None => {}
        }
        c
    }

    fn add(self, o: Counts) -> Counts {
        Counts {
            tests: self.tests + o.tests,
            failures: self.failures + o.failures,
            errors: self.errors + o.errors,
            skipped: self.skipped + o.skipped,
        }
    }
}

fn timestamp(t: OffsetDateTime) -> String {
    // The JUnit schema's timestamp is an ISO 8601 date-time without offset: we write UTC.
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// Writes `report` as JUnit XML to `out`.
///
/// # Errors
/// [`ReportError::Io`] when `out` fails.
pub fn write(report: &FleetReport, mut out: impl Write) -> Result<(), ReportError> {
    write_inner(report, &mut out).map_err(ReportError::io("junit"))
}

fn write_inner(report: &FleetReport, out: &mut impl Write) -> std::io::Result<()> {
    let interrupted = report.meta.interrupted;
    let counts: Vec<Counts> = report
        .hosts
        .iter()
        .map(|h| Counts::of(h, interrupted))
        .collect();
    let total = counts.iter().fold(Counts::default(), |a, c| a.add(*c));
    let elapsed = (report.meta.finished - report.meta.started)
        .as_seconds_f64()
        .max(0.0);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="fleetscan {}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}" timestamp="{}">"#,
        attr(&report.meta.scan_id),
        total.tests,
        total.failures,
        total.errors,
        total.skipped,
        elapsed,
        timestamp(report.meta.started)
    )?;
    for (id, (host, c)) in report.hosts.iter().zip(&counts).enumerate() {
        writeln!(
            out,
            r#"  <testsuite name="{}" id="{id}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}" timestamp="{}" hostname="{}">"#,
            attr(&host.name),
            c.tests,
            c.failures,
            c.errors,
            c.skipped,
            host.duration_ms as f64 / 1000.0,
            timestamp(host.started),
            attr(&host.name),
        )?;
        writeln!(out, "    <properties>")?;
        for (name, value) in [
            ("address", host.address.as_str()),
            ("outcome", host.outcome.as_str()),
            ("groups", &host.groups.join(",")),
        ] {
            writeln!(
                out,
                r#"      <property name="{name}" value="{}"/>"#,
                attr(value)
            )?;
        }
        writeln!(out, "    </properties>")?;
        if let Some(case) = HostCase::of(host, interrupted) {
            write_host_case(out, host, case)?;
        }
        for check in &host.checks {
            write_check_case(out, host, check)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")?;
    out.flush()
}

fn write_host_case(out: &mut impl Write, host: &HostReport, case: HostCase) -> std::io::Result<()> {
    let error = host.error.as_deref().unwrap_or("");
    let message = format!("{}: {error}", host.outcome);
    writeln!(
        out,
        r#"    <testcase name="scan" classname="{}">"#,
        attr(&host.name)
    )?;
    if case == HostCase::Skipped {
        writeln!(
            out,
            r#"      <skipped message="not scanned: {}"/>"#,
            attr(if error.is_empty() {
                "run interrupted"
            } else {
                error
            })
        )?;
    } else {
        writeln!(
            out,
            r#"      <error message="{}" type="{}">{}</error>"#,
            attr(&message),
            host.outcome,
            body(&format!("{} ({}): {message}", host.name, host.address))
        )?;
    }
    writeln!(out, "    </testcase>")
}

fn write_check_case(
    out: &mut impl Write,
    host: &HostReport,
    check: &CheckResult,
) -> std::io::Result<()> {
    let open = format!(
        r#"    <testcase name="{}" classname="{}""#,
        attr(&check.id),
        attr(&host.name)
    );
    let evidence = compact_json(&check.evidence);
    if let Some(waiver) = &check.waived {
        let until = waiver
            .expires
            .as_deref()
            .map(|d| format!(" (until {d})"))
            .unwrap_or_default();
        writeln!(out, "{open}>")?;
        writeln!(
            out,
            r#"      <skipped message="{}"/>"#,
            attr(&format!(
                "waived {}: {}{until}",
                check.status, waiver.reason
            ))
        )?;
        writeln!(
            out,
            "      <system-out>{}</system-out>",
            body(&format!(
                "{}: {}\nevidence: {evidence}",
                check.status, check.summary
            ))
        )?;
        return writeln!(out, "    </testcase>");
    }
    match check.status {
        Status::Pass => writeln!(out, "{open}/>"),
        Status::Fail => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{}">{}</failure>"#,
                attr(&check.summary),
                check.severity,
                body(&format!(
                    "{}\nfix: {}\nevidence: {evidence}",
                    check.title, check.remediation
                ))
            )?;
            writeln!(out, "    </testcase>")
        }
        Status::NotApplicable => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <skipped message="{}"/>"#,
                attr(&format!("not applicable: {}", check.summary))
            )?;
            writeln!(out, "    </testcase>")
        }
        Status::Warn | Status::Unknown => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                body(&format!(
                    "{}: {}\nevidence: {evidence}",
                    check.status.as_str().to_uppercase(),
                    check.summary
                ))
            )?;
            writeln!(out, "    </testcase>")
        }
    }
}
