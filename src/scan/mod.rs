//! The orchestrator: a bounded fan-out over the targets, one WinRM session and one
//! probe program per host, a per-host deadline that always holds, retries for
//! transient failures, cancellation, progress and the journal.
//!
//! Knows nothing of XML or PowerShell text; every host ends in exactly one outcome.

pub mod command_job;
pub mod fanout;
pub mod fleet;
pub mod journal;
pub mod plan;
pub mod probe_job;
pub mod progress;
pub mod remote;
pub mod wire;

pub use command_job::{CommandJob, CommandRecord, run_exit_code};
pub use fanout::{FanOutOptions, HostSummary, Job, fan_out};
pub use fleet::{FleetScan, ScanRequest, scan_fleet, spill_report};
pub use journal::{Journal, JournalError, Spill};
pub use plan::{AuthChoice, Defaults, HostPlan, PlanError, TlsChoice, resolve};
pub use probe_job::ProbeJob;
pub use progress::{Progress, ProgressMode, Tally};
pub use remote::{FailureClass, HostError, LineSink, Remote, RemoteSession};
pub use wire::WinrmRemote;
