//! The scan job: each host's stdout lines feed the probes' evidence collector as
//! they arrive; the finished host becomes a [`HostReport`] with judged checks.

use std::sync::Arc;

use super::fanout::{HostSummary, Job};
use super::plan::HostPlan;
use super::remote::LineSink;
use crate::probes::{Evidence, Program, ProgramEnd, Settings};
use crate::report::model::{HostReport, Outcome};

/// Cap on the stderr text kept per host (PowerShell errors are short; a flood is
/// cut, not stored).
const MAX_STDERR_KEPT: usize = 16 * 1024;

/// Judges each host's probe output into a [`HostReport`].
#[derive(Debug)]
pub struct ProbeJob {
    program: Arc<Program>,
    settings: Arc<Settings>,
}

impl ProbeJob {
    /// A job for `program`, judged with `settings`.
    pub fn new(program: Arc<Program>, settings: Arc<Settings>) -> Self {
        Self { program, settings }
    }
}

/// One host's evidence as it streams in.
#[derive(Debug)]
pub struct ProbeSink {
    evidence: Evidence,
    lines: usize,
    stderr: String,
}

impl LineSink for ProbeSink {
    fn stdout_line(&mut self, line: &str) {
        self.lines += 1;
        self.evidence.accept_line(line);
    }

    fn stderr_text(&mut self, text: &str) {
        push_capped(&mut self.stderr, text, MAX_STDERR_KEPT);
    }
}

/// Appends `text` to `buf` up to `cap` bytes (on a char boundary).
pub(crate) fn push_capped(buf: &mut String, text: &str, cap: usize) {
    let room = cap.saturating_sub(buf.len());
    if room == 0 {
        return;
    }
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(&text[..end]);
}

impl Job for ProbeJob {
    type Sink = ProbeSink;
    type Record = HostReport;

    fn sink(&self, _host: &HostPlan) -> ProbeSink {
        ProbeSink {
            evidence: self.program.collector(),
            lines: 0,
            stderr: String::new(),
        }
    }

    fn received_output(sink: &ProbeSink) -> bool {
        sink.lines > 0
    }

    fn finish(&self, host: &HostPlan, summary: HostSummary, sink: ProbeSink) -> HostReport {
        let end = match (summary.outcome, summary.exit_code) {
            (Outcome::Scanned, Some(0)) => ProgramEnd::Completed,
            (Outcome::Scanned, code) => ProgramEnd::Failed(program_failure(code, &sink.stderr)),
            (Outcome::Timeout, _) => ProgramEnd::TimedOut,
            (_, _) => ProgramEnd::Failed(summary.error.clone().unwrap_or_default()),
        };
        // A host that never printed a line and was not scanned has no check rows:
        // the report shows it once, with its outcome and error.
        let checks = if sink.lines == 0 && summary.outcome != Outcome::Scanned {
            Vec::new()
        } else {
            sink.evidence.judge(&self.settings, end)
        };
        HostReport {
            name: host.name.clone(),
            address: host.display_address(),
            groups: host.groups.clone(),
            outcome: summary.outcome,
            error: summary.error,
            started: summary.started,
            duration_ms: u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
            requests: summary.requests,
            checks,
        }
    }
}

fn program_failure(code: Option<i32>, stderr: &str) -> String {
    let first = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error text");
    match code {
        Some(c) => format!("the probe program exited with code {c}: {first}"),
        None => format!("the probe program ended without an exit code: {first}"),
    }
}
