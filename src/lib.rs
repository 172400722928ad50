//! fleetscan: scan a fleet of Windows servers over WinRM and report, per server,
//! whether it is ready for System State backup with Windows Server Backup and the
//! Azure Backup (MARS) agent.
//!
//! Data flows one way:
//!
//! ```text
//! inventory ──► [Target] ──► scan (winrm session + probes program per host) ──► report::FleetReport ──► writers
//! ```
//!
//! - [`inventory`] reads plain, CSV and Ansible INI/YAML inventories into targets.
//! - [`credentials`] says where a password comes from and keeps it secret.
//! - [`winrm`] is the WS-Management shell client (Basic, NTLM with sealing, HTTPS).
//! - [`probes`] is the check catalogue: PowerShell evidence snippets and Rust judges.
//! - [`scan`] fans out over the targets with per-host deadlines and retries.
//! - [`report`] is the report model and its writers (CSV, JSON, HTML, JUnit, terminal).
//! - [`emulator`] is a fleet of fake Windows servers that speak WinRM on loopback.
//!
//! Nothing here logs a password, a hash or a session key.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod credentials;
pub mod emulator;
pub mod inventory;
pub mod probes;
pub mod report;
pub mod scan;
pub mod winrm;
