//! `fleetscan run -- COMMAND`: the same targets and fan-out as a scan, for one
//! ad-hoc command; each host's output printed with its name, or one JSON or CSV
//! record per host.

use std::sync::Arc;

use fleetscan::cli::{RunArgs, RunFormat};
use fleetscan::scan::{
    self, CommandJob, CommandRecord, Progress, ProgressMode, Tally, WinrmRemote,
};
use fleetscan::winrm::{PreparedCommand, PreparedScript};

use super::{common, targets};

/// Runs `fleetscan run`.
pub(crate) fn run(args: RunArgs) -> anyhow::Result<u8> {
    common::init_logging(&args.output);
    let selected = targets::select(&args.targets, &args.connect)?;
    let client = targets::client(&args.connect, &args.fan_out)?;
    let command = if args.powershell {
        PreparedCommand::PowerShell(Arc::new(PreparedScript::new(&args.command.join(" "))))
    } else {
        let (program, rest) = args
            .command
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("no command given after --"))?;
        PreparedCommand::Cmd {
            command: program.clone(),
            args: rest.to_vec(),
        }
    };
    let remote = Arc::new(WinrmRemote::new(client, command));
    let opts = targets::fan_out(&args.fan_out);
    let format = args.format;
    common::raise_fd_limit();

    let runtime = common::runtime()?;
    // The signal watch is set up before the run starts, so no early Ctrl-C is lost.
    let cancel = runtime.block_on(async { common::cancel_on_signals() });
    let (records, interrupted) = common::run_on_workers(&runtime, async move {
        let progress = Progress::start(
            selected.hosts.len(),
            ProgressMode::detect(args.output.quiet || format == RunFormat::Text),
        );
        let records = scan::fan_out(
            selected.hosts,
            remote,
            Arc::new(CommandJob),
            &opts,
            cancel.clone(),
            |_, r: &CommandRecord| {
                progress.host_done(if r.outcome != fleetscan::report::Outcome::Scanned {
                    Tally::NotScanned
                } else if r.exit_code == Some(0) {
                    Tally::Clean
                } else {
                    Tally::Failing
                });
                // Text output streams as hosts finish: a long run shows results early.
                if format == RunFormat::Text {
                    common::print_stdout(&text_record(r));
                }
            },
        )
        .await;
        progress.finish().await;
        (records, cancel.is_cancelled())
    })?;
    match format {
        RunFormat::Text => {}
        RunFormat::Json => {
            for r in &records {
                common::print_stdout(&format!("{}\n", serde_json::to_string(r)?));
            }
        }
        RunFormat::Csv => common::print_stdout(&csv_records(&records)?),
    }
    Ok(scan::run_exit_code(&records, interrupted))
}

/// `host: line` for every stdout line, `host! line` for stderr, then the outcome.
fn text_record(r: &CommandRecord) -> String {
    let mut out = String::new();
    for line in r.stdout.lines() {
        out.push_str(&format!("{}: {line}\n", r.host));
    }
    for line in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&format!("{}! {line}\n", r.host));
    }
    match (&r.error, r.exit_code) {
        (Some(e), _) => out.push_str(&format!("{}: [{}] {e}\n", r.host, r.outcome)),
        (None, Some(code)) => out.push_str(&format!("{}: [exit {code}]\n", r.host)),
        (None, None) => out.push_str(&format!("{}: [{}]\n", r.host, r.outcome)),
    }
    if r.truncated {
        out.push_str(&format!(
            "{}: [output cut at {} bytes]\n",
            r.host,
            scan::command_job::MAX_KEPT_OUTPUT
        ));
    }
    out
}

fn csv_records(records: &[CommandRecord]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "host",
        "address",
        "outcome",
        "exit_code",
        "error",
        "stdout",
        "stderr",
        "duration_ms",
    ])?;
    for r in records {
        let exit = r.exit_code.map(|c| c.to_string()).unwrap_or_default();
        let fields = [
            r.host.as_str(),
            r.address.as_str(),
            r.outcome.as_str(),
            exit.as_str(),
            r.error.as_deref().unwrap_or(""),
            // One record a line where possible: drop the final line break.
            r.stdout.trim_end_matches(['\r', '\n']),
            r.stderr.trim_end_matches(['\r', '\n']),
            &r.duration_ms.to_string(),
        ];
        // Remote output is hostile to spreadsheets too: neutralise formulas.
        w.write_record(
            fields
                .iter()
                .map(|f| fleetscan::report::csv::cell(f).into_owned()),
        )?;
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
    )?)
}
