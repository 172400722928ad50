//! `fleetscan checks` run as a binary.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .arg("checks")
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn checks_table_lists_light_checks_with_their_article_section() {
    let (code, text) = run(&[]);
    assert_eq!(code, 0);
    let header = text.lines().next().expect("a header line");
    for col in ["ID", "TITLE", "ARTICLE SECTION", "SEVERITY", "COST"] {
        assert!(header.contains(col), "{header}");
    }
    let vss = text
        .lines()
        .find(|l| l.starts_with("svc.vss_startup "))
        .expect("svc.vss_startup row");
    assert!(
        vss.contains("Dependent services") && vss.contains("critical") && vss.contains("light"),
        "{vss}"
    );
    assert!(!text.contains("vss.writers"), "heavy checks need --deep");
}

#[test]
fn checks_deep_marks_heavy_checks() {
    let (code, text) = run(&["--deep"]);
    assert_eq!(code, 0);
    let row = text
        .lines()
        .find(|l| l.starts_with("vss.writers "))
        .expect("vss.writers row");
    assert!(row.contains("heavy (--deep)"), "{row}");
}

#[test]
fn checks_json_is_an_array_of_the_catalogue() {
    let (code, text) = run(&["--format", "json", "--deep"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON array");
    assert_eq!(rows.len(), fleetscan::probes::catalogue().len());
    let w = rows
        .iter()
        .find(|r| r["id"] == "vss.writers")
        .expect("vss.writers");
    assert_eq!(w["cost"], "heavy");
    assert_eq!(w["deep_only"], true);
    assert_eq!(w["seed_section"], "VSS Writer timeout error");
    assert!(
        rows.iter()
            .all(|r| r["remediation"].as_str().is_some_and(|s| !s.is_empty()))
    );
}
