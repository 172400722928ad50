//! The seam between the orchestrator and a remote host: connect, run one job,
//! count requests. The real implementation is WinRM ([`super::wire`]); tests drive
//! the fan-out with scripted hosts under paused time.

use std::future::Future;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::plan::HostPlan;
use crate::report::model::Outcome;

/// Why a host attempt failed, sorted once into the outcome it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// DNS, refused, connect timeout, TLS failure.
    Unreachable,
    /// Credentials or auth method rejected.
    AuthFailed,
    /// The host's deadline passed.
    Timeout,
    /// The server answered something unusable.
    Protocol,
    /// The run was cancelled (Ctrl-C) before the host finished.
    Cancelled,
    /// The target asks for something fleetscan cannot do (e.g. Kerberos transport).
    Unsupported,
}

impl FailureClass {
    /// The report outcome for a host whose last attempt failed this way.
    pub fn outcome(self) -> Outcome {
        match self {
            FailureClass::Unreachable => Outcome::Unreachable,
            FailureClass::AuthFailed => Outcome::AuthFailed,
            FailureClass::Timeout => Outcome::Timeout,
            FailureClass::Protocol => Outcome::ProtocolError,
            FailureClass::Cancelled | FailureClass::Unsupported => Outcome::Skipped,
        }
    }
}

/// A failed attempt on one host: its class, whether trying again may help, and a
/// message that tells the user what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// How the failure is reported.
    pub class: FailureClass,
    /// True for failures worth one more try (connect timeout, reset before any
    /// response, HTTP 503, shell quota); never for auth failures.
    pub transient: bool,
    /// The user-facing message (never contains a secret).
    pub message: String,
}

impl HostError {
    /// A failure that is not worth retrying.
    pub fn permanent(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            transient: false,
            message: message.into(),
        }
    }
}

/// Receives what a host prints, as it arrives.
pub trait LineSink: Send {
    /// One complete stdout line, without its line terminator.
    fn stdout_line(&mut self, line: &str);
    /// Decoded stderr text (CLIXML already turned into readable text).
    fn stderr_text(&mut self, text: &str);
}

/// Opens sessions to hosts. One value serves the whole fleet.
pub trait Remote: Send + Sync + 'static {
    /// A session with one host.
    type Session: RemoteSession;

    /// Connects and authenticates to `host`, giving up at `deadline`.
    ///
    /// # Cancel safety
    /// Dropping the future drops the half-open connection; nothing is left on the host.
    fn connect(
        &self,
        host: &HostPlan,
        deadline: Instant,
    ) -> impl Future<Output = Result<Self::Session, HostError>> + Send;
}

/// One connected host.
pub trait RemoteSession: Send + 'static {
    /// Runs the fleet's job on this host, handing output to `sink` as it arrives,
    /// and returns the remote exit code. At `deadline` or on `cancel` it stops,
    /// cleans up the remote shell within `cleanup`, and returns an error of class
    /// `Timeout` or `Cancelled`.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping it mid-request leaves the shell to the server's
    /// idle timeout. The orchestrator only drops it after `deadline + cleanup`.
    fn run(
        &mut self,
        sink: &mut dyn LineSink,
        deadline: Instant,
        cleanup: std::time::Duration,
        cancel: &CancellationToken,
    ) -> impl Future<Output = Result<i32, HostError>> + Send;

    /// HTTP requests sent on this session so far, auth legs included.
    fn requests_sent(&self) -> u32;
}
