//! Collecting one host's probe lines and judging them into one [`CheckResult`] per
//! selected check.
//!
//! The output stream is hostile until parsed: lines that are not JSON objects are
//! noise (PowerShell warnings, banners) and are skipped; a line longer than
//! [`MAX_LINE_BYTES`] is not parsed but recorded as that probe's failure; only the
//! first line per probe id counts. A batch line ([`super::batch`]) is decoded and its
//! lines taken one by one as if they had arrived plain; a batch that cannot be decoded
//! is remembered, and the probes still missing at the end blame it.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::batch::{self, BATCH_MARKER, MAX_BATCH_INFLATED_BYTES, MAX_INFLATED_PER_HOST};
use super::catalogue::{CheckDef, PROBE_ALIASES};
use super::json::{Doc, Json, Scratch};
use super::judge::{self, Ctx, HostFacts};
use super::program::{CONTEXT_PROBE, MARS_PROBE};
use super::settings::Settings;
use super::value::{as_bool, as_date, as_str, field};
use crate::report::model::{CheckResult, Status};

/// The largest probe line parsed, in bytes. Event-heavy probes stay well below it
/// (a few hundred kB at most); a longer line is recorded as a failure of its probe.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The largest piece of raw evidence copied into an `unknown` result, in bytes.
const MAX_RAW_EVIDENCE_BYTES: usize = 4096;

/// How the host's program ended; checks whose line never arrived take their reason from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramEnd {
    /// The program ran to its end.
    Completed,
    /// The host deadline passed first.
    TimedOut,
    /// The run failed (connection lost, protocol error, …): the reason.
    Failed(String),
}

/// One probe's line as received.
#[derive(Debug, Clone)]
pub(crate) struct ProbeLine {
    pub(crate) ok: bool,
    pub(crate) error: Option<String>,
    /// The parsed line; `None` when the probe failed (its data is never read).
    pub(crate) doc: Option<Doc>,
    /// Our clock when the line arrived.
    pub(crate) received_at: OffsetDateTime,
    /// The host's clock when the probe finished (`collected_utc`), if readable.
    pub(crate) collected_utc: Option<OffsetDateTime>,
}

impl ProbeLine {
    /// The line's `data` (exactly that key, the last one if repeated), `null` if missing.
    pub(crate) fn data(&self) -> Json<'_> {
        self.doc
            .as_ref()
            .and_then(|doc| doc.root().get("data"))
            .unwrap_or(Json::NULL)
    }
}

/// The lines received from one host so far. Built by [`super::Program::collector`].
#[derive(Debug, Clone)]
pub struct Evidence {
    checks: Vec<&'static CheckDef>,
    probes: Vec<&'static str>,
    lines: HashMap<&'static str, ProbeLine>,
    ignored: usize,
    /// Reused by every line's parse (saves growing fresh vectors per line).
    scratch: Scratch,
    /// Output batches: bytes inflated so far, and why the first bad one was refused.
    batches: BatchState,
}

#[derive(Debug, Clone, Default)]
struct BatchState {
    inflated: usize,
    failure: Option<String>,
}

impl Evidence {
    pub(crate) fn new(checks: Vec<&'static CheckDef>, probes: Vec<&'static str>) -> Evidence {
        Evidence {
            lines: HashMap::new(), // grown on the first line: a host waiting for output holds ~10 KB less
            checks,
            probes,
            ignored: 0,
            scratch: Scratch::default(),
            batches: BatchState::default(),
        }
    }

    /// Takes one stdout line (stamped with the current time).
    pub fn accept_line(&mut self, line: &str) {
        self.accept_line_at(line, OffsetDateTime::now_utc());
    }

    /// Takes one stdout line that arrived at `received_at` (our clock; the clock
    /// check compares the host's time with it).
    pub fn accept_line_at(&mut self, line: &str, received_at: OffsetDateTime) {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if let Some(payload) = line.strip_prefix(BATCH_MARKER) {
            self.accept_batch(payload, received_at);
            return;
        }
        if !line.starts_with('{') {
            if !line.is_empty() {
                self.ignored += 1;
            }
            return;
        }
        if line.len() > MAX_LINE_BYTES {
            self.accept_oversized(line, received_at);
            return;
        }
        // Parsed once, into a tree of ranges of the line (see `super::json`).
        let Ok(doc) = Doc::parse_with(line, &mut self.scratch) else {
            self.ignored += 1;
            return;
        };
        let value = doc.root();
        let Some(id) = field(value, "id")
            .and_then(as_str)
            .and_then(|id| self.known(id))
        else {
            self.ignored += 1;
            return;
        };
        if self.lines.contains_key(id) {
            self.ignored += 1;
            return;
        }
        let (ok, error) = match field(value, "ok").and_then(as_bool) {
            Some(true) => (true, None),
            Some(false) => (
                false,
                Some(
                    field(value, "error")
                        .and_then(as_str)
                        .filter(|e| !e.trim().is_empty())
                        .unwrap_or("the probe reported a failure without a message")
                        .to_string(),
                ),
            ),
            None => (
                false,
                Some("the probe line has no boolean `ok`".to_string()),
            ),
        };
        let collected_utc = field(value, "collected_utc").and_then(as_date);
        self.lines.insert(
            id,
            ProbeLine {
                ok,
                error,
                doc: ok.then_some(doc),
                received_at,
                collected_utc,
            },
        );
        if self.lines.len() == self.probes.len() {
            // Every probe answered: no more lines to parse, so give the space back
            // while the host waits to be judged.
            self.scratch = Scratch::default();
        }
    }

    /// Takes the lines of one output batch. A batch inside a batch is noise: the
    /// program never writes one, and refusing it bounds the work to one level.
    fn accept_batch(&mut self, payload: &str, received_at: OffsetDateTime) {
        let room = MAX_INFLATED_PER_HOST.saturating_sub(self.batches.inflated);
        let (decoded, inflated) =
            batch::decode_counted(payload, room.min(MAX_BATCH_INFLATED_BYTES));
        self.batches.inflated = self.batches.inflated.saturating_add(inflated);
        match decoded {
            Ok(text) => {
                for line in text.split('\n') {
                    if line.trim_start().starts_with(BATCH_MARKER) {
                        self.ignored += 1;
                    } else {
                        self.accept_line_at(line, received_at);
                    }
                }
            }
            Err(e) => {
                self.ignored += 1;
                let per_host = matches!(e, batch::BatchError::TooLarge { .. })
                    && room < MAX_BATCH_INFLATED_BYTES;
                let why = if per_host {
                    format!(
                        "the host's output batches inflated past the {MAX_INFLATED_PER_HOST}-byte cap per host; the probe lines in the rest were dropped"
                    )
                } else {
                    format!(
                        "an output batch from the host was corrupt: it {e}; the probe lines in it were lost"
                    )
                };
                self.batches.failure.get_or_insert(why);
            }
        }
    }

    /// Records an over-long line as its probe's failure, if its id can be read from the start.
    fn accept_oversized(&mut self, line: &str, received_at: OffsetDateTime) {
        let head = line.get(..256).unwrap_or(line);
        let id = head
            .split_once("\"id\":\"")
            .and_then(|(_, rest)| rest.split('"').next())
            .and_then(|id| self.known(id));
        match id {
            Some(id) if !self.lines.contains_key(id) => {
                self.lines.insert(
                    id,
                    ProbeLine {
                        ok: false,
                        error: Some(format!(
                            "the evidence line was {} bytes, over the {MAX_LINE_BYTES}-byte cap",
                            line.len()
                        )),
                        doc: None,
                        received_at,
                        collected_utc: None,
                    },
                );
            }
            _ => self.ignored += 1,
        }
    }

    /// The program's probe id for `id` (aliases resolved), if the program has it.
    fn known(&self, id: &str) -> Option<&'static str> {
        let id = PROBE_ALIASES
            .iter()
            .find(|(alias, _)| *alias == id)
            .map_or(id, |(_, real)| real);
        self.probes.iter().copied().find(|p| *p == id)
    }

    /// Probe lines kept so far.
    pub fn received(&self) -> usize {
        self.lines.len()
    }

    /// Lines skipped as noise, duplicates or unknown ids.
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// True once every probe of the program has answered.
    pub fn is_complete(&self) -> bool {
        self.probes.iter().all(|p| self.lines.contains_key(p))
    }

    /// Judges the evidence: exactly one result per selected check, in run order.
    /// Checks whose line never arrived are `unknown` with the reason taken from `end`.
    pub fn judge(self, settings: &Settings, end: ProgramEnd) -> Vec<CheckResult> {
        // A probe line lost in a bad batch is why its check has no evidence.
        let end = match (&self.batches.failure, end) {
            (None, end) => end,
            (Some(why), ProgramEnd::TimedOut) => {
                ProgramEnd::Failed(format!("{why} (and the host timed out)"))
            }
            (Some(why), ProgramEnd::Failed(reason)) => {
                ProgramEnd::Failed(format!("{why} (and {reason})"))
            }
            (Some(why), ProgramEnd::Completed) => ProgramEnd::Failed(why.clone()),
        };
        let facts = HostFacts::from_lines(
            self.lines
                .get(CONTEXT_PROBE)
                .filter(|l| l.ok)
                .map(ProbeLine::data),
            self.lines
                .get(MARS_PROBE)
                .filter(|l| l.ok)
                .map(ProbeLine::data),
        );
        self.checks
            .iter()
            .map(|check| {
                let (status, summary, evidence) = self.judge_one(check, settings, &facts, &end);
                CheckResult {
                    id: Cow::Borrowed(check.id),
                    title: Cow::Borrowed(check.title),
                    seed_section: Cow::Borrowed(check.seed_section),
                    severity: check.severity,
                    status,
                    summary,
                    evidence,
                    remediation: Cow::Borrowed(check.remediation),
                    waived: None,
                }
            })
            .collect()
    }

    fn judge_one(
        &self,
        check: &CheckDef,
        settings: &Settings,
        facts: &HostFacts,
        end: &ProgramEnd,
    ) -> (Status, String, Value) {
        if check.mars_only && facts.mars_installed == Some(false) {
            return (
                Status::NotApplicable,
                "the MARS agent is not installed".to_string(),
                json!({"mars_installed": false}),
            );
        }
        if check.admin_only && facts.is_admin == Some(false) {
            return (
                Status::Unknown,
                "not elevated (UAC remote restrictions give local accounts a filtered token over WinRM); \
                 scan with an administrator that has a full token"
                    .to_string(),
                json!({"is_admin": false, "user": facts.user}),
            );
        }
        let Some(line) = self.lines.get(check.probe) else {
            let why = match end {
                ProgramEnd::Completed => {
                    "no evidence: the program ended without this probe's line".to_string()
                }
                ProgramEnd::TimedOut => {
                    "no evidence: the host timed out before this probe finished".to_string()
                }
                ProgramEnd::Failed(reason) => format!("no evidence: {reason}"),
            };
            return (Status::Unknown, why, json!({"probe": check.probe}));
        };
        if !line.ok {
            let error = line.error.clone().unwrap_or_default();
            return (
                Status::Unknown,
                format!("probe failed: {}", one_line(&error)),
                json!({"probe": check.probe, "error": error}),
            );
        }
        let data = line.data();
        if !data.is_object() {
            return (
                Status::Unknown,
                "evidence not understood: the probe's data is not an object".to_string(),
                raw(data),
            );
        }
        let ctx = Ctx::new(settings, facts, &self.lines, line);
        match judge::run(check.id, &ctx, data) {
            Ok(v) => (v.status, v.summary, v.evidence),
            Err(why) => (
                Status::Unknown,
                format!("evidence not understood: {}", why.0),
                raw(data),
            ),
        }
    }
}

/// The first line of a message, at most 300 characters.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    first.chars().take(300).collect()
}

/// Raw data for an `unknown` result, when small enough to be worth showing.
fn raw(data: Json<'_>) -> Value {
    let data = data.to_value();
    let text = data.to_string();
    if text.len() <= MAX_RAW_EVIDENCE_BYTES {
        json!({"raw": data})
    } else {
        json!({"raw_bytes": text.len()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::{Program, Selection};

    fn program(include: &[&str]) -> Program {
        Program::assemble(&Selection {
            include: include.iter().map(|s| s.to_string()).collect(),
            ..Selection::default()
        })
        .expect("valid selection")
    }

    fn context_line(is_admin: bool, culture: &str) -> String {
        json!({"id": "host.context", "ok": true, "error": null, "collected_utc": "2025-06-01T12:00:00.0000000Z", "ps": "5.1.20348.2652",
               "data": {"caption": "Microsoft Windows Server 2022 Standard", "version": "10.0.20348", "build": 20348, "ubr": 2700,
                        "installation_type": "Server", "edition_id": "ServerStandard", "product_type": 3, "os_arch": "64-bit",
                        "ps_version": "5.1.20348.2652", "clr_version": "4.0.30319.42000", "is_admin": is_admin, "user": "WIN\\scan",
                        "culture": culture, "ui_culture": culture, "part_of_domain": false, "domain_role": 2,
                        "last_boot_utc": "2025-05-01T00:00:00.0000000Z", "utc_now": "2025-06-01T12:00:00.0000000Z"}})
        .to_string()
    }

    fn services_line() -> String {
        let svc = |name: &str, mode: &str, state: &str| {
            json!({"name": name, "present": true, "expected_start_mode": mode, "start_mode": mode,
            "start_value": if mode == "Auto" { 2 } else { 3 }, "delayed_auto_start": null, "state": state, "status": "OK", "start_name": "LocalSystem", "exit_code": 0})
        };
        json!({"id": "svc.rpcss_startup", "ok": true, "error": null, "collected_utc": "2025-06-01T12:00:01.0000000Z", "ps": "5.1",
               "data": {"services": [svc("RpcSs", "Auto", "Running"), svc("EventSystem", "Auto", "Running"), svc("SENS", "Auto", "Running"),
                                     svc("VSS", "Manual", "Stopped"), svc("swprv", "Manual", "Stopped"), svc("wbengine", "Manual", "Stopped")]}})
        .to_string()
    }

    fn status_of(results: &[CheckResult], id: &str) -> Status {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.status)
            .expect("result present")
    }

    #[test]
    fn every_selected_check_gets_exactly_one_result_in_run_order() {
        let prog = program(&["svc.*", "host.context"]);
        let mut ev = prog.collector();
        ev.accept_line(&context_line(true, "en-US"));
        ev.accept_line(&services_line());
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        let ids: Vec<&str> = results.iter().map(|r| r.id.as_ref()).collect();
        assert_eq!(ids, prog.check_ids());
        assert!(
            results.iter().all(|r| r.status == Status::Pass),
            "{results:#?}"
        );
    }

    #[test]
    fn noise_lines_are_skipped_and_the_first_line_per_probe_wins() {
        let prog = program(&["svc.vss_startup"]);
        let mut ev = prog.collector();
        ev.accept_line("WARNING: something localized");
        ev.accept_line("#< CLIXML");
        ev.accept_line("{not json");
        ev.accept_line("[1,2]");
        ev.accept_line(&format!("\u{feff}{}\r", services_line()));
        let mut second: Value = serde_json::from_str(&services_line()).expect("json");
        second["data"]["services"][3]["start_mode"] = json!("Disabled");
        ev.accept_line(&second.to_string());
        assert_eq!(ev.received(), 1);
        assert!(ev.ignored() >= 4);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(status_of(&results, "svc.vss_startup"), Status::Pass);
    }

    #[test]
    fn missing_probe_line_is_unknown_with_the_timeout_reason() {
        let prog = program(&["svc.vss_startup", "dotnet.version"]);
        let mut ev = prog.collector();
        ev.accept_line(&services_line());
        let results = ev.judge(&Settings::default(), ProgramEnd::TimedOut);
        let r = results
            .iter()
            .find(|r| r.id == "dotnet.version")
            .expect("present");
        assert_eq!(r.status, Status::Unknown);
        assert_eq!(
            r.summary,
            "no evidence: the host timed out before this probe finished"
        );
        let ev = prog.collector();
        let results = ev.judge(
            &Settings::default(),
            ProgramEnd::Failed("connection reset".into()),
        );
        assert!(
            results
                .iter()
                .all(|r| r.status == Status::Unknown && r.summary.contains("connection reset"))
        );
    }

    #[test]
    fn probe_error_is_unknown_with_the_error_text() {
        let prog = program(&["dotnet.version"]);
        let mut ev = prog.collector();
        ev.accept_line(r#"{"id":"dotnet.version","ok":false,"error":"Access is denied","collected_utc":"2025-06-01T12:00:00Z","ps":"5.1","data":null}"#);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(results[0].status, Status::Unknown);
        assert!(
            results[0].summary.contains("Access is denied"),
            "{}",
            results[0].summary
        );
    }

    #[test]
    fn envelope_without_boolean_ok_is_not_trusted() {
        let prog = program(&["dotnet.version"]);
        let mut ev = prog.collector();
        ev.accept_line(r#"{"id":"dotnet.version","ok":"yes please","data":{"full_key_present":true,"release":528449,"version":"4.8"}}"#);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(results[0].status, Status::Unknown);
    }

    const DOTNET_OK: &str = r#"{"full_key_present":true,"release":528449,"version":"4.8"}"#;

    fn judge_dotnet(lines: &[String]) -> (usize, CheckResult) {
        let prog = program(&["dotnet.version"]);
        let mut ev = prog.collector();
        for line in lines {
            ev.accept_line(line);
        }
        let received = ev.received();
        let mut results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        (received, results.remove(0))
    }

    #[test]
    fn data_that_is_not_an_object_is_unknown_with_the_raw_value() {
        let (_, r) =
            judge_dotnet(&[r#"{"id":"dotnet.version","ok":true,"data":[1,"two"]}"#.into()]);
        assert_eq!(r.status, Status::Unknown);
        assert_eq!(
            r.summary,
            "evidence not understood: the probe's data is not an object"
        );
        assert_eq!(r.evidence, json!({"raw": [1, "two"]}));
    }

    #[test]
    fn missing_data_is_null_and_only_the_exact_key_is_data() {
        for line in [
            r#"{"id":"dotnet.version","ok":true}"#.to_string(),
            format!(r#"{{"id":"dotnet.version","ok":true,"Data":{DOTNET_OK}}}"#),
        ] {
            let (received, r) = judge_dotnet(&[line]);
            assert_eq!(received, 1);
            assert_eq!(r.status, Status::Unknown);
            assert_eq!(r.evidence, json!({"raw": null}));
        }
    }

    #[test]
    fn repeated_keys_read_as_their_last_value() {
        let line = format!(
            r#"{{"id":"dotnet.version","ok":false,"data":{{"release":1}},"ok":true,"data":{DOTNET_OK}}}"#
        );
        let (_, r) = judge_dotnet(&[line]);
        assert_eq!(r.status, Status::Pass, "{}", r.summary);
        let line = format!(r#"{{"id":"dotnet.version","ok":true,"data":{DOTNET_OK},"data":7}}"#);
        let (_, r) = judge_dotnet(&[line]);
        assert_eq!(r.evidence, json!({"raw": 7}));
    }

    #[test]
    fn envelope_keys_in_another_case_count_when_the_exact_key_is_missing() {
        let line = format!(
            r#"{{"ID":"dotnet.version","Ok":false,"OK":true,"Collected_UTC":"2025-06-01T12:00:00Z","data":{DOTNET_OK}}}"#
        );
        let (received, r) = judge_dotnet(&[line]);
        assert_eq!(received, 1);
        // "OK" sorts before "Ok": a map of the line would yield it first.
        assert_eq!(r.status, Status::Pass, "{}", r.summary);
        let line = format!(r#"{{"id":"dotnet.version","OK":false,"ok":true,"data":{DOTNET_OK}}}"#);
        let (_, r) = judge_dotnet(&[line]);
        assert_eq!(r.status, Status::Pass, "the exact key wins: {}", r.summary);
    }

    #[test]
    fn line_the_json_parser_refuses_does_not_take_its_probes_place() {
        let (received, r) = judge_dotnet(&[
            r#"{"id":"dotnet.version","ok":true,"data":{"release":1e400}}"#.into(),
            r#"{"id":"dotnet.version","ok":true,"data":{"release":"\ud800"}}"#.into(),
            format!(r#"{{"id":"dotnet.version","ok":true,"data":{DOTNET_OK}}}"#),
        ]);
        assert_eq!(received, 1);
        assert_eq!(r.status, Status::Pass, "{}", r.summary);
    }

    #[test]
    fn oversized_line_becomes_its_probes_failure() {
        let prog = program(&["dotnet.version"]);
        let mut ev = prog.collector();
        let big = format!(
            r#"{{"id":"dotnet.version","ok":true,"data":{{"pad":"{}"}}}}"#,
            "x".repeat(MAX_LINE_BYTES)
        );
        ev.accept_line(&big);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(results[0].status, Status::Unknown);
        assert!(results[0].summary.contains("cap"), "{}", results[0].summary);
    }

    #[test]
    fn mars_only_checks_are_not_applicable_without_mars() {
        let prog = program(&["mars.*"]);
        let mut ev = prog.collector();
        ev.accept_line(&context_line(true, "en-US"));
        ev.accept_line(r#"{"id":"mars.installed","ok":true,"error":null,"data":{"setup_key_present":false,"install_path":null,"cbengine_path":null,"cbengine_exists":false,"file_version":null,"version":null,"uninstall_display_name":null,"uninstall_display_version":null,"uninstall_key":null}}"#);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(status_of(&results, "mars.installed"), Status::Fail);
        for r in results.iter().filter(|r| r.id != "mars.installed") {
            assert_eq!(r.status, Status::NotApplicable, "{}", r.id);
        }
    }

    #[test]
    fn admin_only_checks_are_unknown_when_not_elevated() {
        let prog = program(&["acl.*", "svc.vss_startup"]);
        let mut ev = prog.collector();
        ev.accept_line(&context_line(false, "en-US"));
        ev.accept_line(&services_line());
        ev.accept_line(r#"{"id":"acl.svi_system_full_control","ok":true,"data":{"path":"C:\\System Volume Information","exists":true,"readable":true,"read_error":null,"owner_sid":"S-1-5-18","system_full_control":true,"system_deny":false,"aces":[],"icacls_text":null}}"#);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        let acl = results
            .iter()
            .find(|r| r.id == "acl.svi_system_full_control")
            .expect("acl");
        assert_eq!(acl.status, Status::Unknown);
        assert!(acl.summary.starts_with("not elevated"), "{}", acl.summary);
        assert_eq!(status_of(&results, "svc.vss_startup"), Status::Pass);
    }

    #[test]
    fn catalogue_document_probe_names_are_accepted_as_aliases() {
        let prog = program(&["svc.vss_startup"]);
        let mut ev = prog.collector();
        let line = services_line().replace("\"svc.rpcss_startup\"", "\"svc.dependencies\"");
        ev.accept_line(&line);
        assert!(ev.is_complete() || ev.received() == 1);
        let results = ev.judge(&Settings::default(), ProgramEnd::Completed);
        assert_eq!(results[0].status, Status::Pass);
    }

    #[test]
    fn probe_errors_make_every_check_unknown_never_pass() {
        let prog = Program::assemble(&Selection::all(true)).expect("valid");
        let mut ev = prog.collector();
        for id in prog.probe_ids() {
            ev.accept_line(&json!({"id": id, "ok": false, "error": "Access is denied.", "collected_utc": "2025-06-01T12:00:00Z", "ps": "5.1.17763.6414", "data": null}).to_string());
        }
        assert!(ev.is_complete());
        for r in ev.judge(&Settings::default(), ProgramEnd::Completed) {
            assert_eq!(r.status, Status::Unknown, "{}", r.id);
            assert!(
                r.summary.contains("Access is denied."),
                "{}: {}",
                r.id,
                r.summary
            );
        }
    }

    #[test]
    fn silent_host_gives_one_unknown_per_check() {
        let prog = Program::assemble(&Selection::all(false)).expect("valid");
        let results = prog
            .collector()
            .judge(&Settings::default(), ProgramEnd::TimedOut);
        assert_eq!(results.len(), prog.check_ids().len());
        assert!(
            results
                .iter()
                .all(|r| r.status == Status::Unknown && r.summary.contains("timed out"))
        );
    }

    #[test]
    fn non_english_host_switches_vssadmin_parsing_to_locale_independent_tokens() {
        let writers = |culture: &str| {
            let prog = Program::assemble(&Selection {
                include: vec!["vss.writers".into()],
                exclude: vec![],
                deep: true,
            })
            .expect("valid");
            let mut ev = prog.collector();
            ev.accept_line(&context_line(true, culture));
            let w = |name: &str, id: &str| json!({"name": name, "writer_id": id, "instance_id": null, "state": 1, "state_text": "Stabil", "last_error": "Kein Fehler"});
            ev.accept_line(&json!({"id": "vss.writers", "ok": true, "error": null, "data": {"exit_code": 0, "timed_out": false, "writer_count": 2,
                "writers": [w("System Writer", "e8132975-6f93-4464-a53e-1050253ae220"), w("Registry Writer", "afbab4a2-367d-4d15-a586-71dbb18f8485")],
                "stderr": "", "raw_head": ""}}).to_string());
            ev.judge(&Settings::default(), ProgramEnd::Completed)
                .remove(0)
                .status
        };
        assert_eq!(
            writers("de-DE"),
            Status::Pass,
            "German 'no error' text is learnt from the stable writers"
        );
        assert_eq!(
            writers("en-US"),
            Status::Fail,
            "on an English host anything but 'No error' is an error"
        );
    }
}
