//! The `fleetscan` binary: parse the command line, call the library, map the result
//! to an exit code (CLI.md). Errors are printed once, on stderr.

mod cmd;

use std::process::ExitCode;

use clap::Parser;
use fleetscan::cli::{Cli, Command};

/// Usage or configuration error (CLI.md).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Checks(args) => cmd::checks::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Emulate(args) => cmd::emulate::run(args),
        Command::Demo(args) => cmd::demo::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("fleetscan: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
