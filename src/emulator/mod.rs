//! A fleet of emulated Windows servers that speak WinRM on loopback, with modelled
//! host state (features, services, MARS agent, volumes, events, …), named
//! scenarios and injectable faults. Used by tests, benchmarks, `fleetscan demo` and
//! `fleetscan emulate`.
//!
//! It sees the scanner only through the wire and shares no parsing code with
//! [`crate::winrm`], so a misunderstanding of the protocol cannot hide on both ends.
//!
//! ```text
//! FleetSpec ──► RunningFleet::start ──► one listener per host (server.rs)
//!                 per TCP connection: auth.rs (Basic | NTLM acceptor, sealing, CBT)
//!                 per request:        wire.rs (parse SOAP) ──► shell.rs (WinRS state)
//!                 per Command:        process.rs (decode the program, once per payload) ──► answers
//! ```
//!
//! The model of each host (scenario, services, events, …) lives in [`host`],
//! [`scenario`] and [`answers`]; this side only speaks the protocol.

pub mod answers;
mod auth;
mod faults;
mod fleet;
pub mod host;
mod process;
pub mod scenario;
mod server;
mod shell;
mod tls;
mod wire;

pub use faults::{Fault, UnknownFault};
pub use fleet::{Addressing, EmuAuth, FleetSpec, HostSpec, RunningFleet, RunningHost};

use std::net::SocketAddr;

/// Why the emulated fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listener could not bind its address.
    #[error(
        "cannot listen on {addr}: {source}; pick another --base-port or --bind range, or stop what uses it"
    )]
    Bind {
        /// The address that was refused.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The fleet does not fit the address plan.
    #[error("{0}")]
    Addressing(String),
    /// Too few file descriptors for one listener per host.
    #[error(
        "{hosts} hosts need about {needed} open files but the limit is {limit}; raise it with `ulimit -n {needed}` (or the hard limit in /etc/security/limits.conf)"
    )]
    TooFewFiles {
        /// Hosts asked for.
        hosts: usize,
        /// Descriptors needed.
        needed: u64,
        /// The soft limit after trying to raise it.
        limit: u64,
    },
    /// Making the TLS certificates failed.
    #[error("cannot make the emulator's TLS certificate: {0}")]
    Tls(String),
}
