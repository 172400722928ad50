//! The fleet report: its model ([`model`]) and the writers that render it.
//!
//! Every writer is fed from one [`model::FleetReport`], so the CSV, JSON, HTML,
//! JUnit and terminal views can never disagree. Writers know nothing of how the
//! results were obtained (no `scan`, `winrm` or `probes` here).

pub mod model;

pub use model::{CheckResult, FleetReport, HostReport, Outcome, ScanMeta, Severity, Status};
