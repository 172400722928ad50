//! Golden tests of every report format on one fixed report
//! (`fleetscan::report::sample::fixed_report`), plus structural checks that do
//! not depend on the golden files: CSV injection cases, HTML parsed for hosts,
//! checks and external references, JUnit against the schema's required shape.
//!
//! Regenerate the golden files with `FLEETSCAN_UPDATE_GOLDEN=1 cargo test --test
//! report_formats` and review the diff like code.

use std::path::PathBuf;

use fleetscan::report::{self, FleetReport, sample};
use quick_xml::events::Event;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

/// Compares `actual` with the golden file `name` (or rewrites it on request).
fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("FLEETSCAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with FLEETSCAN_UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "(length)".to_owned(), |i| (i + 1).to_string());
        panic!(
            "{name} differs from the golden file at line {line}; review and regenerate with FLEETSCAN_UPDATE_GOLDEN=1"
        );
    }
}

fn render(write: fn(&FleetReport, &mut Vec<u8>) -> Result<(), report::ReportError>) -> String {
    let mut out = Vec::new();
    write(&sample::fixed_report(), &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

fn csv_text() -> String {
    render(|r, w| report::csv::write(r, w))
}

fn html_text() -> String {
    render(|r, w| report::html::write(r, w))
}

fn junit_text() -> String {
    render(|r, w| report::junit::write(r, w))
}

#[test]
fn csv_matches_golden_file() {
    assert_golden("fixed.csv", &csv_text());
}

#[test]
fn json_matches_golden_file() {
    assert_golden("fixed.json", &render(|r, w| report::json::write(r, w)));
}

#[test]
fn html_matches_golden_file() {
    assert_golden("fixed.html", &html_text());
}

#[test]
fn junit_matches_golden_file() {
    assert_golden("fixed.junit.xml", &junit_text());
}

#[test]
fn terminal_summary_matches_golden_files() {
    let report = sample::fixed_report();
    assert_golden(
        "fixed.summary.txt",
        &report::terminal::summary(&report, false),
    );
    assert_golden(
        "fixed.summary.ansi",
        &report::terminal::summary(&report, true),
    );
}

// ---- CSV ----

fn csv_rows() -> Vec<csv::StringRecord> {
    let text = csv_text();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader.records().map(|r| r.expect("valid CSV")).collect()
}

#[test]
fn csv_header_is_exactly_the_cli_md_columns() {
    let rows = csv_rows();
    let header: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        header,
        [
            "scan_id",
            "scanned_at",
            "host",
            "address",
            "groups",
            "outcome",
            "check_id",
            "title",
            "seed_section",
            "severity",
            "status",
            "summary",
            "evidence",
            "remediation",
            "waived",
            "waiver_reason",
            "waiver_expires"
        ]
    );
    assert!(rows.iter().all(|r| r.len() == 17));
}

#[test]
fn csv_has_a_row_per_check_and_one_per_host_without_checks() {
    let report = sample::fixed_report();
    let want: usize = report.hosts.iter().map(|h| h.checks.len().max(1)).sum();
    let rows = csv_rows();
    assert_eq!(rows.len() - 1, want);
    let unreachable: Vec<_> = rows.iter().filter(|r| &r[5] == "unreachable").collect();
    assert_eq!(unreachable.len(), 1);
    assert_eq!(
        &unreachable[0][10], "",
        "status is empty for a host not scanned"
    );
    assert!(unreachable[0][11].contains("connection refused"));
    let timeout: Vec<_> = rows.iter().filter(|r| &r[5] == "timeout").collect();
    assert_eq!(timeout.len(), 2, "a timed-out host keeps its check rows");
}

#[test]
fn csv_neutralises_formula_injection_from_the_remote_side() {
    let rows = csv_rows();
    let hosts: Vec<&str> = rows.iter().map(|r| r.get(2).unwrap_or("")).collect();
    assert!(hosts.contains(&"'=HYPERLINK(\"http://x\",\"y\")"));
    let summaries: Vec<&str> = rows.iter().map(|r| r.get(11).unwrap_or("")).collect();
    for want in [
        "'-2 writers timed out in event 8224",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "'\tESP not locked",
        "'+no writer timeouts in 30 days",
    ] {
        assert!(summaries.contains(&want), "{want:?} not in {summaries:?}");
    }
    let reasons: Vec<&str> = rows.iter().map(|r| r.get(15).unwrap_or("")).collect();
    assert!(reasons.contains(&"'=cmd|' /C calc'!A0 change CHG-1 pending"));
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']),
                "cell starts with a formula trigger: {cell:?}"
            );
        }
    }
}

#[test]
fn csv_cuts_over_long_cells_and_json_keeps_them_whole() {
    let rows = csv_rows();
    let long = rows
        .iter()
        .map(|r| r[12].to_owned())
        .find(|e| e.contains("AAAA"))
        .expect("long evidence row");
    assert_eq!(long.chars().count(), 32_767);
    assert!(
        long.ends_with("chars]") && long.contains("…[truncated "),
        "{}",
        &long[long.len() - 40..]
    );
    let json = render(|r, w| report::json::write(r, w));
    assert!(json.contains(&"A".repeat(40_000)));
}

#[test]
fn csv_evidence_is_compact_json() {
    let rows = csv_rows();
    assert!(rows.iter().any(|r| &r[12] == r#"{"InstallState":1}"#));
}

// ---- HTML ----

/// Every (tag, attribute name, attribute value) of a parsed HTML document, and its text.
///
/// The page is HTML5 with omitted end tags, which an XML parser cannot read; this
/// small tokenizer reads start tags and attributes (quoted or not) and the text
/// between tags, which is all the checks below need.
fn html_tokens(html: &str) -> (Vec<(String, String, String)>, String) {
    let mut attrs = Vec::new();
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        rest = &rest[open + 1..];
        let close = rest.find('>').expect("every tag is closed");
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if tag.starts_with('/') || tag.starts_with('!') {
            continue;
        }
        let name_end = tag.find([' ', '\n']).unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        let mut a = tag[name_end..].trim_start();
        while !a.is_empty() {
            let key_end = a.find(['=', ' ', '\n']).unwrap_or(a.len());
            let key = a[..key_end].to_ascii_lowercase();
            a = &a[key_end..];
            let value = if let Some(after) = a.strip_prefix('=') {
                if let Some(q) = after.strip_prefix('"') {
                    let end = q.find('"').expect("closing quote");
                    a = &q[end + 1..];
                    q[..end].to_owned()
                } else {
                    let end = after.find(' ').unwrap_or(after.len());
                    a = &after[end..];
                    after[..end].to_owned()
                }
            } else {
                String::new()
            };
            attrs.push((name.clone(), key, value));
            a = a.trim_start();
        }
        if name == "script" || name == "style" {
            let end = rest.find("</").expect("end of raw text element");
            rest = &rest[end..];
        }
    }
    text.push_str(rest);
    (attrs, text)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn html_names_every_host_and_check() {
    let html = html_text();
    let (_, text) = html_tokens(&html);
    let text = unescape(&text);
    let report = sample::fixed_report();
    for host in &report.hosts {
        assert!(text.contains(&host.name), "host {} missing", host.name);
        for check in &host.checks {
            assert!(
                text.contains(check.id.as_ref()),
                "check {} missing",
                check.id
            );
        }
        assert!(html.contains(
            &format!("id=h{}", report.hosts.iter().position(|h| h.name == host.name).unwrap())
        ));
    }
    assert!(
        text.contains("connection refused"),
        "the reason a host was not scanned"
    );
    assert!(text.contains("Ready for System State backup"));
    assert!(text.contains("16.7%"), "1 ready host of 6");
}

#[test]
fn html_has_no_external_reference() {
    let html = html_text();
    let (attrs, _) = html_tokens(&html);
    for (tag, key, value) in &attrs {
        assert_ne!(tag, "link", "no <link> elements");
        assert!(tag != "script" || key != "src", "no <script src>");
        assert!(
            tag != "img" && tag != "iframe" && tag != "object",
            "no {tag}"
        );
        if key == "src" || key == "href" || key == "action" || key == "srcset" {
            assert!(
                value.starts_with('#'),
                "{tag} {key}={value} is not an in-page link"
            );
        }
        assert!(!value.contains("://"), "{tag} {key}={value}");
    }
    assert!(!html.contains("url("), "no url() in CSS");
    assert!(!html.contains("@import"));
    // The only http:// text is the hostile host alias, escaped as text.
    assert_eq!(
        html.matches("http://").count(),
        html.matches("=HYPERLINK(\"http://x").count()
    );
}

#[test]
fn html_escapes_hostile_host_names_and_evidence() {
    let html = html_text();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("db03\"&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only our own inline script"
    );
}

// ---- JUnit ----

#[derive(Debug, Default)]
struct Suite {
    attrs: std::collections::HashMap<String, String>,
    cases: Vec<(String, String, Vec<String>)>,
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> std::collections::HashMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            (
                a.key.as_ref().to_owned(),
                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .expect("valid escape")
                    .into_owned(),
            )
        })
        .collect()
}

/// Parses JUnit XML with quick-xml, failing on anything not well-formed.
fn parse_junit(xml: &str) -> (std::collections::HashMap<String, String>, Vec<Suite>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut root = None;
    let mut suites: Vec<Suite> = Vec::new();
    let mut depth = 0;
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (e, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth -= 1;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = e.name().as_ref().to_owned();
        match (depth, name.as_str()) {
            (0, "testsuites") => root = Some(attributes(e)),
            (1, "testsuite") => suites.push(Suite {
                attrs: attributes(e),
                ..Suite::default()
            }),
            (2, "testcase") => {
                let a = attributes(e);
                let suite = suites.last_mut().expect("testcase inside a testsuite");
                suite.cases.push((
                    a.get("name").expect("testcase name").clone(),
                    a.get("classname").expect("testcase classname").clone(),
                    Vec::new(),
                ));
            }
            (2, "properties") | (3, "property") => {}
            (3, child) => {
                if let Some(case) = suites.last_mut().and_then(|s| s.cases.last_mut()) {
                    case.2.push(child.to_owned());
                }
            }
            (d, other) if d <= 2 => panic!("unexpected element {other} at depth {d}"),
            _ => {}
        }
        if !empty {
            depth += 1;
        }
    }
    (root.expect("testsuites root"), suites)
}

fn count(a: &std::collections::HashMap<String, String>, key: &str) -> usize {
    a.get(key)
        .unwrap_or_else(|| panic!("required attribute {key} missing"))
        .parse()
        .expect("a count")
}

#[test]
fn junit_has_the_schema_required_structure_and_consistent_totals() {
    let (root, suites) = parse_junit(&junit_text());
    let report = sample::fixed_report();
    assert_eq!(suites.len(), report.hosts.len(), "one testsuite per host");
    let mut totals = [0usize; 4];
    for (suite, host) in suites.iter().zip(&report.hosts) {
        assert_eq!(suite.attrs.get("name"), Some(&host.name));
        let mut want = [suite.cases.len(), 0, 0, 0];
        for (_, classname, children) in &suite.cases {
            assert_eq!(classname, &host.name);
            want[1] += children.iter().filter(|c| *c == "failure").count();
            want[2] += children.iter().filter(|c| *c == "error").count();
            want[3] += children.iter().filter(|c| *c == "skipped").count();
        }
        for (i, key) in ["tests", "failures", "errors", "skipped"]
            .iter()
            .enumerate()
        {
            assert_eq!(count(&suite.attrs, key), want[i], "{} {key}", host.name);
            totals[i] += want[i];
        }
        assert!(suite.attrs.contains_key("time") && suite.attrs.contains_key("timestamp"));
    }
    for (i, key) in ["tests", "failures", "errors", "skipped"]
        .iter()
        .enumerate()
    {
        assert_eq!(count(&root, key), totals[i], "testsuites {key}");
    }
    assert!(root.contains_key("name"));
}

#[test]
fn junit_maps_statuses_and_unscanned_hosts() {
    let (_, suites) = parse_junit(&junit_text());
    let case = |host: usize, name: &str| -> Vec<String> {
        suites[host]
            .cases
            .iter()
            .find(|c| c.0 == name)
            .unwrap_or_else(|| panic!("{name} on host {host}"))
            .2
            .clone()
    };
    assert_eq!(case(0, "svc.vss_startup"), ["failure"]);
    assert_eq!(case(0, "mars.installed"), ["skipped"]);
    assert_eq!(
        case(0, "vss.writer_timeout_events"),
        ["system-out"],
        "warn passes with output"
    );
    assert!(case(0, "wsb.feature_installed").is_empty());
    assert_eq!(
        case(1, "svc.vss_startup"),
        ["skipped", "system-out"],
        "waived"
    );
    assert_eq!(case(2, "scan"), ["error"], "unreachable host is an error");
    assert_eq!(case(3, "scan"), ["error"], "timed-out host is an error ...");
    assert_eq!(
        case(3, "wsb.feature_installed").len(),
        0,
        "... and keeps its checks"
    );
    assert_eq!(case(4, "scan"), ["error"]);
}

#[test]
fn junit_drops_characters_illegal_in_xml() {
    let mut report = sample::fixed_report();
    report.hosts[0].checks[0].summary = "bell\u{7} nul\u{0} ok".to_owned();
    report.hosts[0].name = "web\u{1b}01".to_owned();
    let mut out = Vec::new();
    report::junit::write(&report, &mut out).unwrap();
    let xml = String::from_utf8(out).unwrap();
    let (_, suites) = parse_junit(&xml);
    assert_eq!(
        suites[0].attrs.get("name").map(String::as_str),
        Some("web01")
    );
    assert!(!xml.contains('\u{7}') && !xml.contains('\u{0}'));
}

#[test]
fn html_cuts_over_long_evidence_and_points_to_the_json() {
    let html = html_text();
    assert!(!html.contains(&"A".repeat(4_001)));
    assert!(html.contains(&format!(
        "{}<b>…[36010 more characters in the JSON report]</b>",
        "A".repeat(3_992)
    )));
}

#[test]
fn every_writer_handles_an_empty_fleet() {
    let mut report = sample::fixed_report();
    report.hosts.clear();
    report.meta.selected_checks.clear();
    let mut csv = Vec::new();
    report::csv::write(&report, &mut csv).unwrap();
    assert_eq!(
        csv.iter().filter(|b| **b == b'\n').count(),
        1,
        "header only"
    );
    let mut html = Vec::new();
    report::html::write(&report, &mut html).unwrap();
    assert!(String::from_utf8(html).unwrap().contains("<b>n/a</b>ready"));
    let mut xml = Vec::new();
    report::junit::write(&report, &mut xml).unwrap();
    let (root, suites) = parse_junit(&String::from_utf8(xml).unwrap());
    assert_eq!((count(&root, "tests"), suites.len()), (0, 0));
    assert!(report::terminal::summary(&report, false).contains("0 hosts"));
    let mut json = Vec::new();
    report::json::write(&report, &mut json).unwrap();
    assert_eq!(
        report::json::from_slice(&json, std::path::Path::new("e.json")).unwrap(),
        report
    );
}

#[test]
fn junit_marks_a_host_skipped_by_an_interrupted_run_as_skipped() {
    let mut report = sample::fixed_report();
    report.meta.interrupted = true;
    report.hosts[5].outcome = fleetscan::report::Outcome::Skipped;
    report.hosts[5].checks.clear();
    let mut xml = Vec::new();
    report::junit::write(&report, &mut xml).unwrap();
    let (_, suites) = parse_junit(&String::from_utf8(xml).unwrap());
    let suite = &suites[5];
    assert_eq!(suite.cases.len(), 1);
    assert_eq!(
        (suite.cases[0].0.as_str(), suite.cases[0].2.clone()),
        ("scan", vec!["skipped".to_owned()])
    );
    assert_eq!(
        (count(&suite.attrs, "tests"), count(&suite.attrs, "skipped")),
        (1, 1)
    );
    let text = report::terminal::summary(&report, false);
    assert!(text.contains("interrupted"), "{text}");
}

#[test]
fn html_and_summary_list_expired_waivers() {
    let report = sample::fixed_report_with_expired_waiver();
    let mut out = Vec::new();
    report::html::write(&report, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert!(html.contains("Expired waivers, no longer applied (1)"));
    assert!(html.contains("<code>web* &lt;svc.*&gt; 2026-01-31 (waivers.yaml:7)</code>"));
    let text = report::terminal::summary(&report, false);
    assert!(
        text.contains("Expired waivers (no longer applied):\n  web* <svc.*> 2026-01-31"),
        "{text}"
    );
}
