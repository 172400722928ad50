//! The PowerShell runner's payload: a program too long for a command line
//! (cmd.exe stops at 8191 characters; pywinrm#184) travels in environment
//! variables set by Create, and a short bootstrap in `-EncodedCommand` puts it
//! back together and runs it as one script block.
//!
//! Format (CONTRACTS.md, "The PowerShell transport format"): UTF-8 program →
//! gzip → base64 (standard, padded) → chunks of at most 8000 characters in
//! `FSPS0`, `FSPS1`, … (8000 stays under cmd.exe's 8191 limit for an inherited
//! variable). The bootstrap names each variable, so the emulator can find them.

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::envelope;

/// The program a prepared script runs.
const POWERSHELL: &str = "powershell.exe";

/// Largest value of one payload variable, in characters.
pub(crate) const CHUNK_CHARS: usize = 8000;
/// Name prefix of the payload variables.
pub(crate) const VAR_PREFIX: &str = "FSPS";

/// A PowerShell program prepared once per fleet: compressed, encoded, split into
/// environment variables, with the bootstrap command line built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedScript {
    environment: Vec<(String, String)>,
    bootstrap: String,
    arguments: Vec<String>,
    /// The Create body's `<rsp:Environment>`, escaped once here rather than per host.
    environment_xml: String,
    /// The Command body's command line, likewise.
    command_line_xml: String,
}

impl PreparedScript {
    /// Prepares `script` (UTF-8 PowerShell source).
    pub fn new(script: &str) -> PreparedScript {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(script.as_bytes());
        let compressed = gz.finish().unwrap_or_default();
        let encoded = STANDARD.encode(compressed);
        // Base64 is ASCII, so byte chunks are character chunks.
        let environment: Vec<(String, String)> = encoded
            .as_bytes()
            .chunks(CHUNK_CHARS)
            .enumerate()
            .map(|(i, c)| {
                (
                    format!("{VAR_PREFIX}{i}"),
                    String::from_utf8_lossy(c).into_owned(),
                )
            })
            .collect();
        let joined = if environment.is_empty() {
            "''".to_owned()
        } else {
            environment
                .iter()
                .map(|(name, _)| format!("$env:{name}"))
                .collect::<Vec<_>>()
                .join("+")
        };
        let bootstrap = format!(
            "$ProgressPreference='SilentlyContinue';\
             $b=[Convert]::FromBase64String({joined});\
             $m=New-Object IO.MemoryStream(,$b);\
             $g=New-Object IO.Compression.GzipStream($m,[IO.Compression.CompressionMode]::Decompress);\
             $r=New-Object IO.StreamReader($g,[Text.Encoding]::UTF8);\
             $t=$r.ReadToEnd();$r.Close();\
             & ([scriptblock]::Create($t))"
        );
        let utf16: Vec<u8> = bootstrap
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let arguments = vec![
            "-NoProfile".to_owned(),
            "-NonInteractive".to_owned(),
            "-ExecutionPolicy".to_owned(),
            "Bypass".to_owned(),
            "-EncodedCommand".to_owned(),
            STANDARD.encode(utf16),
        ];
        PreparedScript {
            environment_xml: envelope::environment_xml(&environment),
            command_line_xml: envelope::command_line_xml(POWERSHELL, &arguments),
            environment,
            bootstrap,
            arguments,
        }
    }

    /// The payload variables, in order (`FSPS0`, `FSPS1`, …).
    pub fn environment(&self) -> &[(String, String)] {
        &self.environment
    }

    /// The bootstrap's PowerShell text (before UTF-16LE/base64 encoding).
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The arguments after `powershell.exe`.
    pub fn arguments(&self) -> &[String] {
        &self.arguments
    }
}

/// What [`Session::run`](super::Session::run) executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedCommand {
    /// A command in the cmd shell, e.g. `hostname` or `cmd /c …`.
    Cmd {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A PowerShell program delivered through environment variables.
    PowerShell(Arc<PreparedScript>),
}

impl PreparedCommand {
    /// (Create's `<rsp:Environment>`, Command's command line), rendered as XML:
    /// borrowed from a prepared program, built here for a cmd command.
    pub(crate) fn rendered(&self) -> (Cow<'_, str>, Cow<'_, str>) {
        match self {
            PreparedCommand::Cmd { command, args } => (
                Cow::Borrowed(""),
                Cow::Owned(envelope::command_line_xml(command, args)),
            ),
            PreparedCommand::PowerShell(script) => (
                Cow::Borrowed(script.environment_xml.as_str()),
                Cow::Borrowed(script.command_line_xml.as_str()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read as _;

    /// Decodes as the emulator must: EncodedCommand → $env:NAME refs → concat → gunzip.
    fn reassemble(p: &PreparedScript) -> String {
        let encoded = p.arguments().last().expect("encoded command");
        let utf16 = STANDARD.decode(encoded).expect("base64");
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let bootstrap = String::from_utf16(&units).expect("utf-16");
        assert_eq!(bootstrap, p.bootstrap());
        let mut b64 = String::new();
        for piece in bootstrap.split("$env:").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let value = p
                .environment()
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .expect("variable named in the bootstrap");
            b64.push_str(&value);
        }
        let gz = STANDARD.decode(b64).expect("base64");
        let mut text = String::new();
        GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .expect("gzip");
        text
    }

    #[test]
    fn large_program_round_trips_through_chunked_variables() {
        // Incompressible-ish text so the payload needs several chunks.
        let mut rng = fastrand::Rng::with_seed(7);
        let script: String = (0..60_000)
            .map(|_| char::from(rng.u8(b' '..=b'~')))
            .collect();
        let p = PreparedScript::new(&script);
        assert!(p.environment().len() >= 3);
        assert!(p.environment().iter().all(|(_, v)| v.len() <= CHUNK_CHARS));
        for (i, (name, _)) in p.environment().iter().enumerate() {
            assert_eq!(name, &format!("FSPS{i}"));
        }
        assert_eq!(reassemble(&p), script);
    }

    #[test]
    fn bootstrap_silences_progress_and_fits_a_command_line() {
        let p = PreparedScript::new("Write-Output 'hi ü'");
        assert!(
            p.bootstrap()
                .starts_with("$ProgressPreference='SilentlyContinue'")
        );
        assert!(p.arguments().iter().map(|a| a.len() + 1).sum::<usize>() < 8191);
        assert_eq!(reassemble(&p), "Write-Output 'hi ü'");
        assert_eq!(
            &p.arguments()[..5],
            [
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand"
            ]
        );
    }

    #[test]
    fn bootstrap_parses_as_powershell() {
        let p = PreparedScript::new("Get-Date");
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .expect("grammar loads");
        let tree = parser.parse(p.bootstrap(), None).expect("parse");
        assert!(
            !tree.root_node().has_error(),
            "{}",
            tree.root_node().to_sexp()
        );
    }
}
