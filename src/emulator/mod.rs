//! A fleet of emulated Windows servers that speak WinRM on loopback, with modelled
//! host state (features, services, MARS agent, volumes, events, …), named
//! scenarios and injectable faults. Used by tests, benchmarks, `fleetscan demo` and
//! `fleetscan emulate`.
//!
//! It sees the scanner only through the wire and shares no parsing code with
//! [`crate::winrm`], so a misunderstanding of the protocol cannot hide on both ends.

pub mod answers;
pub mod host;
pub mod scenario;
