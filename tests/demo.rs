//! `fleetscan demo`: the README's first command works with no set-up and writes
//! every report.

use std::process::Command;

#[test]
fn demo_scans_the_built_in_fleet_and_writes_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .arg("demo")
        .arg("--out-dir")
        .arg(&out_dir)
        .env_remove("FLEETSCAN_PASSWORD")
        .output()
        .expect("run fleetscan demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "report.csv",
        "report.json",
        "report.html",
        "junit.xml",
        "inventory.ini",
        "journal.jsonl",
    ] {
        let len = std::fs::metadata(out_dir.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 0, "{file} missing or empty");
    }
    let report: fleetscan::report::FleetReport =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report.hosts.len(), 24);
    // The demo shows every kind of result: scanned hosts, failing checks, and hosts
    // that could not be scanned for each reason.
    use fleetscan::report::Outcome::*;
    for outcome in [Scanned, Unreachable, AuthFailed, Timeout] {
        assert!(
            report.hosts.iter().any(|h| h.outcome == outcome),
            "no {outcome} host"
        );
    }
    assert!(report.hosts.iter().any(|h| h.has_unwaived_failure()));
    assert!(stdout.contains("ready for System State backup"), "{stdout}");
    assert!(stdout.contains("Reports:"), "{stdout}");
}
