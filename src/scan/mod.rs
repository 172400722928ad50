//! The orchestrator: a bounded fan-out over the targets, one WinRM session and one
//! probe program per host, a per-host deadline that always holds, retries for
//! transient failures, cancellation, progress and the journal.
//!
//! Knows nothing of XML or PowerShell text; every host ends in exactly one outcome.
