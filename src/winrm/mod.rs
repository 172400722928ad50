//! The WS-Management shell (WinRS) client: SOAP envelopes, one kept-alive HTTP
//! connection per host, Basic and NTLM auth (with message sealing over HTTP and
//! channel binding over HTTPS), typed faults, and the Create / Command / Send /
//! Receive / Signal / Delete lifecycle with a PowerShell runner on top.
//!
//! Knows nothing of probes, scanning or reports.
//!
//! ```text
//! Client (once per run: options, TLS configs)
//!   └─ connect(endpoint, auth, creds) ─► Session (one host, one pinned connection,
//!        │                                NTLM context + sealing, request count)
//!        └─ run(PreparedCommand, sink, limits) ─► Create → Command → Receive… → Delete
//! ```
//!
//! Files: `transport` (connection), `tls`, `auth` (Basic, NTLM via sspi), `seal`
//! (MS-WSMV 2.2.9.1 framing), `envelope` (requests), `xml` + `response` + `fault`
//! (parsing), `shell` (lifecycle), `powershell` (payload), `clixml` (stderr),
//! `output` (sink, lines), `error`.
//!
//! Logs (tracing, debug level) carry host, action, status and timing only: never
//! headers, bodies, tokens or passwords.

mod auth;
mod clixml;
mod envelope;
mod error;
mod fault;
#[doc(hidden)]
pub mod fuzzing;
mod output;
mod powershell;
mod response;
mod seal;
mod session;
mod shell;
mod tls;
mod transport;
mod xml;

use std::path::PathBuf;
use std::time::Duration;

pub use error::{
    Action, FAULT_ACCESS_DENIED, FAULT_OPERATION_TIMEOUT, FAULT_SHELL_QUOTA, FAULT_UNKNOWN_SHELL,
    FailureClass, TlsFailure, WinrmError,
};
pub use fault::WsmanFault;
pub use output::{CollectedOutput, OutputSink};
pub use powershell::{PreparedCommand, PreparedScript};
pub use session::{Client, Session};
pub use tls::TlsOverride;

/// Options of the per-run client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// WS-Man `OperationTimeout`: how long the server holds a Receive before
    /// answering TimedOut. The HTTP read timeout is this plus 10 seconds.
    pub operation_timeout: Duration,
    /// An extra CA bundle (PEM) trusted besides the platform roots.
    pub extra_ca_pem: Option<PathBuf>,
    /// Skip certificate verification for every host (lab use only).
    pub insecure: bool,
    /// Allow Basic auth over plain HTTP (the password travels in clear text).
    pub allow_unencrypted: bool,
    /// `rsp:IdleTimeOut` of created shells: the server's backstop when our Delete
    /// never arrives (its default is 2 hours).
    pub idle_timeout: Duration,
    /// `wsman:MaxEnvelopeSize` asked of the server, in bytes. 153600 is what
    /// every Windows version accepts (2008 R2 caps at 150 KiB).
    pub max_envelope_size: u32,
    /// Cap on one HTTP response body (sealed or not), in bytes.
    pub max_response_bytes: usize,
    /// Cap on decoded stdout + stderr per host, in bytes.
    pub max_output_bytes: usize,
    /// Cap on XML nesting depth.
    pub max_xml_depth: usize,
    /// Send the NTLM AUTHENTICATE (type 3) in its own empty-body POST before the
    /// first SOAP request, as pywinrm, pypsrp and WinRb 2.3 do. Costs one request
    /// per connection; OMI (WinRM on Linux) needs it because it checks the body
    /// size before finishing the handshake. Off by default: the AUTHENTICATE rides
    /// on the first (sealed) SOAP request, which MS-WSMV 2.2.9.1.1.1 allows and
    /// Windows accepts (WinRb 1.6–2.2, winrm4j).
    pub ntlm_empty_body_priming: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(20),
            extra_ca_pem: None,
            insecure: false,
            allow_unencrypted: false,
            idle_timeout: Duration::from_secs(600),
            max_envelope_size: 153_600,
            max_response_bytes: 4 << 20,
            max_output_bytes: 64 << 20,
            max_xml_depth: 64,
            ntlm_empty_body_priming: false,
        }
    }
}

/// Listener scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (5985); NTLM bodies are sealed.
    Http,
    /// HTTPS (5986).
    Https,
}

impl Scheme {
    /// The WinRM default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 5985,
            Scheme::Https => 5986,
        }
    }
}

/// How to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic (local accounts; HTTPS unless `allow_unencrypted`).
    Basic,
    /// NTLMv2, raw tokens under the `Negotiate` scheme (or `NTLM` when that is all
    /// the server offers).
    Ntlm,
    /// Negotiate; currently the same NTLM exchange as [`AuthMethod::Ntlm`]
    /// (no Kerberos, no SPNEGO wrapping), which Windows accepts under `Negotiate`.
    Negotiate,
}

impl AuthMethod {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Basic => "Basic",
            AuthMethod::Ntlm => "NTLM",
            AuthMethod::Negotiate => "Negotiate",
        }
    }
}

/// Where a host's WinRM listener is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP or HTTPS.
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// URL path, normally `/wsman`.
    pub path: String,
    /// Per-host TLS verification.
    pub tls: TlsOverride,
}

impl Endpoint {
    /// An endpoint with the scheme's default port and `/wsman`.
    pub fn new(scheme: Scheme, host: impl Into<String>) -> Self {
        Self {
            scheme,
            host: host.into(),
            port: scheme.default_port(),
            path: "/wsman".to_owned(),
            tls: TlsOverride::Default,
        }
    }

    /// The URL, as written into `wsa:To`.
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}{}", self.port, self.path)
    }
}

/// Bounds of one [`Session::run`].
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// When the run must stop (then Signal + Delete).
    pub deadline: tokio::time::Instant,
    /// Stops the run at the next request boundary (then Signal + Delete).
    pub cancel: tokio_util::sync::CancellationToken,
    /// Time allowed for Signal + Delete after a stop or error.
    pub cleanup: Duration,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandExit {
    /// The process exit code.
    pub exit_code: i32,
}
