//! The fleet report: its model ([`model`]) and the writers that render it.
//!
//! Every writer is fed the same report: its metadata and [`digest`] (the
//! compact per-host summary behind every fleet-wide figure) first, then the
//! hosts one at a time in report order ([`stream`]), each host produced once for
//! all writers. So the CSV, JSON, HTML, JUnit and terminal views can never
//! disagree, and a scan of any size holds only the digest in memory while its
//! hosts are read back from the journal. Writers know nothing of how the
//! results were obtained (no `scan`, `winrm` or `probes` here).
//!
//! - [`csv`]: the compliance CSV of CLI.md, neutralised against formula injection.
//! - [`json`]: the whole report, raw, with a `schema_version`; input of `report` and `diff`.
//! - [`html`]: one self-contained dashboard file (no external references).
//! - [`junit`]: JUnit XML, one testsuite per host; unscanned hosts are `error`s.
//! - [`terminal`]: the summary printed after a scan.
//! - [`waivers`]: accepted failures (YAML or CSV), applied before writing.
//! - [`diff`]: what got worse or better between two reports.
//! - [`write_files`] / [`write_reports`]: writes the requested files atomically,
//!   in one pass over the hosts.
//! - [`digest`], [`view`], [`stream`]: the per-host summary, the host as the
//!   writers see it, and the sink/source plumbing.

pub mod csv;
pub mod diff;
pub mod digest;
mod error;
mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod model;
#[doc(hidden)]
pub mod sample;
pub mod stats;
pub mod stream;
pub mod terminal;
mod text;
pub mod view;
pub mod waivers;

pub use digest::FleetDigest;
pub use error::ReportError;
pub use files::{OutputPaths, write_files, write_reports};
pub use model::{
    AppliedWaiver, CheckResult, ExitStatus, FleetReport, HostReport, Outcome, ScanMeta, Severity,
    Status,
};
pub use stream::{HostSource, ReportHead, Sink};
pub use view::{CheckView, HostView};
