//! The real [`Remote`]: WinRM through [`crate::winrm`]. Maps plans to endpoints and
//! WinRM errors to host errors, once.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::plan::{AuthChoice, HostPlan, TlsChoice};
use super::remote::{FailureClass, HostError, LineSink, Remote, RemoteSession};
use crate::inventory::Scheme;
use crate::winrm;

/// Runs one prepared command on every host over WinRM.
#[derive(Clone)]
pub struct WinrmRemote {
    client: winrm::Client,
    command: Arc<winrm::PreparedCommand>,
}

impl WinrmRemote {
    /// A remote that runs `command` through `client`.
    pub fn new(client: winrm::Client, command: winrm::PreparedCommand) -> Self {
        Self {
            client,
            command: Arc::new(command),
        }
    }
}

/// A connected WinRM host.
pub struct WinrmSession {
    session: winrm::Session,
    command: Arc<winrm::PreparedCommand>,
}

fn endpoint(host: &HostPlan) -> winrm::Endpoint {
    winrm::Endpoint {
        scheme: match host.scheme {
            Scheme::Http => winrm::Scheme::Http,
            Scheme::Https => winrm::Scheme::Https,
        },
        host: host.address.clone(),
        port: host.port,
        path: host.path.clone(),
        tls: match &host.tls {
            TlsChoice::Verify => winrm::TlsOverride::Default,
            TlsChoice::Ignore => winrm::TlsOverride::Insecure,
            TlsChoice::ExtraCa(path) => winrm::TlsOverride::ExtraCa(path.clone()),
        },
    }
}

fn auth_method(choice: AuthChoice) -> winrm::AuthMethod {
    match choice {
        AuthChoice::Basic => winrm::AuthMethod::Basic,
        AuthChoice::Ntlm => winrm::AuthMethod::Ntlm,
        AuthChoice::Negotiate => winrm::AuthMethod::Negotiate,
    }
}

/// The one place a WinRM error becomes a host error.
fn host_error(err: &winrm::WinrmError) -> HostError {
    let class = match err.class() {
        winrm::FailureClass::Unreachable => FailureClass::Unreachable,
        winrm::FailureClass::AuthFailed => FailureClass::AuthFailed,
        winrm::FailureClass::Timeout => FailureClass::Timeout,
        winrm::FailureClass::Protocol => FailureClass::Protocol,
        winrm::FailureClass::Cancelled => FailureClass::Cancelled,
    };
    HostError {
        class,
        transient: err.is_transient(),
        message: err.to_string(),
    }
}

impl Remote for WinrmRemote {
    type Session = WinrmSession;

    async fn connect(
        &self,
        host: &HostPlan,
        _deadline: Instant,
    ) -> Result<WinrmSession, HostError> {
        let auth = match host.auth {
            Ok(choice) => auth_method(choice),
            Err(ref reason) => {
                return Err(HostError::permanent(
                    FailureClass::Unsupported,
                    reason.clone(),
                ));
            }
        };
        let session = self
            .client
            .connect(&endpoint(host), auth, &host.credentials)
            .await
            .map_err(|e| host_error(&e))?;
        Ok(WinrmSession {
            session,
            command: self.command.clone(),
        })
    }
}

struct SinkAdapter<'a>(&'a mut dyn LineSink);

impl winrm::OutputSink for SinkAdapter<'_> {
    fn stdout_line(&mut self, line: &str) {
        self.0.stdout_line(line);
    }
    fn stderr_text(&mut self, text: &str) {
        self.0.stderr_text(text);
    }
}

impl RemoteSession for WinrmSession {
    async fn run(
        &mut self,
        sink: &mut dyn LineSink,
        deadline: Instant,
        cleanup: Duration,
        cancel: &CancellationToken,
    ) -> Result<i32, HostError> {
        let limits = winrm::RunLimits {
            deadline,
            cancel: cancel.clone(),
            cleanup,
        };
        let mut adapter = SinkAdapter(sink);
        self.session
            .run(&self.command, &mut adapter, &limits)
            .await
            .map(|exit| exit.exit_code)
            .map_err(|e| host_error(&e))
    }

    fn requests_sent(&self) -> u32 {
        self.session.requests_sent()
    }
}
