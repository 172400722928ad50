//! What a WinRS Command runs on the emulated host: `powershell.exe -EncodedCommand`
//! bootstraps are decoded honestly (UTF-16LE base64; the `$env:NAME` variables they
//! name are concatenated from the shell's environment, base64-decoded and
//! gunzipped into the script), everything else is a cmd command line.

use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::answers;

/// Largest script accepted after gunzip (the probe program is far smaller).
const MAX_SCRIPT_BYTES: usize = 16 * 1024 * 1024;

/// How many decoded programs [`PROGRAMS`] keeps. A fleet scan sends one program
/// (two when a rerun changes depth); a few slots cover that, and a client sending
/// a new program every command only ever evicts, never grows the cache.
const PROGRAM_CACHE_SLOTS: usize = 4;

/// Largest payload plus script [`PROGRAMS`] keeps per slot (the probe program is
/// tens of KB): four hostile 16 MB scripts must not stay resident.
const PROGRAM_CACHE_ENTRY_BYTES: usize = 1024 * 1024;

/// The decoded programs of this emulator process, shared by all its hosts: every
/// host of a fleet gets the same gzip+base64 payload, and decoding it (inflate,
/// base64, the probe-id scan) was a tenth of the emulator's CPU per host.
static PROGRAMS: ProgramCache = ProgramCache::new();

/// A PowerShell script with what answering it needs to know, found once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Script {
    /// The script text.
    pub(crate) text: String,
    /// Its probe ids, as [`answers::probe_ids`] finds them.
    pub(crate) probe_ids: Vec<String>,
    /// Whether it writes batches ([`answers::BATCH_MARKER`]); an older program
    /// without the marker printed its lines plain.
    pub(crate) batched: bool,
}

impl Script {
    pub(crate) fn new(text: String) -> Script {
        Script {
            probe_ids: answers::probe_ids(&text),
            batched: text.contains(answers::BATCH_MARKER),
            text,
        }
    }
}

/// A bounded map from exact payload text to its decoded [`Script`]. Only
/// successes are kept, so a malformed payload fails the same way every time.
pub(crate) struct ProgramCache {
    slots: Mutex<Slots>,
    decodes: AtomicU64,
}

#[derive(Default)]
struct Slots {
    /// (payload, script, last use), at most [`PROGRAM_CACHE_SLOTS`].
    entries: Vec<(String, Arc<Script>, u64)>,
    tick: u64,
}

impl ProgramCache {
    pub(crate) const fn new() -> ProgramCache {
        ProgramCache {
            slots: Mutex::new(Slots {
                entries: Vec::new(),
                tick: 0,
            }),
            decodes: AtomicU64::new(0),
        }
    }

    /// The script of the gzip+base64 `payload`, decoded at most once while it
    /// stays cached. The lock is held only to look up and to insert, never while
    /// decoding.
    pub(crate) fn script(&self, payload: &str) -> Result<Arc<Script>, String> {
        {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.tick += 1;
            let tick = slots.tick;
            if let Some(entry) = slots.entries.iter_mut().find(|e| e.0 == payload) {
                entry.2 = tick;
                return Ok(Arc::clone(&entry.1));
            }
        }
        self.decodes.fetch_add(1, Ordering::Relaxed);
        let script = Arc::new(Script::new(gunzip_base64(payload)?));
        if payload.len() + script.text.len() <= PROGRAM_CACHE_ENTRY_BYTES {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            // Another host may have decoded the same payload meanwhile.
            if !slots.entries.iter().any(|e| e.0 == payload) {
                if slots.entries.len() >= PROGRAM_CACHE_SLOTS
                    && let Some(oldest) = slots
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.2)
                        .map(|(i, _)| i)
                {
                    slots.entries.swap_remove(oldest);
                }
                let tick = slots.tick;
                slots
                    .entries
                    .push((payload.to_owned(), Arc::clone(&script), tick));
            }
        }
        Ok(script)
    }

    /// How many payloads this cache has decoded (misses).
    #[cfg(test)]
    pub(crate) fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }

    /// How many scripts it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

/// What the command line asks the host to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Launch {
    /// A PowerShell script, ready to answer.
    PowerShell(Arc<Script>),
    /// A PowerShell bootstrap that reads its program from stdin: wait for Send
    /// with `End="true"`, then decode the input with [`script_from_stdin`].
    PowerShellFromStdin,
    /// A cmd.exe command line.
    Cmd(String),
    /// The command cannot start: the text goes to stderr, exit code 1.
    Failed(String),
}

/// Decides what `command` with `args` runs, given the shell's environment.
pub(crate) fn launch(command: &str, args: &[String], env: &[(String, String)]) -> Launch {
    launch_with(&PROGRAMS, command, args, env)
}

/// [`launch`], decoding programs through `cache`.
pub(crate) fn launch_with(
    cache: &ProgramCache,
    command: &str,
    args: &[String],
    env: &[(String, String)],
) -> Launch {
    let exe = command
        .trim()
        .trim_matches('"')
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(command)
        .to_ascii_lowercase();
    let exe = exe.strip_suffix(".exe").unwrap_or(&exe);
    // A whole command line in Command and no Arguments is common (pywinrm).
    let mut words: Vec<String> = args.to_vec();
    let mut exe = exe.to_owned();
    if words.is_empty() && command.contains(' ') {
        let mut parts = command.split_whitespace().map(str::to_owned);
        if let Some(first) = parts.next() {
            let first = first.to_ascii_lowercase();
            exe = first
                .rsplit(['\\', '/'])
                .next()
                .unwrap_or(&first)
                .trim_end_matches(".exe")
                .to_owned();
            words = parts.collect();
            if exe != "powershell" && exe != "pwsh" {
                return Launch::Cmd(command.trim().to_owned());
            }
        }
    }
    if exe != "powershell" && exe != "pwsh" {
        let mut line = command.trim().to_owned();
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        return Launch::Cmd(line);
    }
    let mut i = 0;
    while i < words.len() {
        let w = words[i].to_ascii_lowercase();
        let flag = w.trim_start_matches(['-', '/']);
        let is_flag = w.starts_with('-') || w.starts_with('/');
        if is_flag
            && !flag.is_empty()
            && "encodedcommand".starts_with(flag)
            && flag.starts_with('e')
        {
            let Some(encoded) = words.get(i + 1) else {
                return Launch::Failed("Missing argument for parameter EncodedCommand.".into());
            };
            return match decode_encoded_command(encoded) {
                Ok(bootstrap) => from_bootstrap(cache, &bootstrap, env),
                Err(e) => Launch::Failed(e),
            };
        }
        if is_flag && !flag.is_empty() && "command".starts_with(flag) && flag.starts_with('c') {
            return plain(words[i + 1..].join(" "));
        }
        if is_flag && (flag == "executionpolicy" || flag == "ep") {
            i += 2;
            continue;
        }
        i += 1;
    }
    Launch::Failed("powershell.exe was started without -EncodedCommand or -Command.".into())
}

/// UTF-16LE base64, as `-EncodedCommand` takes it.
fn decode_encoded_command(encoded: &str) -> Result<String, String> {
    let bytes = B64
        .decode(encoded.trim())
        .map_err(|_| "Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.".to_owned())?;
    if bytes.len() % 2 != 0 {
        return Err("The -EncodedCommand value is not UTF-16LE text.".into());
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| "The -EncodedCommand value is not UTF-16LE text.".into())
}

/// The `$env:NAME` references of `text`, in order of appearance.
pub(crate) fn env_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("$env:") {
        let start = from + pos + "$env:".len();
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        from = start + name.len();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// The program a bootstrap runs: the `$env:` chunks it concatenates, decoded;
/// a stdin reader; or the bootstrap itself when it is a plain script.
fn from_bootstrap(cache: &ProgramCache, bootstrap: &str, env: &[(String, String)]) -> Launch {
    let lower = bootstrap.to_ascii_lowercase();
    let reads_stdin = lower.contains("[console]::in") || lower.contains("$input");
    let names: Vec<String> = env_references(bootstrap)
        .into_iter()
        .filter(|n| !n.eq_ignore_ascii_case("COMPUTERNAME"))
        .collect();
    let is_loader = lower.contains("frombase64string") && lower.contains("gzipstream");
    if is_loader && !names.is_empty() {
        let mut joined = String::new();
        for name in &names {
            // Windows environment variable names are case-insensitive.
            match env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                Some((_, v)) => joined.push_str(v.trim()),
                None => {
                    return Launch::Failed(format!(
                        "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The environment variable {name} is not set.\""
                    ));
                }
            }
        }
        return match cache.script(&joined) {
            Ok(script) => Launch::PowerShell(script),
            Err(e) => Launch::Failed(e),
        };
    }
    if is_loader && reads_stdin {
        return Launch::PowerShellFromStdin;
    }
    plain(bootstrap.to_owned())
}

/// A script given as text, not cached: these are short one-off commands.
fn plain(text: String) -> Launch {
    Launch::PowerShell(Arc::new(Script::new(text)))
}

/// Decodes stdin sent to a stdin-reading bootstrap: gzip+base64 when it is that,
/// else the text itself.
pub(crate) fn script_from_stdin(input: &[u8]) -> Launch {
    let text = String::from_utf8_lossy(input);
    match PROGRAMS.script(text.trim()) {
        Ok(script) => Launch::PowerShell(script),
        Err(_) => plain(text.into_owned()),
    }
}

fn gunzip_base64(text: &str) -> Result<String, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let gz = B64
        .decode(compact.as_bytes())
        .map_err(|_| "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.\"".to_owned())?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(MAX_SCRIPT_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| {
            "Exception calling \"Read\" with \"3\" argument(s): \"The magic number in GZip header is not correct. Make sure you are passing in a GZip stream.\"".to_owned()
        })?;
    if out.len() > MAX_SCRIPT_BYTES {
        return Err("The script is too large.".into());
    }
    // [IO.StreamReader] skips a UTF-8 byte order mark.
    let text = String::from_utf8_lossy(&out);
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write as _;

    /// Packs `script` as the transport format of CONTRACTS.md does: gzip, base64,
    /// 8000-character chunks in FSPS<n>, and a UTF-16LE bootstrap.
    pub(crate) fn pack(script: &str) -> (Vec<(String, String)>, String) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(script.as_bytes()).expect("in memory");
        let b64 = B64.encode(gz.finish().expect("in memory"));
        let env: Vec<(String, String)> = b64
            .as_bytes()
            .chunks(8000)
            .enumerate()
            .map(|(i, c)| (format!("FSPS{i}"), String::from_utf8_lossy(c).into_owned()))
            .collect();
        let names: Vec<String> = env.iter().map(|(k, _)| format!("$env:{k}")).collect();
        let bootstrap = format!(
            "$ProgressPreference='SilentlyContinue'; $b=[Convert]::FromBase64String({}); $z=New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,$b)),[IO.Compression.CompressionMode]::Decompress); $t=(New-Object IO.StreamReader($z,[Text.Encoding]::UTF8)).ReadToEnd(); & ([scriptblock]::Create($t))",
            names.join(" + ")
        );
        let utf16: Vec<u8> = bootstrap
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        (env, B64.encode(utf16))
    }

    #[test]
    fn encoded_bootstrap_reassembles_the_program_from_env_chunks() {
        let mut rng = fastrand::Rng::with_seed(4);
        let script: String = (0..400)
            .map(|i| {
                let noise: String = (0..60).map(|_| rng.alphanumeric()).collect();
                format!("# fleetscan-probe: p{i}\nWrite-Output '{noise}'\n")
            })
            .collect();
        let (env, encoded) = pack(&script);
        assert!(env.len() > 1, "long programs span several variables");
        let args: Vec<String> = [
            "-NoProfile",
            "-NonInteractive",
            "-ExecutionPolicy",
            "Bypass",
            "-EncodedCommand",
            &encoded,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            launch("powershell.exe", &args, &env),
            Launch::PowerShell(Arc::new(Script::new(script)))
        );
    }

    #[test]
    fn missing_env_chunk_fails_the_command() {
        let (mut env, encoded) = pack("Write-Output 'x'");
        env.clear();
        let args = vec!["-EncodedCommand".to_owned(), encoded];
        assert!(matches!(
            launch("powershell", &args, &env),
            Launch::Failed(_)
        ));
    }

    #[test]
    fn plain_encoded_command_runs_as_is() {
        let utf16: Vec<u8> = "hostname"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let args = vec!["-enc".to_owned(), B64.encode(utf16)];
        assert_eq!(
            launch("powershell.exe", &args, &[]),
            Launch::PowerShell(Arc::new(Script::new("hostname".into())))
        );
    }

    #[test]
    fn cmd_lines_keep_their_arguments() {
        let args = vec!["/c".to_owned(), "echo".to_owned(), "hi".to_owned()];
        assert_eq!(
            launch("cmd.exe", &args, &[]),
            Launch::Cmd("cmd.exe /c echo hi".into())
        );
        assert_eq!(
            launch("ipconfig /all", &[], &[]),
            Launch::Cmd("ipconfig /all".into())
        );
    }

    /// The `-EncodedCommand` arguments of a packed program.
    fn encoded_args(encoded: String) -> Vec<String> {
        vec![
            "-NoProfile".to_owned(),
            "-EncodedCommand".to_owned(),
            encoded,
        ]
    }

    fn launched_script(launched: Launch) -> Arc<Script> {
        match launched {
            Launch::PowerShell(script) => script,
            other => panic!("expected a PowerShell script, got {other:?}"),
        }
    }

    fn batched_program(ids: &[&str]) -> String {
        let mut script = format!("function FsWriteBatch {{ '{}' }}\n", answers::BATCH_MARKER);
        for id in ids {
            script.push_str(&format!("# fleetscan-probe: {id}\ntry {{ }} catch {{ }}\n"));
        }
        script
    }

    #[test]
    fn hosts_with_the_same_program_share_one_decode_and_get_the_same_answers() {
        let cache = ProgramCache::new();
        let text = batched_program(&["host.context", "svc.rpcss_startup"]);
        let (env, encoded) = pack(&text);
        let first = launched_script(launch_with(
            &cache,
            "powershell.exe",
            &encoded_args(encoded.clone()),
            &env,
        ));
        let second = launched_script(launch_with(
            &cache,
            "powershell.exe",
            &encoded_args(encoded),
            &env,
        ));
        assert_eq!(cache.decodes(), 1, "the second host must not decode again");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(*first, Script::new(text.clone()));
        assert!(first.batched);
        assert_eq!(first.probe_ids, ["host.context", "svc.rpcss_startup"]);
        // Each host answers the shared script exactly as it answers the text.
        let now = time::macros::datetime!(2026-11-24 20:00:00 UTC);
        for (scenario, name) in [
            (crate::emulator::scenario::Scenario::Healthy, "srv-0001"),
            (crate::emulator::scenario::Scenario::Healthy, "srv-0002"),
        ] {
            let host = crate::emulator::host::HostState::for_scenario(scenario, name, 7);
            assert_eq!(
                answers::run_script_at(&host, &second.text, &second.probe_ids, "fleetscan", now),
                answers::run_powershell_at(&host, &text, "fleetscan", now)
            );
        }
    }

    #[test]
    fn a_different_program_is_decoded_into_its_own_script() {
        let cache = ProgramCache::new();
        let (env_a, enc_a) = pack(&batched_program(&["host.context"]));
        let (env_b, enc_b) = pack("# fleetscan-probe: svc.rpcss_startup\n");
        let a = launched_script(launch_with(
            &cache,
            "powershell",
            &encoded_args(enc_a),
            &env_a,
        ));
        let b = launched_script(launch_with(
            &cache,
            "powershell",
            &encoded_args(enc_b),
            &env_b,
        ));
        assert_eq!(cache.decodes(), 2);
        assert_eq!(a.probe_ids, ["host.context"]);
        assert_eq!(b.probe_ids, ["svc.rpcss_startup"]);
        assert!(a.batched);
        assert!(
            !b.batched,
            "an older program without the batch marker prints plain lines"
        );
    }

    #[test]
    fn many_distinct_programs_keep_the_cache_bounded_and_still_answer() {
        let cache = ProgramCache::new();
        for i in 0..(PROGRAM_CACHE_SLOTS * 5) {
            let id = format!("p{i}");
            let (env, encoded) = pack(&format!("# fleetscan-probe: {id}\n"));
            let script = launched_script(launch_with(
                &cache,
                "powershell",
                &encoded_args(encoded),
                &env,
            ));
            assert_eq!(script.probe_ids, [id]);
            assert!(cache.len() <= PROGRAM_CACHE_SLOTS);
        }
        assert_eq!(cache.len(), PROGRAM_CACHE_SLOTS);
        assert_eq!(cache.decodes(), (PROGRAM_CACHE_SLOTS * 5) as u64);
    }

    #[test]
    fn the_program_in_use_survives_a_burst_of_other_programs() {
        let cache = ProgramCache::new();
        let (env, encoded) = pack(&batched_program(&["host.context"]));
        let args = encoded_args(encoded);
        launched_script(launch_with(&cache, "powershell", &args, &env));
        for i in 0..(PROGRAM_CACHE_SLOTS * 3) {
            let (other_env, other) = pack(&format!("# fleetscan-probe: p{i}\n"));
            launched_script(launch_with(
                &cache,
                "powershell",
                &encoded_args(other),
                &other_env,
            ));
            // The fleet's own program is used between the strangers.
            launched_script(launch_with(&cache, "powershell", &args, &env));
        }
        assert_eq!(cache.decodes(), 1 + (PROGRAM_CACHE_SLOTS * 3) as u64);
    }

    #[test]
    fn a_malformed_payload_fails_the_same_way_every_time_and_is_not_kept() {
        let cache = ProgramCache::new();
        let (mut env, encoded) = pack("Write-Output 'x'");
        for (_, v) in &mut env {
            *v = "not*base64".to_owned();
        }
        let args = encoded_args(encoded.clone());
        let first = launch_with(&cache, "powershell", &args, &env);
        let second = launch_with(&cache, "powershell", &args, &env);
        assert!(
            matches!(&first, Launch::Failed(m) if m.contains("not a valid Base-64")),
            "{first:?}"
        );
        assert_eq!(first, second);
        // Valid base64 that is not gzip fails at Read, also every time.
        for (_, v) in &mut env {
            *v = B64.encode(b"plain text, not gzip");
        }
        let third = launch_with(&cache, "powershell", &args, &env);
        assert!(
            matches!(&third, Launch::Failed(m) if m.contains("magic number")),
            "{third:?}"
        );
        assert_eq!(third, launch_with(&cache, "powershell", &args, &env));
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.decodes(), 4);
    }

    #[test]
    fn env_references_are_found_in_order() {
        assert_eq!(
            env_references("$env:FSPS0 + $ENV:fsps1+$env:X_2;"),
            vec!["FSPS0", "fsps1", "X_2"]
        );
    }
}
