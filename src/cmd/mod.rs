//! One file per subcommand: each turns its clap arguments into library calls and
//! returns the process exit code of CLI.md.

pub(crate) mod checks;
pub(crate) mod common;
pub(crate) mod demo;
pub(crate) mod diff;
pub(crate) mod emulate;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod scan;
pub(crate) mod targets;
