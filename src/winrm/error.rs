//! Typed WinRM failures. Every variant names the host and says what a user can do
//! about it; [`WinrmError::class`] sorts them into the report's outcome classes once.
//!
//! Nothing here holds a password, a hash, a header or a body.

use std::fmt;
use std::time::Duration;

use super::fault::WsmanFault;

/// The WS-Management operation (or connection step) that was under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// TCP/TLS connect.
    Connect,
    /// The HTTP authentication legs (Basic probe or NTLM type 1 / type 3).
    Authenticate,
    /// `transfer/Create` of a cmd shell.
    Create,
    /// `shell/Command`.
    Command,
    /// `shell/Send` (stdin).
    Send,
    /// `shell/Receive`.
    Receive,
    /// `shell/Signal`.
    Signal,
    /// `transfer/Delete` of the shell.
    Delete,
}

impl Action {
    /// The short name used in messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Connect => "connect",
            Action::Authenticate => "authenticate",
            Action::Create => "Create",
            Action::Command => "Command",
            Action::Send => "Send",
            Action::Receive => "Receive",
            Action::Signal => "Signal",
            Action::Delete => "Delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the TLS handshake failed, sorted for the message we show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate does not name the host we connected to.
    NameMismatch,
    /// The certificate chain does not end at a trusted root.
    UnknownCa,
    /// The certificate is expired or not yet valid.
    Expired,
    /// Anything else rustls reported (protocol version, cipher suites, alerts).
    Other(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::NameMismatch => f.write_str(
                "the server certificate does not match the host name; connect by the name in the \
                 certificate, or pass --insecure for a lab host",
            ),
            TlsFailure::UnknownCa => f.write_str(
                "the server certificate is not signed by a trusted CA; pass the issuing CA with \
                 --ca-cert, or --insecure for a lab host",
            ),
            TlsFailure::Expired => {
                f.write_str("the server certificate is expired or not yet valid")
            }
            TlsFailure::Other(detail) => write!(f, "{detail}"),
        }
    }
}

/// The outcome class a failure maps to in the report (CONTRACTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The host could not be reached (DNS, refused, connect timeout, TLS, reset).
    Unreachable,
    /// The host answered but refused our credentials or auth method.
    AuthFailed,
    /// The host took too long (our deadline or an HTTP read timeout).
    Timeout,
    /// The host answered with something we could not use (faults, bad XML, caps).
    Protocol,
    /// The user stopped the scan.
    Cancelled,
}

/// WS-Man fault code for "no output before OperationTimeout" (MS-WSMV 3.1.4.14).
pub const FAULT_OPERATION_TIMEOUT: u32 = 2_150_858_793;
/// WS-Man fault code for a shell quota (MaxShellsPerUser etc.; MS-WSMV 3.1.4.5.2.1).
pub const FAULT_SHELL_QUOTA: u32 = 2_150_859_173;
/// WS-Man fault code for an unknown shell or command id.
pub const FAULT_UNKNOWN_SHELL: u32 = 2_150_858_843;
/// Win32 ERROR_ACCESS_DENIED as a WS-Man fault code.
pub const FAULT_ACCESS_DENIED: u32 = 5;

/// A WinRM failure on one host.
#[derive(Debug, thiserror::Error)]
pub enum WinrmError {
    /// The client options are unusable (unreadable CA file, bad endpoint).
    #[error("WinRM client configuration: {detail}")]
    Config {
        /// What is wrong and what to change.
        detail: String,
    },
    /// The host name did not resolve.
    #[error("{host}: the name does not resolve (DNS: {source}); check the inventory address")]
    Dns {
        /// Host as written in the endpoint.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing listens on the port.
    #[error(
        "{host}:{port}: connection refused; is WinRM listening (winrm quickconfig) and the port right?"
    )]
    Refused {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// TCP connect did not finish in time.
    #[error("{host}:{port}: no answer within {after:?}; host down or a firewall drops port {port}")]
    ConnectTimeout {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The connect timeout.
        after: Duration,
    },
    /// Another socket error while connecting.
    #[error("{host}:{port}: cannot connect: {source}")]
    Connect {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("{host}: TLS handshake failed: {failure}")]
    Tls {
        /// Host.
        host: String,
        /// Why.
        failure: TlsFailure,
    },
    /// The connection closed or reset while a request was in flight.
    #[error("{host}: the connection was closed during {action}{}", if *.before_response { " before any response" } else { "" })]
    ConnectionLost {
        /// Host.
        host: String,
        /// The operation under way.
        action: Action,
        /// True when no byte of the response had arrived (safe to retry the host).
        before_response: bool,
    },
    /// The server sent no complete response within the HTTP read timeout.
    #[error("{host}: no response to {action} within {after:?}")]
    ReadTimeout {
        /// Host.
        host: String,
        /// The operation under way.
        action: Action,
        /// The read timeout.
        after: Duration,
    },
    /// Basic auth was asked for over plain HTTP.
    #[error(
        "{host}: refusing to send a Basic password over plain HTTP; use HTTPS, NTLM, or allow unencrypted explicitly"
    )]
    InsecureBasic {
        /// Host.
        host: String,
    },
    /// The server answered 401 to our credentials.
    #[error("{host}: credentials rejected ({method}); check user and password{}", hint_for_401(.method))]
    CredentialsRejected {
        /// Host.
        host: String,
        /// `Basic`, `NTLM` or `Negotiate`.
        method: &'static str,
    },
    /// The server offers the scheme we used but answered our NTLM negotiation with
    /// 401 and no challenge.
    #[error(
        "{host}: the server refused the {method} negotiation (401 without a challenge); NTLM may be restricted by policy on the host (Network security: Restrict NTLM), or the account may not log on over WinRM"
    )]
    NtlmRefused {
        /// Host.
        host: String,
        /// `NTLM` or `Negotiate`.
        method: &'static str,
    },
    /// The server does not offer the auth method we were told to use.
    #[error(
        "{host}: the server does not accept {method} (it offers: {offered}); pick another --auth or enable it on the host"
    )]
    AuthMethodRefused {
        /// Host.
        host: String,
        /// What we tried.
        method: &'static str,
        /// The `WWW-Authenticate` schemes the server listed (names only).
        offered: String,
    },
    /// The NTLM/SPNEGO exchange failed on our side or the server's token was invalid.
    #[error("{host}: NTLM handshake failed: {detail}")]
    AuthProtocol {
        /// Host.
        host: String,
        /// What went wrong (no secrets).
        detail: String,
    },
    /// A WS-Management SOAP fault.
    #[error("{host}: WS-Management fault on {action}: {fault}{}", hint_for_fault(.fault))]
    Fault {
        /// Host.
        host: String,
        /// The operation that failed.
        action: Action,
        /// The fault's code, machine and message.
        fault: WsmanFault,
    },
    /// An HTTP error status without a SOAP body we could read.
    #[error("{host}: HTTP {status} on {action} without a SOAP fault{}", hint_for_status(*.status, *.empty_body, *.sealed))]
    HttpStatus {
        /// Host.
        host: String,
        /// The operation.
        action: Action,
        /// HTTP status code.
        status: u16,
        /// True when the body was empty.
        empty_body: bool,
        /// True when our request body was sealed.
        sealed: bool,
    },
    /// The response was not the XML we expected.
    #[error("{host}: malformed response to {action}: {detail}")]
    MalformedResponse {
        /// Host.
        host: String,
        /// The operation.
        action: Action,
        /// What is wrong (never the body itself).
        detail: String,
    },
    /// A sealed (`multipart/encrypted`) body could not be unsealed.
    #[error("{host}: cannot unseal the response to {action}: {detail}")]
    Unseal {
        /// Host.
        host: String,
        /// The operation.
        action: Action,
        /// What is wrong.
        detail: String,
    },
    /// A cap on untrusted input was hit.
    #[error("{host}: {what} passed the {limit} cap during {action}")]
    TooLarge {
        /// Host.
        host: String,
        /// The operation.
        action: Action,
        /// Which cap: "response body" (bytes), "command output" (bytes), "XML nesting" (levels).
        what: &'static str,
        /// The cap's value.
        limit: usize,
    },
    /// The caller's deadline passed; the shell was cleaned up as far as possible.
    #[error("{host}: deadline passed during {action}")]
    DeadlinePassed {
        /// Host.
        host: String,
        /// The operation under way.
        action: Action,
    },
    /// The caller cancelled the run.
    #[error("{host}: cancelled during {action}")]
    Cancelled {
        /// Host.
        host: String,
        /// The operation under way.
        action: Action,
    },
}

fn hint_for_401(method: &str) -> &'static str {
    match method {
        "Basic" => {
            "; Basic works only for local accounts and is off by default \
             (winrm set winrm/config/service/auth @{Basic=\"true\"})"
        }
        _ => {
            "; local non-built-in admins also need LocalAccountTokenFilterPolicy=1, \
             and over HTTPS a Strict CbtHardeningLevel needs matching channel binding"
        }
    }
}

fn hint_for_fault(fault: &WsmanFault) -> &'static str {
    match fault.code {
        Some(FAULT_SHELL_QUOTA) => {
            "; too many shells for this user on the host (MaxShellsPerUser); leaked shells expire after IdleTimeout"
        }
        Some(FAULT_ACCESS_DENIED) => {
            "; the account needs to be a local administrator or in Remote Management Users"
        }
        Some(FAULT_UNKNOWN_SHELL) => {
            "; the shell or command is gone (deleted, or the host restarted WinRM)"
        }
        _ => "",
    }
}

fn hint_for_status(status: u16, empty_body: bool, sealed: bool) -> &'static str {
    match (status, empty_body, sealed) {
        (500, true, false) => {
            "; the server refuses unencrypted bodies (AllowUnencrypted=false): use HTTPS or NTLM"
        }
        (413, _, _) => "; the request passed the server's MaxEnvelopeSizekb",
        (503, _, _) => "; the WinRM service is busy or unavailable, try again later",
        _ => "",
    }
}

impl WinrmError {
    /// The report outcome class of this failure.
    pub fn class(&self) -> FailureClass {
        match self {
            WinrmError::Dns { .. }
            | WinrmError::Refused { .. }
            | WinrmError::ConnectTimeout { .. }
            | WinrmError::Connect { .. }
            | WinrmError::Tls { .. }
            | WinrmError::ConnectionLost {
                before_response: true,
                ..
            } => FailureClass::Unreachable,
            // The host answered and then dropped the connection mid-response: it
            // was reached, so this is a protocol failure, not an unreachable host.
            WinrmError::ConnectionLost {
                before_response: false,
                ..
            } => FailureClass::Protocol,
            WinrmError::InsecureBasic { .. }
            | WinrmError::CredentialsRejected { .. }
            | WinrmError::AuthMethodRefused { .. }
            | WinrmError::NtlmRefused { .. }
            | WinrmError::AuthProtocol { .. } => FailureClass::AuthFailed,
            WinrmError::Fault { fault, .. } if fault.code == Some(FAULT_ACCESS_DENIED) => {
                FailureClass::AuthFailed
            }
            WinrmError::ReadTimeout { .. } | WinrmError::DeadlinePassed { .. } => {
                FailureClass::Timeout
            }
            WinrmError::Cancelled { .. } => FailureClass::Cancelled,
            WinrmError::Config { .. }
            | WinrmError::Fault { .. }
            | WinrmError::HttpStatus { .. }
            | WinrmError::MalformedResponse { .. }
            | WinrmError::Unseal { .. }
            | WinrmError::TooLarge { .. } => FailureClass::Protocol,
        }
    }

    /// True when trying the host again later may succeed: connect timeout, a reset
    /// before any response, HTTP 503, or the shell quota.
    pub fn is_transient(&self) -> bool {
        match self {
            WinrmError::ConnectTimeout { .. } => true,
            WinrmError::ConnectionLost {
                before_response, ..
            } => *before_response,
            WinrmError::HttpStatus { status, .. } => *status == 503,
            WinrmError::Fault { fault, .. } => fault.code == Some(FAULT_SHELL_QUOTA),
            _ => false,
        }
    }

    /// The WS-Man fault code, when this is a fault.
    pub fn fault_code(&self) -> Option<u32> {
        match self {
            WinrmError::Fault { fault, .. } => fault.code,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: u32) -> WinrmError {
        WinrmError::Fault {
            host: "win01".to_owned(),
            action: Action::Create,
            fault: WsmanFault {
                code: Some(code),
                machine: Some("win01".to_owned()),
                subcode: None,
                message: "m".to_owned(),
            },
        }
    }

    #[test]
    fn classes_and_transience_follow_the_contract() {
        let h = || "win01".to_owned();
        let cases: Vec<(WinrmError, FailureClass, bool)> = vec![
            (
                WinrmError::ConnectTimeout {
                    host: h(),
                    port: 5985,
                    after: Duration::from_secs(1),
                },
                FailureClass::Unreachable,
                true,
            ),
            (
                WinrmError::Refused {
                    host: h(),
                    port: 5985,
                },
                FailureClass::Unreachable,
                false,
            ),
            (
                WinrmError::ConnectionLost {
                    host: h(),
                    action: Action::Receive,
                    before_response: true,
                },
                FailureClass::Unreachable,
                true,
            ),
            (
                WinrmError::ConnectionLost {
                    host: h(),
                    action: Action::Receive,
                    before_response: false,
                },
                FailureClass::Protocol,
                false,
            ),
            (
                WinrmError::Tls {
                    host: h(),
                    failure: TlsFailure::UnknownCa,
                },
                FailureClass::Unreachable,
                false,
            ),
            (
                WinrmError::CredentialsRejected {
                    host: h(),
                    method: "NTLM",
                },
                FailureClass::AuthFailed,
                false,
            ),
            (fault(FAULT_ACCESS_DENIED), FailureClass::AuthFailed, false),
            (fault(FAULT_SHELL_QUOTA), FailureClass::Protocol, true),
            (fault(FAULT_UNKNOWN_SHELL), FailureClass::Protocol, false),
            (
                WinrmError::HttpStatus {
                    host: h(),
                    action: Action::Create,
                    status: 503,
                    empty_body: true,
                    sealed: true,
                },
                FailureClass::Protocol,
                true,
            ),
            (
                WinrmError::ReadTimeout {
                    host: h(),
                    action: Action::Receive,
                    after: Duration::from_secs(30),
                },
                FailureClass::Timeout,
                false,
            ),
            (
                WinrmError::DeadlinePassed {
                    host: h(),
                    action: Action::Receive,
                },
                FailureClass::Timeout,
                false,
            ),
            (
                WinrmError::Cancelled {
                    host: h(),
                    action: Action::Receive,
                },
                FailureClass::Cancelled,
                false,
            ),
        ];
        for (err, class, transient) in cases {
            assert_eq!(err.class(), class, "{err}");
            assert_eq!(err.is_transient(), transient, "{err}");
            assert!(err.to_string().starts_with("win01"), "{err}");
        }
    }

    #[test]
    fn messages_tell_the_user_what_to_do() {
        assert!(
            fault(FAULT_SHELL_QUOTA)
                .to_string()
                .contains("MaxShellsPerUser")
        );
        assert!(
            fault(FAULT_ACCESS_DENIED)
                .to_string()
                .contains("Remote Management Users")
        );
        let basic = WinrmError::CredentialsRejected {
            host: "h".to_owned(),
            method: "Basic",
        };
        assert!(basic.to_string().contains("Basic=\"true\""));
        let tls = WinrmError::Tls {
            host: "h".to_owned(),
            failure: TlsFailure::NameMismatch,
        };
        assert!(tls.to_string().contains("--insecure"));
    }
}
