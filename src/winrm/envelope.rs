//! Builds the SOAP request envelopes of the WinRS cmd shell: Create, Command, Send,
//! Receive, Signal, Delete (MS-WSMV 3.1.4.x). The header layout follows what
//! Windows accepts in the recorded pypsrp exchanges (tests/fixtures/pypsrp).
//!
//! Every value that comes from outside (commands, arguments, environment
//! variables, ids) is XML-escaped here and nowhere else.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quick_xml::escape::escape;

const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
#[allow(dead_code)]
const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
const SIGNAL_TERMINATE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
const SIGNAL_CTRL_C: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c";

/// What every request header carries for one session.
#[derive(Debug, Clone)]
pub(crate) struct HeaderParams {
    /// The endpoint URL (`wsa:To`).
    pub(crate) to: String,
    /// `wsman:OperationTimeout`: how long the server may hold a Receive.
    pub(crate) operation_timeout: Duration,
    /// `wsman:MaxEnvelopeSize` in bytes: the largest response we accept.
    pub(crate) max_envelope_size: u32,
    /// `wsmv:SessionId`, the same for every request of a session.
    pub(crate) session_id: String,
}

/// Signal codes (MS-WSMV 2.2.4.38).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalCode {
    /// Ends the command and lets the shell drop its cached state.
    Terminate,
    /// Ctrl+C to the process.
    #[allow(dead_code)]
    CtrlC,
}

/// What the Create body asks for.
#[derive(Debug, Clone)]
pub(crate) struct CreateParams<'a> {
    /// `rsp:IdleTimeOut`: the server deletes the shell after this much idle time,
    /// our backstop when Delete never arrives (the server default is 2 hours).
    pub(crate) idle_timeout: Duration,
    /// The shell's environment as rendered by [`environment_xml`].
    pub(crate) environment_xml: &'a str,
    /// `WINRS_CODEPAGE`: 65001 makes cmd and PowerShell write UTF-8.
    pub(crate) codepage: u32,
}

/// `<rsp:Environment>` with the variables escaped, or nothing for none. A prepared
/// PowerShell program renders its ~15 KB of variables once per fleet, not per host.
pub(crate) fn environment_xml(environment: &[(String, String)]) -> String {
    if environment.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(
        40 + environment
            .iter()
            .map(|(k, v)| k.len() + v.len() + 48)
            .sum::<usize>(),
    );
    out.push_str("<rsp:Environment>");
    for (name, value) in environment {
        let _ = write!(
            out,
            r#"<rsp:Variable Name="{}">{}</rsp:Variable>"#,
            escape(name.as_str()),
            escape(value.as_str())
        );
    }
    out.push_str("</rsp:Environment>");
    out
}

/// `<rsp:Command>` and its `<rsp:Arguments>`, escaped (rendered once per fleet for
/// a prepared program, like [`environment_xml`]).
pub(crate) fn command_line_xml(command: &str, args: &[String]) -> String {
    let mut out = String::with_capacity(
        64 + command.len() + args.iter().map(|a| a.len() + 32).sum::<usize>(),
    );
    let _ = write!(out, "<rsp:Command>{}</rsp:Command>", escape(command));
    for arg in args {
        let _ = write!(
            out,
            "<rsp:Arguments>{}</rsp:Arguments>",
            escape(arg.as_str())
        );
    }
    out
}

fn duration_xs(d: Duration) -> String {
    // xs:duration with millisecond precision, e.g. PT20S or PT0.500S.
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("PT{}S", ms / 1000)
    } else {
        format!("PT{}.{:03}S", ms / 1000, ms % 1000)
    }
}

fn header(
    out: &mut String,
    p: &HeaderParams,
    action: &str,
    shell_id: Option<&str>,
    options: &[(&str, &str)],
) {
    let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let message_id = uuid::Uuid::new_v4().hyphenated().encode_upper(&mut id_buf);
    // `write!` into a String cannot fail.
    let _ = write!(
        out,
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
            r#"xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" "#,
            r#"xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">"#,
            "<s:Header>",
            r#"<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>"#,
            r#"<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US"/>"#,
            r#"<wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/>"#,
            r#"<wsman:MaxEnvelopeSize s:mustUnderstand="true">{max}</wsman:MaxEnvelopeSize>"#,
            "<wsa:MessageID>uuid:{mid}</wsa:MessageID>",
            "<wsman:OperationTimeout>{timeout}</wsman:OperationTimeout>",
            "<wsa:ReplyTo>",
            r#"<wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"#,
            "</wsa:ReplyTo>",
            r#"<wsman:ResourceURI s:mustUnderstand="true">{resource}</wsman:ResourceURI>"#,
            r#"<wsmv:SessionId s:mustUnderstand="false">uuid:{sid}</wsmv:SessionId>"#,
            "<wsa:To>{to}</wsa:To>",
        ),
        action = action,
        max = p.max_envelope_size,
        mid = message_id,
        timeout = duration_xs(p.operation_timeout),
        resource = RESOURCE_CMD,
        sid = escape(p.session_id.as_str()),
        to = escape(p.to.as_str()),
    );
    if !options.is_empty() {
        out.push_str(r#"<wsman:OptionSet s:mustUnderstand="true">"#);
        for (name, value) in options {
            let _ = write!(
                out,
                r#"<wsman:Option Name="{}">{}</wsman:Option>"#,
                escape(*name),
                escape(*value)
            );
        }
        out.push_str("</wsman:OptionSet>");
    }
    if let Some(id) = shell_id {
        let _ = write!(
            out,
            r#"<wsman:SelectorSet><wsman:Selector Name="ShellId">{}</wsman:Selector></wsman:SelectorSet>"#,
            escape(id)
        );
    }
    out.push_str("</s:Header>");
}

/// `transfer/Create` of a cmd shell with stdin/stdout/stderr, the codepage and
/// no-profile options in the header (where WinRS reads them, MS-WSMV 3.1.4.5.2),
/// an IdleTimeOut and the environment.
pub(crate) fn create(p: &HeaderParams, c: &CreateParams<'_>) -> String {
    let mut out = String::with_capacity(2048 + c.environment_xml.len());
    let codepage = c.codepage.to_string();
    header(
        &mut out,
        p,
        ACTION_CREATE,
        None,
        &[
            ("WINRS_NOPROFILE", "TRUE"),
            ("WINRS_CODEPAGE", codepage.as_str()),
        ],
    );
    out.push_str("<s:Body><rsp:Shell>");
    out.push_str(c.environment_xml);
    let _ = write!(
        out,
        concat!(
            "<rsp:InputStreams>stdin</rsp:InputStreams>",
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>",
            "<rsp:IdleTimeOut>{}</rsp:IdleTimeOut>",
            "</rsp:Shell></s:Body></s:Envelope>"
        ),
        duration_xs(c.idle_timeout)
    );
    out
}

/// `shell/Command`: run the command line rendered by [`command_line_xml`] in the
/// shell (through cmd.exe).
pub(crate) fn command(p: &HeaderParams, shell_id: &str, command_line_xml: &str) -> String {
    let mut out = String::with_capacity(2048 + command_line_xml.len());
    header(
        &mut out,
        p,
        ACTION_COMMAND,
        Some(shell_id),
        &[
            ("WINRS_CONSOLEMODE_STDIN", "TRUE"),
            ("WINRS_SKIP_CMD_SHELL", "FALSE"),
        ],
    );
    out.push_str("<s:Body><rsp:CommandLine>");
    out.push_str(command_line_xml);
    out.push_str("</rsp:CommandLine></s:Body></s:Envelope>");
    out
}

/// `shell/Send`: bytes on stdin, optionally closing it (`End="true"`).
///
/// Not used by the runner today: the program travels in environment variables,
/// which saves this round trip (research A.5); kept for a stdin-fed command.
#[allow(dead_code)]
pub(crate) fn send(
    p: &HeaderParams,
    shell_id: &str,
    command_id: &str,
    data: &[u8],
    end: bool,
) -> String {
    let mut out = String::with_capacity(2048 + data.len() * 4 / 3);
    header(&mut out, p, ACTION_SEND, Some(shell_id), &[]);
    let _ = write!(
        out,
        r#"<s:Body><rsp:Send><rsp:Stream Name="stdin" CommandId="{}"{}>{}</rsp:Stream></rsp:Send></s:Body></s:Envelope>"#,
        escape(command_id),
        if end { r#" End="true""# } else { "" },
        STANDARD.encode(data)
    );
    out
}

/// `shell/Receive` of stdout and stderr.
pub(crate) fn receive(p: &HeaderParams, shell_id: &str, command_id: &str) -> String {
    let mut out = String::with_capacity(2048);
    // WSMAN_CMDSHELL_OPTION_KEEPALIVE is ignored after 2008 (MS-WSMV <119>) but pypsrp and
    // WinRb send it, and it costs nothing.
    header(
        &mut out,
        p,
        ACTION_RECEIVE,
        Some(shell_id),
        &[("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE")],
    );
    let _ = write!(
        out,
        r#"<s:Body><rsp:Receive><rsp:DesiredStream CommandId="{}">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>"#,
        escape(command_id)
    );
    out
}

/// `shell/Signal` to a command.
pub(crate) fn signal(
    p: &HeaderParams,
    shell_id: &str,
    command_id: &str,
    code: SignalCode,
) -> String {
    let mut out = String::with_capacity(2048);
    header(&mut out, p, ACTION_SIGNAL, Some(shell_id), &[]);
    let code = match code {
        SignalCode::Terminate => SIGNAL_TERMINATE,
        SignalCode::CtrlC => SIGNAL_CTRL_C,
    };
    let _ = write!(
        out,
        r#"<s:Body><rsp:Signal CommandId="{}"><rsp:Code>{code}</rsp:Code></rsp:Signal></s:Body></s:Envelope>"#,
        escape(command_id)
    );
    out
}

/// `transfer/Delete` of the shell.
pub(crate) fn delete(p: &HeaderParams, shell_id: &str) -> String {
    let mut out = String::with_capacity(2048);
    header(&mut out, p, ACTION_DELETE, Some(shell_id), &[]);
    out.push_str("<s:Body/></s:Envelope>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::xml::{NS_SHELL, NS_SOAP, NS_WSMAN, XmlLimits, parse};

    fn params() -> HeaderParams {
        HeaderParams {
            to: "http://win01:5985/wsman".to_owned(),
            operation_timeout: Duration::from_secs(20),
            max_envelope_size: 512_000,
            session_id: "11111111-2222-3333-4444-555555555555".to_owned(),
        }
    }

    #[test]
    fn create_puts_options_in_header_and_escapes_environment() {
        let env = vec![("A&B".to_owned(), "<x>\"'".to_owned())];
        let xml = create(
            &params(),
            &CreateParams {
                idle_timeout: Duration::from_secs(300),
                environment_xml: &environment_xml(&env),
                codepage: 65001,
            },
        );
        let root = parse(xml.as_bytes(), XmlLimits::default()).expect("well-formed");
        let options: Vec<(String, String)> = root
            .path(&[(NS_SOAP, "Header"), (NS_WSMAN, "OptionSet")])
            .expect("option set")
            .children_named(NS_WSMAN, "Option")
            .map(|o| {
                (
                    o.attr("Name").unwrap_or_default().to_owned(),
                    o.text.clone(),
                )
            })
            .collect();
        assert!(options.contains(&("WINRS_CODEPAGE".to_owned(), "65001".to_owned())));
        assert!(options.contains(&("WINRS_NOPROFILE".to_owned(), "TRUE".to_owned())));
        let shell = root
            .path(&[(NS_SOAP, "Body"), (NS_SHELL, "Shell")])
            .expect("shell");
        let var = shell
            .path(&[(NS_SHELL, "Environment"), (NS_SHELL, "Variable")])
            .expect("variable");
        assert_eq!(var.attr("Name"), Some("A&B"));
        assert_eq!(var.text, "<x>\"'");
        assert_eq!(
            shell
                .child(NS_SHELL, "IdleTimeOut")
                .map(|e| e.text.as_str()),
            Some("PT300S")
        );
    }

    #[test]
    fn command_line_is_escaped_and_in_order() {
        let xml = command(
            &params(),
            "S-1",
            &command_line_xml("cmd.exe", &["/c".to_owned(), "echo <hi> & 'x'".to_owned()]),
        );
        let root = parse(xml.as_bytes(), XmlLimits::default()).expect("well-formed");
        let line = root
            .path(&[(NS_SOAP, "Body"), (NS_SHELL, "CommandLine")])
            .expect("command line");
        assert_eq!(
            line.child(NS_SHELL, "Command").map(|c| c.text.as_str()),
            Some("cmd.exe")
        );
        let args: Vec<&str> = line
            .children_named(NS_SHELL, "Arguments")
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(args, ["/c", "echo <hi> & 'x'"]);
    }

    #[test]
    fn create_without_environment_has_no_environment_element() {
        let xml = create(
            &params(),
            &CreateParams {
                idle_timeout: Duration::from_secs(300),
                environment_xml: &environment_xml(&[]),
                codepage: 65001,
            },
        );
        assert!(!xml.contains("Environment"));
        parse(xml.as_bytes(), XmlLimits::default()).expect("well-formed");
    }

    #[test]
    fn message_ids_are_uppercase_uuids_and_differ() {
        let id = |xml: &str| {
            let root = parse(xml.as_bytes(), XmlLimits::default()).expect("well-formed");
            root.path(&[
                (NS_SOAP, "Header"),
                (crate::winrm::xml::NS_ADDRESSING, "MessageID"),
            ])
            .expect("message id")
            .text
            .clone()
        };
        let (a, b) = (id(&delete(&params(), "S-1")), id(&delete(&params(), "S-1")));
        assert_ne!(a, b);
        let uuid = a.strip_prefix("uuid:").expect("uuid: prefix");
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid, uuid.to_uppercase());
    }

    #[test]
    fn durations_render_as_xs_duration() {
        assert_eq!(duration_xs(Duration::from_secs(20)), "PT20S");
        assert_eq!(duration_xs(Duration::from_millis(1500)), "PT1.500S");
    }

    #[test]
    fn every_request_is_well_formed_and_names_the_shell() {
        let p = params();
        for xml in [
            command(
                &p,
                "S-1",
                &command_line_xml("cmd.exe", &["/c".to_owned(), "echo <hi>".to_owned()]),
            ),
            send(&p, "S-1", "C-1", b"data", true),
            receive(&p, "S-1", "C-1"),
            signal(&p, "S-1", "C-1", SignalCode::Terminate),
            delete(&p, "S-1"),
        ] {
            let root = parse(xml.as_bytes(), XmlLimits::default()).expect("well-formed");
            let sel = root
                .path(&[
                    (NS_SOAP, "Header"),
                    (NS_WSMAN, "SelectorSet"),
                    (NS_WSMAN, "Selector"),
                ])
                .expect("selector");
            assert_eq!(sel.text, "S-1");
        }
    }
}
