//! The HTTP side of one emulated host: the accept loop, one hyper HTTP/1.1
//! connection per TCP connection with its own auth state (NTLM binds to the
//! connection), the Windows-like 401/500 behaviour, sealing, the faults that act
//! on the wire, and the dispatch of each SOAP request to the host's WinRS state.

use std::convert::Infallible;
use std::future::Future as _;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll as TaskPoll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request as HttpRequest, Response, StatusCode};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::answers::{self, ProgramOutput};
use super::auth::{self, AuthError, Leg, NtlmAcceptor};
use super::faults::Fault;
use super::fleet::EmuAuth;
use super::host::HostState;
use super::process::{self, Launch};
use super::scenario::Scenario;
use super::shell::{DEFAULT_IDLE_TIMEOUT, Plan, Poll, Shells};
use super::tls::Identity;
use super::wire::{self, Action, NS_SHELL};

/// How often the probe program writes its buffered lines (`probes::FLUSH_INTERVAL_MS`).
const PROGRAM_FLUSH_INTERVAL: Duration = Duration::from_secs(2);
/// Largest request body read (Windows' MaxEnvelopeSizekb is 500 KB; the program's
/// environment chunks fit well below this).
const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;
/// Time a client gets to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Raw output bytes per Receive response when the client names no MaxEnvelopeSize.
const DEFAULT_RECEIVE_BUDGET: usize = 96 * 1024;

/// What every host of the fleet shares.
pub(crate) struct FleetShared {
    pub(crate) auth: EmuAuth,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) latency: Duration,
    pub(crate) ps_runtime: Duration,
    pub(crate) seed: u64,
}

/// One emulated host: identity, fault, and WinRS state.
pub(crate) struct HostServer {
    pub(crate) fleet: Arc<FleetShared>,
    pub(crate) name: String,
    pub(crate) scenario: Scenario,
    pub(crate) fault: Option<Fault>,
    pub(crate) addr: SocketAddr,
    /// TLS acceptor and the channel binding clients must present (HTTPS only).
    pub(crate) tls: Option<Arc<Identity>>,
    pub(crate) shells: Mutex<Shells>,
    /// Wakes long-polling Receives when a command's state changes elsewhere.
    pub(crate) changed: Notify,
    /// The `reset` fault fires once.
    pub(crate) reset_fired: AtomicBool,
}

impl HostServer {
    pub(crate) fn new(
        fleet: Arc<FleetShared>,
        name: String,
        scenario: Scenario,
        fault: Option<Fault>,
        addr: SocketAddr,
        tls: Option<Arc<Identity>>,
    ) -> HostServer {
        HostServer {
            fleet,
            name,
            scenario,
            fault,
            addr,
            tls,
            shells: Mutex::new(Shells::default()),
            changed: Notify::new(),
            reset_fired: AtomicBool::new(false),
        }
    }

    fn shells(&self) -> MutexGuard<'_, Shells> {
        // A panic while holding the lock leaves consistent-enough state for an emulator.
        self.shells.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// Accepts connections until `cancel` fires.
///
/// # Cancel safety
/// Runs until cancelled; `TcpListener::accept` is cancel safe.
pub(crate) async fn serve(
    listener: TcpListener,
    host: Arc<HostServer>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // EMFILE and friends: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let host = host.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            // Dropping the connection future closes the socket: fine at shutdown.
            tokio::select! {
                () = cancel.cancelled() => {}
                () = connection(stream, peer, host) => {}
            }
        });
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, host: Arc<HostServer>) {
    if host.fault == Some(Fault::Hang) {
        // Accept and never answer: hold the socket until shutdown.
        let _held = stream;
        std::future::pending::<()>().await;
        return;
    }
    let _ = stream.set_nodelay(true);
    match host.tls.clone() {
        Some(identity) => {
            let Ok(Ok(tls)) =
                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, identity.acceptor.accept(stream)).await
            else {
                return;
            };
            serve_http(tls, peer, host).await;
        }
        None => serve_http(stream, peer, host).await,
    }
}

/// Auth state of one TCP connection.
#[derive(Debug, Default)]
struct ConnState {
    ntlm: Option<NtlmAcceptor>,
}

async fn serve_http<IO>(io: IO, peer: SocketAddr, host: Arc<HostServer>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(Mutex::new(ConnState::default()));
    let service = hyper::service::service_fn(move |req| {
        let host = host.clone();
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(handle(req, peer, &host, &conn).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn lock(conn: &Mutex<ConnState>) -> MutexGuard<'_, ConnState> {
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

/// A response body: whole, or cut off after its first part (the `reset` fault).
pub(crate) struct Body {
    data: Option<Bytes>,
    fail_after: bool,
    /// With `fail_after`: the cut comes after this pause, so the head and the
    /// first part reach the wire first (hyper flushes while the body is pending).
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body {
    fn full(data: impl Into<Bytes>) -> Body {
        Body {
            data: Some(data.into()),
            fail_after: false,
            pause: None,
        }
    }

    fn empty() -> Body {
        Body {
            data: None,
            fail_after: false,
            pause: None,
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> TaskPoll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(d) = this.data.take()
            && !d.is_empty()
        {
            return TaskPoll::Ready(Some(Ok(Frame::data(d))));
        }
        if this.fail_after {
            if let Some(pause) = this.pause.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return TaskPoll::Pending;
                }
                this.pause = None;
            }
            this.fail_after = false;
            return TaskPoll::Ready(Some(Err(std::io::Error::other(
                "emulated reset mid-response",
            ))));
        }
        TaskPoll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(Bytes::is_empty) && !self.fail_after
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.fail_after {
            return hyper::body::SizeHint::default();
        }
        let len = self.data.as_ref().map_or(0, |d| d.len() as u64);
        hyper::body::SizeHint::with_exact(len)
    }
}

fn response(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert("Server", HeaderValue::from_static("Microsoft-HTTPAPI/2.0"));
    r
}

/// 401 with the schemes a default Windows listener offers.
fn unauthorized(host: &HostServer, challenge: Option<&[u8]>) -> Response<Body> {
    let mut r = response(StatusCode::UNAUTHORIZED, Body::empty());
    let h = r.headers_mut();
    let negotiate = match challenge {
        Some(t) => format!("Negotiate {}", B64.encode(t)),
        None => "Negotiate".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&negotiate) {
        h.append(WWW_AUTHENTICATE, v);
    }
    if challenge.is_none() && host.fleet.auth == EmuAuth::Basic {
        h.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"WSMAN\""),
        );
    }
    h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

/// How the request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Via {
    Basic(String),
    Ntlm(String),
}

async fn handle(
    req: HttpRequest<Incoming>,
    peer: SocketAddr,
    host: &HostServer,
    conn: &Mutex<ConnState>,
) -> Response<Body> {
    let extra = if host.fault == Some(Fault::Slow) {
        Fault::SLOW_LATENCY
    } else {
        Duration::ZERO
    };
    let delay = host.fleet.latency + extra;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if host.fault == Some(Fault::AuthReject) {
        return unauthorized(host, None);
    }
    if !req.uri().path().eq_ignore_ascii_case("/wsman") {
        return response(StatusCode::NOT_FOUND, Body::empty());
    }
    if req.method() != Method::POST {
        return response(StatusCode::METHOD_NOT_ALLOWED, Body::empty());
    }
    let authz = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = match http_body_util::Limited::new(req.into_body(), MAX_REQUEST_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return response(StatusCode::PAYLOAD_TOO_LARGE, Body::empty()),
    };

    let tls = host.tls.is_some();
    // SPNEGO's last token (accept-completed, mechListMIC), sent with the response.
    let mut final_token: Option<Vec<u8>> = None;
    let via = match authz.as_deref() {
        Some(v) if v.len() >= 6 && v[..6].eq_ignore_ascii_case("basic ") => {
            if host.fleet.auth != EmuAuth::Basic
                || !auth::basic_ok(v, &host.fleet.user, &host.fleet.password)
            {
                return unauthorized(host, None);
            }
            Via::Basic(host.fleet.user.clone())
        }
        Some(v) => {
            let Some(token) = auth::negotiate_token(v) else {
                return unauthorized(host, None);
            };
            let first_leg = if auth::is_spnego(&token) {
                token.first() == Some(&0x60)
            } else {
                auth::ntlm_message_type(&token) == Some(1)
            };
            if first_leg {
                let cbt = host.tls.as_ref().map(|t| t.channel_binding.clone());
                let spnego = auth::is_spnego(&token);
                let mut acceptor =
                    match NtlmAcceptor::new(&host.fleet.user, &host.fleet.password, cbt, spnego) {
                        Ok(a) => a,
                        Err(_) => return unauthorized(host, None),
                    };
                match acceptor.step(&token) {
                    Ok(Leg::Challenge(t)) => {
                        lock(conn).ntlm = Some(acceptor);
                        return unauthorized(host, Some(&t));
                    }
                    _ => return unauthorized(host, None),
                }
            } else {
                let mut state = lock(conn);
                let Some(acceptor) = state.ntlm.as_mut() else {
                    return unauthorized(host, None);
                };
                match acceptor.step(&token) {
                    Ok(Leg::Authenticated(last)) => final_token = last,
                    Ok(Leg::Challenge(_)) | Err(_) => {
                        state.ntlm = None;
                        return unauthorized(host, None);
                    }
                }
                drop(state);
                // Otherwise the type 3 rides on the first (sealed) SOAP body, which
                // MS-WSMV 2.2.9.1.1.1 allows: serve that body below.
                if body.is_empty() {
                    // The handshake primed with an empty body, as pywinrm does.
                    let mut r = response(StatusCode::OK, Body::empty());
                    r.headers_mut()
                        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
                    add_final_token(&mut r, final_token.as_deref());
                    return r;
                }
                Via::Ntlm(host.fleet.user.clone())
            }
        }
        None => {
            let state = lock(conn);
            match state.ntlm.as_ref() {
                Some(a) if a.is_authenticated() => Via::Ntlm(host.fleet.user.clone()),
                _ => return unauthorized(host, None),
            }
        }
    };

    let sealed = content_type.starts_with("multipart/encrypted");
    let soap = if sealed {
        if !matches!(via, Via::Ntlm(_)) {
            return response(StatusCode::BAD_REQUEST, Body::empty());
        }
        let mut state = lock(conn);
        let Some(acceptor) = state.ntlm.as_mut() else {
            return unauthorized(host, None);
        };
        match acceptor.unseal(&body) {
            Ok(plain) => plain,
            Err(AuthError::Seal(_)) | Err(_) => {
                return response(StatusCode::BAD_REQUEST, Body::empty());
            }
        }
    } else {
        // AllowUnencrypted=false over HTTP for NTLM: an unsealed body gets HTTP 500
        // with an empty body. A Basic-enabled emulated host models the lab set-up
        // (AllowUnencrypted=true), so Basic over HTTP works.
        if !tls && matches!(via, Via::Ntlm(_)) {
            return response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty());
        }
        body.to_vec()
    };
    if soap.is_empty() {
        let mut r = response(StatusCode::OK, Body::empty());
        r.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        return r;
    }

    let user = match &via {
        Via::Basic(u) | Via::Ntlm(u) => u.clone(),
    };
    // Checked first with from_utf8, whose ASCII fast path is several times
    // quicker than the lossy scan on these ~17 KB bodies; lossy only if invalid.
    let text = std::str::from_utf8(&soap).map_or_else(
        |_| String::from_utf8_lossy(&soap),
        std::borrow::Cow::Borrowed,
    );
    let (status, mut xml) = dispatch(host, &text, peer.ip(), &user).await;
    if host.fault == Some(Fault::Garbage) {
        xml = garbage(&xml);
    }
    let (payload, ctype) = if sealed {
        let mut state = lock(conn);
        let Some(acceptor) = state.ntlm.as_mut() else {
            return unauthorized(host, None);
        };
        match acceptor.seal(xml.as_bytes()) {
            Ok(b) => (b, auth::SEALED_CONTENT_TYPE),
            Err(_) => return response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty()),
        }
    } else {
        (xml.into_bytes(), "application/soap+xml;charset=UTF-8")
    };
    let full_len = payload.len();
    let reset = host.fault == Some(Fault::Reset) && !host.reset_fired.swap(true, Ordering::SeqCst);
    let body = if reset {
        let mut half = payload;
        half.truncate(full_len / 2);
        Body {
            data: Some(Bytes::from(half)),
            fail_after: true,
            pause: Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
        }
    } else {
        Body::full(payload)
    };
    let mut r = response(status, body);
    add_final_token(&mut r, final_token.as_deref());
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&full_len.to_string()) {
        h.insert(CONTENT_LENGTH, v);
    }
    r
}

fn add_final_token(r: &mut Response<Body>, token: Option<&[u8]>) {
    if let Some(t) = token
        && let Ok(v) = HeaderValue::from_str(&format!("Negotiate {}", B64.encode(t)))
    {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
}

/// A response that is not XML: the start of the envelope, then junk.
fn garbage(xml: &str) -> String {
    let cut = xml.len() / 3;
    let mut end = cut;
    while !xml.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}<<&#xZZ; \u{0}garbage</s:Body", &xml[..end])
}

/// Serves one SOAP request; returns the HTTP status and the envelope.
async fn dispatch(
    host: &HostServer,
    soap: &str,
    client_ip: IpAddr,
    user: &str,
) -> (StatusCode, String) {
    let machine = host.addr.ip().to_string();
    let req = match wire::parse_request(soap) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                wire::fault_response(None, &machine, &wire::Fault::invalid(&e.to_string())),
            );
        }
    };
    let relates = req.message_id.as_deref();
    let fault = |f: wire::Fault| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            wire::fault_response(relates, &machine, &f),
        )
    };
    if let Some(uri) = &req.resource_uri
        && !uri.eq_ignore_ascii_case(wire::RESOURCE_CMD)
    {
        return fault(wire::Fault::invalid(&format!(
            "the resource URI {uri} is not served by this emulator"
        )));
    }
    let now = Instant::now();
    host.shells().expire(now);
    let shell_id = req.shell_id.clone().unwrap_or_default();
    match &req.action {
        Action::Create => {
            if host.fault == Some(Fault::Quota) {
                return fault(wire::Fault::quota(super::shell::MAX_SHELLS_PER_USER));
            }
            let Some(spec) = req.body.child(NS_SHELL, "Shell") else {
                return fault(wire::Fault::invalid("Create without rsp:Shell"));
            };
            let env: Vec<(String, String)> = spec
                .child(NS_SHELL, "Environment")
                .map(|e| {
                    e.children_named(NS_SHELL, "Variable")
                        .filter_map(|v| Some((v.attr("Name")?.to_owned(), v.text.clone())))
                        .collect()
                })
                .unwrap_or_default();
            let idle = spec
                .child_text(NS_SHELL, "IdleTimeOut")
                .and_then(wire::parse_xs_duration)
                .unwrap_or(DEFAULT_IDLE_TIMEOUT);
            let wd = spec
                .child_text(NS_SHELL, "WorkingDirectory")
                .map(str::to_owned);
            let created = host
                .shells()
                .create(user, env.clone(), req.options.clone(), idle, now);
            match created {
                Ok(id) => {
                    let address = format!("{}://{}/wsman", host.scheme(), host.addr);
                    let xml = wire::create_response(
                        relates,
                        &wire::CreatedShell {
                            shell_id: &id,
                            address: &address,
                            owner: user,
                            client_ip: &client_ip.to_string(),
                            environment: &env,
                            working_directory: wd.as_deref(),
                            idle_timeout: idle,
                        },
                    );
                    (StatusCode::OK, xml)
                }
                Err(f) => fault(f),
            }
        }
        Action::Command => {
            let Some(line) = req.body.child(NS_SHELL, "CommandLine") else {
                return fault(wire::Fault::invalid("Command without rsp:CommandLine"));
            };
            let command = line
                .child_text(NS_SHELL, "Command")
                .unwrap_or("")
                .to_owned();
            let args: Vec<String> = line
                .children_named(NS_SHELL, "Arguments")
                .map(|a| a.text.clone())
                .collect();
            let env = match host.shells().env(&shell_id, now) {
                Ok(e) => e,
                Err(f) => return fault(f),
            };
            let launched = process::launch(&command, &args, &env);
            let started = if launched == Launch::PowerShellFromStdin {
                host.shells().start_waiting(&shell_id, now)
            } else {
                // Answers are computed outside the lock; they are pure.
                let plan = plan(host, launched, user).await;
                host.shells().start(&shell_id, plan, now)
            };
            match started {
                Ok(id) => (StatusCode::OK, wire::command_response(relates, &id)),
                Err(f) => fault(f),
            }
        }
        Action::Send => {
            let Some(stream) = req
                .body
                .child(NS_SHELL, "Send")
                .and_then(|s| s.child(NS_SHELL, "Stream"))
            else {
                return fault(wire::Fault::invalid("Send without rsp:Stream"));
            };
            let command_id = stream.attr("CommandId").unwrap_or("").to_owned();
            let end = stream
                .attr("End")
                .is_some_and(|e| e.eq_ignore_ascii_case("true"));
            let data = B64
                .decode(stream.text.trim().as_bytes())
                .unwrap_or_default();
            let input = host.shells().send(&shell_id, &command_id, &data, end, now);
            match input {
                Ok(Some(stdin)) => {
                    let plan = plan(host, process::script_from_stdin(&stdin), user).await;
                    if let Err(f) = host.shells().begin(&shell_id, &command_id, plan, now) {
                        return fault(f);
                    }
                    host.changed.notify_waiters();
                    (StatusCode::OK, wire::send_response(relates))
                }
                Ok(None) => (StatusCode::OK, wire::send_response(relates)),
                Err(f) => fault(f),
            }
        }
        Action::Receive => {
            let command_id = req
                .body
                .child(NS_SHELL, "Receive")
                .and_then(|r| r.child(NS_SHELL, "DesiredStream"))
                .and_then(|d| d.attr("CommandId"))
                .map(str::to_owned);
            let budget = req
                .max_envelope_size
                .map_or(DEFAULT_RECEIVE_BUDGET, |m| {
                    m.saturating_sub(8 * 1024) / 4 * 3
                })
                .clamp(4 * 1024, 512 * 1024);
            receive(
                host,
                &shell_id,
                command_id.as_deref(),
                budget,
                &req,
                &machine,
            )
            .await
        }
        Action::Signal => {
            let command_id = req
                .body
                .child(NS_SHELL, "Signal")
                .and_then(|s| s.attr("CommandId"))
                .unwrap_or("")
                .to_owned();
            let result = host.shells().signal(&shell_id, &command_id, now);
            host.changed.notify_waiters();
            match result {
                Ok(()) => (StatusCode::OK, wire::signal_response(relates)),
                Err(f) => fault(f),
            }
        }
        Action::Delete => {
            let result = host.shells().delete(&shell_id);
            host.changed.notify_waiters();
            match result {
                Ok(()) => (StatusCode::OK, wire::delete_response(relates)),
                Err(f) => fault(f),
            }
        }
        Action::Other(a) => fault(wire::Fault::invalid(&format!(
            "the action {a} is not supported"
        ))),
    }
}

/// Long-polls until output exists, the command is done, or OperationTimeout
/// passes (then the `w:TimedOut` fault: "ask again").
async fn receive(
    host: &HostServer,
    shell_id: &str,
    command_id: Option<&str>,
    budget: usize,
    req: &wire::Request,
    machine: &str,
) -> (StatusCode, String) {
    let fault = |f: wire::Fault| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            wire::fault_response(req.message_id.as_deref(), machine, &f),
        )
    };
    let deadline = Instant::now() + req.operation_timeout;
    loop {
        // Registered before looking, so a change between the look and the wait
        // still wakes us.
        let changed = host.changed.notified();
        let now = Instant::now();
        let polled = host.shells().receive(shell_id, command_id, budget, now);
        let wake = match polled {
            Err(f) => return fault(f),
            Ok(Poll::Ready(id, chunk)) => {
                return (
                    StatusCode::OK,
                    wire::receive_response(req.message_id.as_deref(), &id, &chunk),
                );
            }
            Ok(Poll::Wait(at)) => at.map_or(deadline, |a| a.min(deadline)),
        };
        if now >= deadline {
            return fault(wire::Fault::timed_out());
        }
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            () = changed => {}
        }
    }
}

/// The output plan of a launched command on this host.
async fn plan(host: &HostServer, launched: Launch, user: &str) -> Plan {
    // Answering a probe program takes milliseconds of CPU: keep it off the
    // workers that serve the other hosts' connections.
    let job = PlanJob {
        name: host.name.clone(),
        scenario: host.scenario,
        fault: host.fault,
        seed: host.fleet.seed,
        ps_runtime: host.fleet.ps_runtime,
        user: user.to_owned(),
    };
    let failed = job.clone();
    match tokio::task::spawn_blocking(move || job.plan(launched)).await {
        Ok(p) => p,
        Err(_) => failed.plan(Launch::Failed("The command could not be started.".into())),
    }
}

/// What computing a plan needs, owned, for the blocking pool. The modelled host
/// is built per command and not kept: 5,000 idle hosts cost only their listener.
#[derive(Debug, Clone)]
struct PlanJob {
    name: String,
    scenario: Scenario,
    fault: Option<Fault>,
    seed: u64,
    ps_runtime: Duration,
    user: String,
}

impl PlanJob {
    fn plan(&self, launched: Launch) -> Plan {
        let host = self;
        let user = self.user.as_str();
        let state = HostState::for_scenario(self.scenario, &self.name, self.seed);
        let mut batched = false;
        let (out, powershell) = match launched {
            Launch::PowerShell(script) => {
                batched = script.batched;
                let mut state = state;
                if host.fault == Some(Fault::ProbeError) {
                    let ids = &script.probe_ids;
                    if !ids.is_empty() {
                        let pick = fnv(host.name.as_bytes()) as usize % ids.len();
                        state.set_throwing_probe(ids.get(pick).map(String::as_str));
                    }
                }
                (
                    answers::run_script(&state, &script.text, &script.probe_ids, user),
                    true,
                )
            }
            Launch::Cmd(line) => (answers::run_cmd(&state, &line, user), false),
            Launch::PowerShellFromStdin => (ProgramOutput::default(), true),
            Launch::Failed(message) => (
                ProgramOutput {
                    stdout_lines: Vec::new(),
                    stderr: format!("{message}\r\n"),
                    exit_code: 1,
                },
                false,
            ),
        };
        let never_done = powershell && host.fault == Some(Fault::PsTimeout);
        let runtime = if powershell {
            host.ps_runtime
        } else {
            Duration::ZERO
        };
        // The probe program buffers its lines and writes them every couple of
        // seconds and at the end (probes::FLUSH_INTERVAL_MS), so a program that ends
        // within one flush interval prints everything at once, as Windows would show
        // it: one Receive. A longer or hanging program has written a first batch.
        let early_lines = if never_done || runtime > PROGRAM_FLUSH_INTERVAL {
            out.stdout_lines.len() / 2
        } else {
            0
        };
        let (stdout, early) = if batched {
            flushes(&out.stdout_lines, early_lines)
        } else {
            let early = out
                .stdout_lines
                .iter()
                .take(early_lines)
                .map(|l| l.len() + 2)
                .sum();
            (out.stdout_text().into_bytes(), early)
        };
        Plan {
            filler: if host.fault == Some(Fault::HugeOutput) {
                Fault::HUGE_OUTPUT_BYTES
            } else {
                0
            },
            stdout,
            early,
            stderr: out.stderr.into_bytes(),
            exit_code: out.exit_code,
            runtime,
            never_done,
        }
    }
}

/// The probe program's stdout when it flushes the first `early` lines, then the
/// rest: one batch line per non-empty flush, each ended by LF as `[Console]::Out.Write`
/// leaves it; and how many bytes of it the first flush is.
fn flushes(lines: &[String], early: usize) -> (Vec<u8>, usize) {
    let (first, rest) = lines.split_at(early.min(lines.len()));
    let mut stdout = Vec::new();
    let mut first_len = 0;
    for (flush, part) in [first, rest].into_iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        stdout.extend_from_slice(answers::program_batch_line(part).as_bytes());
        stdout.push(b'\n');
        if flush == 0 {
            first_len = stdout.len();
        }
    }
    (stdout, first_len)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
