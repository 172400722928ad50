//! The check catalogue from Microsoft's "Troubleshoot System State Backup with Azure
//! Backup": for each check its id, title, article section, severity, cost, the
//! read-only PowerShell snippet that gathers evidence, the Rust judge from evidence
//! to status, and the remediation; and the assembly of the one program a host runs.
//!
//! Knows nothing of the transport or the fan-out. The flow for one host is:
//!
//! ```text
//! Selection ──► Program::assemble ──► script() runs on the host, one JSON line per probe
//!                      │
//!                      └─► collector(): Evidence ──accept_line()──► judge(settings, end) ──► [CheckResult]
//! ```
//!
//! The program writes its lines in gzip+base64 batches ([`batch`]); `accept_line`
//! takes batch lines and plain JSON lines alike.
//!
//! PowerShell gathers facts; Rust judges them. A judge never returns `pass` on
//! evidence it does not understand: missing keys, wrong types and probe errors
//! become `unknown` with the reason.

pub mod batch;
mod catalogue;
mod error;
mod evidence;
mod json;
mod judge;
mod program;
mod selection;
mod settings;
mod value;

pub use batch::BATCH_MARKER;
pub use catalogue::{CheckDef, Cost, catalogue, check};
pub use error::ProbeError;
pub use evidence::{Evidence, MAX_LINE_BYTES, ProgramEnd};
pub use program::{FLUSH_INTERVAL_MS, PROBE_MARKER, Program};
pub use selection::Selection;
pub use settings::Settings;
pub use value::Version4;
