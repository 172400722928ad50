//! The `fleetscan run` job: keep each host's stdout, stderr and exit code.

use serde::Serialize;

use super::fanout::{HostSummary, Job};
use super::plan::HostPlan;
use super::remote::LineSink;
use crate::report::model::Outcome;

/// Output kept per host and stream; a host that prints more is cut with a marker.
pub const MAX_KEPT_OUTPUT: usize = 1024 * 1024;

/// One host's result of an ad-hoc command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandRecord {
    /// Inventory name.
    pub host: String,
    /// What we connected to.
    pub address: String,
    /// How the host's run ended.
    pub outcome: Outcome,
    /// For outcomes other than `scanned`: what went wrong.
    pub error: Option<String>,
    /// The command's exit code, when it ran to the end.
    pub exit_code: Option<i32>,
    /// Standard output, lines joined with `\n`.
    pub stdout: String,
    /// Standard error (CLIXML decoded).
    pub stderr: String,
    /// True when stdout or stderr passed [`MAX_KEPT_OUTPUT`] and was cut.
    pub truncated: bool,
    /// How long the host took, in milliseconds.
    pub duration_ms: u64,
}

/// Collects every host's output of one command.
#[derive(Debug, Default)]
pub struct CommandJob;

/// One host's output as it arrives.
#[derive(Debug, Default)]
pub struct CommandSink {
    stdout: String,
    stderr: String,
    truncated: bool,
}

impl CommandSink {
    fn push(buf: &mut String, truncated: &mut bool, text: &str) {
        let room = MAX_KEPT_OUTPUT.saturating_sub(buf.len());
        if text.len() <= room {
            buf.push_str(text);
            return;
        }
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        buf.push_str(&text[..end]);
        *truncated = true;
    }
}

impl LineSink for CommandSink {
    fn stdout_line(&mut self, line: &str) {
        Self::push(&mut self.stdout, &mut self.truncated, line);
        Self::push(&mut self.stdout, &mut self.truncated, "\n");
    }

    fn stderr_text(&mut self, text: &str) {
        Self::push(&mut self.stderr, &mut self.truncated, text);
    }
}

impl Job for CommandJob {
    type Sink = CommandSink;
    type Record = CommandRecord;

    fn sink(&self, _host: &HostPlan) -> CommandSink {
        CommandSink::default()
    }

    fn received_output(sink: &CommandSink) -> bool {
        !sink.stdout.is_empty() || !sink.stderr.is_empty()
    }

    fn finish(&self, host: &HostPlan, summary: HostSummary, sink: CommandSink) -> CommandRecord {
        CommandRecord {
            host: host.name.clone(),
            address: host.display_address(),
            outcome: summary.outcome,
            error: summary.error,
            exit_code: summary.exit_code,
            stdout: sink.stdout,
            stderr: sink.stderr,
            truncated: sink.truncated,
            duration_ms: u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The exit code of `fleetscan run` (CLI.md): 130 interrupted, 3 when a host could
/// not run the command, 1 when some exit code was not 0, else 0.
pub fn run_exit_code(records: &[CommandRecord], interrupted: bool) -> u8 {
    if interrupted {
        130
    } else if records.iter().any(|r| r.outcome != Outcome::Scanned) {
        3
    } else if records.iter().any(|r| r.exit_code != Some(0)) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, exit_code: Option<i32>) -> CommandRecord {
        CommandRecord {
            host: "h".into(),
            address: "h:5985".into(),
            outcome,
            error: None,
            exit_code,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            duration_ms: 0,
        }
    }

    #[test]
    fn run_exit_codes_follow_cli_md() {
        assert_eq!(
            run_exit_code(&[record(Outcome::Scanned, Some(0))], false),
            0
        );
        assert_eq!(
            run_exit_code(
                &[
                    record(Outcome::Scanned, Some(0)),
                    record(Outcome::Scanned, Some(2))
                ],
                false
            ),
            1
        );
        assert_eq!(
            run_exit_code(
                &[
                    record(Outcome::Scanned, Some(2)),
                    record(Outcome::Unreachable, None)
                ],
                false
            ),
            3
        );
        assert_eq!(
            run_exit_code(&[record(Outcome::Scanned, Some(0))], true),
            130
        );
    }

    #[test]
    fn output_past_the_cap_is_cut_and_flagged() {
        let mut sink = CommandSink::default();
        let big = "é".repeat(MAX_KEPT_OUTPUT);
        sink.stdout_line(&big);
        assert!(sink.truncated);
        assert!(sink.stdout.len() <= MAX_KEPT_OUTPUT);
    }
}
