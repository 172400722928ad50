//! The emulated fleet seen from the wire: raw HTTP requests built here (hyper
//! client, sspi as the NTLM initiator, our own multipart framing), never the
//! scanner's `src/winrm`. Responses are compared with the structure of real
//! Windows captures (pypsrp's recorded exchanges, MIT licence).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{EmuAuth, Fault, FleetSpec, RunningFleet};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use quick_xml::events::Event;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, Sspi as _,
    SspiImpl as _, Username,
};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------
// Real Windows responses (pypsrp tests/tests_pypsrp/responses/test_winrs_standard.yml
// and test_winrs_bad_cmd_id.yml, commit 42a34ed, MIT licence, (c) Jordan Borean).

const WIN_CREATE: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action><a:MessageID>uuid:2131383B-EFAE-46DE-92BB-343BE18B7EAD</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:FC40E3CD-53E9-4315-B486-6D538B25D1F5</a:RelatesTo></s:Header><s:Body><x:ResourceCreated><a:Address>http://192.168.56.11:5985/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">4283CBDC-3706-415B-88BD-B385F3E51A53</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><rsp:ShellId>4283CBDC-3706-415B-88BD-B385F3E51A53</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri><rsp:Owner>vagrant</rsp:Owner><rsp:ClientIP>192.168.56.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell></s:Body></s:Envelope>"#;
const WIN_COMMAND: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse</a:Action><a:MessageID>uuid:A2E35A1C-9C43-4D6E-AC2F-5ADE71F81180</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:109656EA-8D8A-46E9-BE22-5AA2199C7A7A</a:RelatesTo></s:Header><s:Body><rsp:CommandResponse><rsp:CommandId>CF84C20A-0A35-43FA-AF78-0B4711DA5F30</rsp:CommandId></rsp:CommandResponse></s:Body></s:Envelope>"#;
const WIN_RECEIVE: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action><a:MessageID>uuid:7790BEEF-5704-4558-AB8D-D44833CF5805</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:4CECD2A8-45E1-4835-B5D9-F4CEB4308A0F</a:RelatesTo></s:Header><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="CF84C20A-0A35-43FA-AF78-0B4711DA5F30">aGkNCg==</rsp:Stream><rsp:Stream Name="stdout" CommandId="CF84C20A-0A35-43FA-AF78-0B4711DA5F30" End="true"></rsp:Stream><rsp:Stream Name="stderr" CommandId="CF84C20A-0A35-43FA-AF78-0B4711DA5F30" End="true"></rsp:Stream><rsp:CommandState CommandId="CF84C20A-0A35-43FA-AF78-0B4711DA5F30" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#;
const WIN_SIGNAL: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse</a:Action><a:MessageID>uuid:6BD85F04-E12D-4830-8184-138113778423</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:39F0C1EF-D3FD-4905-A01D-5524640DDD61</a:RelatesTo></s:Header><s:Body><rsp:SignalResponse/></s:Body></s:Envelope>"#;
const WIN_DELETE: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse</a:Action><a:MessageID>uuid:B8AAF60D-DEC1-4AE5-9D0C-A4CC2D62F0FF</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:CFC01FC6-2D1B-4B58-990E-8708C586CB73</a:RelatesTo></s:Header><s:Body></s:Body></s:Envelope>"#;
const WIN_FAULT: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:MessageID>uuid:7B834235-F8A2-4A77-BBA1-72FE4BEE97C8</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>uuid:1E4F574C-3C19-46E9-A544-B71D78C95E7B</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot process the request because the request contained invalid selectors for the resource. </s:Text></s:Reason><s:Detail><w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors</w:FaultDetail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="192.168.56.15"><f:Message>The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

// ---------------------------------------------------------------------------------
// Structure: the distinct element paths (prefix:name as written) and every xmlns
// declaration with its prefix. Values (ids, text) are ignored.

fn shape(xml: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut decls = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                for a in e.attributes().flatten() {
                    let k = a.key.as_ref().to_owned();
                    if k.starts_with("xmlns") {
                        let v = a.value.to_string();
                        decls.push((k, v));
                    }
                }
                path.push(name);
                let p = path.join("/");
                if !paths.contains(&p) {
                    paths.push(p);
                }
                if matches!(reader.read_event(), Ok(Event::End(_))) {
                    path.pop();
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    decls.sort();
    decls.dedup();
    (paths, decls)
}

fn assert_same_shape(ours: &str, windows: &str) {
    assert_eq!(
        shape(ours),
        shape(windows),
        "ours:\n{ours}\nwindows:\n{windows}"
    );
}

// ---------------------------------------------------------------------------------
// A raw HTTP/1.1 connection.

struct Conn {
    send: SendRequest<Full<Bytes>>,
    task: tokio::task::JoinHandle<()>,
}

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Result<Vec<u8>, String>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(self.body.as_deref().unwrap_or_default()).into_owned()
    }
}

async fn connect(addr: SocketAddr) -> Conn {
    let tcp = TcpStream::connect(addr).await.expect("connects");
    wrap(tcp).await
}

async fn wrap<IO>(io: IO) -> Conn
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("handshake");
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    Conn { send, task }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    async fn post(&mut self, headers: &[(&str, String)], body: Vec<u8>) -> Reply {
        let mut req = hyper::Request::post("/wsman").header("Host", "emulated");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let resp = self.send.send_request(req).await.expect("response head");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .map_err(|e| e.to_string());
        Reply {
            status,
            headers,
            body,
        }
    }
}

const SOAP: &str = "application/soap+xml;charset=UTF-8";

fn basic(user: &str, pw: &str) -> (&'static str, String) {
    (
        "Authorization",
        format!("Basic {}", B64.encode(format!("{user}:{pw}"))),
    )
}

// ---------------------------------------------------------------------------------
// Requests, written as pywinrm/pypsrp write them.

fn envelope(action: &str, shell_id: Option<&str>, timeout: &str, body: &str) -> String {
    let selector = shell_id
        .map(|id| {
            format!(
                r#"<wsman:SelectorSet><wsman:Selector Name="ShellId">{id}</wsman:Selector></wsman:SelectorSet>"#
            )
        })
        .unwrap_or_default();
    format!(
        r#"<s:Envelope xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><wsa:Action s:mustUnderstand="true">{action}</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:{}</wsa:MessageID><wsman:OperationTimeout>{timeout}</wsman:OperationTimeout><wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</wsman:ResourceURI>{selector}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

fn create(env: &[(String, String)]) -> String {
    let vars: String = env
        .iter()
        .map(|(k, v)| format!(r#"<rsp:Variable Name="{k}">{v}</rsp:Variable>"#))
        .collect();
    let env = if vars.is_empty() {
        String::new()
    } else {
        format!("<rsp:Environment>{vars}</rsp:Environment>")
    };
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        None,
        "PT20S",
        &format!(
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>{env}<rsp:IdleTimeOut>PT300S</rsp:IdleTimeOut></rsp:Shell>"
        ),
    )
}

fn command(shell: &str, cmd: &str, args: &[&str]) -> String {
    let args: String = args
        .iter()
        .map(|a| format!("<rsp:Arguments>{a}</rsp:Arguments>"))
        .collect();
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
        Some(shell),
        "PT20S",
        &format!("<rsp:CommandLine><rsp:Command>{cmd}</rsp:Command>{args}</rsp:CommandLine>"),
    )
}

fn receive(shell: &str, cmd: &str, timeout: &str) -> String {
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
        Some(shell),
        timeout,
        &format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{cmd}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#
        ),
    )
}

fn signal(shell: &str, cmd: &str) -> String {
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal",
        Some(shell),
        "PT20S",
        &format!(
            r#"<rsp:Signal CommandId="{cmd}"><rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate</rsp:Code></rsp:Signal>"#
        ),
    )
}

fn delete(shell: &str) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
        Some(shell),
        "PT20S",
        "",
    )
}

/// The text of the first element with local name `name`.
fn text_of(xml: &str, name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == name => {
                return reader
                    .read_text(e.name())
                    .ok()
                    .map(|t| t.xml10_content().into_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn attr_of(xml: &str, element: &str, attr: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                return e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == attr)
                    .map(|a| a.value.to_string());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Stdout of a ReceiveResponse, decoded, and the exit code when Done.
fn streams(xml: &str) -> (String, Option<i32>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut code = None;
    loop {
        match reader.read_event().expect("xml") {
            Event::Start(e) if e.local_name().as_ref() == "Stream" => {
                let stdout = e
                    .attributes()
                    .flatten()
                    .any(|a| a.key.as_ref() == "Name" && a.value.as_ref() == "stdout");
                let t = reader
                    .read_text(e.name())
                    .expect("text")
                    .xml10_content()
                    .into_owned();
                if stdout {
                    out.extend(B64.decode(t.trim()).expect("base64"));
                }
            }
            Event::Start(e) if e.local_name().as_ref() == "ExitCode" => {
                let t = reader.read_text(e.name()).expect("text");
                code = t.xml10_content().trim().parse().ok();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), code)
}

fn fault_code(xml: &str) -> Option<String> {
    attr_of(xml, "WSManFault", "Code")
}

// ---------------------------------------------------------------------------------
// NTLM client side (sspi initiator) and our own MS-WSMV framing.

struct NtlmClient {
    ntlm: Ntlm,
    creds: Option<AuthIdentityBuffers>,
}

impl NtlmClient {
    fn new(password: &str, cbt: Option<&[u8]>) -> NtlmClient {
        let mut ntlm = Ntlm::with_config(NtlmConfig::new("SCANNER".into()));
        if let Some(cb) = cbt {
            ntlm.set_channel_bindings(cb);
        }
        let identity = AuthIdentity {
            username: Username::new("fleetscan", None).expect("user"),
            password: password.to_owned().into(),
        };
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .expect("creds");
        NtlmClient {
            ntlm,
            creds: acquired.credentials_handle,
        }
    }

    fn step(&mut self, input: Option<&[u8]>) -> Vec<u8> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inbuf = input
            .map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)])
            .unwrap_or_default();
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.creds)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/emulated")
            .with_output(&mut output);
        if input.is_some() {
            builder = builder.with_input(&mut inbuf);
        }
        self.ntlm
            .initialize_security_context_impl(&mut builder)
            .expect("isc")
            .resolve_to_result()
            .expect("isc result");
        output.remove(0).buffer
    }

    fn seal(&mut self, soap: &str) -> Vec<u8> {
        let mut sig = vec![0u8; 16];
        let mut data = soap.as_bytes().to_vec();
        let mut bufs = [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.ntlm
            .encrypt_message(EncryptionFlags::empty(), &mut bufs)
            .expect("seal");
        let mut out = format!(
            "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n",
            soap.len()
        )
        .into_bytes();
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&sig);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"--Encrypted Boundary--\r\n");
        out
    }

    fn unseal(&mut self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let len: usize = text
            .split("Length=")
            .nth(1)
            .and_then(|s| s.split("\r\n").next())
            .and_then(|s| s.trim().parse().ok())
            .expect("Length=");
        let marker = b"application/octet-stream\r\n";
        let at = body
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("octet-stream part")
            + marker.len();
        let payload = &body[at..];
        assert_eq!(&payload[..4], &16u32.to_le_bytes());
        let mut sig = payload[4..20].to_vec();
        let mut data = payload[20..20 + len].to_vec();
        assert_eq!(&payload[20 + len..], b"--Encrypted Boundary--\r\n");
        let mut bufs = [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.ntlm.decrypt_message(&mut bufs).expect("unseal");
        String::from_utf8(data).expect("utf-8")
    }
}

const SEALED: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";

/// Sends NEGOTIATE and answers the CHALLENGE: the AUTHENTICATE (type 3), not sent yet.
async fn ntlm_authenticate(conn: &mut Conn, client: &mut NtlmClient) -> Vec<u8> {
    let t1 = client.step(None);
    let r = conn
        .post(
            &[("Authorization", format!("Negotiate {}", B64.encode(&t1)))],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 401);
    let challenge = r
        .headers
        .get_all("WWW-Authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("Negotiate "))
        .expect("challenge token")
        .to_owned();
    let t2 = B64.decode(challenge).expect("base64");
    client.step(Some(&t2))
}

/// Authenticates `conn` with NTLM under Negotiate (type3 with an empty body).
async fn ntlm_handshake(conn: &mut Conn, client: &mut NtlmClient) -> u16 {
    let t3 = ntlm_authenticate(conn, client).await;
    let r = conn
        .post(
            &[("Authorization", format!("Negotiate {}", B64.encode(&t3)))],
            Vec::new(),
        )
        .await;
    r.status
}

/// A sealed SOAP exchange: (status, unsealed response text).
async fn sealed(conn: &mut Conn, client: &mut NtlmClient, soap: &str) -> (u16, String) {
    let body = client.seal(soap);
    let r = conn
        .post(&[("Content-Type", SEALED.to_owned())], body)
        .await;
    let ctype = r
        .headers
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ctype.starts_with("multipart/encrypted"), "{ctype}");
    let bytes = r.body.expect("body");
    (r.status, client.unseal(&bytes))
}

async fn plain(conn: &mut Conn, soap: &str) -> Reply {
    conn.post(
        &[
            basic("fleetscan", "fleetscan"),
            ("Content-Type", SOAP.to_owned()),
        ],
        soap.as_bytes().to_vec(),
    )
    .await
}

fn basic_fleet(n: usize) -> FleetSpec {
    let mut spec = FleetSpec::uniform(n, Scenario::Healthy);
    spec.auth = EmuAuth::Basic;
    spec
}

fn faulty(fault: Fault) -> FleetSpec {
    let mut spec = basic_fleet(1);
    spec.hosts[0].fault = Some(fault);
    spec
}

/// Packs a PowerShell program as the transport format of CONTRACTS.md.
fn pack(script: &str) -> (Vec<(String, String)>, String) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(script.as_bytes()).expect("gzip");
    let b64 = B64.encode(gz.finish().expect("gzip"));
    let env: Vec<(String, String)> = b64
        .as_bytes()
        .chunks(8000)
        .enumerate()
        .map(|(i, c)| (format!("FSPS{i}"), String::from_utf8_lossy(c).into_owned()))
        .collect();
    let names: Vec<String> = env.iter().map(|(k, _)| format!("$env:{k}")).collect();
    let bootstrap = format!(
        "$ProgressPreference='SilentlyContinue'; $b=[Convert]::FromBase64String({}); $z=New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,$b)),[IO.Compression.CompressionMode]::Decompress); & ([scriptblock]::Create((New-Object IO.StreamReader($z,[Text.Encoding]::UTF8)).ReadToEnd()))",
        names.join(" + ")
    );
    let utf16: Vec<u8> = bootstrap
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    (env, B64.encode(utf16))
}

fn probe_program(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("# fleetscan-probe: {id}\ntry {{ Emit '{id}' }} catch {{}}\n"))
        .collect()
}

/// Create + Command of a packed program over Basic; returns (shell, command).
async fn start_program(conn: &mut Conn, script: &str) -> (String, String) {
    let (env, encoded) = pack(script);
    let r = plain(conn, &create(&env)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let shell = text_of(&r.text(), "ShellId").expect("ShellId");
    let r = plain(
        conn,
        &command(
            &shell,
            "powershell.exe",
            &[
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand",
                &encoded,
            ],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cmd = text_of(&r.text(), "CommandId").expect("CommandId");
    (shell, cmd)
}

// ---------------------------------------------------------------------------------

#[tokio::test]
async fn responses_have_the_structure_of_windows_captures() {
    let fleet = RunningFleet::start(basic_fleet(1)).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("Content-Type").and_then(|v| v.to_str().ok()),
        Some(SOAP)
    );
    assert_same_shape(&r.text(), WIN_CREATE);
    assert_eq!(
        text_of(&r.text(), "IdleTimeOut").as_deref(),
        Some("PT300.000S")
    );
    let shell = text_of(&r.text(), "ShellId").expect("ShellId");

    let r = plain(
        &mut conn,
        &command(&shell, "cmd.exe", &["/c", "echo", "hi"]),
    )
    .await;
    assert_same_shape(&r.text(), WIN_COMMAND);
    let cmd = text_of(&r.text(), "CommandId").expect("CommandId");

    let r = plain(&mut conn, &receive(&shell, &cmd, "PT20S")).await;
    assert_eq!(r.status, 200);
    assert_same_shape(&r.text(), WIN_RECEIVE);
    assert_eq!(streams(&r.text()), ("hi\r\n".to_owned(), Some(0)));

    let r = plain(&mut conn, &signal(&shell, &cmd)).await;
    assert_same_shape(&r.text(), WIN_SIGNAL);

    let r = plain(&mut conn, &receive(&shell, &cmd, "PT20S")).await;
    assert_eq!(r.status, 500);
    assert_same_shape(&r.text(), WIN_FAULT);
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150858843"));

    let r = plain(&mut conn, &delete(&shell)).await;
    assert_same_shape(&r.text(), WIN_DELETE);
    fleet.shutdown().await;
}

#[tokio::test]
async fn basic_with_a_wrong_password_gets_401_with_the_offered_schemes() {
    let fleet = RunningFleet::start(basic_fleet(1)).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = conn
        .post(
            &[
                basic("fleetscan", "wrong"),
                ("Content-Type", SOAP.to_owned()),
            ],
            create(&[]).into_bytes(),
        )
        .await;
    assert_eq!(r.status, 401);
    let offered: Vec<&str> = r
        .headers
        .get_all("WWW-Authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(offered, vec!["Negotiate", "Basic realm=\"WSMAN\""]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn default_host_refuses_basic_and_offers_only_negotiate() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 401);
    let offered: Vec<&str> = r
        .headers
        .get_all("WWW-Authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(offered, vec!["Negotiate"]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn unsealed_body_over_http_after_ntlm_gets_500_with_an_empty_body() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut client = NtlmClient::new("fleetscan", None);
    assert_eq!(ntlm_handshake(&mut conn, &mut client).await, 200);
    let r = conn
        .post(
            &[("Content-Type", SOAP.to_owned())],
            create(&[]).into_bytes(),
        )
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body.expect("body"), Vec::<u8>::new());
    fleet.shutdown().await;
}

#[tokio::test]
async fn ntlm_with_a_wrong_password_gets_401() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut client = NtlmClient::new("not-the-password", None);
    assert_eq!(ntlm_handshake(&mut conn, &mut client).await, 401);
    fleet.shutdown().await;
}

#[tokio::test]
async fn sealed_body_after_a_refused_authenticate_is_refused() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut client = NtlmClient::new("not-the-password", None);
    let t3 = ntlm_authenticate(&mut conn, &mut client).await;
    let body = client.seal(&create(&[]));
    let r = conn
        .post(
            &[
                ("Authorization", format!("Negotiate {}", B64.encode(&t3))),
                ("Content-Type", SEALED.to_owned()),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body.expect("body"), Vec::<u8>::new());
    // Keys derived from the wrong password open nothing on this connection: not
    // a bare sealed body, and not the same AUTHENTICATE replayed.
    let r = conn
        .post(
            &[("Content-Type", SEALED.to_owned())],
            client.seal(&create(&[])),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = conn
        .post(
            &[
                ("Authorization", format!("Negotiate {}", B64.encode(&t3))),
                ("Content-Type", SEALED.to_owned()),
            ],
            client.seal(&create(&[])),
        )
        .await;
    assert_eq!(r.status, 401);
    fleet.shutdown().await;
}

#[tokio::test]
async fn ntlm_sealed_lifecycle_runs_the_probe_program() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut client = NtlmClient::new("fleetscan", None);
    assert_eq!(ntlm_handshake(&mut conn, &mut client).await, 200);

    let ids = fleetscan::emulator::answers::known_probe_ids();
    let script = probe_program(ids);
    let (env, encoded) = pack(&script);
    let (status, xml) = sealed(&mut conn, &mut client, &create(&env)).await;
    assert_eq!(status, 200, "{xml}");
    assert_same_shape(
        &xml.replace(
            &xml[xml.find("<rsp:Environment>").expect("env echoed")
                ..xml.find("</rsp:Environment>").expect("env end") + "</rsp:Environment>".len()],
            "",
        ),
        WIN_CREATE,
    );
    let shell = text_of(&xml, "ShellId").expect("ShellId");
    let (status, xml) = sealed(
        &mut conn,
        &mut client,
        &command(
            &shell,
            "powershell.exe",
            &["-NoProfile", "-EncodedCommand", &encoded],
        ),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let cmd = text_of(&xml, "CommandId").expect("CommandId");
    let mut stdout = String::new();
    let exit = loop {
        let (status, xml) = sealed(&mut conn, &mut client, &receive(&shell, &cmd, "PT20S")).await;
        assert_eq!(status, 200, "{xml}");
        let (out, code) = streams(&xml);
        stdout.push_str(&out);
        if let Some(code) = code {
            break code;
        }
    };
    assert_eq!(exit, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), ids.len());
    for (line, id) in lines.iter().zip(ids) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["id"], *id);
    }
    let (status, xml) = sealed(&mut conn, &mut client, &delete(&shell)).await;
    assert_eq!(status, 200);
    assert_same_shape(&xml, WIN_DELETE);
    // Faults come back sealed too.
    let (status, xml) = sealed(&mut conn, &mut client, &delete(&shell)).await;
    assert_eq!(status, 500);
    assert_eq!(fault_code(&xml).as_deref(), Some("2150858843"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn receive_answers_timed_out_fault_while_the_program_runs() {
    let mut spec = basic_fleet(1);
    spec.ps_runtime = Duration::from_secs(30);
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let (shell, cmd) = start_program(
        &mut conn,
        &probe_program(&["host.context", "mars.installed"]),
    )
    .await;
    // The first half of the lines is out early; then nothing until the runtime.
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT0.3S")).await;
    assert_eq!(r.status, 200);
    let (early, done) = streams(&r.text());
    assert_eq!(early.lines().count(), 1);
    assert_eq!(done, None);
    assert!(r.text().contains("CommandState/Running"));
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT0.3S")).await;
    assert_eq!(r.status, 500);
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150858793"));
    assert_eq!(text_of(&r.text(), "Value").as_deref(), Some("s:Receiver"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn thirty_first_shell_gets_the_quota_fault_and_delete_frees_one() {
    let fleet = RunningFleet::start(basic_fleet(1)).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut shells = Vec::new();
    for _ in 0..30 {
        let r = plain(&mut conn, &create(&[])).await;
        assert_eq!(r.status, 200);
        shells.push(text_of(&r.text(), "ShellId").expect("ShellId"));
    }
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 500);
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150859173"));
    let r = plain(&mut conn, &delete(&shells[0])).await;
    assert_eq!(r.status, 200);
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn unknown_shell_gets_the_not_found_fault() {
    let fleet = RunningFleet::start(basic_fleet(1)).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &command("NO-SUCH-SHELL", "hostname", &[])).await;
    assert_eq!(r.status, 500);
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150858843"));
    assert!(r.text().contains("NO-SUCH-SHELL"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_refuse_refuses_connections() {
    let fleet = RunningFleet::start(faulty(Fault::Refuse))
        .await
        .expect("starts");
    assert!(TcpStream::connect(fleet.hosts[0].addr).await.is_err());
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_auth_reject_rejects_good_credentials() {
    let fleet = RunningFleet::start(faulty(Fault::AuthReject))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    assert_eq!(plain(&mut conn, &create(&[])).await.status, 401);
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_hang_accepts_and_never_answers() {
    let fleet = RunningFleet::start(faulty(Fault::Hang))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let answered =
        tokio::time::timeout(Duration::from_millis(300), plain(&mut conn, &create(&[]))).await;
    assert!(answered.is_err(), "a hung host never answers");
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_slow_delays_every_exchange() {
    let fleet = RunningFleet::start(faulty(Fault::Slow))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let early =
        tokio::time::timeout(Duration::from_millis(200), plain(&mut conn, &create(&[]))).await;
    assert!(early.is_err(), "no answer before the added latency");
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_reset_drops_the_first_soap_response_mid_body() {
    let fleet = RunningFleet::start(faulty(Fault::Reset))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    assert!(r.body.is_err(), "the body is cut off");
    // A new connection works again.
    let mut conn = connect(fleet.hosts[0].addr).await;
    assert_eq!(plain(&mut conn, &create(&[])).await.status, 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_garbage_answers_malformed_xml() {
    let fleet = RunningFleet::start(faulty(Fault::Garbage))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut failed = false;
    loop {
        match reader.read_event() {
            Err(_) => {
                failed = true;
                break;
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
        }
    }
    assert!(failed || !text.ends_with("</s:Envelope>"), "{text}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_quota_refuses_the_first_create() {
    let fleet = RunningFleet::start(faulty(Fault::Quota))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    assert_eq!(r.status, 500);
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150859173"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_huge_output_streams_filler_before_the_program() {
    let fleet = RunningFleet::start(faulty(Fault::HugeOutput))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let (shell, cmd) = start_program(&mut conn, &probe_program(&["host.context"])).await;
    let mut got = 0usize;
    for _ in 0..5 {
        let r = plain(&mut conn, &receive(&shell, &cmd, "PT5S")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.body.as_ref().map_or(0, Vec::len) <= 153_600,
            "fits MaxEnvelopeSize"
        );
        let (out, done) = streams(&r.text());
        assert!(out.starts_with("HUGE-OUTPUT"));
        assert_eq!(done, None);
        got += out.len();
    }
    assert!(got > 300_000);
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_probe_error_makes_one_probe_answer_not_ok() {
    let fleet = RunningFleet::start(faulty(Fault::ProbeError))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let ids = ["host.context", "mars.installed", "mars.service_running"];
    let (shell, cmd) = start_program(&mut conn, &probe_program(&ids)).await;
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT5S")).await;
    let (out, done) = streams(&r.text());
    assert_eq!(done, Some(0));
    let failed: Vec<String> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["ok"] == false)
        .map(|v| v["id"].to_string())
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn fault_ps_timeout_prints_early_lines_then_never_finishes() {
    let fleet = RunningFleet::start(faulty(Fault::PsTimeout))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let (shell, cmd) = start_program(
        &mut conn,
        &probe_program(&["host.context", "mars.installed"]),
    )
    .await;
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT5S")).await;
    let (out, done) = streams(&r.text());
    assert_eq!((out.lines().count(), done), (1, None));
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT0.3S")).await;
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150858793"));
    fleet.shutdown().await;
}

fn tls_client(ca_pem: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn https_verifies_with_the_ca_and_ntlm_needs_the_channel_binding() {
    use sha2::Digest as _;
    let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
    spec.tls = true;
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let ca = fleet.ca_pem.clone().expect("CA");
    let addr = fleet.hosts[0].addr;
    let connector = tls_client(&ca);
    let open = || async {
        let tcp = TcpStream::connect(addr).await.expect("connects");
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        connector
            .connect(name, tcp)
            .await
            .expect("TLS verifies with the CA")
    };

    // Right binding: authenticated, and unsealed SOAP is fine over HTTPS.
    let tls = open().await;
    let cert = tls.get_ref().1.peer_certificates().expect("cert")[0].clone();
    let mut cbt = b"tls-server-end-point:".to_vec();
    cbt.extend_from_slice(&sha2::Sha256::digest(cert.as_ref()));
    let mut conn = wrap(tls).await;
    let mut client = NtlmClient::new("fleetscan", Some(&cbt));
    assert_eq!(ntlm_handshake(&mut conn, &mut client).await, 200);
    let r = conn
        .post(
            &[("Content-Type", SOAP.to_owned())],
            create(&[]).into_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("https://"));

    // No binding: refused.
    let mut conn = wrap(open().await).await;
    let mut client = NtlmClient::new("fleetscan", None);
    assert_eq!(ntlm_handshake(&mut conn, &mut client).await, 401);
    fleet.shutdown().await;
}

#[tokio::test]
async fn inventory_lists_every_host_with_scenario_and_fault() {
    let mut spec = FleetSpec::mixed(12, 3);
    spec.hosts[1].fault = Some(Fault::Refuse);
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let ini = fleet.inventory_ini();
    assert!(ini.contains("[windows]\n"));
    assert!(ini.contains("[windows:vars]\nansible_connection=winrm\nansible_user=fleetscan\n"));
    for h in &fleet.hosts {
        let line = format!(
            "{} ansible_host={} ansible_port={} ansible_winrm_scheme=http fleetscan_scenario={} fleetscan_fault={}",
            h.name,
            h.addr.ip(),
            h.addr.port(),
            h.scenario.name(),
            h.fault.map_or("none", |f| f.name())
        );
        assert!(ini.contains(&line), "{line} missing from\n{ini}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn type3_may_carry_the_first_sealed_body() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let mut client = NtlmClient::new("fleetscan", None);
    let t1 = client.step(None);
    let r = conn
        .post(
            &[("Authorization", format!("Negotiate {}", B64.encode(&t1)))],
            Vec::new(),
        )
        .await;
    let challenge = r
        .headers
        .get("WWW-Authenticate")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Negotiate "))
        .expect("challenge")
        .to_owned();
    let t3 = client.step(Some(&B64.decode(challenge).expect("base64")));
    let body = client.seal(&create(&[]));
    let r = conn
        .post(
            &[
                ("Authorization", format!("Negotiate {}", B64.encode(&t3))),
                ("Content-Type", SEALED.to_owned()),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, 200);
    let xml = client.unseal(&r.body.expect("body"));
    let shell = text_of(&xml, "ShellId").expect("shell id");
    // The connection stays authenticated for the following sealed requests.
    let (status, deleted) = sealed(&mut conn, &mut client, &delete(&shell)).await;
    assert_eq!(status, 200, "{deleted}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn spnego_wrapped_ntlm_is_accepted_under_negotiate() {
    use sspi::{Credentials, CredentialsBuffers, Negotiate, NegotiateConfig};
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let mut neg = Negotiate::new_client(NegotiateConfig::new(
        Box::new(NtlmConfig::new("SCANNER".into())),
        Some("ntlm,!kerberos".to_owned()),
        "SCANNER".to_owned(),
    ))
    .expect("client");
    let identity = Credentials::AuthIdentity(AuthIdentity {
        username: Username::new("fleetscan", None).expect("user"),
        password: "fleetscan".to_owned().into(),
    });
    let mut creds: Option<CredentialsBuffers> = neg
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&identity)
        .execute(&mut neg)
        .expect("creds")
        .credentials_handle;
    let mut step = |input: Option<Vec<u8>>| {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inbuf = input
            .clone()
            .map(|t| vec![SecurityBuffer::new(t, BufferType::Token)])
            .unwrap_or_default();
        let mut builder = neg
            .initialize_security_context()
            .with_credentials_handle(&mut creds)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/emulated")
            .with_output(&mut output);
        if input.is_some() {
            builder = builder.with_input(&mut inbuf);
        }
        neg.initialize_security_context_impl(&mut builder)
            .expect("isc")
            .resolve_to_result()
            .expect("isc result");
        output.remove(0).buffer
    };
    let token_of = |r: &Reply| {
        r.headers
            .get("WWW-Authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Negotiate "))
            .map(|t| B64.decode(t).expect("base64"))
    };
    let mut conn = connect(fleet.hosts[0].addr).await;
    let t1 = step(None);
    assert_eq!(t1.first(), Some(&0x60), "SPNEGO NegTokenInit");
    let r = conn
        .post(
            &[("Authorization", format!("Negotiate {}", B64.encode(&t1)))],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 401);
    let t3 = step(token_of(&r));
    let r = conn
        .post(
            &[("Authorization", format!("Negotiate {}", B64.encode(&t3)))],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        token_of(&r).is_some(),
        "the last SPNEGO token comes with the 200"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn program_sent_on_stdin_runs_once_stdin_ends() {
    let fleet = RunningFleet::start(basic_fleet(1)).await.expect("starts");
    let mut conn = connect(fleet.hosts[0].addr).await;
    let r = plain(&mut conn, &create(&[])).await;
    let shell = text_of(&r.text(), "ShellId").expect("ShellId");
    let bootstrap = "$ProgressPreference='SilentlyContinue'; $b=[Convert]::FromBase64String([Console]::In.ReadToEnd()); $z=New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,$b)),[IO.Compression.CompressionMode]::Decompress); & ([scriptblock]::Create((New-Object IO.StreamReader($z)).ReadToEnd()))";
    let utf16: Vec<u8> = bootstrap
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let r = plain(
        &mut conn,
        &command(
            &shell,
            "powershell.exe",
            &["-EncodedCommand", &B64.encode(utf16)],
        ),
    )
    .await;
    let cmd = text_of(&r.text(), "CommandId").expect("CommandId");
    // Nothing runs before the program arrives.
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT0.2S")).await;
    assert_eq!(fault_code(&r.text()).as_deref(), Some("2150858793"));
    let (env, _) = pack(&probe_program(&["host.context"]));
    let program: String = env.into_iter().map(|(_, v)| v).collect();
    let send = envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send",
        Some(&shell),
        "PT20S",
        &format!(
            r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="{cmd}" End="true">{}</rsp:Stream></rsp:Send>"#,
            B64.encode(program)
        ),
    );
    let r = plain(&mut conn, &send).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<rsp:SendResponse/>"));
    let r = plain(&mut conn, &receive(&shell, &cmd, "PT5S")).await;
    let (out, done) = streams(&r.text());
    assert_eq!(done, Some(0));
    assert!(out.starts_with("{\"id\":\"host.context\""), "{out}");
    fleet.shutdown().await;
}
