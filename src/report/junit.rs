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
use super::digest::FleetDigest;
use super::model::{FleetReport, Outcome, Status};
use super::stream::{ReportHead, ReportHosts, Sink, run_one};
use super::text::Xml;
use super::view::{CheckView, HostView};

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
    fn of(outcome: Outcome, interrupted: bool) -> Option<HostCase> {
        if outcome == Outcome::Skipped && interrupted {
            Some(HostCase::Skipped)
        } else if outcome.is_failure() {
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
    /// The counts of a host with this outcome and these `(status, waived)` checks.
    fn of(
        outcome: Outcome,
        checks: impl ExactSizeIterator<Item = (Status, bool)>,
        interrupted: bool,
    ) -> Counts {
        let mut c = Counts {
            tests: checks.len(),
            ..Counts::default()
        };
        for check in checks {
            match check {
                (Status::Fail, false) => c.failures += 1,
                (_, true) | (Status::NotApplicable, false) => c.skipped += 1,
                _ => {}
            }
        }
        match HostCase::of(outcome, interrupted) {
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
pub fn write(report: &FleetReport, out: impl Write) -> Result<(), ReportError> {
    let digest = FleetDigest::of(report);
    let head = ReportHead::of(report, &digest);
    run_one(
        &mut JunitSink::new(&head, out),
        &mut ReportHosts(&report.hosts),
    )
}

/// The JUnit writer as a [`Sink`]: the totals come from the digest, each
/// host's testsuite is written as the host comes.
pub struct JunitSink<'h, W: Write> {
    head: ReportHead<'h>,
    out: W,
}

impl<'h, W: Write> JunitSink<'h, W> {
    /// A JUnit writer for the report `head` describes, writing to `out`.
    pub fn new(head: &ReportHead<'h>, out: W) -> Self {
        JunitSink { head: *head, out }
    }
}

impl<W: Write> Sink for JunitSink<'_, W> {
    fn format(&self) -> &'static str {
        "junit"
    }

    fn begin(&mut self) -> std::io::Result<()> {
        let meta = self.head.meta;
        let total = self
            .head
            .digest
            .hosts
            .iter()
            .map(|h| {
                Counts::of(
                    h.outcome,
                    h.checks.iter().map(|c| (c.status, c.waived)),
                    meta.interrupted,
                )
            })
            .fold(Counts::default(), Counts::add);
        let elapsed = (meta.finished - meta.started).as_seconds_f64().max(0.0);
        let out = &mut self.out;
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="fleetscan {}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}" timestamp="{}">"#,
            attr(&meta.scan_id),
            total.tests,
            total.failures,
            total.errors,
            total.skipped,
            elapsed,
            timestamp(meta.started)
        )
    }

    fn host(&mut self, id: usize, host: &HostView<'_>) -> std::io::Result<()> {
        let interrupted = self.head.meta.interrupted;
        let c = Counts::of(
            host.outcome,
            host.checks.iter().map(|c| (c.status, c.waived.is_some())),
            interrupted,
        );
        let out = &mut self.out;
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
            ("address", &*host.address),
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
        if let Some(case) = HostCase::of(host.outcome, interrupted) {
            write_host_case(out, host, case)?;
        }
        for check in &host.checks {
            write_check_case(out, host, check)?;
        }
        writeln!(out, "  </testsuite>")
    }

    fn finish(&mut self) -> std::io::Result<()> {
        writeln!(self.out, "</testsuites>")?;
        self.out.flush()
    }
}

fn write_host_case(
    out: &mut impl Write,
    host: &HostView<'_>,
    case: HostCase,
) -> std::io::Result<()> {
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
    host: &HostView<'_>,
    check: &CheckView<'_>,
) -> std::io::Result<()> {
    // Written straight into the buffered file: a `format!` per check was most of
    // this writer's allocations (40 per healthy host).
    let open = |out: &mut dyn Write, end: &str| {
        writeln!(
            out,
            r#"    <testcase name="{}" classname="{}"{end}"#,
            attr(&check.id),
            attr(&host.name)
        )
    };
    let evidence = check.evidence_text();
    if let Some(waiver) = &check.waived {
        let until = waiver
            .expires
            .as_deref()
            .map(|d| format!(" (until {d})"))
            .unwrap_or_default();
        open(out, ">")?;
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
        Status::Pass => open(out, "/>"),
        Status::Fail => {
            open(out, ">")?;
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
            open(out, ">")?;
            writeln!(
                out,
                r#"      <skipped message="{}"/>"#,
                attr(&format!("not applicable: {}", check.summary))
            )?;
            writeln!(out, "    </testcase>")
        }
        Status::Warn | Status::Unknown => {
            open(out, ">")?;
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
