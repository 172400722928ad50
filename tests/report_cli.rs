//! `fleetscan report` and `fleetscan diff` through the built binary: outputs and
//! exit codes of CLI.md.

use std::path::Path;
use std::process::{Command, Output};

use fleetscan::report::model::{FleetReport, Status};
use fleetscan::report::{self, sample};

fn fleetscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run fleetscan")
}

fn save(report: &FleetReport, path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    report::json::write(report, file).expect("write json");
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn report_from_json_re_renders_csv_html_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.json");
    save(&sample::fixed_report(), &scan);
    let (csv, html, junit) = (
        dir.path().join("out.csv"),
        dir.path().join("out.html"),
        dir.path().join("out.xml"),
    );
    let out = fleetscan(&[
        "report",
        "--from",
        arg(&scan),
        "--csv",
        arg(&csv),
        "--html",
        arg(&html),
        "--junit",
        arg(&junit),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/report")
                .join(name),
        )
        .unwrap()
    };
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), golden("fixed.csv"));
    assert_eq!(
        std::fs::read_to_string(&html).unwrap(),
        golden("fixed.html")
    );
    assert_eq!(
        std::fs::read_to_string(&junit).unwrap(),
        golden("fixed.junit.xml")
    );
}

#[test]
fn report_without_outputs_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.json");
    save(&sample::fixed_report(), &scan);
    let out = fleetscan(&["report", "--from", arg(&scan)]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ready for System State backup: 1/6"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour on a pipe");
}

#[test]
fn report_from_a_foreign_or_missing_file_exits_2_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other.json");
    std::fs::write(&foreign, r#"{"name": "not ours"}"#).unwrap();
    let out = fleetscan(&[
        "report",
        "--from",
        arg(&foreign),
        "--csv",
        arg(&dir.path().join("x.csv")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other.json is not a fleetscan JSON report"),
        "{err}"
    );
    assert!(!dir.path().join("x.csv").exists());
    let out = fleetscan(&["report", "--from", arg(&dir.path().join("missing.json"))]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn report_into_a_missing_directory_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.json");
    save(&sample::fixed_report(), &scan);
    let target = dir.path().join("no/such/dir/out.html");
    let out = fleetscan(&["report", "--from", arg(&scan), "--html", arg(&target)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("out.html") && err.contains("directory exists"),
        "{err}"
    );
}

#[test]
fn diff_exits_1_when_something_got_worse_and_0_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (old_path, new_path) = (dir.path().join("old.json"), dir.path().join("new.json"));
    let old = sample::fixed_report();
    let mut new = old.clone();
    new.meta.scan_id = "second".into();
    if let Some(c) = new.hosts[5].checks.first_mut() {
        c.status = Status::Fail;
    }
    save(&old, &old_path);
    save(&new, &new_path);

    let worse = fleetscan(&["diff", arg(&old_path), arg(&new_path)]);
    assert_eq!(worse.status.code(), Some(1));
    let text = String::from_utf8_lossy(&worse.stdout);
    assert!(
        text.contains("New failures (1):") && text.contains("ok06"),
        "{text}"
    );

    let better = fleetscan(&["diff", arg(&new_path), arg(&old_path), "--format", "json"]);
    assert_eq!(better.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&better.stdout).expect("JSON output");
    assert_eq!(json["fixed"][0]["host"], "ok06");
    assert_eq!(json["new_failures"].as_array().map(Vec::len), Some(0));

    let same = fleetscan(&["diff", arg(&old_path), arg(&old_path)]);
    assert_eq!(same.status.code(), Some(0));
}

#[test]
fn diff_of_an_unreadable_or_newer_report_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    save(&sample::fixed_report(), &good);
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, r#"{"schema_version": 99, "meta": {}, "hosts": []}"#).unwrap();
    let out = fleetscan(&["diff", arg(&good), arg(&newer)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer fleetscan"));
    let out = fleetscan(&["diff", arg(&dir.path().join("gone.json")), arg(&good)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.json"));
}
