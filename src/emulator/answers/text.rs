//! Console text: `cmd.exe` command lines, trivial PowerShell scripts and their
//! CLIXML errors, and the console tools the probes run (`vssadmin`, `w32tm`,
//! `netsh`, `icacls`).

use super::clock::en_us;
use super::{Ctx, ProgramOutput};
use crate::emulator::host::{HostState, VssadminError};

/// `hostname` output (the configured host name).
fn hostname(host: &HostState) -> String {
    host.hostname().to_owned()
}

/// `whoami` output: `domain\user`, lower case.
fn whoami(ctx: &Ctx<'_>) -> String {
    ctx.account.to_lowercase()
}

/// `ipconfig` output lines.
pub(crate) fn ipconfig(host: &HostState) -> Vec<String> {
    let [a, b, c, d] = host.platform.ipv4;
    let g = host.guid("nic");
    let ll = format!(
        "fe80::{}:{}:{}:{}%4",
        &g[0..4],
        &g[4..8],
        &g[9..13],
        &g[15..18]
    );
    [
        "",
        "Windows IP Configuration",
        "",
        "",
        "Ethernet adapter Ethernet0:",
        "",
        &format!(
            "   Connection-specific DNS Suffix  . : {}",
            host.account.domain_dns
        ),
        &format!("   Link-local IPv6 Address . . . . . : {ll}"),
        &format!("   IPv4 Address. . . . . . . . . . . : {a}.{b}.{c}.{d}"),
        "   Subnet Mask . . . . . . . . . . . : 255.255.255.0",
        &format!("   Default Gateway . . . . . . . . . : {a}.{b}.{c}.1"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `%VAR%` expansion for the few variables cmd would know.
fn expand_cmd_vars(ctx: &Ctx<'_>, s: &str) -> String {
    let user = ctx.account.rsplit('\\').next().unwrap_or("").to_owned();
    let mut out = s.to_owned();
    for (var, value) in [
        ("%COMPUTERNAME%", ctx.host.computer_name()),
        ("%USERNAME%", user),
        ("%USERDOMAIN%", ctx.host.account.domain_netbios.to_owned()),
        ("%SYSTEMROOT%", "C:\\Windows".to_owned()),
        ("%OS%", "Windows_NT".to_owned()),
    ] {
        out = replace_ci(&out, var, &value);
    }
    out
}

fn replace_ci(haystack: &str, needle: &str, with: &str) -> String {
    let lower = haystack.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    let mut out = String::new();
    let mut i = 0;
    while let Some(pos) = lower.get(i..).and_then(|rest| rest.find(&n)) {
        out.push_str(haystack.get(i..i + pos).unwrap_or(""));
        out.push_str(with);
        i += pos + n.len();
    }
    out.push_str(haystack.get(i..).unwrap_or(""));
    out
}

/// Strips a leading `word` (case-insensitive) followed by whitespace or the end.
fn strip_word<'s>(s: &'s str, word: &str) -> Option<&'s str> {
    let head = s.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let rest = s.get(word.len()..)?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim_start())
    } else {
        None
    }
}

/// Runs one cmd command line.
pub(crate) fn run_cmd(ctx: &Ctx<'_>, command_line: &str) -> ProgramOutput {
    let mut line = command_line.trim();
    // `cmd /c …` and `cmd.exe /c …` just run the rest.
    loop {
        let rest = strip_word(line, "cmd").or_else(|| strip_word(line, "cmd.exe"));
        match rest.and_then(|r| strip_word(r, "/c").or_else(|| strip_word(r, "/k"))) {
            Some(r) => line = r.trim_matches('"').trim(),
            None => break,
        }
    }
    let ok = |lines: Vec<String>| ProgramOutput {
        stdout_lines: lines,
        stderr: String::new(),
        exit_code: 0,
    };
    if line.is_empty() {
        return ok(vec![]);
    }
    if let Some(rest) = strip_word(line, "exit") {
        let code = strip_word(rest, "/b").unwrap_or(rest);
        return ProgramOutput {
            exit_code: code.trim().parse().unwrap_or(0),
            ..ProgramOutput::default()
        };
    }
    if line.eq_ignore_ascii_case("echo.") {
        return ok(vec![String::new()]);
    }
    if let Some(rest) = strip_word(line, "echo") {
        if rest.is_empty() {
            return ok(vec!["ECHO is on.".to_owned()]);
        }
        return ok(vec![expand_cmd_vars(ctx, rest)]);
    }
    let word = line.split_whitespace().next().unwrap_or(line);
    let word_l = word.to_ascii_lowercase();
    let word_l = word_l.strip_suffix(".exe").unwrap_or(&word_l);
    match word_l {
        "hostname" => ok(vec![hostname(ctx.host)]),
        "whoami" => ok(vec![whoami(ctx)]),
        "ipconfig" => ok(ipconfig(ctx.host)),
        "ver" => ok(vec![
            String::new(),
            format!(
                "Microsoft Windows [Version {}.{}]",
                ctx.host.os.version, ctx.host.os.ubr
            ),
        ]),
        _ => ProgramOutput {
            stdout_lines: vec![],
            stderr: format!(
                "'{word}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
            ),
            exit_code: 1,
        },
    }
}

/// Splits a script into statements at newlines and `;` outside quotes.
fn statements(script: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in script.lines().enumerate() {
        let mut cur = String::new();
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (None, '#') => break,
                (None, ';') => {
                    out.push((n + 1, std::mem::take(&mut cur)));
                    continue;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c2) if c2 == q => quote = None,
                _ => {}
            }
            cur.push(c);
        }
        out.push((n + 1, cur));
    }
    out.into_iter()
        .map(|(n, s)| (n, s.trim().to_owned()))
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

/// Evaluates a trivial PowerShell expression, if it is one.
fn eval(ctx: &Ctx<'_>, expr: &str) -> Option<String> {
    let e = expr.trim();
    if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
        return e.get(1..e.len() - 1).map(|s| s.replace("''", "'"));
    }
    if e.len() >= 2 && e.starts_with('"') && e.ends_with('"') {
        let inner = e.get(1..e.len() - 1)?;
        let mut s = inner.to_owned();
        for (var, value) in env_vars(ctx) {
            s = replace_ci(&s, &format!("$env:{var}"), &value);
        }
        return Some(s);
    }
    if let Some(var) = e.strip_prefix("$env:").or_else(|| e.strip_prefix("$Env:")) {
        return env_vars(ctx)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(var))
            .map(|(_, v)| v)
            .or(Some(String::new()));
    }
    if e.eq_ignore_ascii_case("$PSVersionTable.PSVersion.ToString()") {
        return Some(ctx.host.ps_version());
    }
    if e.eq_ignore_ascii_case("[Environment]::MachineName") {
        return Some(ctx.host.computer_name());
    }
    if !e.contains(char::is_whitespace)
        && !e.starts_with(['$', '[', '(', '-', '@'])
        && e.parse::<f64>().is_ok()
    {
        return Some(e.to_owned());
    }
    None
}

fn env_vars(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("COMPUTERNAME", ctx.host.computer_name()),
        (
            "USERNAME",
            ctx.account.rsplit('\\').next().unwrap_or("").to_owned(),
        ),
        ("USERDOMAIN", ctx.host.account.domain_netbios.to_owned()),
        ("SystemRoot", "C:\\Windows".to_owned()),
        ("windir", "C:\\Windows".to_owned()),
        ("PROCESSOR_ARCHITECTURE", "AMD64".to_owned()),
    ]
}

/// Runs a script that has no probe markers.
pub(crate) fn run_simple_powershell(ctx: &Ctx<'_>, script: &str) -> ProgramOutput {
    let mut out = ProgramOutput::default();
    let mut errors: Vec<String> = Vec::new();
    for (line_no, stmt) in statements(script) {
        if let Some(rest) = strip_word(&stmt, "exit") {
            out.exit_code = if rest.is_empty() {
                0
            } else {
                rest.parse().unwrap_or(0)
            };
            out.stderr = clixml_errors(&errors);
            return out;
        }
        // Preference assignments of the bootstrap are harmless.
        if stmt.starts_with('$') && stmt.contains('=') && !stmt.contains("==") {
            continue;
        }
        let word = stmt.split_whitespace().next().unwrap_or("");
        let arg = stmt.get(word.len()..).unwrap_or("").trim();
        let printed = match word.to_ascii_lowercase().as_str() {
            "write-output" | "echo" | "write-host" | "write" if !arg.is_empty() => eval(ctx, arg),
            "hostname" | "hostname.exe" if arg.is_empty() => Some(ctx.host.hostname().to_owned()),
            "whoami" | "whoami.exe" if arg.is_empty() => Some(whoami(ctx)),
            "ipconfig" | "ipconfig.exe" if arg.is_empty() => {
                out.stdout_lines.extend(ipconfig(ctx.host));
                continue;
            }
            _ => eval(ctx, &stmt),
        };
        match printed {
            Some(text) => out.stdout_lines.extend(text.lines().map(str::to_owned)),
            None => errors.push(command_not_found(word, &stmt, line_no)),
        }
    }
    out.exit_code = i32::from(!errors.is_empty());
    out.stderr = clixml_errors(&errors);
    out
}

/// PowerShell's CommandNotFoundException, as the console formats it.
fn command_not_found(word: &str, stmt: &str, line_no: usize) -> String {
    let underline = "~".repeat(word.chars().count().max(1));
    format!(
        "{word} : The term '{word}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\nAt line:{line_no} char:1\r\n+ {stmt}\r\n+ {underline}\r\n    + CategoryInfo          : ObjectNotFound: ({word}:String) [], CommandNotFoundException\r\n    + FullyQualifiedErrorId : CommandNotFoundException\r\n \r\n"
    )
}

/// Error records as `powershell.exe` writes them on a redirected stderr:
/// `#< CLIXML` then one `<S S="Error">` per line, CR LF encoded as `_x000D__x000A_`.
pub(crate) fn clixml_errors(errors: &[String]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">",
    );
    for err in errors {
        for line in err.split("\r\n").filter(|l| !l.is_empty()) {
            s.push_str("<S S=\"Error\">");
            s.push_str(&xml_escape(line));
            s.push_str("_x000D__x000A_</S>");
        }
    }
    s.push_str("</Objs>");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `vssadmin list writers`: (exit code, stdout). German hosts print German labels
/// but keep the quoted writer name, the `{GUID}`s and the `[n]` state number.
pub(crate) fn vssadmin_list_writers(host: &HostState) -> (i32, String) {
    let de = host.german();
    let mut s = String::from(if de {
        "vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes\r\n(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
    } else {
        "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool\r\n(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
    });
    match (host.vssadmin_error, de) {
        (Some(VssadminError::NotElevated), false) => {
            s.push_str("Error: You don't have the correct permissions to run this command.  Please run this utility\r\nfrom a command window that has elevated administrator privileges.\r\n");
            return (2, s);
        }
        (Some(VssadminError::NotElevated), true) => {
            s.push_str("Fehler: Sie haben nicht die erforderlichen Berechtigungen, um diesen Befehl auszuf?hren.\r\n");
            return (2, s);
        }
        (Some(VssadminError::ServiceDisabled), false) => {
            s.push_str("Error: The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.\r\n");
            return (2, s);
        }
        (Some(VssadminError::ServiceDisabled), true) => {
            s.push_str("Fehler: Der Dienst kann nicht gestartet werden, da er deaktiviert ist oder nicht mit aktivierten Ger?ten verbunden ist.\r\n");
            return (2, s);
        }
        (None, _) => {}
    }
    let (name, id, inst, state, last) = if de {
        (
            "Verfassername",
            "Verfasserkennung",
            "Verfasserinstanzkennung",
            "Status",
            "Letzter Fehler",
        )
    } else {
        (
            "Writer name",
            "Writer Id",
            "Writer Instance Id",
            "State",
            "Last error",
        )
    };
    for w in &host.writers {
        let (state_text, last_error) = if de {
            (writer_state_text_de(w.state), last_error_de(w.last_error))
        } else {
            (writer_state_text(w.state), w.last_error)
        };
        s.push_str(&format!(
            "{name}: '{}'\r\n   {id}: {{{}}}\r\n   {inst}: {{{}}}\r\n   {state}: [{}] {state_text}\r\n   {last}: {last_error}\r\n\r\n",
            w.name,
            w.id,
            host.guid(&format!("writer-{}", w.name)),
            w.state,
        ));
    }
    (0, s)
}

/// `VSS_WRITER_STATE` as vssadmin prints it.
pub(crate) fn writer_state_text(state: u8) -> &'static str {
    match state {
        1 => "Stable",
        2 => "Waiting for freeze",
        3 => "Waiting for thaw",
        4 => "Waiting for post snapshot",
        5 => "Waiting for backup complete completion",
        6 => "Failed at identify",
        7 => "Failed at prepare backup",
        8 => "Failed at prepare snapshot",
        9 => "Failed at freeze",
        10 => "Failed at thaw",
        11 => "Failed at post snapshot",
        12 => "Failed at backup complete",
        13 => "Failed at prerestore",
        14 => "Failed at postrestore",
        15 => "Failed at backup shutdown",
        _ => "Unknown",
    }
}

/// German state texts (only the common ones differ in the model).
fn writer_state_text_de(state: u8) -> &'static str {
    match state {
        1 => "Stabil",
        9 => "Fehler beim Fixieren",
        _ => "Unbekannt",
    }
}

fn last_error_de(e: &str) -> &str {
    match e {
        "No error" => "Kein Fehler",
        "Timed out" => "Zeitlimit",
        other => other,
    }
}

/// `w32tm /query /source` (trimmed).
pub(crate) fn w32tm_source(host: &HostState) -> String {
    if host.clock.synced {
        format!("DC01.{}", host.account.domain_dns)
    } else if host.german() {
        "Lokale CMOS-Uhr".to_owned()
    } else {
        "Local CMOS Clock".to_owned()
    }
}

/// `w32tm /query /status` (trimmed); `now` is the host clock.
pub(crate) fn w32tm_status(host: &HostState, now: time::OffsetDateTime) -> String {
    let [a, b, _, _] = host.platform.ipv4;
    let last = if host.german() {
        super::clock::invariant(now - host.clock.last_sync_age)
    } else {
        en_us(now - host.clock.last_sync_age)
    };
    let source = w32tm_source(host);
    let (leap, stratum, reference) = match (host.clock.synced, host.german()) {
        (true, false) => (
            "0(no warning)",
            "3 (secondary reference - syncd by (S)NTP)",
            format!("0x{a:02X}{b:02X}0105 (source IP:  {a}.{b}.1.5)"),
        ),
        (true, true) => (
            "0(keine Warnung)",
            "3 (Sekund?rreferenz - synchr. ?ber (S)NTP)",
            format!("0x{a:02X}{b:02X}0105 (Quell-IP:  {a}.{b}.1.5)"),
        ),
        (false, false) => (
            "3(not synchronized)",
            "0 (unspecified)",
            "0x00000000 (unspecified)".to_owned(),
        ),
        (false, true) => (
            "3(nicht synchronisiert)",
            "0 (nicht angegeben)",
            "0x00000000 (nicht angegeben)".to_owned(),
        ),
    };
    let labels = if host.german() {
        [
            "Sprungindikator",
            "Stratum",
            "Pr?zision",
            "Stammverz?gerung",
            "Stammabweichung",
            "Referenz-ID",
            "Letzte erfolgr. Synchronisierungszeit",
            "Quelle",
            "Abrufintervall",
        ]
    } else {
        [
            "Leap Indicator",
            "Stratum",
            "Precision",
            "Root Delay",
            "Root Dispersion",
            "ReferenceId",
            "Last Successful Sync Time",
            "Source",
            "Poll Interval",
        ]
    };
    let (delay, dispersion) = if host.clock.synced {
        ("0.0009766s", "7.8201584s")
    } else {
        ("0.0000000s", "0.0000000s")
    };
    let [
        l_leap,
        l_stratum,
        l_precision,
        l_delay,
        l_disp,
        l_ref,
        l_last,
        l_source,
        l_poll,
    ] = labels;
    format!(
        "{l_leap}: {leap}\r\n{l_stratum}: {stratum}\r\n{l_precision}: -23 (119.209ns per tick)\r\n{l_delay}: {delay}\r\n{l_disp}: {dispersion}\r\n{l_ref}: {reference}\r\n{l_last}: {last}\r\n{l_source}: {source}\r\n{l_poll}: 10 (1024s)"
    )
}

/// `netsh winhttp show proxy` (trimmed). Console tools write in the OEM code
/// page, so non-ASCII letters arrive garbled (`?`), as the catalogue warns (§1.3).
pub(crate) fn netsh_winhttp_proxy(host: &HostState) -> &'static str {
    if host.german() {
        "Aktuelle WinHTTP-Proxyeinstellungen:\r\n\r\n    Direkter Zugriff (kein Proxyserver)."
    } else {
        "Current WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server)."
    }
}

/// `icacls "C:\System Volume Information"` for an account that may not read it.
pub(crate) fn icacls_denied() -> &'static str {
    "C:\\System Volume Information: Access is denied.\r\nSuccessfully processed 0 files; Failed processing 1 files"
}
