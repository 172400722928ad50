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
        script.push_str(PREAMBLE);
        for p in &probes {
            script.push('\n');
            script.push_str(PROBE_MARKER);
            script.push_str(p.id);
            script.push('\n');
            script.push_str(p.script.trim_end());
            script.push('\n');
        }
        script.push('\n');
        script.push_str(EPILOGUE);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::catalogue::{catalogue, probe_def};

    fn parse_errors(text: &str) -> Vec<String> {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .expect("grammar loads");
        let tree = parser.parse(text, None).expect("parser returns a tree");
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
}
