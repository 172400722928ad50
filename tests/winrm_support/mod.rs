//! A small WinRM server with an sspi NTLM acceptor for the client's loopback tests
//! (shared by tests/winrm_ntlm.rs and tests/winrm_logs.rs).
#![allow(dead_code, unreachable_pub, unused_imports)]

// NTLM end to end on loopback against a small WinRM server written here with an
// sspi acceptor (an implementation independent of the client's code paths except
// for sspi itself): sealing over HTTP, channel binding over HTTPS, wrong
// passwords, TLS failures, and the request count per host.
//
// The server's multipart framing is written from MS-WSMV 2.2.9.1 here, not taken
// from the client, so a framing mistake cannot hide on both ends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use fleetscan::credentials::Credentials;
use fleetscan::winrm::{
    AuthMethod, Client, ClientOptions, CollectedOutput, Endpoint, FailureClass, PreparedCommand,
    RunLimits, Scheme, TlsFailure, TlsOverride, WinrmError,
};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, CredentialUse, DataRepresentation, EncryptionFlags, Ntlm,
    SecurityBuffer, SecurityBufferRef, SecurityStatus, ServerRequestFlags, Sspi, Username,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "canary-Pa55word";
pub const SHELL: &str = "4283CBDC-3706-415B-88BD-B385F3E51A53";
pub const COMMAND: &str = "CF84C20A-0A35-43FA-AF78-0B4711DA5F30";
pub const BOUNDARY: &str = "--Encrypted Boundary";

pub fn answer(action: &str) -> String {
    let head = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body>"#;
    let body = match action {
        "Create" => format!("<rsp:Shell><rsp:ShellId>{SHELL}</rsp:ShellId></rsp:Shell>"),
        "Command" => format!(
            "<rsp:CommandResponse><rsp:CommandId>{COMMAND}</rsp:CommandId></rsp:CommandResponse>"
        ),
        "Receive" => format!(
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="{COMMAND}">{}</rsp:Stream><rsp:Stream Name="stdout" CommandId="{COMMAND}" End="true"/><rsp:CommandState CommandId="{COMMAND}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>3</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"#,
            STANDARD.encode("WIN01\r\nsecond line\r\n")
        ),
        _ => String::new(),
    };
    format!("{head}{body}</s:Body></s:Envelope>")
}

pub fn action_of(soap: &str) -> String {
    let Some(start) = soap.find("Action") else {
        return String::new();
    };
    let rest = &soap[start..];
    let open = rest.find('>').map_or(0, |i| i + 1);
    let close = rest[open..].find('<').map_or(rest.len(), |i| i + open);
    rest[open..close]
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub fn server_wrap(ntlm: &mut Ntlm, plain: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; 16];
    let mut data = plain.to_vec();
    ntlm.encrypt_message(
        EncryptionFlags::empty(),
        &mut [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut data),
        ],
    )
    .expect("server seals");
    let mut out = format!(
        "{BOUNDARY}\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n",
        plain.len()
    )
    .into_bytes();
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&sig);
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn server_unwrap(ntlm: &mut Ntlm, body: &[u8]) -> Option<Vec<u8>> {
    let marker = b"\tContent-Type: application/octet-stream\r\n";
    let start = body.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let end = body.len().checked_sub(format!("{BOUNDARY}--\r\n").len())?;
    let payload = body.get(start..end)?;
    let (len, rest) = payload.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*len) != 16 {
        return None;
    }
    let (sig, cipher) = rest.split_at(16);
    let mut sig = sig.to_vec();
    let mut data = cipher.to_vec();
    ntlm.decrypt_message(&mut [
        SecurityBufferRef::token_buf(&mut sig),
        SecurityBufferRef::data_buf(&mut data),
    ])
    .ok()?;
    Some(data)
}

#[derive(Default, Debug)]
pub struct Seen {
    /// (action, was the body sealed)
    pub requests: Vec<(String, bool)>,
    pub auth_legs: usize,
    /// What each AUTHENTICATE (type 3) came with: the SOAP action of the body it
    /// rode on, or `(empty body)` for a priming POST.
    pub authenticate_with: Vec<String>,
    pub connections: usize,
}

/// Per-connection server state.
pub struct Conn {
    ntlm: Ntlm,
    creds: Option<sspi::AuthIdentityBuffers>,
    authenticated: bool,
}

#[derive(Clone)]
pub struct ServerOpts {
    /// Channel binding the server demands (HTTPS): `tls-server-end-point:` + hash.
    pub binding: Option<Vec<u8>>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Receives answered with a sealed HTTP 500 TimedOut fault before the real answer.
    pub receive_timeouts: Arc<std::sync::atomic::AtomicUsize>,
    /// Receives are never answered (a hung host: the client's deadline ends the run).
    pub hang_receives: bool,
}

impl ServerOpts {
    pub fn http() -> Self {
        Self {
            binding: None,
            tls: None,
            receive_timeouts: Arc::default(),
            hang_receives: false,
        }
    }
    pub fn https(binding: Option<Vec<u8>>, tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            binding,
            tls: Some(tls),
            receive_timeouts: Arc::default(),
            hang_receives: false,
        }
    }
}

pub const TIMED_OUT: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">timed out</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win01"><f:Message>timed out</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

pub async fn serve(opts: ServerOpts) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen_out = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            seen.lock().expect("lock").connections += 1;
            let (seen, opts) = (seen.clone(), opts.clone());
            tokio::spawn(async move {
                let mut ntlm = Ntlm::with_config(NtlmConfig::new("WIN01".to_owned()));
                if let Some(b) = &opts.binding {
                    ntlm.set_channel_bindings(b);
                }
                let identity = AuthIdentity {
                    username: Username::parse(USER).expect("user"),
                    password: PASSWORD.to_owned().into(),
                };
                let creds = ntlm
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Inbound)
                    .with_auth_data(&identity)
                    .execute(&mut ntlm)
                    .expect("server creds")
                    .credentials_handle;
                let state = Arc::new(Mutex::new(Conn {
                    ntlm,
                    creds,
                    authenticated: false,
                }));
                let sealed_transport = opts.tls.is_none();
                let timeouts = opts.receive_timeouts.clone();
                let hang_receives = opts.hang_receives;
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (state, seen, timeouts) = (state.clone(), seen.clone(), timeouts.clone());
                    async move {
                        let auth = req
                            .headers()
                            .get(hyper::header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let content_type = req
                            .headers()
                            .get(hyper::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let body = req.into_body().collect().await?.to_bytes();
                        let mut served = None;
                        let reply = handle(
                            &state,
                            &seen,
                            &timeouts,
                            sealed_transport,
                            auth,
                            &content_type,
                            &body,
                            &mut served,
                        );
                        if hang_receives && served.as_deref() == Some("Receive") {
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, hyper::Error>(reply)
                    }
                });
                match opts.tls {
                    None => {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    }
                    Some(cfg) => {
                        let Ok(tls) = tokio_rustls::TlsAcceptor::from(cfg).accept(tcp).await else {
                            return;
                        };
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                }
            });
        }
    });
    (addr, seen_out)
}

pub fn empty(status: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .expect("response")
}

#[allow(clippy::too_many_arguments)]
pub fn handle(
    state: &Mutex<Conn>,
    seen: &Mutex<Seen>,
    timeouts: &std::sync::atomic::AtomicUsize,
    sealed_transport: bool,
    auth: Option<String>,
    content_type: &str,
    body: &[u8],
    served: &mut Option<String>,
) -> Response<Full<Bytes>> {
    let mut st = state.lock().expect("lock");
    // Set when this request's AUTHENTICATE completed the handshake and a SOAP
    // body rides with it (MS-WSMV 2.2.9.1.1.1).
    let mut authenticated_here = false;
    if let Some(token) = auth.as_deref().and_then(|a| a.strip_prefix("Negotiate ")) {
        seen.lock().expect("lock").auth_legs += 1;
        let Ok(token) = STANDARD.decode(token) else {
            return empty(400);
        };
        let Conn {
            ntlm,
            creds,
            authenticated,
        } = &mut *st;
        let mut input = vec![SecurityBuffer::new(token, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let result = ntlm
            .accept_security_context()
            .with_credentials_handle(creds)
            .with_context_requirements(ServerRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output)
            .execute(ntlm)
            .and_then(|mut g| g.resolve_to_result());
        match result {
            Ok(r) if r.status == SecurityStatus::ContinueNeeded => {
                assert!(body.is_empty(), "the NEGOTIATE leg carries no body");
                return Response::builder()
                    .status(401)
                    .header(
                        "WWW-Authenticate",
                        format!("Negotiate {}", STANDARD.encode(&output[0].buffer)),
                    )
                    .body(Full::new(Bytes::new()))
                    .expect("response");
            }
            Ok(r) => {
                if r.status == SecurityStatus::CompleteNeeded
                    && ntlm.complete_auth_token(&mut []).is_err()
                {
                    return empty(401);
                }
                *authenticated = true;
                if body.is_empty() {
                    seen.lock()
                        .expect("lock")
                        .authenticate_with
                        .push("(empty body)".to_owned());
                    return empty(200);
                }
                authenticated_here = true;
            }
            Err(_) => {
                return Response::builder()
                    .status(401)
                    .header("WWW-Authenticate", "Negotiate")
                    .body(Full::new(Bytes::new()))
                    .expect("response");
            }
        }
    }
    if !st.authenticated {
        return Response::builder()
            .status(401)
            .header("WWW-Authenticate", "Negotiate")
            .body(Full::new(Bytes::new()))
            .expect("response");
    }
    let is_sealed = content_type.starts_with("multipart/encrypted");
    let soap = if sealed_transport {
        if !is_sealed {
            // What Windows does with AllowUnencrypted=false.
            return empty(500);
        }
        match server_unwrap(&mut st.ntlm, body) {
            Some(p) => p,
            None => return empty(400),
        }
    } else {
        body.to_vec()
    };
    let action = action_of(&String::from_utf8_lossy(&soap));
    let mut record = seen.lock().expect("lock");
    record.requests.push((action.clone(), is_sealed));
    if authenticated_here {
        record.authenticate_with.push(action.clone());
    }
    drop(record);
    *served = Some(action.clone());
    let timed_out = action == "Receive"
        && timeouts
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok();
    let (status, reply) = if timed_out {
        (500, TIMED_OUT.to_owned())
    } else {
        (200, answer(&action))
    };
    if sealed_transport {
        let sealed = server_wrap(&mut st.ntlm, reply.as_bytes());
        Response::builder()
            .status(status)
            .header(
                "Content-Type",
                "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"",
            )
            .body(Full::new(Bytes::from(sealed)))
            .expect("response")
    } else {
        Response::builder()
            .status(200)
            .header("Content-Type", "application/soap+xml;charset=UTF-8")
            .body(Full::new(Bytes::from(reply)))
            .expect("response")
    }
}

pub fn creds(password: &str) -> Credentials {
    Credentials::new(USER, SecretString::from(password.to_owned()))
}

pub fn limits() -> RunLimits {
    RunLimits {
        deadline: tokio::time::Instant::now() + Duration::from_secs(30),
        cancel: CancellationToken::new(),
        cleanup: Duration::from_secs(5),
    }
}

pub fn hostname() -> PreparedCommand {
    PreparedCommand::Cmd {
        command: "hostname".to_owned(),
        args: Vec::new(),
    }
}

pub fn endpoint(scheme: Scheme, addr: SocketAddr, tls: TlsOverride) -> Endpoint {
    Endpoint {
        port: addr.port(),
        tls,
        ..Endpoint::new(scheme, addr.ip().to_string())
    }
}

pub struct Tls {
    pub server: Arc<rustls::ServerConfig>,
    pub leaf: Vec<u8>,
    pub ca_file: tempfile::NamedTempFile,
}

pub fn tls_for(names: &[&str]) -> Tls {
    let key = rcgen::generate_simple_self_signed(
        names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
    )
    .expect("cert");
    let leaf = key.cert.der().to_vec();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![key.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
    )
    .expect("server config");
    let ca_file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca_file.path(), key.cert.pem()).expect("write pem");
    Tls {
        server: Arc::new(server),
        leaf,
        ca_file,
    }
}

pub fn binding(leaf: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut b = b"tls-server-end-point:".to_vec();
    b.extend_from_slice(&sha2::Sha256::digest(leaf));
    b
}
