//! [`Client`] (built once per run: options and TLS configs) and [`Session`] (one
//! host: a pinned connection, its authentication, sealing, and request counting).
//!
//! Request flow per SOAP message: seal (NTLM over HTTP) → POST → unseal → status
//! check → fault check. Over HTTP with NTLM every body is sealed and a plaintext
//! answer is refused; we never fall back to sending plaintext (MS-WSMV 2.2.9.1).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use secrecy::SecretString;

use super::auth::{self, NtlmAuth, NtlmScheme};
use super::envelope::HeaderParams;
use super::error::{Action, WinrmError};
use super::response::{self, ResponseError};
use super::seal;
use super::tls::TlsConfigs;
use super::transport::{self, Connection, Dial, Post};
use super::xml::{XmlError, XmlLimits};
use super::{AuthMethod, ClientOptions, Endpoint, RunLimits, Scheme};
use crate::credentials::Credentials;

/// Extra time the HTTP read may take beyond the WS-Man OperationTimeout, so the
/// server's TimedOut fault arrives before our read gives up (WinRb uses +10 s).
const READ_MARGIN: Duration = Duration::from_secs(10);
/// Read timeout of the empty-body auth legs.
const AUTH_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared, per-run WinRM client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    opts: ClientOptions,
    tls: TlsConfigs,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client and its default TLS configuration (reading the CA bundle now).
    ///
    /// # Errors
    /// [`WinrmError::Config`] for an unreadable CA bundle or inconsistent options.
    pub fn new(opts: ClientOptions) -> Result<Client, WinrmError> {
        // Sub-second values only make sense against the emulator; Windows hosts
        // want seconds (MS-WSMV 3.2.4.1.2 suggests 60 s).
        if opts.operation_timeout < Duration::from_millis(100) {
            return Err(WinrmError::Config {
                detail: "the WS-Man operation timeout must be at least 100 ms".to_owned(),
            });
        }
        let tls = TlsConfigs::new(opts.extra_ca_pem.as_deref(), opts.insecure)?;
        Ok(Client {
            inner: Arc::new(ClientInner { opts, tls }),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// TCP (+TLS) connect and the auth handshake; no shell yet.
    ///
    /// For NTLM this sends NEGOTIATE in an empty-body POST (1 request) and keeps
    /// the AUTHENTICATE for the first SOAP request of [`Session::run`], which
    /// carries it in its `Authorization` header with a body already sealed with the
    /// new keys (MS-WSMV 2.2.9.1.1.1; WinRb 1.6–2.2 and winrm4j do the same). So
    /// wrong credentials surface as `CredentialsRejected` from the first `run`, not
    /// from here. With [`ClientOptions::ntlm_empty_body_priming`] the AUTHENTICATE
    /// goes in a second empty-body POST here instead, as pywinrm and pypsrp do.
    /// Basic sends its header with each request and needs no request here.
    ///
    /// # Errors
    /// Connection errors, `InsecureBasic`, `CredentialsRejected`, `AuthMethodRefused`,
    /// `AuthProtocol`, `HttpStatus`.
    ///
    /// # Cancel safety
    /// Safe to drop: the half-built session is dropped with its connection.
    pub async fn connect(
        &self,
        endpoint: &Endpoint,
        auth: AuthMethod,
        creds: &Credentials,
    ) -> Result<Session, WinrmError> {
        let host = endpoint.host.clone();
        if auth == AuthMethod::Basic
            && endpoint.scheme == Scheme::Http
            && !self.inner.opts.allow_unencrypted
        {
            return Err(WinrmError::InsecureBasic { host });
        }
        let tls = match endpoint.scheme {
            Scheme::Https => Some(self.inner.tls.for_override(&endpoint.tls)?),
            Scheme::Http => None,
        };
        let header = HeaderParams {
            to: endpoint.url(),
            operation_timeout: self.inner.opts.operation_timeout,
            max_envelope_size: self.inner.opts.max_envelope_size,
            session_id: uuid::Uuid::new_v4().to_string().to_uppercase(),
        };
        let mut session = Session {
            client: self.clone(),
            endpoint: endpoint.clone(),
            method: auth,
            creds: creds.clone(),
            tls,
            conn: None,
            auth: SessionAuth::None,
            header,
            requests_sent: 0,
            output_bytes: 0,
            leaked_shells: 0,
        };
        session.establish().await?;
        Ok(session)
    }
}

/// How requests of this session are authenticated.
enum SessionAuth {
    /// Not yet established.
    None,
    /// Basic header on every request.
    Basic(SecretString),
    /// NTLM keys exist; bodies are sealed when `sealed`. `authenticate` is the
    /// `Authorization` value with the AUTHENTICATE message while the server has not
    /// seen it yet: the next request carries it, once.
    Ntlm {
        ctx: Box<NtlmAuth>,
        sealed: bool,
        authenticate: Option<SecretString>,
    },
}

/// One host's WinRM session: one pinned keep-alive connection.
pub struct Session {
    client: Client,
    pub(crate) endpoint: Endpoint,
    method: AuthMethod,
    creds: Credentials,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Connection>,
    auth: SessionAuth,
    pub(crate) header: HeaderParams,
    requests_sent: u32,
    /// Decoded stdout+stderr bytes so far (capped by `max_output_bytes`).
    pub(crate) output_bytes: usize,
    /// Shells whose Delete was not confirmed.
    pub(crate) leaked_shells: u32,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("user", &self.creds.user)
            .field("password", &"[redacted]")
            .field("connected", &self.conn.is_some())
            .field("requests_sent", &self.requests_sent)
            .finish_non_exhaustive()
    }
}

/// Why a guarded request stopped early.
enum Interrupted {
    Deadline,
    Cancelled,
}

impl Session {
    /// HTTP requests on this session so far, auth legs and cleanup included.
    pub fn requests_sent(&self) -> u32 {
        self.requests_sent
    }

    /// Shells this session created whose Delete the server did not confirm (they
    /// live on until their IdleTimeOut and count against MaxShellsPerUser).
    pub fn leaked_shells(&self) -> u32 {
        self.leaked_shells
    }

    pub(crate) fn opts(&self) -> &ClientOptions {
        &self.client.inner.opts
    }

    pub(crate) fn host(&self) -> &str {
        &self.endpoint.host
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    fn limits(&self) -> XmlLimits {
        XmlLimits {
            max_depth: self.opts().max_xml_depth,
            ..XmlLimits::default()
        }
    }

    /// (Re)opens the connection and authenticates it.
    ///
    /// # Cancel safety
    /// Safe to drop; the session is then left without a connection.
    pub(crate) async fn establish(&mut self) -> Result<(), WinrmError> {
        self.conn = None;
        self.auth = SessionAuth::None;
        let conn = transport::connect(Dial {
            host: &self.endpoint.host,
            port: self.endpoint.port,
            path: &self.endpoint.path,
            tls: self.tls.clone(),
            connect_timeout: self.opts().connect_timeout,
        })
        .await?;
        self.conn = Some(conn);
        match self.method {
            AuthMethod::Basic => {
                self.auth = SessionAuth::Basic(auth::basic_header(&self.creds));
                Ok(())
            }
            AuthMethod::Ntlm | AuthMethod::Negotiate => {
                let result = self.ntlm_handshake().await;
                if result.is_err() {
                    self.conn = None;
                }
                result
            }
        }
    }

    /// One empty-body POST carrying an `Authorization` token.
    ///
    /// # Cancel safety
    /// Not cancel safe; callers drop the connection with it (see [`Self::establish`]).
    async fn auth_leg(&mut self, value: SecretString) -> Result<transport::Reply, WinrmError> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| WinrmError::ConnectionLost {
                host: self.endpoint.host.clone(),
                action: Action::Authenticate,
                before_response: true,
            })?;
        self.requests_sent += 1;
        conn.post(Post {
            action: Action::Authenticate,
            authorization: Some(&value),
            content_type: None,
            body: Bytes::new(),
            read_timeout: AUTH_READ_TIMEOUT,
            max_body: self.client.inner.opts.max_response_bytes,
        })
        .await
    }

    /// NEGOTIATE → 401 + CHALLENGE on the pinned connection, then the
    /// AUTHENTICATE: kept for the first SOAP request, or (with
    /// `ntlm_empty_body_priming`) sent on an empty body → 200.
    ///
    /// # Cancel safety
    /// As [`Self::auth_leg`].
    async fn ntlm_handshake(&mut self) -> Result<(), WinrmError> {
        let host = self.endpoint.host.clone();
        let method_name = self.method.name();
        let auth_err = |detail: String| WinrmError::AuthProtocol {
            host: host.clone(),
            detail,
        };
        // Windows advertises `Negotiate` and takes raw NTLMSSP tokens under it; a
        // server that offers only `NTLM` gets a second try under that scheme.
        for scheme in [NtlmScheme::Negotiate, NtlmScheme::Ntlm] {
            let mut ctx = Box::new(NtlmAuth::new(&self.creds, &host).map_err(&auth_err)?);
            let negotiate = ctx.negotiate().map_err(&auth_err)?;
            let reply = self
                .auth_leg(SecretString::from(format!(
                    "{} {}",
                    scheme.name(),
                    STANDARD.encode(negotiate)
                )))
                .await?;
            if reply.status != 401 {
                return Err(status_error(
                    &host,
                    Action::Authenticate,
                    reply.status,
                    &reply.body,
                    false,
                ));
            }
            let offered = auth::challenges(reply.www_authenticate.iter().map(String::as_str));
            let token = offered.iter().find_map(|c| {
                c.scheme
                    .eq_ignore_ascii_case(scheme.name())
                    .then(|| c.token.clone())
                    .flatten()
            });
            let Some(token) = token else {
                if scheme == NtlmScheme::Negotiate
                    && offered
                        .iter()
                        .any(|c| c.scheme.eq_ignore_ascii_case("NTLM"))
                {
                    continue;
                }
                if offered
                    .iter()
                    .any(|c| c.scheme.eq_ignore_ascii_case(scheme.name()))
                {
                    return Err(WinrmError::NtlmRefused {
                        host,
                        method: method_name,
                    });
                }
                return Err(WinrmError::AuthMethodRefused {
                    host,
                    method: method_name,
                    offered: auth::offered(&offered),
                });
            };
            let challenge = STANDARD
                .decode(token.as_bytes())
                .map_err(|_| auth_err("the server's challenge is not base64".to_owned()))?;
            let binding = self
                .conn
                .as_ref()
                .and_then(|c| c.peer_leaf.as_deref())
                .map(auth::tls_server_end_point);
            let authenticate = ctx
                .authenticate(&challenge, binding.as_deref())
                .map_err(&auth_err)?;
            let authenticate = SecretString::from(format!(
                "{} {}",
                scheme.name(),
                STANDARD.encode(authenticate)
            ));
            let sealed = self.endpoint.scheme == Scheme::Http;
            if !self.opts().ntlm_empty_body_priming {
                // sspi's client is complete once it has produced the AUTHENTICATE,
                // so the first SOAP body can be sealed now and carry it.
                self.auth = SessionAuth::Ntlm {
                    ctx,
                    sealed,
                    authenticate: Some(authenticate),
                };
                return Ok(());
            }
            let reply = self.auth_leg(authenticate).await?;
            return match reply.status {
                200..=299 => {
                    self.auth = SessionAuth::Ntlm {
                        ctx,
                        sealed,
                        authenticate: None,
                    };
                    Ok(())
                }
                401 => Err(WinrmError::CredentialsRejected {
                    host,
                    method: method_name,
                }),
                status => Err(status_error(
                    &host,
                    Action::Authenticate,
                    status,
                    &reply.body,
                    false,
                )),
            };
        }
        Err(WinrmError::AuthMethodRefused {
            host,
            method: method_name,
            offered: "NTLM without a challenge".to_owned(),
        })
    }

    /// Sends one SOAP request and returns the (unsealed) body of a 200 response.
    ///
    /// With `stop`, the request is abandoned when the deadline passes or the token
    /// is cancelled; the connection is then dropped (its state is unknown).
    ///
    /// # Errors
    /// Transport errors, `CredentialsRejected`, `Unseal`, `Fault` (for non-200
    /// answers with a SOAP fault), `HttpStatus`, `DeadlinePassed`, `Cancelled`.
    ///
    /// # Cancel safety
    /// Not cancel safe (an in-flight HTTP request); use `stop` instead of dropping.
    pub(crate) async fn soap(
        &mut self,
        action: Action,
        xml: String,
        stop: Option<&RunLimits>,
    ) -> Result<Bytes, WinrmError> {
        let host = self.endpoint.host.clone();
        let max_body = self.opts().max_response_bytes;
        let read_timeout = self.opts().operation_timeout.saturating_add(READ_MARGIN);
        let Some(conn) = self.conn.as_mut() else {
            return Err(WinrmError::ConnectionLost {
                host,
                action,
                before_response: true,
            });
        };
        let (body, content_type, sealed) = match &mut self.auth {
            SessionAuth::Ntlm {
                ctx, sealed: true, ..
            } => {
                let ntlm = ctx.sealing().ok_or_else(|| WinrmError::AuthProtocol {
                    host: host.clone(),
                    detail: "no session key to seal with".to_owned(),
                })?;
                let body =
                    seal::seal(ntlm, xml.as_bytes()).map_err(|e| WinrmError::AuthProtocol {
                        host: host.clone(),
                        detail: format!("sealing failed: {e:?}"),
                    })?;
                // The plaintext is not needed once sealed; without this it would
                // live beside the sealed copy until the response arrives (the
                // whole wait of a Receive, or a Create of ~17 KB).
                drop(xml);
                (body, seal::SEALED_CONTENT_TYPE, true)
            }
            SessionAuth::Ntlm { sealed: false, .. } | SessionAuth::Basic(_) => (
                xml.into_bytes(),
                "application/soap+xml;charset=UTF-8",
                false,
            ),
            SessionAuth::None => {
                return Err(WinrmError::AuthProtocol {
                    host,
                    detail: "the session is not authenticated".to_owned(),
                });
            }
        };
        // The AUTHENTICATE goes out once, with this request, whatever its fate: a
        // lost connection starts over with a fresh handshake, and a 401 ends the
        // session (a second try would be a second failed logon on the account).
        let authenticate = match &mut self.auth {
            SessionAuth::Ntlm { authenticate, .. } => authenticate.take(),
            _ => None,
        };
        let carries_authenticate = authenticate.is_some();
        let authorization = match (&authenticate, &self.auth) {
            (Some(value), _) => Some(value),
            (None, SessionAuth::Basic(header)) => Some(header),
            _ => None,
        };
        self.requests_sent += 1;
        let post = conn.post(Post {
            action,
            authorization,
            content_type: Some(content_type),
            body: Bytes::from(body),
            read_timeout,
            max_body,
        });
        let outcome = match stop {
            None => Ok(post.await),
            Some(limits) => {
                tokio::select! {
                    // Dropping the request is not cancel safe; the connection is
                    // dropped below, so nothing reads its stale response.
                    biased;
                    () = limits.cancel.cancelled() => Err(Interrupted::Cancelled),
                    () = tokio::time::sleep_until(limits.deadline) => Err(Interrupted::Deadline),
                    r = post => Ok(r),
                }
            }
        };
        let reply = match outcome {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                self.conn = None;
                return Err(e);
            }
            Err(why) => {
                self.conn = None;
                return Err(match why {
                    Interrupted::Deadline => WinrmError::DeadlinePassed { host, action },
                    Interrupted::Cancelled => WinrmError::Cancelled { host, action },
                });
            }
        };
        if reply.status == 401 {
            // HTTP.sys authenticates before WinRM reads the body, so a 401 to the
            // request carrying the AUTHENTICATE means the credentials (or the
            // channel binding) were refused, not the SOAP body.
            tracing::debug!(host = %host, action = %action, carries_authenticate, "401 from the server");
            self.conn = None;
            return Err(WinrmError::CredentialsRejected {
                host,
                method: self.method.name(),
            });
        }
        let plain = if seal::is_sealed(&reply.content_type) {
            let ntlm = match &mut self.auth {
                SessionAuth::Ntlm {
                    ctx, sealed: true, ..
                } => ctx.sealing(),
                _ => None,
            };
            let Some(ntlm) = ntlm else {
                return Err(WinrmError::Unseal {
                    host,
                    action,
                    detail: "a sealed response on a session without sealing".to_owned(),
                });
            };
            match seal::unseal(ntlm, reply.body, max_body) {
                Ok(p) => p,
                Err(e) => {
                    // The sequence numbers are out of step now: this connection is done.
                    self.conn = None;
                    return Err(WinrmError::Unseal {
                        host,
                        action,
                        detail: format!("{e:?}"),
                    });
                }
            }
        } else if sealed && !reply.body.is_empty() {
            self.conn = None;
            return Err(WinrmError::Unseal {
                host,
                action,
                detail: "the server answered a sealed request in plaintext".to_owned(),
            });
        } else {
            reply.body
        };
        if reply.status == 200 {
            return Ok(plain);
        }
        Err(status_error(&host, action, reply.status, &plain, sealed))
    }

    /// Maps a parser error to the user-facing error.
    pub(crate) fn response_error(&self, action: Action, e: ResponseError) -> WinrmError {
        response_error(self.host(), action, e)
    }

    pub(crate) fn xml_limits(&self) -> XmlLimits {
        self.limits()
    }
}

fn status_error(host: &str, action: Action, status: u16, body: &[u8], sealed: bool) -> WinrmError {
    match response::envelope(body, XmlLimits::default()) {
        Err(ResponseError::Fault(fault)) => WinrmError::Fault {
            host: host.to_owned(),
            action,
            fault,
        },
        _ => WinrmError::HttpStatus {
            host: host.to_owned(),
            action,
            status,
            empty_body: body.is_empty(),
            sealed,
        },
    }
}

pub(crate) fn response_error(host: &str, action: Action, e: ResponseError) -> WinrmError {
    let host = host.to_owned();
    match e {
        ResponseError::Fault(fault) => WinrmError::Fault {
            host,
            action,
            fault,
        },
        ResponseError::Xml(XmlError::TooDeep(limit)) => WinrmError::TooLarge {
            host,
            action,
            what: "XML nesting (levels)",
            limit,
        },
        ResponseError::Xml(XmlError::TooManyElements(limit)) => WinrmError::TooLarge {
            host,
            action,
            what: "XML element count",
            limit,
        },
        ResponseError::Xml(XmlError::Malformed(detail)) => WinrmError::MalformedResponse {
            host,
            action,
            detail: format!("not well-formed XML: {detail}"),
        },
        ResponseError::NotSoap => WinrmError::MalformedResponse {
            host,
            action,
            detail: "not a SOAP envelope".to_owned(),
        },
        ResponseError::Missing(what) => WinrmError::MalformedResponse {
            host,
            action,
            detail: format!("{what} is missing"),
        },
        ResponseError::Invalid(detail) => WinrmError::MalformedResponse {
            host,
            action,
            detail,
        },
    }
}

impl Session {
    /// Forgets the connection (after an abandoned request).
    pub(crate) fn drop_connection(&mut self) {
        self.conn = None;
    }
}
