//! Assembling the one PowerShell program a host runs for the selected checks: the
//! shared preamble (helpers, `Emit`, the batching flusher), then one marked block per
//! needed probe in run order (heavy last), then the epilogue that flushes the rest.
//!
//! Batching: `Emit` queues each JSON line; a background runspace writes the queue out
//! every [`FLUSH_INTERVAL_MS`] and once more at the end. A host that finishes within
//! the interval answers in one Receive; a probe that hangs leaves the lines queued
//! before it delivered within one interval.

use super::catalogue::{CheckDef, Cost, PROBES, ProbeDef};
use super::error::ProbeError;
use super::evidence::Evidence;
use super::selection::Selection;

/// How often the program writes queued lines out, in milliseconds.
pub const FLUSH_INTERVAL_MS: u32 = 2000;

/// The comment that starts each probe block: `# fleetscan-probe: <probe_id>`.
pub const PROBE_MARKER: &str = "# fleetscan-probe: ";

pub(crate) const PREAMBLE: &str = include_str!("snippets/preamble.ps1");
const EPILOGUE: &str = include_str!("snippets/epilogue.ps1");

/// The probe that carries `is_admin` and the culture: every program runs it.
pub(crate) const CONTEXT_PROBE: &str = "host.context";
/// The probe that says whether MARS is installed: runs whenever a MARS-only check is selected.
pub(crate) const MARS_PROBE: &str = "mars.installed";

/// The program for one selection of checks; built once per scan, the same for every host.
#[derive(Debug, Clone)]
pub struct Program {
    script: String,
    checks: Vec<&'static CheckDef>,
    probes: Vec<&'static str>,
}

impl Program {
    /// Builds the program for the selected checks, with the probes they need plus
    /// `host.context` (always) and `mars.installed` (when a MARS-only check is selected).
    ///
    /// # Errors
    ///
    /// Those of [`Selection::resolve`].
    pub fn assemble(selection: &Selection) -> Result<Program, ProbeError> {
        let checks = selection.resolve()?;
        // Heavy probes only with --deep, even if a dependency named one.
        let wanted = |p: &ProbeDef| {
            (selection.deep || p.cost != Cost::Heavy)
                && (p.id == CONTEXT_PROBE
                    || (p.id == MARS_PROBE && checks.iter().any(|c| c.mars_only))
                    || checks.iter().any(|c| c.probe == p.id))
        };
        let probes: Vec<&'static ProbeDef> = PROBES.iter().filter(|p| wanted(p)).collect();
        let mut script = String::with_capacity(
            PREAMBLE.len()
                + EPILOGUE.len()
                + probes.iter().map(|p| p.script.len() + 64).sum::<usize>(),
        );
        push_compact(&mut script, PREAMBLE);
        for p in &probes {
            script.push('\n');
            script.push_str(PROBE_MARKER);
            script.push_str(p.id);
            script.push('\n');
            push_compact(&mut script, p.script.trim_end());
            script.push('\n');
        }
        script.push('\n');
        push_compact(&mut script, EPILOGUE);
        Ok(Program {
            script,
            checks,
            probes: probes.iter().map(|p| p.id).collect(),
        })
    }

    /// The PowerShell text (ASCII, Windows PowerShell 5.1).
    pub fn script(&self) -> &str {
        &self.script
    }

    /// Ids of the selected checks, in run order.
    pub fn check_ids(&self) -> Vec<&'static str> {
        self.checks.iter().map(|c| c.id).collect()
    }

    /// The selected checks, in run order.
    pub fn checks(&self) -> &[&'static CheckDef] {
        &self.checks
    }

    /// Ids of the probes in the program, in run order (one JSON line each).
    pub fn probe_ids(&self) -> &[&'static str] {
        &self.probes
    }

    /// A fresh collector for one host's output lines.
    pub fn collector(&self) -> Evidence {
        Evidence::new(self.checks.clone(), self.probes.clone())
    }
}

/// Appends `snippet` without its comment-only lines, blank lines and leading
/// indentation: the program travels gzip+base64 in the sealed Create request and
/// Windows echoes it sealed in the response, so every byte costs twice per host.
///
/// Only lines that start outside any string literal are touched. A small lexer
/// tracks `'…'` (with `''`) and `"…"` (with `` ` `` escapes and `""`) across
/// lines; whenever it meets something it does not model (a here-string, a block
/// comment, a subexpression inside a double-quoted string, a `#` glued to a
/// word, a `#requires` directive, non-ASCII text) or ends inside a string, the
/// snippet is appended unchanged.
fn push_compact(script: &mut String, snippet: &str) {
    match compact(snippet) {
        Some(lines) => {
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    script.push('\n');
                }
                script.push_str(line);
            }
            if snippet.ends_with('\n') {
                script.push('\n');
            }
        }
        None => script.push_str(snippet),
    }
}

/// Where the lexer stands at the end of a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    Single,
    Double,
}

/// The kept lines of `snippet`, or `None` when stripping is not provably safe.
fn compact(snippet: &str) -> Option<Vec<&str>> {
    if !snippet.is_ascii() {
        return None;
    }
    let mut state = Lex::Code;
    let mut kept: Vec<&str> = Vec::new();
    for raw in snippet.lines() {
        let line = if state == Lex::Code {
            let code = raw.trim_start();
            // After a backtick line continuation a blank or comment line ends the
            // statement; dropping it would join two lines.
            let continued = kept.last().is_some_and(|l| l.ends_with('`'));
            if continued && (code.is_empty() || code.starts_with('#')) {
                return None;
            }
            if code.is_empty() {
                continue;
            }
            if code.starts_with('#') {
                // `#requires` is a directive, and `<#` a block comment, not a line comment.
                if code.len() >= 9 && code[..9].eq_ignore_ascii_case("#requires") {
                    return None;
                }
                continue;
            }
            code
        } else {
            raw
        };
        state = lex_line(line, state)?;
        kept.push(line);
    }
    (state == Lex::Code).then_some(kept)
}

/// Advances the lexer over one line; `None` for anything it does not model.
fn lex_line(line: &str, mut state: Lex) -> Option<Lex> {
    let b = line.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        match state {
            Lex::Code => match c {
                b'`' => i += 1,
                b'\'' => state = Lex::Single,
                b'"' => state = Lex::Double,
                b'@' if matches!(next, Some(b'\'' | b'"')) => return None,
                b'<' if next == Some(b'#') => return None,
                b'#' => {
                    // A trailing comment only after whitespace; `a#b` is a word.
                    let after_space = i == 0 || b.get(i - 1).is_some_and(u8::is_ascii_whitespace);
                    return after_space.then_some(Lex::Code);
                }
                _ => {}
            },
            Lex::Single => {
                if c == b'\'' {
                    if next == Some(b'\'') {
                        i += 1;
                    } else {
                        state = Lex::Code;
                    }
                }
            }
            Lex::Double => match c {
                b'`' => i += 1,
                b'$' if next == Some(b'(') => return None,
                b'"' if next == Some(b'"') => i += 1,
                b'"' => state = Lex::Code,
                _ => {}
            },
        }
        i += 1;
    }
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::catalogue::{catalogue, probe_def};

    /// The PowerShell grammar's tree of `text`.
    fn parse(text: &str) -> tree_sitter::Tree {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .expect("grammar loads");
        parser.parse(text, None).expect("parser returns a tree")
    }

    fn parse_errors(text: &str) -> Vec<String> {
        let tree = parse(text);
        let mut out = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.is_error() || node.is_missing() {
                let start = node.start_position();
                let line = text.lines().nth(start.row).unwrap_or("");
                out.push(format!(
                    "{} at {}:{}: {line}",
                    if node.is_missing() {
                        "MISSING"
                    } else {
                        "ERROR"
                    },
                    start.row + 1,
                    start.column + 1
                ));
            }
            stack.extend(node.children(&mut cursor));
        }
        out
    }

    #[test]
    fn each_snippet_parses_alone_without_error_nodes() {
        for p in PROBES {
            let errors = parse_errors(p.script);
            assert!(errors.is_empty(), "{}: {errors:#?}", p.id);
        }
        for (name, text) in [("preamble", PREAMBLE), ("epilogue", EPILOGUE)] {
            let errors = parse_errors(text);
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
    }

    #[test]
    fn every_probe_block_emits_its_own_id_exactly_twice() {
        // once in try (evidence), once in catch (error): exactly one line at run time.
        for p in PROBES {
            let needle = format!("Emit '{}'", p.id);
            let n = p.script.matches(&needle).count();
            assert!(n >= 2, "{} emits its id {n} times", p.id);
            for other in PROBES.iter().filter(|o| o.id != p.id) {
                assert!(
                    !p.script.contains(&format!("Emit '{}'", other.id)),
                    "{} emits {}",
                    p.id,
                    other.id
                );
            }
        }
    }

    #[test]
    fn every_check_names_an_existing_probe_and_runs_in_probe_order() {
        let order = |id: &str| {
            PROBES
                .iter()
                .position(|p| p.id == id)
                .expect("probe exists")
        };
        let mut last = 0;
        for c in catalogue() {
            let pos = order(c.probe);
            assert!(pos >= last, "{} out of run order", c.id);
            last = pos;
            assert_eq!(
                c.is_heavy(),
                probe_def(c.probe).map(|p| p.cost) == Some(super::super::Cost::Heavy)
            );
        }
        let first_heavy = PROBES
            .iter()
            .position(|p| p.cost == super::super::Cost::Heavy)
            .expect("heavy");
        assert!(
            PROBES[first_heavy..]
                .iter()
                .all(|p| p.cost == super::super::Cost::Heavy)
        );
    }

    #[test]
    fn program_has_one_marker_per_probe_and_always_host_context() {
        let sel = Selection {
            include: vec!["svc.vss_startup".into()],
            ..Selection::default()
        };
        let prog = Program::assemble(&sel).expect("valid");
        assert_eq!(prog.probe_ids(), ["host.context", "svc.rpcss_startup"]);
        assert_eq!(prog.script().matches(PROBE_MARKER).count(), 2);
        assert!(
            prog.script()
                .contains("\n# fleetscan-probe: svc.rpcss_startup\n")
        );
        assert!(prog.script().is_ascii());
        assert!(
            prog.script()
                .contains(&format!("$script:FsFlushMs = {FLUSH_INTERVAL_MS}\n"))
        );
    }

    #[test]
    fn mars_only_check_brings_the_mars_install_probe() {
        let sel = Selection {
            include: vec!["mars.registration".into()],
            ..Selection::default()
        };
        let prog = Program::assemble(&sel).expect("valid");
        assert_eq!(
            prog.probe_ids(),
            ["host.context", "mars.installed", "mars.registration"]
        );
        assert_eq!(prog.check_ids(), ["mars.registration"]);
    }

    #[test]
    fn heavy_probes_run_last_and_only_with_deep() {
        let shallow = Program::assemble(&Selection::all(false)).expect("valid");
        assert!(!shallow.probe_ids().contains(&"vss.writers"));
        let deep = Program::assemble(&Selection::all(true)).expect("valid");
        let n = deep.probe_ids().len();
        assert_eq!(
            &deep.probe_ids()[n - 3..],
            ["wsb.backup_sets", "vss.writers", "mars.policy_and_jobs"]
        );
        let pos = |id: &str| {
            deep.script()
                .find(&format!("{PROBE_MARKER}{id}\n"))
                .expect("marker")
        };
        assert!(pos("efi.esp_lock") < pos("vss.writers"));
    }

    #[test]
    fn vss_writers_probe_lists_writers_with_vssadmin() {
        assert!(probe_def("vss.writers").is_some_and(|p| p.script.contains("'list writers'")));
    }

    /// Node kinds in document order, with the text of every leaf and every string
    /// node; comments left out. Equal shapes mean the same program.
    fn shape(text: &str) -> Vec<String> {
        let tree = parse(text);
        let mut out = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "comment" {
                continue;
            }
            out.push(node.kind().to_owned());
            if node.child_count() == 0 || node.kind().contains("string") {
                out.push(text[node.byte_range()].to_owned());
            }
            let mut cursor = node.walk();
            let children: Vec<_> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        out
    }

    fn compacted(snippet: &str) -> String {
        let mut out = String::new();
        push_compact(&mut out, snippet);
        out
    }

    #[test]
    fn compacting_a_snippet_keeps_every_token_and_string() {
        let snippets = PROBES
            .iter()
            .map(|p| (p.id, p.script))
            .chain([("preamble", PREAMBLE), ("epilogue", EPILOGUE)]);
        for (name, text) in snippets {
            let small = compacted(text);
            assert!(parse_errors(&small).is_empty(), "{name}");
            assert_eq!(shape(text), shape(&small), "{name}");
        }
    }

    #[test]
    fn compacting_drops_comment_lines_and_indentation_of_the_shared_snippets() {
        for (name, text) in [("preamble", PREAMBLE), ("epilogue", EPILOGUE)] {
            let small = compacted(text);
            assert!(compact(text).is_some(), "{name} is compacted");
            assert!(small.len() < text.len(), "{name}");
            assert!(!small.lines().any(|l| l.starts_with('#')), "{name}");
            assert!(!small.lines().any(|l| l.starts_with(' ')), "{name}");
        }
    }

    #[test]
    fn compacting_keeps_multi_line_strings_verbatim() {
        let text = "if ($a) {\n  $s = 'one\n    # not a comment\n  it''s'\n  $d = \"x\n   `\" y\"\n  # gone\n}\n";
        assert_eq!(
            compacted(text),
            "if ($a) {\n$s = 'one\n    # not a comment\n  it''s'\n$d = \"x\n   `\" y\"\n}\n"
        );
    }

    #[test]
    fn compacting_leaves_what_it_does_not_model_alone() {
        for text in [
            "$h = @'\n  x\n'@\n",
            "$h = @\"\n  x\n\"@\n",
            "<# block\n  comment #>\n  $a = 1\n",
            "$d = \"a $(\n  'b') c\"\n",
            "#Requires -Version 5\n  $a = 1\n",
            "Write-Output a#b\n  $a = 1\n",
            "Get-Item x `\n  # comment\n  -Force\n",
            "$s = 'never closed\n",
            "$s = 'caf\u{e9}'\n  $a = 1\n",
        ] {
            assert_eq!(compact(text), None, "{text}");
            assert_eq!(compacted(text), text);
        }
    }

    #[test]
    fn compacting_keeps_trailing_comments_and_line_continuations() {
        let text = "  Get-Item x `\n    -Force # why\n";
        assert_eq!(compacted(text), "Get-Item x `\n-Force # why\n");
    }

    #[test]
    fn compacted_program_payload_is_smaller_than_the_plain_one() {
        let deep = Program::assemble(&Selection::all(true)).expect("valid");
        let mut plain = String::from(PREAMBLE);
        for id in deep.probe_ids() {
            let p = probe_def(id).expect("probe");
            plain.push_str(&format!("\n{PROBE_MARKER}{id}\n{}\n", p.script.trim_end()));
        }
        plain.push('\n');
        plain.push_str(EPILOGUE);
        assert_eq!(shape(&plain), shape(deep.script()));
        let size = |s: &str| {
            crate::winrm::PreparedScript::new(s)
                .environment()
                .iter()
                .map(|(_, v)| v.len())
                .sum::<usize>()
        };
        let (before, after) = (size(&plain), size(deep.script()));
        assert!(after * 100 <= before * 95, "{before} -> {after}");
    }
}
