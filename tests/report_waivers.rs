//! Waiver files from disk applied to a report: the waived failure stops failing
//! the run and shows in the CSV and JUnit, an expired waiver is listed and no
//! longer applies, a malformed file is refused with its file and line.

use fleetscan::report::model::Status;
use fleetscan::report::waivers::Waivers;
use fleetscan::report::{self, ReportError, sample};
use time::macros::date;

fn only_web01() -> report::FleetReport {
    let mut r = sample::fixed_report();
    r.hosts.retain(|h| h.name == "web01.corp.local");
    r
}

#[test]
fn yaml_waiver_file_accepts_a_failure_and_lists_an_expired_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("waivers.yaml");
    std::fs::write(
        &path,
        "waivers:\n\
         - host: WEB01.*\n  check: svc.vss_*\n  justification: CHG-42 VSS off until Friday\n  expires: 2026-11-30\n\
         - host: web01*\n  check: time.*\n  justification: lapsed\n  expires: 2026-01-01\n",
    )
    .unwrap();
    let waivers = Waivers::load(&path).unwrap();
    let mut r = only_web01();
    assert_eq!(r.exit_status().code(), 1);
    assert_eq!(waivers.apply(&mut r, date!(2026 - 11 - 24)), 1);
    assert_eq!(
        r.exit_status().code(),
        0,
        "a waived failure does not fail the run"
    );
    let vss = r.hosts[0]
        .checks
        .iter()
        .find(|c| c.id == "svc.vss_startup")
        .unwrap();
    assert_eq!(vss.status, Status::Fail, "the status is kept");
    assert_eq!(r.meta.expired_waivers.len(), 1);
    assert!(r.meta.expired_waivers[0].starts_with("web01* time.* 2026-01-01 ("));

    let mut csv = Vec::new();
    report::csv::write(&r, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains(",fail,VSS start type is Disabled (want Manual),"));
    assert!(
        csv.contains(",true,CHG-42 VSS off until Friday,2026-11-30\r\n"),
        "{csv}"
    );

    // The day after its last day the waiver no longer applies.
    let mut later = only_web01();
    waivers.apply(&mut later, date!(2026 - 12 - 01));
    assert_eq!(later.exit_status().code(), 1);
    assert_eq!(later.meta.expired_waivers.len(), 2);
}

#[test]
fn csv_waiver_file_is_read_like_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("waivers.csv");
    std::fs::write(
        &path,
        "host,check,justification,expires\nweb01*,svc.vss_startup,\"CHG-42, VSS off\",\n",
    )
    .unwrap();
    let mut r = only_web01();
    Waivers::load(&path)
        .unwrap()
        .apply(&mut r, date!(2026 - 11 - 24));
    assert_eq!(r.exit_status().code(), 0);
}

#[test]
fn malformed_waiver_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad-date.yaml",
            "- host: a\n  check: b\n  justification: c\n- host: d\n  check: e\n  justification: f\n  expires: tomorrow\n",
            4,
            "YYYY-MM-DD",
        ),
        (
            "no-reason.yml",
            "- host: a\n  check: b\n",
            1,
            "justification",
        ),
        (
            "unknown.yaml",
            "- host: a\n  check: b\n  justification: c\n  owner: me\n",
            4,
            "unknown field `owner`",
        ),
        (
            "broken.yaml",
            "- host: a\n  check: b\n  justification: \"c\n",
            3,
            "",
        ),
        (
            "bad.csv",
            "host,check,justification\na,b\n",
            2,
            "malformed CSV",
        ),
    ];
    for (name, text, want_line, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = Waivers::load(&path).unwrap_err();
        let ReportError::Waiver {
            line,
            message,
            path: p,
        } = &err
        else {
            panic!("{name}: {err}");
        };
        assert_eq!(p, &path);
        assert_eq!(*line, want_line, "{name}: {err}");
        assert!(message.contains(want), "{name}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{}:{want_line}: ", path.display()))
        );
    }
}
