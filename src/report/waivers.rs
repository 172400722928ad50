//! Waivers: failures and warnings the owners have accepted, with a reason and an
//! optional last day. A waived check keeps its status, is marked `waived` in
//! every format and does not fail the run ([`super::model::HostReport::has_unwaived_failure`]).
//!
//! The file is YAML or CSV (by extension: `.csv`, else YAML; a file whose first
//! line is a CSV header starting with `host,` is read as CSV too). Fields:
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `host` | yes | host name glob (`*`, `?`; case-insensitive), e.g. `web*` |
//! | `check` | yes | check id or glob, e.g. `svc.vss_startup`, `mars.*` |
//! | `justification` | yes | why the failure is accepted (not empty) |
//! | `expires` | no | last day the waiver applies, `YYYY-MM-DD`; none = permanent |
//!
//! ```yaml
//! - host: "dc*"
//!   check: svc.vss_startup
//!   justification: "CHG-1234: VSS disabled until the SAN agent is replaced"
//!   expires: 2026-12-31
//! ```
//!
//! YAML may also put the list under a top-level `waivers:` key. Anything else (an
//! unknown field, a bad date, a missing justification, broken YAML or CSV) is a
//! [`ReportError::Waiver`] with the file and line, raised when the file is
//! loaded, i.e. before any host is contacted.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;
use time::Date;
use time::macros::format_description;
use wildmatch::WildMatch;

use super::ReportError;
use super::digest::FleetDigest;
use super::model::{AppliedWaiver, FleetReport, HostReport, ScanMeta, Status};
use super::view::HostView;

/// Largest waiver file read (a waiver file is hand-written; anything bigger is a mistake).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One waiver, validated.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// Host name pattern as written.
    pub host: String,
    /// Check id pattern as written.
    pub check: String,
    /// Why the failure is accepted.
    pub justification: String,
    /// Last day the waiver applies; `None` = permanent.
    pub expires: Option<Date>,
    /// Line of the entry in its file (1-based).
    pub line: u64,
    host_glob: WildMatch,
    check_glob: WildMatch,
}

impl Waiver {
    /// True when the waiver still applies on `today` (its last day included).
    pub fn is_active(&self, today: Date) -> bool {
        self.expires.is_none_or(|last| today <= last)
    }

    /// True when the waiver's patterns match this host name and check id.
    pub fn matches(&self, host: &str, check: &str) -> bool {
        self.host_glob.matches(host) && self.check_glob.matches(check)
    }

    /// What a check this waiver accepts is marked with.
    fn applied(&self) -> AppliedWaiver {
        AppliedWaiver {
            reason: self.justification.clone(),
            expires: self.expires.map(format_date),
        }
    }

    /// The `meta.expired_waivers` entry: `pattern check_id expires (file:line)`.
    fn expired_entry(&self, file: &Path) -> String {
        format!(
            "{} {} {} ({}:{})",
            self.host,
            self.check,
            self.expires.map(format_date).unwrap_or_default(),
            file.display(),
            self.line
        )
    }
}

fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The waivers of one file.
#[derive(Debug, Clone)]
pub struct Waivers {
    path: PathBuf,
    entries: Vec<Waiver>,
}

/// An entry as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    host: Option<String>,
    check: Option<String>,
    justification: Option<String>,
    expires: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    waivers: Vec<Spanned<RawWaiver>>,
}

impl Waivers {
    /// Reads and validates the waiver file at `path`.
    ///
    /// # Errors
    /// [`ReportError::Read`] when the file cannot be read, [`ReportError::Waiver`]
    /// (file and line) when it is malformed.
    pub fn load(path: &Path) -> Result<Waivers, ReportError> {
        let read_err = |source| ReportError::Read {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_err)?.len();
        if size > MAX_FILE_BYTES {
            return Err(ReportError::Waiver {
                path: path.to_owned(),
                line: 0,
                message: format!(
                    "the file has {size} bytes, more than the {MAX_FILE_BYTES} a waiver file may have"
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            || text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .is_some_and(|l| l.trim_start_matches('\u{feff}').starts_with("host,"));
        if is_csv {
            Waivers::from_csv(&text, path)
        } else {
            Waivers::from_yaml(&text, path)
        }
    }

    /// Parses YAML waiver text; `path` names the origin in errors.
    ///
    /// # Errors
    /// [`ReportError::Waiver`] with the line of the problem.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Waivers, ReportError> {
        let error = |line: u64, message: String| ReportError::Waiver {
            path: path.to_owned(),
            line,
            message,
        };
        let yaml_error = |e: serde_saphyr::Error| {
            let line = e.location().map_or(0, |l| l.line());
            error(
                line,
                format!(
                    "{}; each waiver is a mapping of host, check, justification and optional expires",
                    yaml_message(&e.to_string())
                ),
            )
        };
        let text = text.trim_start_matches('\u{feff}');
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
        if only_comments {
            return Ok(Waivers {
                path: path.to_owned(),
                entries: Vec::new(),
            });
        }
        let top_is_mapping = text
            .lines()
            .map(str::trim_end)
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && *l != "---")
            .is_some_and(|l| !l.trim_start().starts_with('-'));
        let raw: Vec<Spanned<RawWaiver>> = if top_is_mapping {
            serde_saphyr::from_str::<RawFile>(text)
                .map_err(yaml_error)?
                .waivers
        } else {
            serde_saphyr::from_str(text).map_err(yaml_error)?
        };
        let entries = raw
            .into_iter()
            .map(|s| {
                let line = s.referenced.line();
                validate(s.value, line).map_err(|m| error(line, m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Waivers {
            path: path.to_owned(),
            entries,
        })
    }

    /// Parses CSV waiver text (header `host,check,justification,expires`; `expires`
    /// optional); `path` names the origin in errors.
    ///
    /// # Errors
    /// [`ReportError::Waiver`] with the line of the problem.
    pub fn from_csv(text: &str, path: &Path) -> Result<Waivers, ReportError> {
        let error = |line: u64, message: String| ReportError::Waiver {
            path: path.to_owned(),
            line,
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header = reader
            .headers()
            .map_err(|e| error(1, format!("malformed CSV header: {e}")))?
            .clone();
        let mut columns = [None; 4];
        for (i, name) in header.iter().enumerate() {
            let slot = match name {
                "host" => 0,
                "check" => 1,
                "justification" => 2,
                "expires" => 3,
                other => {
                    return Err(error(
                        1,
                        format!(
                            "unknown column `{other}`; the columns are host, check, justification, expires"
                        ),
                    ));
                }
            };
            columns[slot] = Some(i);
        }
        let mut entries = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, csv::Position::line);
                error(line, format!("malformed CSV: {e}"))
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let field = |slot: usize| {
                columns[slot]
                    .and_then(|i| record.get(i))
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let raw = RawWaiver {
                host: field(0),
                check: field(1),
                justification: field(2),
                expires: field(3),
            };
            entries.push(validate(raw, line).map_err(|m| error(line, m))?);
        }
        Ok(Waivers {
            path: path.to_owned(),
            entries,
        })
    }

    /// The waivers, in file order.
    pub fn entries(&self) -> &[Waiver] {
        &self.entries
    }

    /// The file the waivers came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks every failing or warning check of `report` that an active waiver
    /// matches (the first matching waiver in file order wins) and lists the
    /// expired waivers in `report.meta.expired_waivers`. Statuses are unchanged.
    /// Returns how many checks were waived. Applying twice changes nothing more.
    pub fn apply(&self, report: &mut FleetReport, today: Date) -> usize {
        let on = self.on(today);
        on.list_expired(&mut report.meta);
        report.hosts.iter_mut().map(|h| on.apply_to_host(h)).sum()
    }

    /// The waivers as they stand on `today`: what [`Waivers::apply`] applies,
    /// usable one host at a time (a scan applies them to its digest, then to
    /// each host as the writers read it back).
    pub fn on(&self, today: Date) -> WaiversOn<'_> {
        let (active, expired): (Vec<&Waiver>, Vec<&Waiver>) =
            self.entries.iter().partition(|w| w.is_active(today));
        WaiversOn {
            active,
            expired: expired
                .into_iter()
                .map(|w| w.expired_entry(&self.path))
                .collect(),
        }
    }
}

/// [`Waivers`] on one day: the active ones, and the expired ones as listed in
/// `meta.expired_waivers`. Every way of applying them goes through
/// [`WaiversOn::waiver_for`], so the digest and the full hosts always agree.
#[derive(Debug, Clone)]
pub struct WaiversOn<'w> {
    active: Vec<&'w Waiver>,
    expired: Vec<String>,
}

impl WaiversOn<'_> {
    /// The waiver that accepts a check of `status` with id `check` on `host`:
    /// only failures and warnings are waived, the first match in file order wins.
    pub fn waiver_for(&self, host: &str, check: &str, status: Status) -> Option<&Waiver> {
        if !matches!(status, Status::Fail | Status::Warn) {
            return None;
        }
        self.active.iter().copied().find(|w| w.matches(host, check))
    }

    /// Adds the expired waivers to `meta.expired_waivers` (once each).
    pub fn list_expired(&self, meta: &mut ScanMeta) {
        for entry in &self.expired {
            if !meta.expired_waivers.contains(entry) {
                meta.expired_waivers.push(entry.clone());
            }
        }
    }

    /// Marks the waived checks of one host; returns how many.
    pub fn apply_to_host(&self, host: &mut HostReport) -> usize {
        let checks = host
            .checks
            .iter_mut()
            .map(|c| (&*c.id, c.status, &mut c.waived));
        self.mark(&host.name, checks)
    }

    /// [`Self::apply_to_host`] for a host the writers are reading.
    pub fn apply_to_view(&self, host: &mut HostView<'_>) -> usize {
        let checks = host
            .checks
            .iter_mut()
            .map(|c| (&*c.id, c.status, &mut c.waived));
        self.mark(&host.name, checks)
    }

    /// Marks each not-yet-waived (check id, status, waiver slot) of `host` that an
    /// active waiver covers; returns how many. One rule for reports and views.
    fn mark<'c>(
        &self,
        host: &str,
        checks: impl Iterator<Item = (&'c str, Status, &'c mut Option<AppliedWaiver>)>,
    ) -> usize {
        let mut waived = 0;
        for (id, status, slot) in checks {
            if slot.is_some() {
                continue;
            }
            if let Some(w) = self.waiver_for(host, id, status) {
                *slot = Some(w.applied());
                waived += 1;
            }
        }
        waived
    }

    /// Marks the waived checks in a digest; returns how many.
    pub fn apply_to_digest(&self, digest: &mut FleetDigest) -> usize {
        let mut waived = 0;
        let FleetDigest { kinds, hosts } = digest;
        for host in hosts {
            for mark in &mut host.checks {
                if mark.waived {
                    continue;
                }
                if self
                    .waiver_for(&host.name, &kinds.get(mark.kind).id, mark.status)
                    .is_some()
                {
                    mark.waived = true;
                    waived += 1;
                }
            }
        }
        waived
    }
}

/// The crate's message without its `error: line L column C: ` prefix and snippet
/// (our error carries the file and line already).
fn yaml_message(message: &str) -> &str {
    let first = message.lines().next().unwrap_or("malformed YAML");
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    match rest.strip_prefix("line ") {
        Some(tail) if tail.contains(" column ") => tail.split_once(": ").map_or(rest, |(_, m)| m),
        _ => rest,
    }
}

fn validate(raw: RawWaiver, line: u64) -> Result<Waiver, String> {
    let required = |value: Option<String>, name: &str, example: &str| {
        value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("waiver has no `{name}`; add e.g. `{name}: {example}`"))
    };
    let host = required(raw.host, "host", "\"web*\"")?;
    let check = required(raw.check, "check", "svc.vss_startup")?;
    let justification = required(
        raw.justification,
        "justification",
        "\"CHG-1234: accepted until the migration\"",
    )?;
    let expires = match raw.expires.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
                format!("expires `{text}` is not a date; write it as YYYY-MM-DD, e.g. 2026-12-31")
            })?,
        ),
    };
    Ok(Waiver {
        host_glob: WildMatch::new_case_insensitive(&host),
        check_glob: WildMatch::new(&check),
        host,
        check,
        justification,
        expires,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;
    use time::macros::date;

    fn yaml(text: &str) -> Result<Waivers, ReportError> {
        Waivers::from_yaml(text, Path::new("w.yaml"))
    }

    fn line_of(err: ReportError) -> (u64, String) {
        match err {
            ReportError::Waiver { line, message, .. } => (line, message),
            other => panic!("not a waiver error: {other}"),
        }
    }

    const GOOD: &str = "\
# accepted failures
- host: \"=HYPERLINK*\"
  check: svc.vss_startup
  justification: CHG-1 VSS disabled on purpose
  expires: 2026-12-31
- host: WEB01*
  check: vss.*
  justification: noisy writer
- host: \"*\"
  check: wsb.feature_installed
  justification: old exception
  expires: 2025-01-31
";

    #[test]
    fn waiver_marks_matching_failures_and_warnings_without_changing_status() {
        let mut report = sample::fixed_report();
        for h in &mut report.hosts {
            for c in &mut h.checks {
                c.waived = None;
            }
        }
        let waivers = yaml(GOOD).unwrap();
        let n = waivers.apply(&mut report, date!(2026 - 11 - 24));
        assert_eq!(n, 2);
        let dc = &report.hosts[1].checks[1];
        assert_eq!(dc.status, Status::Fail);
        assert_eq!(
            dc.waived,
            Some(AppliedWaiver {
                reason: "CHG-1 VSS disabled on purpose".into(),
                expires: Some("2026-12-31".into())
            })
        );
        let warn = &report.hosts[0].checks[2];
        assert_eq!((warn.status, warn.waived.is_some()), (Status::Warn, true));
        // A passing check matched by a pattern is left alone.
        assert!(report.hosts[1].checks[2].waived.is_none());
    }

    #[test]
    fn expired_waiver_no_longer_applies_and_is_listed() {
        let mut report = sample::fixed_report();
        let waivers = yaml(GOOD).unwrap();
        waivers.apply(&mut report, date!(2026 - 11 - 24));
        assert!(
            report.hosts[1].checks[0].waived.is_none(),
            "expired on 2025-01-31"
        );
        assert_eq!(
            report.meta.expired_waivers,
            ["* wsb.feature_installed 2025-01-31 (w.yaml:9)"]
        );
        waivers.apply(&mut report, date!(2026 - 11 - 24));
        assert_eq!(
            report.meta.expired_waivers.len(),
            1,
            "applying twice lists once"
        );
    }

    #[test]
    fn waiver_applies_on_its_last_day_and_not_after() {
        let w = yaml(GOOD).unwrap();
        let first = &w.entries()[0];
        assert!(first.is_active(date!(2026 - 12 - 31)));
        assert!(!first.is_active(date!(2027 - 01 - 01)));
    }

    #[test]
    fn waived_failure_makes_the_run_pass() {
        let mut report = sample::fixed_report();
        report.hosts.retain(|h| h.name.starts_with("web01"));
        assert_eq!(report.exit_status().code(), 1);
        let w = yaml("- host: web01*\n  check: svc.vss_startup\n  justification: ok\n").unwrap();
        w.apply(&mut report, date!(2026 - 11 - 24));
        assert_eq!(report.exit_status().code(), 0);
    }

    #[test]
    fn waivers_may_sit_under_a_waivers_key() {
        let w = yaml("waivers:\n  - host: a\n    check: b\n    justification: c\n").unwrap();
        assert_eq!(w.entries().len(), 1);
        assert_eq!(w.entries()[0].line, 2);
    }

    #[test]
    fn empty_or_comment_only_file_has_no_waivers() {
        for text in ["", "\n", "# none yet\n", "\u{feff}---\n# none\n"] {
            assert!(yaml(text).unwrap().entries().is_empty(), "{text:?}");
        }
        assert_eq!(
            yaml("\u{feff}- host: a\n  check: b\n  justification: c\n")
                .unwrap()
                .entries()
                .len(),
            1
        );
        assert_eq!(
            yaml("- host: a\r\n  check: b\r\n  justification: c\r\n")
                .unwrap()
                .entries()
                .len(),
            1
        );
    }

    #[test]
    fn missing_justification_names_the_line() {
        let err =
            yaml("- host: a\n  check: b\n  justification: x\n- host: c\n  check: d\n").unwrap_err();
        let (line, message) = line_of(err);
        assert_eq!(line, 4);
        assert!(message.contains("justification"), "{message}");
    }

    #[test]
    fn bad_date_names_the_line() {
        let err =
            yaml("- host: a\n  check: b\n  justification: x\n  expires: 31/12/2026\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("w.yaml:1: expires `31/12/2026`"), "{text}");
        let err =
            yaml("- host: a\n  check: b\n  justification: x\n  expires: 2026-02-30\n").unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"));
    }

    #[test]
    fn unknown_field_names_the_line() {
        let err =
            yaml("- host: a\n  check: b\n  justification: x\n  expiry: 2026-01-01\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("w.yaml:4: unknown field `expiry`"),
            "{text}"
        );
    }

    #[test]
    fn broken_yaml_names_the_line() {
        let err = yaml("- host: a\n  check: [b\n  justification: x\n").unwrap_err();
        let (line, message) = line_of(err);
        assert!(line >= 2, "{line}: {message}");
    }

    #[test]
    fn csv_waivers_are_read_and_validated_with_lines() {
        let w = Waivers::from_csv(
            "host,check,justification,expires\nweb*,svc.*,CHG-9,2026-12-31\ndb*,wsb.summary,\"long, quoted\",\n",
            Path::new("w.csv"),
        )
        .unwrap();
        assert_eq!(w.entries().len(), 2);
        assert_eq!(w.entries()[1].justification, "long, quoted");
        assert_eq!(w.entries()[1].expires, None);
        let err = Waivers::from_csv(
            "host,check,justification\nweb*,svc.*,ok\ndb*,wsb.summary,\n",
            Path::new("w.csv"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("w.csv:3: waiver has no `justification`"),
            "{err}"
        );
        let err = Waivers::from_csv("host,check,reason\n", Path::new("w.csv")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("w.csv:1: unknown column `reason`"),
            "{err}"
        );
    }

    #[test]
    fn load_picks_the_format_and_reports_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("waivers.csv");
        std::fs::write(&csv, "host,check,justification\na,b,c\n").unwrap();
        assert_eq!(Waivers::load(&csv).unwrap().entries().len(), 1);
        let yml = dir.path().join("waivers.yml");
        std::fs::write(&yml, "- host: a\n  check: b\n").unwrap();
        let err = Waivers::load(&yml).unwrap_err().to_string();
        assert!(err.contains("waivers.yml:1:"), "{err}");
        let missing = Waivers::load(&dir.path().join("nope.yml")).unwrap_err();
        assert!(matches!(missing, ReportError::Read { .. }));
    }
}
