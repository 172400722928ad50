//! `fleetscan report`: re-render a saved JSON report as CSV, HTML or JUnit.
//! Without an output file it prints the terminal summary.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use fleetscan::cli::ReportArgs;
use fleetscan::report::{self, OutputPaths};

/// Runs `fleetscan report` and returns the process exit code (0; errors exit 2).
pub(crate) fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let report = report::json::read(&args.from)?;
    let paths = OutputPaths {
        csv: args.csv,
        json: None,
        html: args.html,
        junit: args.junit,
    };
    if paths == OutputPaths::default() {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print_stdout(&report::terminal::summary(&report, color))?;
        return Ok(0);
    }
    report::write_files(&report, &paths)
        .with_context(|| format!("re-rendering {}", args.from.display()))?;
    Ok(0)
}

/// Writes `text` to stdout; a closed pipe (`fleetscan diff … | head`) ends quietly.
pub(crate) fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}
