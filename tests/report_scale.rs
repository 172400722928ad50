//! The writers at fleet scale: a synthetic 5,000-host × 42-check report.
//!
//! The ordinary suite renders 500 hosts and checks the page stays complete; the
//! measurement at 5,000 hosts is `#[ignore]`d (it is a measurement, not a test):
//!
//! ```sh
//! cargo test --release --test report_scale -- --ignored --nocapture
//! ```
//! It prints each format's size and time to render, and with
//! `FLEETSCAN_SCALE_OUT=DIR` leaves the files there (e.g. to time
//! `fleetscan report --from DIR/scan.json --html out.html`).

use std::time::Instant;

use fleetscan::report::{self, sample};

#[test]
fn html_at_500_hosts_lists_every_host_once_in_each_section() {
    let report = sample::synthetic(500, 42, 3);
    let mut out = Vec::new();
    report::html::write(&report, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    let sections = html.matches("<details class=host id=h").count();
    assert_eq!(sections, 500);
    for (i, host) in report.hosts.iter().enumerate() {
        let start = html
            .find(&format!("<details class=host id=h{i}>"))
            .expect("a section per host");
        assert!(html[start..].starts_with(&format!(
            "<details class=host id=h{i}><summary><b>{}</b>",
            host.name
        )));
    }
    // The matrix has one row per host.
    let matrix = &html[html.find("id=mx").unwrap()..html.find("id=failing").unwrap()];
    assert_eq!(matrix.matches("<tr><th><a href=#h").count(), 500);
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn measure_writers_at_5000_hosts_and_42_checks() {
    let report = sample::synthetic(5000, 42, 42);
    let checks: usize = report.hosts.iter().map(|h| h.checks.len()).sum();
    println!(
        "synthetic report: {} hosts, {checks} check results",
        report.hosts.len()
    );
    let keep = std::env::var_os("FLEETSCAN_SCALE_OUT").map(std::path::PathBuf::from);
    if let Some(dir) = &keep {
        std::fs::create_dir_all(dir).expect("create FLEETSCAN_SCALE_OUT");
    }
    type W = fn(&report::FleetReport, &mut Vec<u8>) -> Result<(), report::ReportError>;
    let writers: [(&str, &str, W); 4] = [
        ("json", "scan.json", |r, w| report::json::write(r, w)),
        ("csv", "scan.csv", |r, w| report::csv::write(r, w)),
        ("html", "scan.html", |r, w| report::html::write(r, w)),
        ("junit", "scan.xml", |r, w| report::junit::write(r, w)),
    ];
    for (name, file, write) in writers {
        let mut out = Vec::with_capacity(64 << 20);
        let start = Instant::now();
        write(&report, &mut out).unwrap();
        let took = start.elapsed();
        println!(
            "{name:>5}: {:>7.1} MiB ({:>10} bytes) in {:>6.0} ms",
            out.len() as f64 / (1 << 20) as f64,
            out.len(),
            took.as_secs_f64() * 1000.0
        );
        if let Some(dir) = &keep {
            std::fs::write(dir.join(file), &out).unwrap();
        }
    }
    let start = Instant::now();
    let summary = report::terminal::summary(&report, false);
    println!(
        "terminal summary: {} lines in {:.1} ms",
        summary.lines().count(),
        start.elapsed().as_secs_f64() * 1000.0
    );
}
