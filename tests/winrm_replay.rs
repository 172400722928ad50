//! Replays real WinRM exchanges (tests/fixtures/pypsrp, recorded against Windows
//! servers) through a loopback HTTP server and checks that the client's output,
//! exit codes, faults and request sequence match what Windows sent. Basic auth over
//! plain HTTP (allow_unencrypted) keeps the bodies readable on the server side.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fleetscan::credentials::Credentials;
use fleetscan::winrm::{
    AuthMethod, Client, ClientOptions, CollectedOutput, Endpoint, FailureClass, PreparedCommand,
    RunLimits, Scheme, WinrmError,
};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const USER: &str = "vagrant";
const PASSWORD: &str = "canary-Pa55word";

#[derive(serde::Deserialize)]
struct Capture {
    messages: Vec<Message>,
}

#[derive(serde::Deserialize)]
struct Message {
    request: String,
    response: String,
    #[serde(default)]
    transport_error: Option<TransportError>,
}

#[derive(serde::Deserialize)]
struct TransportError {
    code: u16,
}

/// One canned answer: the action it answers, HTTP status, body.
#[derive(Clone, Debug)]
struct Canned {
    action: String,
    status: u16,
    body: String,
    /// Never answer (the request hangs until the client gives up).
    hang: bool,
    /// Close the connection without answering.
    reset: bool,
}

fn action_of(request: &str) -> String {
    let Some(start) = request.find("Action") else {
        return String::new();
    };
    let rest = &request[start..];
    let open = rest.find('>').map_or(0, |i| i + 1);
    let close = rest[open..].find('<').map_or(rest.len(), |i| i + open);
    rest[open..close]
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn load(name: &str) -> Vec<Canned> {
    let path = format!(
        "{}/tests/fixtures/pypsrp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let capture: Capture = serde_saphyr::from_str(&text).expect("yaml");
    capture
        .messages
        .into_iter()
        .map(|m| Canned {
            action: action_of(&m.request),
            status: m.transport_error.map_or(200, |t| t.code),
            body: m.response,
            hang: false,
            reset: false,
        })
        .collect()
}

/// What the server saw.
#[derive(Default, Debug)]
struct Seen {
    actions: Vec<String>,
    bodies: Vec<String>,
    connections: usize,
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

/// Serves `script` in order: each request gets the next canned answer for its
/// action; answers for actions the client did not send (e.g. Signal after Done)
/// are skipped. Checks the Basic header.
async fn serve(script: Vec<Canned>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let queue = Arc::new(Mutex::new(VecDeque::from(script)));
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{USER}:{PASSWORD}")
        )
    );
    let seen_server = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            seen_server.lock().expect("lock").connections += 1;
            let (seen, queue, expected) = (seen_server.clone(), queue.clone(), expected.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (seen, queue, expected) = (seen.clone(), queue.clone(), expected.clone());
                    async move {
                        let authorized = req
                            .headers()
                            .get(hyper::header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            == Some(expected.as_str());
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map_err(std::io::Error::other)?
                            .to_bytes();
                        let text = String::from_utf8_lossy(&body).into_owned();
                        let action = action_of(&text);
                        {
                            let mut s = seen.lock().expect("lock");
                            s.actions.push(action.clone());
                            s.bodies.push(text);
                        }
                        if !authorized {
                            return Ok::<_, std::io::Error>(
                                Response::builder()
                                    .status(401)
                                    .header("WWW-Authenticate", "Basic realm=\"WSMAN\"")
                                    .body(Full::new(Bytes::new()))
                                    .expect("response"),
                            );
                        }
                        let canned = {
                            let mut q = queue.lock().expect("lock");
                            loop {
                                match q.pop_front() {
                                    Some(c) if c.action == action => break Some(c),
                                    Some(_) => continue,
                                    None => break None,
                                }
                            }
                        };
                        let Some(canned) = canned else {
                            return Ok(Response::builder()
                                .status(500)
                                .body(Full::new(Bytes::new()))
                                .expect("response"));
                        };
                        if canned.hang {
                            std::future::pending::<()>().await;
                        }
                        if canned.reset {
                            return Err(std::io::Error::other("reset"));
                        }
                        Ok(Response::builder()
                            .status(canned.status)
                            .header("Content-Type", "application/soap+xml;charset=UTF-8")
                            .body(Full::new(Bytes::from(canned.body)))
                            .expect("response"))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, seen }
}

fn client() -> Client {
    client_with(ClientOptions {
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
}

fn client_with(opts: ClientOptions) -> Client {
    Client::new(ClientOptions {
        allow_unencrypted: true,
        ..opts
    })
    .expect("client")
}

fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint {
        port: addr.port(),
        ..Endpoint::new(Scheme::Http, addr.ip().to_string())
    }
}

fn creds(password: &str) -> Credentials {
    Credentials::new(USER, SecretString::from(password.to_owned()))
}

fn limits(after: Duration) -> RunLimits {
    RunLimits {
        deadline: tokio::time::Instant::now() + after,
        cancel: CancellationToken::new(),
        cleanup: Duration::from_secs(5),
    }
}

fn cmd(command: &str, args: &[&str]) -> PreparedCommand {
    PreparedCommand::Cmd {
        command: command.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    }
}

#[tokio::test]
async fn replayed_standard_exchange_returns_windows_output_and_deletes_the_shell() {
    let server = serve(load("test_winrs_standard.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &cmd("cmd.exe", &["/c", "echo", "hi"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines, vec!["hi"]);
    assert_eq!(out.stderr, "");
    let seen = server.seen.lock().expect("lock");
    // Basic over one connection: Create, Command, Receive, Delete — no Signal after Done.
    assert_eq!(seen.actions, ["Create", "Command", "Receive", "Delete"]);
    assert_eq!(session.requests_sent(), 4);
    assert_eq!(seen.connections, 1);
    assert!(seen.bodies[0].contains("WINRS_CODEPAGE"));
    assert!(seen.bodies[0].contains("<rsp:IdleTimeOut>"));
    assert!(seen.bodies[3].contains("4283CBDC-3706-415B-88BD-B385F3E51A53"));
}

#[tokio::test]
async fn replayed_stderr_and_exit_code_come_back() {
    let server = serve(load("test_winrs_stderr_rc.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &cmd("cmd.exe", &["/c", "echo out & echo err >&2 & exit 1"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 1);
    assert_eq!(out.stdout_lines, vec!["out "]);
    assert_eq!(out.stderr, "err \r\n");
}

#[tokio::test]
async fn replayed_environment_reaches_the_create_body_and_output() {
    let server = serve(load("test_winrs_environment.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let script = Arc::new(fleetscan::winrm::PreparedScript::new("Write-Output hi"));
    let mut out = CollectedOutput::default();
    session
        .run(
            &PreparedCommand::PowerShell(script.clone()),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert!(
        out.stdout_lines.iter().any(|l| l == "env1=var1"),
        "{:?}",
        out.stdout_lines
    );
    let seen = server.seen.lock().expect("lock");
    let (name, value) = &script.environment()[0];
    assert!(seen.bodies[0].contains(&format!(
        "<rsp:Variable Name=\"{name}\">{value}</rsp:Variable>"
    )));
    assert!(seen.bodies[1].contains("-EncodedCommand"));
}

#[tokio::test]
async fn replayed_unknown_command_fault_is_typed_and_the_shell_is_still_deleted() {
    let server = serve(load("test_winrs_bad_cmd_id.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("cmd.exe", &["/c", "echo", "hi"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect_err("fault");
    assert_eq!(err.fault_code(), Some(2_150_858_843), "{err}");
    assert_eq!(err.class(), FailureClass::Protocol);
    assert!(err.to_string().contains("192.168.56.15"), "{err}");
    let seen = server.seen.lock().expect("lock");
    // The command never reported Done, so terminate it before deleting the shell.
    assert_eq!(
        seen.actions,
        ["Create", "Command", "Receive", "Signal", "Delete"]
    );
}

#[tokio::test]
async fn replayed_command_fault_still_deletes_the_shell() {
    let server = serve(load("test_winrs_no_cmd_shell.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("powershell.exe", &["Write-Host", "hi"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect_err("fault");
    assert_eq!(err.fault_code(), Some(2_147_942_402));
    let seen = server.seen.lock().expect("lock");
    assert_eq!(seen.actions, ["Create", "Command", "Delete"]);
}

#[tokio::test]
async fn wrong_password_is_a_credentials_error_and_no_shell_is_left() {
    let server = serve(load("test_winrs_standard.yml")).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds("wrong"))
        .await
        .expect("Basic has no handshake");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("hostname", &[]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect_err("401");
    assert!(
        matches!(
            err,
            WinrmError::CredentialsRejected {
                method: "Basic",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::AuthFailed);
    assert!(!format!("{err} {err:?} {session:?}").contains("wrong"));
    assert_eq!(server.seen.lock().expect("lock").actions, ["Create"]);
}

#[tokio::test]
async fn basic_over_plain_http_is_refused_unless_allowed() {
    let strict = Client::new(ClientOptions::default()).expect("client");
    let err = strict
        .connect(
            &Endpoint::new(Scheme::Http, "127.0.0.1"),
            AuthMethod::Basic,
            &creds(PASSWORD),
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, WinrmError::InsecureBasic { .. }));
    assert_eq!(err.class(), FailureClass::AuthFailed);
}

fn timed_out_fault() -> Canned {
    Canned {
        action: "Receive".to_owned(),
        status: 500,
        body: r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win01"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#.to_owned(),
        hang: false,
        reset: false,
    }
}

#[tokio::test]
async fn receive_retries_after_operation_timeout_fault() {
    let mut script = load("test_winrs_standard.yml");
    let receive_at = script
        .iter()
        .position(|c| c.action == "Receive")
        .expect("receive");
    script.insert(receive_at, timed_out_fault());
    script.insert(receive_at, timed_out_fault());
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &cmd("cmd.exe", &["/c", "echo", "hi"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines, vec!["hi"]);
    let seen = server.seen.lock().expect("lock");
    assert_eq!(
        seen.actions,
        [
            "Create", "Command", "Receive", "Receive", "Receive", "Delete"
        ]
    );
    assert_eq!(session.requests_sent(), 6);
}

#[tokio::test]
async fn hung_command_ends_at_the_deadline_with_signal_and_delete() {
    let mut script = load("test_winrs_standard.yml");
    let receive_at = script
        .iter()
        .position(|c| c.action == "Receive")
        .expect("receive");
    // Two polite "no output yet" answers, then a Receive that never returns.
    script[receive_at].hang = true;
    script.insert(receive_at, timed_out_fault());
    script.insert(receive_at, timed_out_fault());
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("cmd.exe", &["/c", "ping", "-t", "localhost"]),
            &mut out,
            &limits(Duration::from_millis(400)),
        )
        .await
        .expect_err("deadline");
    assert!(
        matches!(
            err,
            WinrmError::DeadlinePassed {
                action: fleetscan::winrm::Action::Receive,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::Timeout);
    let seen = server.seen.lock().expect("lock");
    assert_eq!(
        seen.actions,
        [
            "Create", "Command", "Receive", "Receive", "Receive", "Signal", "Delete"
        ]
    );
    assert!(seen.bodies[5].contains("signal/terminate"));
    assert_eq!(session.leaked_shells(), 0);
    // The abandoned Receive poisoned the first connection; cleanup used a new one.
    assert_eq!(seen.connections, 2);
}

#[tokio::test]
async fn cancellation_stops_the_run_and_still_deletes_the_shell() {
    let mut script = load("test_winrs_standard.yml");
    let receive_at = script
        .iter()
        .position(|c| c.action == "Receive")
        .expect("receive");
    script[receive_at].hang = true;
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let run_limits = limits(Duration::from_secs(60));
    let cancel = run_limits.cancel.clone();
    let seen = server.seen.clone();
    tokio::spawn(async move {
        // Cancel once the Receive is in flight.
        loop {
            if seen
                .lock()
                .expect("lock")
                .actions
                .iter()
                .any(|a| a == "Receive")
            {
                cancel.cancel();
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    let mut out = CollectedOutput::default();
    let err = session
        .run(&cmd("cmd.exe", &["/c", "pause"]), &mut out, &run_limits)
        .await
        .expect_err("cancelled");
    assert_eq!(err.class(), FailureClass::Cancelled);
    let actions = server.seen.lock().expect("lock").actions.clone();
    assert_eq!(actions.last().map(String::as_str), Some("Delete"));
}

#[tokio::test]
async fn garbage_answer_is_a_malformed_response_and_the_shell_is_deleted() {
    let mut script = load("test_winrs_standard.yml");
    let receive_at = script
        .iter()
        .position(|c| c.action == "Receive")
        .expect("receive");
    script[receive_at].body =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><rsp:Rec"
            .to_owned();
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("hostname", &[]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect_err("garbage");
    assert!(
        matches!(err, WinrmError::MalformedResponse { .. }),
        "{err:?}"
    );
    assert_eq!(
        server.seen.lock().expect("lock").actions,
        ["Create", "Command", "Receive", "Signal", "Delete"]
    );
}

#[tokio::test]
async fn refused_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = client()
        .connect(&endpoint(addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect_err("refused");
    assert!(matches!(err, WinrmError::Refused { .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Unreachable);
    assert!(!err.is_transient());
}

#[tokio::test]
async fn empty_500_to_an_unsealed_body_says_the_server_refuses_unencrypted_bodies() {
    let mut script = load("test_winrs_standard.yml");
    script[0].status = 500;
    script[0].body = String::new();
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &cmd("hostname", &[]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect_err("500");
    assert!(
        matches!(
            err,
            WinrmError::HttpStatus {
                status: 500,
                empty_body: true,
                sealed: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("refuses unencrypted bodies"),
        "{err}"
    );
    assert_eq!(server.seen.lock().expect("lock").actions, ["Create"]);
}

async fn run_script(
    script: Vec<Canned>,
    opts: ClientOptions,
) -> (
    Result<fleetscan::winrm::CommandExit, WinrmError>,
    Vec<String>,
) {
    let server = serve(script).await;
    let mut session = client_with(opts)
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let result = session
        .run(
            &cmd("hostname", &[]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await;
    let actions = server.seen.lock().expect("lock").actions.clone();
    (result, actions)
}

#[tokio::test]
async fn reset_before_any_response_is_transient_and_cleanup_reconnects() {
    let mut script = load("test_winrs_standard.yml");
    let at = script
        .iter()
        .position(|c| c.action == "Command")
        .expect("command");
    script[at].reset = true;
    script.insert(at + 1, script[at].clone());
    script[at + 1].reset = false;
    let (result, actions) = run_script(script, ClientOptions::default()).await;
    let err = result.expect_err("reset");
    assert!(
        matches!(
            err,
            WinrmError::ConnectionLost {
                before_response: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(actions, ["Create", "Command", "Delete"]);
}

#[tokio::test]
async fn http_503_without_soap_is_transient() {
    let mut script = load("test_winrs_standard.yml");
    script[0].status = 503;
    script[0].body = "Service Unavailable".to_owned();
    let (result, _) = run_script(script, ClientOptions::default()).await;
    let err = result.expect_err("503");
    assert!(
        matches!(err, WinrmError::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn shell_quota_fault_on_create_is_transient_with_its_code() {
    let mut script = load("test_winrs_standard.yml");
    script[0].status = 500;
    script[0].body = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">w:QuotaLimit</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">quota</s:Text></s:Reason><s:Detail><p:MSFT_WmiError xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_WmiError"><p:Message>This user is allowed a maximum number of 30 concurrent shells, which has been exceeded.</p:Message><p:error_Code>2150859173</p:error_Code></p:MSFT_WmiError></s:Detail></s:Fault></s:Body></s:Envelope>"#.to_owned();
    let (result, actions) = run_script(script, ClientOptions::default()).await;
    let err = result.expect_err("quota");
    assert_eq!(err.fault_code(), Some(fleetscan::winrm::FAULT_SHELL_QUOTA));
    assert!(err.is_transient());
    assert!(err.to_string().contains("MaxShellsPerUser"), "{err}");
    assert_eq!(actions, ["Create"]);
}

#[tokio::test]
async fn response_over_the_body_cap_is_too_large() {
    let mut script = load("test_winrs_standard.yml");
    let at = script
        .iter()
        .position(|c| c.action == "Receive")
        .expect("receive");
    script[at].body = format!("{}{}", script[at].body, " ".repeat(64 * 1024));
    let (result, actions) = run_script(
        script,
        ClientOptions {
            max_response_bytes: 16 * 1024,
            ..ClientOptions::default()
        },
    )
    .await;
    let err = result.expect_err("too large");
    assert!(
        matches!(err, WinrmError::TooLarge { limit: 16384, .. }),
        "{err:?}"
    );
    assert_eq!(actions.last().map(String::as_str), Some("Delete"));
}

#[tokio::test]
async fn output_over_the_per_host_cap_is_too_large() {
    let (result, actions) = run_script(
        load("test_winrs_standard.yml"),
        ClientOptions {
            max_output_bytes: 2,
            ..ClientOptions::default()
        },
    )
    .await;
    let err = result.expect_err("output cap");
    assert!(
        matches!(
            err,
            WinrmError::TooLarge {
                what: "command output (bytes)",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        actions,
        ["Create", "Command", "Receive", "Signal", "Delete"]
    );
}

#[tokio::test]
async fn deeply_nested_answer_hits_the_xml_depth_cap() {
    let mut script = load("test_winrs_standard.yml");
    script[0].body = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">{}{}</s:Envelope>",
        "<a>".repeat(500),
        "</a>".repeat(500)
    );
    let (result, _) = run_script(script, ClientOptions::default()).await;
    let err = result.expect_err("depth");
    assert!(
        matches!(
            err,
            WinrmError::TooLarge {
                what: "XML nesting (levels)",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_delete_that_never_returns_counts_as_a_leaked_shell() {
    let mut script = load("test_winrs_standard.yml");
    let at = script
        .iter()
        .position(|c| c.action == "Delete")
        .expect("delete");
    script[at].hang = true;
    let server = serve(script).await;
    let mut session = client()
        .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let run_limits = RunLimits {
        cleanup: Duration::from_millis(300),
        ..limits(Duration::from_secs(30))
    };
    let exit = session
        .run(&cmd("hostname", &[]), &mut out, &run_limits)
        .await
        .expect("the command itself succeeded");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(session.leaked_shells(), 1);
}

#[tokio::test]
async fn huge_timeouts_from_the_user_do_not_overflow() {
    let server = serve(load("test_winrs_standard.yml")).await;
    let mut session = client_with(ClientOptions {
        operation_timeout: Duration::MAX,
        connect_timeout: Duration::MAX,
        idle_timeout: Duration::MAX,
        ..ClientOptions::default()
    })
    .connect(&endpoint(server.addr), AuthMethod::Basic, &creds(PASSWORD))
    .await
    .expect("connect");
    let mut out = CollectedOutput::default();
    session
        .run(
            &cmd("hostname", &[]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
}
