//! The summary printed after a scan (and by `fleetscan report` without output
//! files): counts by outcome and status, the checks that fail on most hosts with
//! their fix, and the hosts that could not be scanned. Text from the remote side
//! has its control characters replaced, so it cannot drive the terminal.

use std::fmt::Write;

use super::digest::FleetDigest;
use super::model::{FleetReport, Outcome, Status};
use super::stats::{FleetStats, failing_checks};
use super::stream::ReportHead;
use super::text::{first_line, printable};

/// How many failing checks the summary lists.
pub const TOP_CHECKS: usize = 10;
/// How many unscanned hosts the summary lists before "and N more".
pub const MAX_HOSTS: usize = 20;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

/// The summary of `report`; ANSI colours when `color` is true, plain text otherwise.
/// Ends with a newline.
pub fn summary(report: &FleetReport, color: bool) -> String {
    let digest = FleetDigest::of(report);
    summary_of(&ReportHead::of(report, &digest), color)
}

/// [`summary`] of the report `head` describes (its digest is all it needs).
pub fn summary_of(head: &ReportHead<'_>, color: bool) -> String {
    let p = Paint { on: color };
    let stats = FleetStats::of(head.digest);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_summary(&mut out, head, &stats, &p);
    out
}

fn write_summary(
    out: &mut String,
    report: &ReportHead<'_>,
    stats: &FleetStats,
    p: &Paint,
) -> std::fmt::Result {
    let ready = format!(
        "{}/{} ({})",
        stats.ready_hosts,
        stats.selected,
        stats.ready_percent_text()
    );
    let ready = if stats.ready_hosts == stats.selected && stats.selected > 0 {
        p.green(&ready)
    } else {
        p.yellow(&ready)
    };
    writeln!(
        out,
        "{} {}: {} hosts, ready for System State backup: {ready}",
        p.bold("fleetscan"),
        printable(&report.meta.scan_id),
        stats.selected
    )?;
    if report.meta.interrupted {
        writeln!(
            out,
            "{}",
            p.yellow("interrupted: unfinished hosts are skipped")
        )?;
    }
    let outcomes: Vec<String> = Outcome::ALL
        .iter()
        .map(|o| {
            let n = stats.outcome(*o);
            let text = format!("{o} {n}");
            if n > 0 && o.is_failure() {
                p.red(&text)
            } else {
                text
            }
        })
        .collect();
    writeln!(out, "hosts:  {}", outcomes.join(", "))?;
    let statuses: Vec<String> = Status::ALL
        .iter()
        .map(|s| {
            let n = stats.status(*s);
            let text = format!("{s} {n}");
            match s {
                Status::Fail if n > 0 => p.red(&text),
                Status::Warn if n > 0 => p.yellow(&text),
                _ => text,
            }
        })
        .collect();
    write!(out, "checks: {}", statuses.join(", "))?;
    if stats.waived > 0 {
        write!(out, " ({} waived)", stats.waived)?;
    }
    writeln!(out)?;

    let failing = failing_checks(report.digest);
    if !failing.is_empty() {
        writeln!(out, "\n{}", p.bold("Failing checks (hosts hit):"))?;
        for check in failing.iter().take(TOP_CHECKS) {
            writeln!(
                out,
                "  {:>5}  {} [{}] {}",
                check.hosts.len(),
                p.red(&printable(check.id)),
                check.severity,
                printable(check.title)
            )?;
            let fix = first_line(&printable(check.remediation), 160);
            if !fix.is_empty() {
                writeln!(out, "         {} {fix}", p.dim("fix:"))?;
            }
        }
        if failing.len() > TOP_CHECKS {
            writeln!(
                out,
                "  and {} more failing checks",
                failing.len() - TOP_CHECKS
            )?;
        }
    }

    let unscanned: Vec<_> = report
        .digest
        .hosts
        .iter()
        .filter(|h| h.outcome.is_failure())
        .collect();
    if !unscanned.is_empty() {
        writeln!(out, "\n{}", p.bold("Hosts not scanned:"))?;
        for host in unscanned.iter().take(MAX_HOSTS) {
            writeln!(
                out,
                "  {} ({}) {}: {}",
                printable(&host.name),
                printable(&host.address),
                p.red(host.outcome.as_str()),
                first_line(&printable(host.error.as_deref().unwrap_or("")), 200)
            )?;
        }
        if unscanned.len() > MAX_HOSTS {
            writeln!(out, "  and {} more", unscanned.len() - MAX_HOSTS)?;
        }
    }
    if !report.meta.expired_waivers.is_empty() {
        writeln!(out, "\n{}", p.bold("Expired waivers (no longer applied):"))?;
        for waiver in &report.meta.expired_waivers {
            writeln!(out, "  {}", printable(waiver))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn plain_summary_has_no_escape_codes_and_colour_summary_has() {
        let report = sample::fixed_report();
        assert!(!summary(&report, false).contains('\x1b'));
        assert!(summary(&report, true).contains("\x1b[31m"));
    }

    #[test]
    fn failing_checks_are_ranked_by_hosts_hit_and_capped() {
        let mut report = sample::synthetic(30, 12, 1);
        for (i, h) in report.hosts.iter_mut().enumerate() {
            h.outcome = Outcome::Scanned;
            // check j fails on the first 30 - 2j hosts: 30, 28, 26, ...
            h.checks = sample::CHECK_IDS[..12]
                .iter()
                .enumerate()
                .map(|(j, id)| {
                    let status = if i < 30 - 2 * j {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    sample::check(id, status, "seen", serde_json::Value::Null)
                })
                .collect();
        }
        let text = summary(&report, false);
        let first = text
            .lines()
            .position(|l| l.contains("host.context"))
            .unwrap();
        let second = text
            .lines()
            .position(|l| l.contains("os.supported_sku"))
            .unwrap();
        assert!(first < second, "{text}");
        assert!(text.contains("     30  host.context [medium]"), "{text}");
        assert!(text.contains("  and 2 more failing checks\n"), "{text}");
        assert!(text.contains("fix: Fix host.context"), "{text}");
    }

    #[test]
    fn unscanned_host_list_is_capped_with_a_count_of_the_rest() {
        let mut report = sample::synthetic(400, 3, 7);
        for h in &mut report.hosts {
            h.outcome = Outcome::Unreachable;
        }
        let text = summary(&report, false);
        assert!(
            text.contains(&format!("  and {} more\n", 400 - MAX_HOSTS)),
            "{text}"
        );
    }
}
