//! The faults an emulated host can be told to have, and what each one changes on
//! the wire. The server asks these small questions at the point where the fault
//! bites, so each behaviour is in one place.

use std::time::Duration;

/// A misbehaviour injected into one emulated host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Nothing listens on the host's address: connection refused.
    Refuse,
    /// Every request gets 401, whatever the credentials.
    AuthReject,
    /// Every HTTP exchange takes [`Fault::SLOW_LATENCY`] longer.
    Slow,
    /// The TCP connection is accepted and never answered.
    Hang,
    /// The first SOAP request's response is cut off mid-body and the connection dropped.
    Reset,
    /// SOAP responses are malformed XML.
    Garbage,
    /// Create answers the MaxShellsPerUser quota fault (2150859173).
    Quota,
    /// Commands print tens of MB to stdout before their real output.
    HugeOutput,
    /// One probe of the program throws (answers `ok:false`).
    ProbeError,
    /// The program prints its first lines and then never finishes.
    PsTimeout,
}

/// A fault name that is not one of [`Fault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault '{name}'; expected one of: refuse, auth_reject, slow, hang, reset, garbage, quota, huge_output, probe_error, ps_timeout"
)]
pub struct UnknownFault {
    /// The name that was given.
    pub name: String,
}

impl Fault {
    /// Every fault, in a fixed order.
    pub const ALL: [Fault; 10] = [
        Fault::Refuse,
        Fault::AuthReject,
        Fault::Slow,
        Fault::Hang,
        Fault::Reset,
        Fault::Garbage,
        Fault::Quota,
        Fault::HugeOutput,
        Fault::ProbeError,
        Fault::PsTimeout,
    ];

    /// Latency the `slow` fault adds to every HTTP exchange.
    pub const SLOW_LATENCY: Duration = Duration::from_secs(2);

    /// Bytes of filler stdout the `huge_output` fault prints before the real output.
    pub const HUGE_OUTPUT_BYTES: usize = 40 * 1024 * 1024;

    /// The snake_case name (as in inventories and `--scenario mixed` listings).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Refuse => "refuse",
            Fault::AuthReject => "auth_reject",
            Fault::Slow => "slow",
            Fault::Hang => "hang",
            Fault::Reset => "reset",
            Fault::Garbage => "garbage",
            Fault::Quota => "quota",
            Fault::HugeOutput => "huge_output",
            Fault::ProbeError => "probe_error",
            Fault::PsTimeout => "ps_timeout",
        }
    }

    /// Parses a snake_case fault name.
    ///
    /// # Errors
    /// [`UnknownFault`] naming the text and listing the valid names.
    pub fn from_name(name: &str) -> Result<Fault, UnknownFault> {
        let want = name.trim().to_ascii_lowercase().replace('-', "_");
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == want)
            .ok_or_else(|| UnknownFault {
                name: name.to_owned(),
            })
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_name_round_trips() {
        for f in Fault::ALL {
            assert_eq!(Fault::from_name(f.name()), Ok(f));
        }
        assert_eq!(Fault::from_name("PS-Timeout"), Ok(Fault::PsTimeout));
        assert!(Fault::from_name("flaky").is_err());
    }
}
