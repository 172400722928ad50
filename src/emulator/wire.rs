//! The emulator's own reading and writing of WS-Management SOAP envelopes.
//!
//! Requests are read with quick-xml's namespace-resolving reader into a small,
//! bounded element tree and matched on namespace + local name, never on prefix.
//! Responses are written with the exact prefixes, namespace declarations and
//! element order that Windows uses (see `../shared/fixtures/winrm-captures/`), so a
//! client that only works with one prefix spelling fails here as it would there.
//!
//! Shares nothing with the client in `crate::winrm`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// SOAP 1.2 envelope.
pub(crate) const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (2004/08).
pub(crate) const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management.
pub(crate) const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Windows Remote Shell.
pub(crate) const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// The cmd shell resource.
pub(crate) const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";

const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
const ACTION_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";

/// Deepest element nesting accepted in a request (a WinRS envelope needs 6).
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one request.
const MAX_ELEMENTS: usize = 4096;
/// Windows' `MaxTimeoutms` default: OperationTimeout is capped here.
pub(crate) const MAX_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// One element of a parsed request: namespace, local name, attributes (by local
/// name), text content and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// The first child `ns`:`name`.
    pub(crate) fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.ns == ns && c.name == name)
    }

    /// Takes the first child `ns`:`name` out of this element.
    fn take_child(&mut self, ns: &str, name: &str) -> Option<Element> {
        let at = self
            .children
            .iter()
            .position(|c| c.ns == ns && c.name == name)?;
        Some(self.children.remove(at))
    }

    /// Every child `ns`:`name`.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.name == name)
    }

    /// The attribute with local name `name`.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed text of child `ns`:`name`.
    pub(crate) fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name).map(|c| c.text.trim())
    }
}

/// Why a request body is not a WS-Management request we can serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("the XML nests deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("the XML has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("not a SOAP envelope with a Header and a Body")]
    NotEnvelope,
    #[error("the header has no wsa:Action")]
    NoAction,
}

/// Parses `xml` into an element tree.
pub(crate) fn parse_tree(xml: &str) -> Result<Element, WireError> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| WireError::Xml(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.as_ref().to_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(WireError::Xml("content after the root element".into()));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(WireError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(WireError::TooDeep);
                }
                let mut el = Element {
                    ns,
                    name: e.local_name().as_ref().to_owned(),
                    ..Element::default()
                };
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| WireError::Xml(e.to_string()))?;
                    let key = attr.key.local_name().as_ref().to_owned();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| WireError::Xml(e.to_string()))?
                        .into_owned();
                    el.attrs.push((key, value));
                }
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| WireError::Xml("unbalanced end tag".into()))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match r.xml10_content().as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(WireError::Xml(format!("unknown entity &{other};"))),
                    },
                    Err(e) => return Err(WireError::Xml(e.to_string())),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(WireError::Xml("unclosed element at end of input".into()));
    }
    root.ok_or(WireError::NotEnvelope)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// The WS-Management operation a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Command,
    Send,
    Receive,
    Signal,
    Delete,
    Other(String),
}

/// A parsed WS-Management request: the header fields the shell needs, and the body.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) action: Action,
    pub(crate) message_id: Option<String>,
    pub(crate) resource_uri: Option<String>,
    /// `wsman:OperationTimeout`, capped at [`MAX_OPERATION_TIMEOUT`].
    pub(crate) operation_timeout: Duration,
    pub(crate) max_envelope_size: Option<usize>,
    pub(crate) shell_id: Option<String>,
    /// `wsman:OptionSet` entries, name → value.
    pub(crate) options: Vec<(String, String)>,
    pub(crate) body: Element,
}

/// quick-xml's `escape` after a SIMD scan: most texts here have nothing to escape
/// (ids, and the base64 program a Create echoes, ~15 KB a host), and quick-xml
/// tests them byte by byte.
fn escape(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if memchr::memchr3(b'<', b'>', b'&', bytes).is_none()
        && memchr::memchr2(b'"', b'\'', bytes).is_none()
    {
        return Cow::Borrowed(text);
    }
    quick_xml::escape::escape(text)
}

/// Reads a request envelope.
pub(crate) fn parse_request(xml: &str) -> Result<Request, WireError> {
    let mut env = parse_tree(xml)?;
    if env.ns != NS_SOAP || env.name != "Envelope" {
        return Err(WireError::NotEnvelope);
    }
    // Taken, not cloned: a Create's body holds the whole program (~15 KB).
    let body = env
        .take_child(NS_SOAP, "Body")
        .ok_or(WireError::NotEnvelope)?;
    let header = env.child(NS_SOAP, "Header").ok_or(WireError::NotEnvelope)?;
    let action = header
        .child_text(NS_ADDRESSING, "Action")
        .ok_or(WireError::NoAction)?;
    let action = match action {
        ACTION_CREATE => Action::Create,
        ACTION_COMMAND => Action::Command,
        ACTION_SEND => Action::Send,
        ACTION_RECEIVE => Action::Receive,
        ACTION_SIGNAL => Action::Signal,
        ACTION_DELETE => Action::Delete,
        other => Action::Other(other.to_owned()),
    };
    let operation_timeout = header
        .child_text(NS_WSMAN, "OperationTimeout")
        .and_then(parse_xs_duration)
        .map_or(MAX_OPERATION_TIMEOUT, |d| d.min(MAX_OPERATION_TIMEOUT));
    let shell_id = header.child(NS_WSMAN, "SelectorSet").and_then(|set| {
        set.children_named(NS_WSMAN, "Selector")
            .find(|s| s.attr("Name") == Some("ShellId"))
            .map(|s| s.text.trim().to_owned())
    });
    let options = header
        .child(NS_WSMAN, "OptionSet")
        .map(|set| {
            set.children_named(NS_WSMAN, "Option")
                .filter_map(|o| Some((o.attr("Name")?.to_owned(), o.text.trim().to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Request {
        action,
        message_id: header
            .child_text(NS_ADDRESSING, "MessageID")
            .map(str::to_owned),
        resource_uri: header
            .child_text(NS_WSMAN, "ResourceURI")
            .map(str::to_owned),
        operation_timeout,
        max_envelope_size: header
            .child_text(NS_WSMAN, "MaxEnvelopeSize")
            .and_then(|s| s.parse().ok()),
        shell_id,
        options,
        body,
    })
}

/// Parses an `xs:duration` of the forms WinRM uses: `PT20S`, `PT60.000S`,
/// `PT1M30S`, `P0DT1H0M0S`. Years and months are refused.
pub(crate) fn parse_xs_duration(text: &str) -> Option<Duration> {
    let rest = text.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut secs = 0f64;
    let mut num = String::new();
    for ch in date.chars() {
        match ch {
            '0'..='9' | '.' => num.push(ch),
            'D' => secs += num.parse::<f64>().ok()? * 86_400.0,
            _ => return None,
        }
        if ch == 'D' {
            num.clear();
        }
    }
    if !num.is_empty() {
        return None;
    }
    for ch in time.chars() {
        let unit = match ch {
            '0'..='9' | '.' => {
                num.push(ch);
                continue;
            }
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => return None,
        };
        secs += num.parse::<f64>().ok()? * unit;
        num.clear();
    }
    if !num.is_empty() || !secs.is_finite() || !(0.0..=1.0e9).contains(&secs) {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// `PT7200.000S`, as Windows echoes an IdleTimeOut.
pub(crate) fn format_idle_timeout(d: Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

/// Which namespace declarations an envelope carries (Windows varies them per
/// response type; the captures show each set).
#[derive(Debug, Clone, Copy)]
enum Decls {
    /// s a x w rsp p: Create, Command, Send, Signal responses.
    Shell,
    /// s a w rsp p: Receive responses.
    Receive,
    /// s a w p: Delete responses.
    Delete,
    /// s a x e n w p: faults.
    Fault,
}

fn envelope(decls: Decls, action: &str, relates_to: Option<&str>, body: &str) -> String {
    let ns = match decls {
        Decls::Shell => {
            r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#
        }
        Decls::Receive => {
            r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#
        }
        Decls::Delete => {
            r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#
        }
        Decls::Fault => {
            r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#
        }
    };
    let message_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    // Written piece by piece into its final size: `format!` sizes its buffer from
    // the literal pieces only, so a CreateResponse (the ~15 KB program echoed)
    // grew by doubling, copying the body each time.
    let mut out = String::with_capacity(ns.len() + action.len() + body.len() + 512);
    for piece in [
        r#"<s:Envelope xml:lang="en-US" "#,
        ns,
        "><s:Header><a:Action>",
        action,
        "</a:Action><a:MessageID>uuid:",
        &message_id,
        "</a:MessageID><a:To>",
        ANONYMOUS,
        "</a:To>",
    ] {
        out.push_str(piece);
    }
    if let Some(r) = relates_to {
        out.push_str("<a:RelatesTo>");
        out.push_str(&escape(r));
        out.push_str("</a:RelatesTo>");
    }
    out.push_str("</s:Header><s:Body>");
    out.push_str(body);
    out.push_str("</s:Body></s:Envelope>");
    out
}

/// What Create answers with, echoing what the shell was created with.
#[derive(Debug, Clone)]
pub(crate) struct CreatedShell<'a> {
    pub(crate) shell_id: &'a str,
    /// `http://<host>:<port>/wsman`.
    pub(crate) address: &'a str,
    pub(crate) owner: &'a str,
    pub(crate) client_ip: &'a str,
    pub(crate) environment: &'a [(String, String)],
    pub(crate) working_directory: Option<&'a str>,
    pub(crate) idle_timeout: Duration,
}

/// `CreateResponse`: `x:ResourceCreated` plus the `rsp:Shell` description.
pub(crate) fn create_response(relates_to: Option<&str>, shell: &CreatedShell<'_>) -> String {
    let id = escape(shell.shell_id);
    let mut env = String::new();
    if !shell.environment.is_empty() {
        env.reserve(
            shell
                .environment
                .iter()
                .map(|(name, value)| name.len() + value.len() + 48)
                .sum::<usize>()
                + 40,
        );
        env.push_str("<rsp:Environment>");
        for (name, value) in shell.environment {
            env.push_str(r#"<rsp:Variable Name=""#);
            env.push_str(&escape(name.as_str()));
            env.push_str(r#"">"#);
            env.push_str(&escape(value.as_str()));
            env.push_str("</rsp:Variable>");
        }
        env.push_str("</rsp:Environment>");
    }
    let wd = shell
        .working_directory
        .map(|w| format!("<rsp:WorkingDirectory>{}</rsp:WorkingDirectory>", escape(w)))
        .unwrap_or_default();
    // Sized for the echoed environment up front, as `envelope` is.
    let mut body = String::with_capacity(env.len() + wd.len() + 1024);
    let _ = write!(
        body,
        r#"<x:ResourceCreated><a:Address>{addr}</a:Address><a:ReferenceParameters><w:ResourceURI>{RESOURCE_CMD}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp="{NS_SHELL}"><rsp:ShellId>{id}</rsp:ShellId><rsp:ResourceUri>{RESOURCE_CMD}</rsp:ResourceUri><rsp:Owner>{owner}</rsp:Owner><rsp:ClientIP>{ip}</rsp:ClientIP>{env}{wd}<rsp:IdleTimeOut>{idle}</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"#,
        addr = escape(shell.address),
        owner = escape(shell.owner),
        ip = escape(shell.client_ip),
        idle = format_idle_timeout(shell.idle_timeout),
    );
    envelope(
        Decls::Shell,
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        relates_to,
        &body,
    )
}

/// `CommandResponse` with the new command id.
pub(crate) fn command_response(relates_to: Option<&str>, command_id: &str) -> String {
    envelope(
        Decls::Shell,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
        relates_to,
        &format!(
            "<rsp:CommandResponse><rsp:CommandId>{}</rsp:CommandId></rsp:CommandResponse>",
            escape(command_id)
        ),
    )
}

/// `SendResponse`.
pub(crate) fn send_response(relates_to: Option<&str>) -> String {
    envelope(
        Decls::Shell,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse",
        relates_to,
        "<rsp:SendResponse/>",
    )
}

/// `SignalResponse`.
pub(crate) fn signal_response(relates_to: Option<&str>) -> String {
    envelope(
        Decls::Shell,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse",
        relates_to,
        "<rsp:SignalResponse/>",
    )
}

/// `DeleteResponse` (an empty body, as Windows sends it).
pub(crate) fn delete_response(relates_to: Option<&str>) -> String {
    envelope(
        Decls::Delete,
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
        relates_to,
        "",
    )
}

/// One Receive answer's content.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReceiveChunk {
    /// Stdout pieces; each becomes one `rsp:Stream` element.
    pub(crate) stdout: Vec<Vec<u8>>,
    /// Stderr pieces.
    pub(crate) stderr: Vec<Vec<u8>>,
    /// `Some(exit code)` when the command is done (streams end, state Done).
    pub(crate) done: Option<i32>,
}

/// `ReceiveResponse`: base64 stream chunks, then `End` markers and
/// `CommandState Done` with the exit code when the command finished, else
/// `CommandState Running`.
pub(crate) fn receive_response(
    relates_to: Option<&str>,
    command_id: &str,
    chunk: &ReceiveChunk,
) -> String {
    let id = escape(command_id);
    let mut body = String::from("<rsp:ReceiveResponse>");
    for (name, pieces) in [("stdout", &chunk.stdout), ("stderr", &chunk.stderr)] {
        for piece in pieces {
            body.push_str(&format!(
                r#"<rsp:Stream Name="{name}" CommandId="{id}">{}</rsp:Stream>"#,
                B64.encode(piece)
            ));
        }
    }
    match chunk.done {
        Some(code) => {
            body.push_str(&format!(
                r#"<rsp:Stream Name="stdout" CommandId="{id}" End="true"></rsp:Stream><rsp:Stream Name="stderr" CommandId="{id}" End="true"></rsp:Stream><rsp:CommandState CommandId="{id}" State="{STATE_DONE}"><rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>"#
            ));
        }
        None => body.push_str(&format!(
            r#"<rsp:CommandState CommandId="{id}" State="{STATE_RUNNING}"></rsp:CommandState>"#
        )),
    }
    body.push_str("</rsp:ReceiveResponse>");
    envelope(
        Decls::Receive,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        relates_to,
        &body,
    )
}

/// A SOAP fault as Windows words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// `s:Sender` or `s:Receiver`.
    pub(crate) code: &'static str,
    /// e.g. `w:TimedOut`.
    pub(crate) subcode: &'static str,
    pub(crate) reason: String,
    pub(crate) fault_detail: Option<&'static str>,
    /// The WSManFault code (e.g. 2150858793).
    pub(crate) wsman_code: u32,
    pub(crate) message: String,
}

/// The WSManFault codes the emulator answers with.
pub(crate) mod codes {
    /// `w:TimedOut`: no output within OperationTimeout; ask again.
    pub(crate) const TIMED_OUT: u32 = 2_150_858_793;
    /// `w:QuotaLimit`: MaxShellsPerUser exceeded.
    pub(crate) const QUOTA_LIMIT: u32 = 2_150_859_173;
    /// Shell or command id not found.
    pub(crate) const NOT_FOUND: u32 = 2_150_858_843;
    /// The request could not be understood.
    pub(crate) const INVALID: u32 = 2_150_858_817;
}

impl Fault {
    pub(crate) fn timed_out() -> Fault {
        let text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ";
        Fault {
            code: "s:Receiver",
            subcode: "w:TimedOut",
            reason: text.into(),
            fault_detail: None,
            wsman_code: codes::TIMED_OUT,
            message: text.into(),
        }
    }

    pub(crate) fn quota(max_shells: usize) -> Fault {
        let text = format!(
            "The WS-Management service cannot process the request. This user is allowed a maximum number of {max_shells} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. "
        );
        Fault {
            code: "s:Receiver",
            subcode: "w:QuotaLimit",
            reason: text.clone(),
            fault_detail: None,
            wsman_code: codes::QUOTA_LIMIT,
            message: text,
        }
    }

    pub(crate) fn unknown_shell(shell_id: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidSelectors",
            reason: "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ".into(),
            fault_detail: Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors"),
            wsman_code: codes::NOT_FOUND,
            message: format!("The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "),
        }
    }

    pub(crate) fn unknown_command() -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidSelectors",
            reason: "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ".into(),
            fault_detail: Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors"),
            wsman_code: codes::NOT_FOUND,
            message: "The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. ".into(),
        }
    }

    pub(crate) fn invalid(what: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidMessageInformationHeader",
            reason: format!("The WS-Management service cannot process the request: {what}. "),
            fault_detail: None,
            wsman_code: codes::INVALID,
            message: format!("The WS-Management service cannot process the request: {what}. "),
        }
    }
}

/// The fault envelope (sent with HTTP 500).
pub(crate) fn fault_response(relates_to: Option<&str>, machine: &str, fault: &Fault) -> String {
    let detail = fault
        .fault_detail
        .map(|d| format!("<w:FaultDetail>{d}</w:FaultDetail>"))
        .unwrap_or_default();
    let body = format!(
        r#"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{sub}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason><s:Detail>{detail}<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{wcode}" Machine="{machine}"><f:Message>{msg}</f:Message></f:WSManFault></s:Detail></s:Fault>"#,
        code = fault.code,
        sub = fault.subcode,
        reason = escape(fault.reason.as_str()),
        wcode = fault.wsman_code,
        machine = escape(machine),
        msg = escape(fault.message.as_str()),
    );
    envelope(Decls::Fault, ACTION_FAULT, relates_to, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_matches_quick_xml_and_borrows_plain_text() {
        for text in [
            "",
            "H4sIAAAAAAAA/+1Y",
            "a<b",
            "x>y",
            "&amp;",
            "say \"hi\"",
            "it's",
            "<&>\"'",
        ] {
            assert_eq!(escape(text), quick_xml::escape::escape(text), "{text:?}");
        }
        assert!(matches!(escape("H4sIAAAA+/=="), Cow::Borrowed(_)));
    }

    const CREATE: &str = r#"<s:Envelope xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:2A95150E-DBA9-4E56-A061-92CE9EFF5542</wsa:MessageID><wsman:OperationTimeout>PT20S</wsman:OperationTimeout><wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</wsman:ResourceURI><wsman:OptionSet s:mustUnderstand="true"><wsman:Option MustComply="true" Name="WINRS_NOPROFILE">TRUE</wsman:Option></wsman:OptionSet></s:Header><s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:Environment><rsp:Variable Name="env1">var1</rsp:Variable><rsp:Variable Name="x&amp;y">a&lt;b&#65;</rsp:Variable></rsp:Environment></rsp:Shell></s:Body></s:Envelope>"#;

    #[test]
    fn request_is_read_by_namespace_not_prefix() {
        let other_prefixes = CREATE
            .replace("<s:", "<soap:")
            .replace("</s:", "</soap:")
            .replace(" s:mustUnderstand", " soap:mustUnderstand")
            .replace("xmlns:s=", "xmlns:soap=")
            .replace("wsman:", "w:")
            .replace("xmlns:wsman=", "xmlns:w=");
        for xml in [CREATE, other_prefixes.as_str()] {
            let req = parse_request(xml).expect("parses");
            assert_eq!(req.action, Action::Create);
            assert_eq!(req.operation_timeout, Duration::from_secs(20));
            assert_eq!(req.max_envelope_size, Some(153_600));
            assert_eq!(
                req.options,
                vec![("WINRS_NOPROFILE".to_owned(), "TRUE".to_owned())]
            );
            let shell = req.body.child(NS_SHELL, "Shell").expect("shell");
            let vars: Vec<(&str, &str)> = shell
                .child(NS_SHELL, "Environment")
                .expect("env")
                .children_named(NS_SHELL, "Variable")
                .map(|v| (v.attr("Name").unwrap_or(""), v.text.as_str()))
                .collect();
            assert_eq!(vars, vec![("env1", "var1"), ("x&y", "a<bA")]);
        }
    }

    #[test]
    fn malformed_and_hostile_xml_is_refused() {
        assert!(parse_request("<s:Envelope").is_err());
        assert!(parse_request("not xml at all").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse_tree(&deep), Err(WireError::TooDeep));
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(parse_tree(&wide), Err(WireError::TooManyElements));
        assert!(parse_request("<x:Envelope xmlns:x=\"urn:other\"/>").is_err());
    }

    #[test]
    fn xs_durations_of_winrm_parse() {
        assert_eq!(parse_xs_duration("PT20S"), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_xs_duration("PT60.000S"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_xs_duration("PT1M30S"), Some(Duration::from_secs(90)));
        assert_eq!(
            parse_xs_duration("P0DT1H0M0S"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_xs_duration("PT0.5S"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_xs_duration("20"), None);
        assert_eq!(parse_xs_duration("P1Y"), None);
        assert_eq!(
            format_idle_timeout(Duration::from_secs(7200)),
            "PT7200.000S"
        );
    }

    #[test]
    fn responses_parse_back_with_windows_shapes() {
        let created = create_response(
            Some("uuid:1"),
            &CreatedShell {
                shell_id: "ABC",
                address: "http://127.1.0.1:5985/wsman",
                owner: "fleetscan",
                client_ip: "127.0.0.1",
                environment: &[("A".into(), "<1>".into())],
                working_directory: None,
                idle_timeout: Duration::from_secs(7200),
            },
        );
        let tree = parse_tree(&created).expect("well-formed");
        let body = tree.child(NS_SOAP, "Body").expect("body");
        let shell = body.child(NS_SHELL, "Shell").expect("rsp:Shell");
        assert_eq!(
            shell.child_text(NS_SHELL, "IdleTimeOut"),
            Some("PT7200.000S")
        );
        assert!(created.contains(r#"<w:Selector Name="ShellId">ABC</w:Selector>"#));
        assert!(created.contains(
            r#"<rsp:Environment><rsp:Variable Name="A">&lt;1&gt;</rsp:Variable></rsp:Environment>"#
        ));
        assert!(created.contains("<a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body>"));
        assert!(created.starts_with(r#"<s:Envelope xml:lang="en-US" xmlns:s="#));
        assert!(created.ends_with("</rsp:Shell></s:Body></s:Envelope>"));
        let fault = fault_response(None, "127.1.0.1", &Fault::timed_out());
        assert!(fault.contains(r#"Code="2150858793" Machine="127.1.0.1""#));
        assert!(parse_tree(&fault).is_ok());
        let rx = receive_response(
            None,
            "C1",
            &ReceiveChunk {
                stdout: vec![b"hi\r\n".to_vec()],
                stderr: vec![],
                done: Some(0),
            },
        );
        assert!(rx.contains(r#"<rsp:Stream Name="stdout" CommandId="C1">aGkNCg==</rsp:Stream>"#));
        assert!(rx.contains("CommandState/Done\"><rsp:ExitCode>0</rsp:ExitCode>"));
        assert!(parse_tree(&delete_response(Some("uuid:2"))).is_ok());
    }
}
