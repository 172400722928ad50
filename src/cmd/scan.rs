//! `fleetscan scan`: read the inventory and waivers, resolve every host, scan,
//! write the reports, print the summary, exit with the code of CLI.md.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use fleetscan::cli::ScanArgs;
use fleetscan::probes::{Program, Selection, Settings};
use fleetscan::report::OutputPaths;
use fleetscan::report::waivers::Waivers;
use fleetscan::scan::{self, Journal, ProgressMode, ScanRequest, WinrmRemote};
use fleetscan::winrm::{PreparedCommand, PreparedScript};

use super::{common, targets};

/// The journal's name when `--journal` is not given.
const DEFAULT_JOURNAL: &str = "fleetscan-journal.jsonl";

/// Runs `fleetscan scan`.
pub(crate) fn run(args: ScanArgs) -> anyhow::Result<u8> {
    common::init_logging(&args.output);
    // Everything that can be wrong with the configuration fails here, before any
    // connection: waivers, checks, settings, inventory, limit, credentials, TLS.
    let waivers = args.waivers.as_deref().map(Waivers::load).transpose()?;
    let settings = settings(&args.settings)?;
    let program = Program::assemble(&Selection {
        include: args.checks.clone(),
        exclude: args.skip_checks.clone(),
        deep: args.deep,
    })?;
    let selected = targets::select(&args.targets, &args.connect)?;
    let client = targets::client(&args.connect, &args.fan_out)?;
    let outputs = OutputPaths {
        csv: args.csv.clone(),
        json: args.json.clone(),
        html: args.html.clone(),
        junit: args.junit.clone(),
    };
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&outputs));
    let scan_id = uuid::Uuid::new_v4().to_string();
    let journal = Journal::create(&journal_path, &scan_id)?;
    common::raise_fd_limit();

    let command = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(program.script())));
    let remote = Arc::new(WinrmRemote::new(client, command));
    let request = ScanRequest {
        scan_id,
        hosts: selected.hosts,
        program: Arc::new(program),
        settings: Arc::new(settings),
        fan_out: targets::fan_out(&args.fan_out),
        inventory_files: selected.sources,
        journal: Some(journal),
        progress: ProgressMode::detect(args.output.quiet),
    };
    let runtime = common::runtime()?;
    // The signal watch is set up before the scan starts, so no early Ctrl-C is lost.
    let cancel = runtime.block_on(async { common::cancel_on_signals() });
    let mut scanned = common::run_on_workers(&runtime, scan::scan_fleet(remote, request, cancel))?;
    if let Some(w) = waivers {
        scanned.apply_waivers(w, time::OffsetDateTime::now_utc().date());
    }
    // One pass over the journal feeds every requested file.
    scanned.write_files(&outputs)?;
    common::print_stdout(&scanned.summary(std::io::stdout().is_terminal()));
    Ok(scanned.exit_status().code())
}

/// Thresholds with every `--set KEY=VALUE` applied.
pub(crate) fn settings(pairs: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings::default();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--set {pair}: expected KEY=VALUE"))?;
        settings.set(key.trim(), value.trim())?;
    }
    Ok(settings)
}

/// `fleetscan-journal.jsonl` beside the first report file, else in the current
/// directory.
fn default_journal(outputs: &OutputPaths) -> PathBuf {
    let first = [&outputs.json, &outputs.csv, &outputs.html, &outputs.junit]
        .into_iter()
        .flatten()
        .next();
    let dir = first
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(DEFAULT_JOURNAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_defaults_beside_the_first_report() {
        let outputs = OutputPaths {
            csv: Some(PathBuf::from("/srv/reports/scan.csv")),
            json: None,
            html: Some(PathBuf::from("/tmp/x.html")),
            junit: None,
        };
        assert_eq!(
            default_journal(&outputs),
            PathBuf::from("/srv/reports").join(DEFAULT_JOURNAL)
        );
        let none = OutputPaths {
            csv: None,
            json: None,
            html: None,
            junit: None,
        };
        assert_eq!(default_journal(&none), Path::new(".").join(DEFAULT_JOURNAL));
    }

    #[test]
    fn set_needs_key_equals_value() {
        assert!(settings(&["clock_skew_warn_seconds".into()]).is_err());
        assert!(settings(&["no_such_key=1".into()]).is_err());
    }
}
