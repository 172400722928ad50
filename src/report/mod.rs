//! The fleet report: its model ([`model`]) and the writers that render it.
//!
//! Every writer is fed from one [`model::FleetReport`], so the CSV, JSON, HTML,
//! JUnit and terminal views can never disagree. Writers know nothing of how the
//! results were obtained (no `scan`, `winrm` or `probes` here).
//!
//! - [`csv`]: the compliance CSV of CLI.md, neutralised against formula injection.
//! - [`json`]: the whole report, raw, with a `schema_version`; input of `report` and `diff`.
//! - [`html`]: one self-contained dashboard file (no external references).
//! - [`junit`]: JUnit XML, one testsuite per host; unscanned hosts are `error`s.
//! - [`terminal`]: the summary printed after a scan.
//! - [`waivers`]: accepted failures (YAML or CSV), applied before writing.
//! - [`diff`]: what got worse or better between two reports.
//! - [`write_files`]: writes the requested files atomically.

pub mod csv;
pub mod diff;
mod error;
mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod model;
#[doc(hidden)]
pub mod sample;
pub mod stats;
pub mod terminal;
mod text;
pub mod waivers;

pub use error::ReportError;
pub use files::{OutputPaths, write_files};
pub use model::{
    AppliedWaiver, CheckResult, ExitStatus, FleetReport, HostReport, Outcome, ScanMeta, Severity,
    Status,
};
