//! The check catalogue from Microsoft's "Troubleshoot System State Backup with Azure
//! Backup": for each check its id, title, article section, severity, cost, the
//! read-only PowerShell snippet that gathers evidence, the Rust judge from evidence
//! to status, and the remediation; and the assembly of the one program a host runs.
//!
//! Knows nothing of the transport or the fan-out.
