//! What the emulated host prints: the probe program's JSON lines (one per
//! `# fleetscan-probe: <id>` marker, as Windows PowerShell 5.1 would print them for
//! the modelled [`HostState`]), a few trivial PowerShell scripts, and a few `cmd`
//! command lines for `fleetscan run`.
//!
//! The probe program's lines are given here one by one; how the program writes them
//! out (flushes of gzip+base64 batches, [`program_batch_line`]) is applied by the
//! server, which models when each flush happens.
//!
//! Nothing here parses PowerShell beyond the probe markers and a handful of
//! one-statement forms; anything else answers with PowerShell's or cmd's own
//! "not recognized" error.

mod clock;
mod events;
pub(crate) mod json;
mod probes;
mod text;

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use super::host::HostState;
use json::{J, obj};

/// The marker that starts each probe block of the program.
pub const PROBE_MARKER: &str = "# fleetscan-probe:";

/// The prefix of the line each flush of the probe program writes (the preamble's
/// `FsWriteBatch`). A program whose text lacks it is an older one that printed its
/// JSON lines plain.
pub const BATCH_MARKER: &str = "fleetscan-gz:";

/// One flush of the probe program, as the preamble's `FsWriteBatch` writes it:
/// [`BATCH_MARKER`], then base64 (standard, padded, unwrapped) of the gzip of the
/// lines' UTF-8 text, each line ended by LF; no line terminator of its own.
///
/// Windows compresses with `GZipStream`'s default level (zlib's 6); this uses level 2,
/// an equally valid stream a tenth larger (6.4 KB against 5.9 KB for a healthy host)
/// at half the cost (~85 µs), because the emulator shares the CPU with the scanner it
/// serves. Level 1 would save another ~40 µs but leave 8.0 KB, a quarter more for the
/// client to unseal than a real host sends.
pub fn program_batch_line(lines: &[String]) -> String {
    let mut text = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    let gz = gzip(&text);
    let mut line = String::with_capacity(BATCH_MARKER.len() + gz.len().div_ceil(3) * 4);
    line.push_str(BATCH_MARKER);
    B64.encode_string(&gz, &mut line);
    line
}

/// The gzip member header (RFC 1952): deflate, no flags, no time, OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

thread_local! {
    /// One deflate state per emulator thread, reset for each batch. A new state
    /// allocates and clears its window and hash tables (~450 K instructions, as
    /// much as compressing a healthy host's whole batch), and the emulator makes
    /// one batch per host while it shares the CPU with the scanner it serves.
    static DEFLATE: std::cell::RefCell<flate2::write::DeflateEncoder<Vec<u8>>> =
        std::cell::RefCell::new(new_deflate());
}

fn new_deflate() -> flate2::write::DeflateEncoder<Vec<u8>> {
    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(2))
}

/// `data` as one gzip member, as `GZipStream` writes it.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(GZIP_HEADER.len() + data.len() / 3 + 8);
    out.extend_from_slice(&GZIP_HEADER);
    let deflated = DEFLATE.with_borrow_mut(|encoder| {
        // The encoder is fresh here: the last batch's `reset` finished its stream
        // and left an empty Vec in place of the output taken. Writing to a Vec
        // cannot fail.
        *encoder.get_mut() = out;
        let finished = encoder
            .write_all(data)
            .and_then(|()| encoder.reset(Vec::new()));
        if finished.is_err() {
            *encoder = new_deflate();
        }
        finished
    });
    let mut out = deflated.unwrap_or_default();
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgramOutput {
    /// Standard output, one entry per line, without line terminators.
    pub stdout_lines: Vec<String>,
    /// Standard error text (PowerShell errors as CLIXML, as `powershell.exe
    /// -EncodedCommand` writes them when its output is redirected).
    pub stderr: String,
    /// The process exit code.
    pub exit_code: i32,
}

impl ProgramOutput {
    /// Standard output as the shell streams it: lines joined with CRLF, each line
    /// terminated.
    pub fn stdout_text(&self) -> String {
        let mut s = String::new();
        for line in &self.stdout_lines {
            s.push_str(line);
            s.push_str("\r\n");
        }
        s
    }
}

/// Everything one answer needs: the host, its clock, the account.
pub(crate) struct Ctx<'a> {
    pub(crate) host: &'a HostState,
    /// "Now" on the host's clock (true time plus the modelled skew).
    pub(crate) now: OffsetDateTime,
    /// `DOMAIN\user` as `WindowsIdentity.Name` prints it.
    pub(crate) account: String,
    /// The host's event records, generated once per program run.
    pub(crate) events: std::cell::OnceCell<Vec<events::Event>>,
}

impl<'a> Ctx<'a> {
    fn new(host: &'a HostState, user: &str, true_now: OffsetDateTime) -> Ctx<'a> {
        Ctx {
            host,
            now: true_now + time::Duration::milliseconds(host.clock.skew_ms),
            account: format!("{}\\{}", host.account.domain_netbios, bare_user(user)),
            events: std::cell::OnceCell::new(),
        }
    }
}

/// `fleetscan`, from `fleetscan`, `CORP\fleetscan` or `fleetscan@corp.contoso.com`.
fn bare_user(user: &str) -> &str {
    let u = user.rsplit('\\').next().unwrap_or(user);
    let u = u.split('@').next().unwrap_or(u);
    if u.is_empty() { "fleetscan" } else { u }
}

/// Runs a PowerShell script as the host would, now.
///
/// A probe program (lines `# fleetscan-probe: <id>`) prints one JSON envelope per
/// marker, in order; other scripts support only trivial statements
/// (`Write-Output 'x'`, `echo`, a quoted string, `$env:COMPUTERNAME`, `hostname`,
/// `whoami`, `exit N`) and answer anything else with PowerShell's
/// CommandNotFoundException on stderr (CLIXML) and exit code 1.
pub fn run_powershell(host: &HostState, script: &str, user: &str) -> ProgramOutput {
    run_powershell_at(host, script, user, OffsetDateTime::now_utc())
}

/// [`run_powershell`] at a given true time `now` (the host adds its clock skew).
pub fn run_powershell_at(
    host: &HostState,
    script: &str,
    user: &str,
    now: OffsetDateTime,
) -> ProgramOutput {
    run_script_at(host, script, &probe_ids(script), user, now)
}

/// [`run_powershell`] of a script whose [`probe_ids`] are already known (the
/// emulator finds them once per distinct program, not once per host).
pub(crate) fn run_script(
    host: &HostState,
    script: &str,
    ids: &[String],
    user: &str,
) -> ProgramOutput {
    run_script_at(host, script, ids, user, OffsetDateTime::now_utc())
}

pub(crate) fn run_script_at(
    host: &HostState,
    script: &str,
    ids: &[String],
    user: &str,
    now: OffsetDateTime,
) -> ProgramOutput {
    let ctx = Ctx::new(host, user, now);
    if ids.is_empty() {
        return text::run_simple_powershell(&ctx, script);
    }
    let stdout_lines = ids.iter().map(|id| envelope(&ctx, id).to_line()).collect();
    ProgramOutput {
        stdout_lines,
        stderr: String::new(),
        exit_code: 0,
    }
}

/// Runs a `cmd.exe` command line: `hostname`, `whoami`, `ipconfig`, `echo …`,
/// `ver`, `cmd /c …`, `exit /b N`; anything else prints cmd's "is not recognized"
/// error on stderr and exits 1.
pub fn run_cmd(host: &HostState, command_line: &str, user: &str) -> ProgramOutput {
    let ctx = Ctx::new(host, user, OffsetDateTime::now_utc());
    text::run_cmd(&ctx, command_line)
}

/// The probe ids of the program's markers, in order.
pub fn probe_ids(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(PROBE_MARKER))
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

/// The one JSON line the probe `id` prints on this host.
fn envelope(ctx: &Ctx<'_>, id: &str) -> J {
    let result = if ctx.host.throwing_probe.as_deref() == Some(id) {
        Err(probes::PROBE_ERROR_TEXT.to_owned())
    } else {
        match probes::answer(ctx, id) {
            Some(r) => r,
            None => Err(format!(
                "The term '{id}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
            )),
        }
    };
    let (ok, error, data) = match result {
        Ok(data) => (true, J::Null, data),
        Err(e) => (false, J::from(e), J::Null),
    };
    obj! {
        "id" => id.to_owned(),
        "ok" => ok,
        "error" => error,
        "collected_utc" => clock::iso_utc(ctx.now),
        "ps" => ctx.host.ps_version(),
        "data" => data,
    }
}

/// Every probe id the model answers (the catalogue's P01–P33 by first check id).
pub fn known_probe_ids() -> &'static [&'static str] {
    probes::PROBE_IDS
}

#[cfg(test)]
mod tests;
