//! Reads WinRS responses (CreateResponse, CommandResponse, ReceiveResponse, and the
//! empty Send/Signal/Delete responses) from the bounded XML tree, after checking
//! for a SOAP fault. Element names are matched by namespace and local name.
//!
//! Receive output arrives in pieces: each `rsp:Stream` carries base64 bytes of one
//! stream, possibly with `End="true"`, and an optional `rsp:CommandState` says
//! whether the command is still running or done with an exit code (MS-WSMV 2.2.4.27).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::fault::{WsmanFault, find_fault};
use super::xml::{
    Element, NS_ADDRESSING, NS_SHELL, NS_SOAP, NS_TRANSFER, NS_WSMAN, XmlError, XmlLimits,
    parse_pruned,
};

const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
const STATE_PENDING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending";

/// Why a response could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResponseError {
    /// The XML was rejected.
    Xml(XmlError),
    /// Not a SOAP envelope.
    NotSoap,
    /// The server answered with a fault.
    Fault(WsmanFault),
    /// A required element is missing or empty.
    Missing(&'static str),
    /// A stream or exit code did not decode.
    Invalid(String),
}

/// One of the command's output streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamName {
    Stdout,
    Stderr,
    /// A stream we did not ask for (kept so the caller can ignore it knowingly).
    Other(String),
}

/// One `rsp:Stream` element, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamChunk {
    pub(crate) stream: StreamName,
    pub(crate) data: Vec<u8>,
    /// `End="true"`: no more data on this stream.
    pub(crate) end: bool,
}

/// The command's state as one ReceiveResponse reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandState {
    /// No `rsp:CommandState` element, or `Pending`: more output may come.
    Pending,
    /// `Running`: more output may come.
    Running,
    /// `Done`, with the exit code when the server sent one.
    Done { exit_code: Option<i32> },
}

/// A decoded ReceiveResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceiveOutput {
    pub(crate) chunks: Vec<StreamChunk>,
    pub(crate) state: CommandState,
}

/// Parses an envelope and turns an `s:Fault` into [`ResponseError::Fault`].
pub(crate) fn envelope(bytes: &[u8], limits: XmlLimits) -> Result<Element, ResponseError> {
    envelope_pruned(bytes, limits, &[])
}

/// [`envelope`], without keeping the content of the elements in `prune`
/// (see [`parse_pruned`]: the document is checked all the same).
fn envelope_pruned(
    bytes: &[u8],
    limits: XmlLimits,
    prune: &[(&str, &str)],
) -> Result<Element, ResponseError> {
    let root = parse_pruned(bytes, limits, prune).map_err(ResponseError::Xml)?;
    if !root.is(NS_SOAP, "Envelope") {
        return Err(ResponseError::NotSoap);
    }
    if let Some(fault) = find_fault(&root) {
        return Err(ResponseError::Fault(fault));
    }
    Ok(root)
}

fn body(root: &Element) -> Result<&Element, ResponseError> {
    root.child(NS_SOAP, "Body")
        .ok_or(ResponseError::Missing("s:Body"))
}

/// The shell id from a CreateResponse: `rsp:Shell/rsp:ShellId`, else the
/// `ShellId` selector of `x:ResourceCreated` (older servers send only that; WinRb `open_shell_v2.xml`).
///
/// Windows echoes the shell's whole `rsp:Environment` (our program, ~17 KB)
/// in the response; it is read and checked but not kept.
pub(crate) fn shell_id(bytes: &[u8], limits: XmlLimits) -> Result<String, ResponseError> {
    let root = envelope_pruned(bytes, limits, &[(NS_SHELL, "Environment")])?;
    let body = body(&root)?;
    if let Some(id) = body.path(&[(NS_SHELL, "Shell"), (NS_SHELL, "ShellId")]) {
        return non_empty(&id.text, "rsp:ShellId");
    }
    let selector_set = body
        .path(&[
            (NS_TRANSFER, "ResourceCreated"),
            (NS_ADDRESSING, "ReferenceParameters"),
            (NS_WSMAN, "SelectorSet"),
        ])
        .ok_or(ResponseError::Missing("rsp:ShellId"))?;
    let selector = selector_set
        .children_named(NS_WSMAN, "Selector")
        .find(|s| s.attr("Name") == Some("ShellId"))
        .ok_or(ResponseError::Missing("ShellId selector"))?;
    non_empty(&selector.text, "ShellId selector")
}

/// The command id from a CommandResponse.
pub(crate) fn command_id(bytes: &[u8], limits: XmlLimits) -> Result<String, ResponseError> {
    let root = envelope(bytes, limits)?;
    let id = body(&root)?
        .path(&[(NS_SHELL, "CommandResponse"), (NS_SHELL, "CommandId")])
        .ok_or(ResponseError::Missing("rsp:CommandId"))?;
    non_empty(&id.text, "rsp:CommandId")
}

/// Checks a response that carries nothing we need (Send, Signal, Delete): only that
/// it is a SOAP envelope without a fault.
pub(crate) fn empty_ok(bytes: &[u8], limits: XmlLimits) -> Result<(), ResponseError> {
    envelope(bytes, limits).map(|_| ())
}

/// Decodes a ReceiveResponse. Streams of another command id are skipped.
pub(crate) fn receive(
    bytes: &[u8],
    limits: XmlLimits,
    command_id: &str,
) -> Result<ReceiveOutput, ResponseError> {
    let root = envelope(bytes, limits)?;
    let response = body(&root)?
        .child(NS_SHELL, "ReceiveResponse")
        .ok_or(ResponseError::Missing("rsp:ReceiveResponse"))?;
    let ours = |e: &Element| {
        e.attr("CommandId")
            .is_none_or(|id| id.eq_ignore_ascii_case(command_id))
    };
    let mut chunks = Vec::new();
    for stream in response
        .children_named(NS_SHELL, "Stream")
        .filter(|s| ours(s))
    {
        let name = match stream.attr("Name") {
            Some("stdout") => StreamName::Stdout,
            Some("stderr") => StreamName::Stderr,
            Some(other) => StreamName::Other(other.to_owned()),
            None => return Err(ResponseError::Missing("Stream/@Name")),
        };
        // Windows sends each stream's base64 on one line: decode it as it is, and
        // strip whitespace (a copy of ~40 KB) only when that fails.
        let data = STANDARD
            .decode(stream.text.as_bytes())
            .or_else(|_| {
                let b64: String = stream.text.split_ascii_whitespace().collect();
                STANDARD.decode(b64.as_bytes())
            })
            .map_err(|e| ResponseError::Invalid(format!("stream is not base64: {e}")))?;
        let end = matches!(stream.attr("End"), Some("true") | Some("True") | Some("1"));
        chunks.push(StreamChunk {
            stream: name,
            data,
            end,
        });
    }
    let state = match response
        .children_named(NS_SHELL, "CommandState")
        .find(|s| ours(s))
    {
        None => CommandState::Pending,
        Some(cs) => match cs.attr("State") {
            Some(STATE_DONE) => {
                let exit_code = match cs.child(NS_SHELL, "ExitCode") {
                    Some(e) => Some(parse_exit_code(&e.text)?),
                    None => None,
                };
                CommandState::Done { exit_code }
            }
            Some(STATE_RUNNING) => CommandState::Running,
            Some(STATE_PENDING) | None => CommandState::Pending,
            Some(other) => {
                return Err(ResponseError::Invalid(format!(
                    "unknown CommandState '{}'",
                    other.chars().take(120).collect::<String>()
                )));
            }
        },
    };
    Ok(ReceiveOutput { chunks, state })
}

/// Exit codes are DWORDs on the wire; Windows prints them unsigned (4294967295)
/// or signed (-1). Both map to the same i32.
fn parse_exit_code(s: &str) -> Result<i32, ResponseError> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i32>() {
        return Ok(v);
    }
    s.parse::<u32>()
        .map(|v| i32::from_ne_bytes(v.to_ne_bytes()))
        .map_err(|_| ResponseError::Invalid("ExitCode is not a number".to_owned()))
}

fn non_empty(s: &str, what: &'static str) -> Result<String, ResponseError> {
    let s = s.trim();
    if s.is_empty() {
        Err(ResponseError::Missing(what))
    } else {
        Ok(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    //! Every response in the recorded pypsrp and WinRb exchanges (tests/fixtures).
    use super::*;

    #[derive(serde::Deserialize)]
    struct Capture {
        messages: Vec<Message>,
    }

    #[derive(serde::Deserialize)]
    struct Message {
        request: String,
        response: String,
    }

    fn capture(name: &str) -> Vec<Message> {
        let path = format!(
            "{}/tests/fixtures/pypsrp/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("fixture present");
        let c: Capture = serde_saphyr::from_str(&text).expect("fixture is YAML");
        c.messages
    }

    fn winrb(name: &str) -> String {
        let path = format!("{}/tests/fixtures/winrb/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).expect("fixture present")
    }

    fn action_of(request: &str) -> &str {
        let start = request.find("<wsa:Action").expect("action");
        let rest = &request[start..];
        let open = rest.find('>').expect("tag end") + 1;
        let close = rest.find("</wsa:Action>").expect("close");
        rest[open..close].rsplit('/').next().expect("name")
    }

    /// The bytes of one stream, in order, from a Receive answer.
    fn stream(out: &ReceiveOutput, name: StreamName) -> Vec<u8> {
        out.chunks
            .iter()
            .filter(|c| c.stream == name)
            .flat_map(|c| c.data.clone())
            .collect()
    }

    fn lim() -> XmlLimits {
        XmlLimits::default()
    }

    #[test]
    fn standard_exchange_yields_shell_command_output_and_exit_code() {
        let m = capture("test_winrs_standard.yml");
        assert_eq!(
            shell_id(m[0].response.as_bytes(), lim()).as_deref(),
            Ok("4283CBDC-3706-415B-88BD-B385F3E51A53")
        );
        let cid = command_id(m[1].response.as_bytes(), lim()).expect("command id");
        assert_eq!(cid, "CF84C20A-0A35-43FA-AF78-0B4711DA5F30");
        let out = receive(m[2].response.as_bytes(), lim(), &cid).expect("receive");
        assert_eq!(out.state, CommandState::Done { exit_code: Some(0) });
        let stdout = stream(&out, StreamName::Stdout);
        assert_eq!(stdout, b"hi\r\n");
        assert!(
            out.chunks
                .iter()
                .any(|c| c.stream == StreamName::Stderr && c.end)
        );
        empty_ok(m[3].response.as_bytes(), lim()).expect("signal response");
        empty_ok(m[4].response.as_bytes(), lim()).expect("delete response");
    }

    #[test]
    fn stderr_and_nonzero_exit_code_are_read() {
        let m = capture("test_winrs_stderr_rc.yml");
        let cid = command_id(m[1].response.as_bytes(), lim()).expect("command id");
        let out = receive(m[2].response.as_bytes(), lim(), &cid).expect("receive");
        assert_eq!(out.state, CommandState::Done { exit_code: Some(1) });
        assert_eq!(stream(&out, StreamName::Stdout), b"out \r\n");
        assert_eq!(stream(&out, StreamName::Stderr), b"err \r\n");
    }

    #[test]
    fn one_stream_split_over_several_elements_concatenates() {
        let m = capture("test_winrs_no_cmd_shell.yml");
        let cid = command_id(m[2].response.as_bytes(), lim()).expect("command id");
        let out = receive(m[3].response.as_bytes(), lim(), &cid).expect("receive");
        let stdout = stream(&out, StreamName::Stdout);
        assert_eq!(stdout, b"hi\n");
    }

    #[test]
    fn recorded_faults_carry_their_codes() {
        let bad_cmd = capture("test_winrs_bad_cmd_id.yml");
        match receive(bad_cmd[2].response.as_bytes(), lim(), "x") {
            Err(ResponseError::Fault(f)) => {
                assert_eq!(f.code, Some(2_150_858_843));
                assert_eq!(f.machine.as_deref(), Some("192.168.56.15"));
                assert_eq!(f.subcode.as_deref(), Some("InvalidSelectors"));
                assert!(f.message.contains("command identifier that does not exist"));
            }
            other => panic!("expected a fault, got {other:?}"),
        }
        let poll = capture("test_winrs_fail_poll_process.yml");
        match receive(poll[1].response.as_bytes(), lim(), "x") {
            Err(ResponseError::Fault(f)) => assert_eq!(f.code, Some(87)),
            other => panic!("expected a fault, got {other:?}"),
        }
        let no_cmd = capture("test_winrs_no_cmd_shell.yml");
        match command_id(no_cmd[1].response.as_bytes(), lim()) {
            Err(ResponseError::Fault(f)) => {
                assert_eq!(f.code, Some(2_147_942_402));
                assert_eq!(f.subcode.as_deref(), Some("InternalError"));
            }
            other => panic!("expected a fault, got {other:?}"),
        }
        match empty_ok(winrb("soap_fault_v2.xml").as_bytes(), lim()) {
            Err(ResponseError::Fault(f)) => {
                assert_eq!(f.code, Some(2_150_858_778));
                assert_eq!(f.machine.as_deref(), Some("localhost"));
            }
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    #[test]
    fn every_recorded_response_parses_by_its_action() {
        let files = [
            "test_client_execute_ps.yml",
            "test_client_execute_ps_failure.yml",
            "test_winrs_bad_cmd_id.yml",
            "test_winrs_environment.yml",
            "test_winrs_extra_opts.yml",
            "test_winrs_fail_poll_process.yml",
            "test_winrs_no_cmd_shell.yml",
            "test_winrs_noprofile.yml",
            "test_winrs_send.yml",
            "test_winrs_standard.yml",
            "test_winrs_stderr_rc.yml",
            "test_wsman_update_envelope_size_500.yml",
        ];
        let mut parsed = 0;
        for file in files {
            for m in capture(file) {
                let body = m.response.as_bytes();
                let result = match action_of(&m.request) {
                    "Create" => shell_id(body, lim()).map(|_| ()),
                    "Command" => command_id(body, lim()).map(|_| ()),
                    "Receive" => receive(body, lim(), "").map(|_| ()),
                    _ => empty_ok(body, lim()),
                };
                match result {
                    Ok(()) | Err(ResponseError::Fault(WsmanFault { code: Some(_), .. })) => {
                        parsed += 1
                    }
                    Err(e) => panic!("{file}: {e:?}"),
                }
            }
        }
        assert_eq!(parsed, 59);
    }

    #[test]
    fn environment_and_send_exchanges_decode_their_output() {
        let env = capture("test_winrs_environment.yml");
        let cid = command_id(env[1].response.as_bytes(), lim()).expect("command id");
        let out = receive(env[2].response.as_bytes(), lim(), &cid).expect("receive");
        let stdout = String::from_utf8(stream(&out, StreamName::Stdout)).expect("utf-8");
        assert!(stdout.contains("env1=var1"), "{stdout}");
        let send = capture("test_winrs_send.yml");
        let cid = command_id(send[1].response.as_bytes(), lim()).expect("command id");
        let out = receive(send[4].response.as_bytes(), lim(), &cid).expect("receive");
        assert!(matches!(
            out.state,
            CommandState::Done { exit_code: Some(0) }
        ));
    }

    #[test]
    fn winrb_templates_parse_with_and_without_done() {
        let fill = |t: String| {
            t.replace("<%= command_id %>", "C-1")
                .replace("<%= test_data_stdout %>", "aGVsbG8=")
                .replace("<%= test_data_stderr %>", "")
        };
        let done = receive(
            fill(winrb("get_command_output_response.xml.erb")).as_bytes(),
            lim(),
            "C-1",
        )
        .expect("receive");
        assert_eq!(done.state, CommandState::Done { exit_code: Some(0) });
        assert_eq!(done.chunks[0].data, b"hello");
        let running = receive(
            fill(winrb("get_command_output_response_not_done.xml.erb")).as_bytes(),
            lim(),
            "C-1",
        )
        .expect("receive");
        assert_eq!(running.state, CommandState::Pending);
        assert_eq!(
            shell_id(winrb("open_shell_v2.xml").as_bytes(), lim()).as_deref(),
            Ok("62DE33F0-8674-43D9-B6A5-3298012CC4CD")
        );
    }

    #[test]
    fn streams_of_another_command_are_ignored() {
        let m = capture("test_winrs_standard.yml");
        let out = receive(m[2].response.as_bytes(), lim(), "OTHER").expect("receive");
        assert!(out.chunks.is_empty());
        assert_eq!(out.state, CommandState::Pending);
    }

    #[test]
    fn base64_wrapped_over_lines_still_decodes() {
        let m = capture("test_winrs_standard.yml");
        let wrapped =
            String::from_utf8_lossy(m[2].response.as_bytes()).replace("aGkNCg==", "aGkN\r\n Cg==");
        let out = receive(
            wrapped.as_bytes(),
            lim(),
            "CF84C20A-0A35-43FA-AF78-0B4711DA5F30",
        )
        .expect("receive");
        let stdout = stream(&out, StreamName::Stdout);
        assert_eq!(stdout, b"hi\r\n");
    }

    #[test]
    fn truncated_and_garbage_responses_are_typed_errors() {
        let m = capture("test_winrs_standard.yml");
        let full = m[2].response.as_bytes();
        for cut in (0..full.len()).step_by(37) {
            let r = receive(&full[..cut], lim(), "CF84C20A-0A35-43FA-AF78-0B4711DA5F30");
            assert!(r.is_err(), "a response cut at {cut} must not parse");
        }
        let bad_b64 = String::from_utf8_lossy(full).replace("aGkNCg==", "!!notbase64!!");
        assert!(matches!(
            receive(
                bad_b64.as_bytes(),
                lim(),
                "CF84C20A-0A35-43FA-AF78-0B4711DA5F30"
            ),
            Err(ResponseError::Invalid(_))
        ));
        assert!(matches!(
            shell_id(b"<html><body>IIS</body></html>", lim()),
            Err(ResponseError::NotSoap)
        ));
        assert_eq!(parse_exit_code("4294967295"), Ok(-1));
        assert!(parse_exit_code("abc").is_err());
    }

    #[test]
    fn create_response_echoing_the_environment_yields_the_shell_id() {
        let env = capture("test_winrs_environment.yml");
        let create = env[0].response.as_bytes();
        assert!(
            String::from_utf8_lossy(create).contains("Environment"),
            "the capture echoes the environment"
        );
        let full = envelope(create, lim()).expect("full tree");
        let expected = body(&full)
            .expect("body")
            .path(&[(NS_SHELL, "Shell"), (NS_SHELL, "ShellId")])
            .expect("ShellId")
            .text
            .clone();
        assert_eq!(shell_id(create, lim()), Ok(expected));
    }

    #[test]
    fn create_response_cut_or_broken_inside_the_environment_is_rejected() {
        let env = capture("test_winrs_environment.yml");
        let create = env[0].response.as_str();
        let at = create.find("<rsp:Variable").expect("an echoed variable");
        for cut in (0..create.len()).step_by(29) {
            assert!(
                shell_id(&create.as_bytes()[..cut], lim()).is_err(),
                "cut at {cut}"
            );
        }
        let bad_entity = format!("{}&bogus;{}", &create[..at], &create[at..]);
        assert!(matches!(
            shell_id(bad_entity.as_bytes(), lim()),
            Err(ResponseError::Xml(XmlError::Malformed(_)))
        ));
        let unbound = format!("{}<q:x/>{}", &create[..at], &create[at..]);
        assert!(matches!(
            shell_id(unbound.as_bytes(), lim()),
            Err(ResponseError::Xml(XmlError::Malformed(_)))
        ));
        let deep = format!(
            "{}{}{}{}",
            &create[..at],
            "<a>".repeat(70),
            "</a>".repeat(70),
            &create[at..]
        );
        assert_eq!(
            shell_id(deep.as_bytes(), lim()),
            Err(ResponseError::Xml(XmlError::TooDeep(64)))
        );
        let few = XmlLimits {
            max_depth: 64,
            max_elements: 12,
        };
        let many = format!("{}{}{}", &create[..at], "<b/>".repeat(20), &create[at..]);
        assert_eq!(
            shell_id(many.as_bytes(), few),
            Err(ResponseError::Xml(XmlError::TooManyElements(12)))
        );
    }
}
