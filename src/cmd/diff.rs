//! `fleetscan diff OLD.json NEW.json`: what got worse, what got fixed.
//! Exit 1 when something got worse (new failure, newly unreachable host), 0
//! otherwise; an unreadable or foreign input is an error (exit 2, from main).

use anyhow::Context;
use fleetscan::cli::{DiffArgs, DiffFormat};
use fleetscan::report::{diff, json};

/// Runs `fleetscan diff` and returns the process exit code.
pub(crate) fn run(args: DiffArgs) -> anyhow::Result<u8> {
    let old = json::read(&args.old).context("reading the older report")?;
    let new = json::read(&args.new).context("reading the newer report")?;
    let d = diff::diff(&old, &new);
    let text = match args.format {
        DiffFormat::Text => d.render_text(),
        DiffFormat::Json => {
            serde_json::to_string_pretty(&d).context("encoding the diff as JSON")? + "\n"
        }
    };
    super::report::print_stdout(&text)?;
    Ok(u8::from(d.got_worse()))
}
