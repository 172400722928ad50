//! One host as the writers see it: every field of [`HostReport`], text borrowed
//! where it can be, and each check's evidence as its compact JSON text instead of
//! a `serde_json::Value` tree.
//!
//! Why not `&HostReport`: after a scan the hosts are read back from the journal,
//! and parsing each host's evidence into `Value` trees (thousands of small
//! allocations per host) only for every writer to serialise them again would
//! cost more than the writing itself. A view parsed from a journal line borrows
//! the line's text and keeps the evidence exactly as it was serialised, so the
//! JSON report, the CSV cells, the HTML and the JUnit bodies all copy it.
//! [`HostView::of`] makes the same view of an in-memory [`HostReport`]
//! (`report --from`, tests), so every format has one writer.
//!
//! Serialised, a view is byte for byte the `HostReport` it shows (same fields,
//! order and skip rules; pinned by tests).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::model::{AppliedWaiver, CheckResult, HostReport, Outcome, Severity, Status};

/// A [`HostReport`] for the writers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostView<'a> {
    /// The inventory name of the host.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// What we connected to, with the port.
    #[serde(borrow)]
    pub address: Cow<'a, str>,
    /// Inventory groups the host belongs to.
    pub groups: Vec<Cow<'a, str>>,
    /// How the scan of this host ended.
    pub outcome: Outcome,
    /// For outcomes other than `scanned`: what went wrong and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
    /// When the host's scan started.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// How long the host took, in milliseconds.
    pub duration_ms: u64,
    /// HTTP requests sent to this host.
    #[serde(default)]
    pub requests: u32,
    /// The checks' results.
    #[serde(borrow)]
    pub checks: Vec<CheckView<'a>>,
    /// This view serialised, when the caller has that text at hand and nothing
    /// changed the view since (a journal line read back before any waiver
    /// applied): the JSON report copies it instead of serialising the view again.
    /// Whoever changes a field of a view must clear it.
    #[serde(skip)]
    pub serialised: Option<&'a str>,
}

/// A [`CheckResult`] for the writers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckView<'a> {
    /// Stable check id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Human title.
    #[serde(borrow)]
    pub title: Cow<'a, str>,
    /// Section of Microsoft's article.
    #[serde(borrow)]
    pub seed_section: Cow<'a, str>,
    /// How bad a failure is.
    pub severity: Severity,
    /// The verdict.
    pub status: Status,
    /// One line saying what was seen.
    #[serde(borrow)]
    pub summary: Cow<'a, str>,
    /// The evidence as compact JSON text (`null` when there is none).
    #[serde(borrow, deserialize_with = "borrow_raw")]
    pub evidence: Cow<'a, RawValue>,
    /// What to do about a failure.
    #[serde(borrow)]
    pub remediation: Cow<'a, str>,
    /// Set when a waiver accepted this check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<AppliedWaiver>,
}

fn borrow_raw<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Cow<'a, RawValue>, D::Error> {
    <&'a RawValue>::deserialize(d).map(Cow::Borrowed)
}

impl<'a> HostView<'a> {
    /// The view of an in-memory host: text borrowed, evidence serialised once.
    pub fn of(host: &'a HostReport) -> HostView<'a> {
        // Destructured without `..` so that a field added to HostReport cannot be
        // forgotten here (the JSON report is written from views).
        let HostReport {
            name,
            address,
            groups,
            outcome,
            error,
            started,
            duration_ms,
            requests,
            checks,
        } = host;
        HostView {
            name: Cow::Borrowed(name.as_str()),
            address: Cow::Borrowed(address.as_str()),
            groups: groups.iter().map(|g| Cow::Borrowed(g.as_str())).collect(),
            outcome: *outcome,
            error: error.as_deref().map(Cow::Borrowed),
            started: *started,
            duration_ms: *duration_ms,
            requests: *requests,
            checks: checks.iter().map(CheckView::of).collect(),
            serialised: None,
        }
    }

    /// True when a check fails and no waiver accepted it.
    pub fn has_unwaived_failure(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.status == Status::Fail && c.waived.is_none())
    }

    /// The [`HostReport`] this view shows (evidence parsed back into a value).
    ///
    /// # Errors
    /// Evidence text that is not JSON (only possible for a view built by hand).
    pub fn to_report(&self) -> serde_json::Result<HostReport> {
        Ok(HostReport {
            name: self.name.to_string(),
            address: self.address.to_string(),
            groups: self.groups.iter().map(ToString::to_string).collect(),
            outcome: self.outcome,
            error: self.error.as_ref().map(ToString::to_string),
            started: self.started,
            duration_ms: self.duration_ms,
            requests: self.requests,
            checks: self
                .checks
                .iter()
                .map(CheckView::to_result)
                .collect::<serde_json::Result<_>>()?,
        })
    }
}

impl<'a> CheckView<'a> {
    /// The view of an in-memory check result.
    pub fn of(check: &'a CheckResult) -> CheckView<'a> {
        let CheckResult {
            id,
            title,
            seed_section,
            severity,
            status,
            summary,
            evidence,
            remediation,
            waived,
        } = check;
        CheckView {
            id: Cow::Borrowed(&**id),
            title: Cow::Borrowed(&**title),
            seed_section: Cow::Borrowed(&**seed_section),
            severity: *severity,
            status: *status,
            summary: Cow::Borrowed(summary.as_str()),
            // Serialising a Value cannot fail (its map keys are strings).
            evidence: serde_json::value::to_raw_value(evidence)
                .map_or(Cow::Borrowed(RawValue::NULL), Cow::Owned),
            remediation: Cow::Borrowed(&**remediation),
            waived: waived.clone(),
        }
    }

    /// The evidence as compact JSON text.
    pub fn evidence_text(&self) -> &str {
        self.evidence.get()
    }

    fn to_result(&self) -> serde_json::Result<CheckResult> {
        Ok(CheckResult {
            id: Cow::Owned(self.id.to_string()),
            title: Cow::Owned(self.title.to_string()),
            seed_section: Cow::Owned(self.seed_section.to_string()),
            severity: self.severity,
            status: self.status,
            summary: self.summary.to_string(),
            evidence: serde_json::from_str(self.evidence.get())?,
            remediation: Cow::Owned(self.remediation.to_string()),
            waived: self.waived.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn a_view_serialises_byte_for_byte_as_its_host_report() {
        for report in [sample::fixed_report(), sample::synthetic(40, 42, 5)] {
            for host in &report.hosts {
                let want = serde_json::to_string(host).unwrap();
                let view = HostView::of(host);
                assert_eq!(serde_json::to_string(&view).unwrap(), want);
                let parsed: HostView<'_> = serde_json::from_str(&want).unwrap();
                assert_eq!(serde_json::to_string(&parsed).unwrap(), want);
                assert_eq!(&parsed.to_report().unwrap(), host);
            }
        }
    }

    #[test]
    fn a_parsed_view_borrows_plain_text_and_keeps_evidence_verbatim() {
        let line = r#"{"name":"web01","address":"10.0.0.1:5985","groups":[],"outcome":"scanned","started":"2026-11-24T20:00:01Z","duration_ms":5,"requests":6,"checks":[{"id":"svc.vss_startup","title":"VSS","seed_section":"S","severity":"critical","status":"fail","summary":"a \"quoted\" word","evidence":{"x":[1,2.5,"\u00e9"]},"remediation":"r"}]}"#;
        let view: HostView<'_> = serde_json::from_str(line).unwrap();
        assert!(matches!(view.name, Cow::Borrowed(_)));
        let check = &view.checks[0];
        assert!(matches!(check.remediation, Cow::Borrowed(_)));
        assert_eq!(check.summary, "a \"quoted\" word");
        assert_eq!(check.evidence_text(), r#"{"x":[1,2.5,"\u00e9"]}"#);
    }
}
