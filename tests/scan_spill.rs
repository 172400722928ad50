//! The scan's reports are written from the journal, not from memory: the real
//! binary against an emulated fleet whose hosts finish out of inventory order.
//! Every file (and the summary) must be byte for byte what `fleetscan report
//! --from` renders from the in-memory JSON report, in inventory order, with
//! waivers applied the same way; and a journal that cannot be written must not
//! cost a single host.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{Fault, FleetSpec, RunningFleet};
use fleetscan::report::{self, FleetReport};
use secrecy::SecretString;

const BIN: &str = env!("CARGO_BIN_EXE_fleetscan");

/// Every scenario, a host whose probe throws, and slow hosts at the top of the
/// inventory (they finish last).
fn fleet_spec() -> FleetSpec {
    let mut spec = FleetSpec::uniform(24, Scenario::Healthy);
    for (host, scenario) in spec.hosts.iter_mut().zip(Scenario::ALL.into_iter().cycle()) {
        host.scenario = scenario;
    }
    for host in spec.hosts.iter_mut().take(3) {
        host.fault = Some(Fault::Slow);
    }
    if let Some(host) = spec.hosts.get_mut(10) {
        host.fault = Some(Fault::ProbeError);
    }
    spec.password = SecretString::from("fleetscan".to_owned());
    spec
}

/// Runs the binary off the runtime's threads, so the in-process fleet keeps serving.
async fn fleetscan(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("FLEETSCAN_PASSWORD", "fleetscan")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run fleetscan")
    })
    .await
    .expect("join")
}

fn arg(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_owned()
}

fn scan_args(inventory: &Path, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "scan",
        "-i",
        &arg(inventory),
        "-u",
        "fleetscan",
        "--concurrency",
        "8",
        "--timeout",
        "60s",
        "-q",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend_from_slice(extra);
    args
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_reports_written_from_the_journal_match_the_in_memory_rendering() {
    let fleet = RunningFleet::start(fleet_spec())
        .await
        .expect("fleet starts");
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("fleet.ini"), fleet.inventory_ini()).unwrap();
    std::fs::write(
        p("waivers.yaml"),
        "- host: \"*\"\n  check: wsb.*\n  justification: WSB replaced next quarter\n\
         - host: \"win*\"\n  check: svc.vss_startup\n  justification: old\n  expires: 2020-01-31\n",
    )
    .unwrap();
    let out = fleetscan(scan_args(
        &p("fleet.ini"),
        &[
            "--waivers".into(),
            arg(&p("waivers.yaml")),
            "--journal".into(),
            arg(&p("j.jsonl")),
            "--json".into(),
            arg(&p("r.json")),
            "--csv".into(),
            arg(&p("r.csv")),
            "--html".into(),
            arg(&p("r.html")),
            "--junit".into(),
            arg(&p("r.xml")),
        ],
    ))
    .await;
    let names: Vec<String> = fleet.hosts.iter().map(|h| h.name.clone()).collect();
    fleet.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);

    // In inventory order, although the slow hosts at its top were journaled last.
    let report: FleetReport = report::json::read(&p("r.json")).unwrap();
    let order: Vec<&str> = report.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(order, names, "{stderr}");
    let journaled: Vec<String> = fleetscan::scan::journal::read(&p("j.jsonl"))
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(journaled.len(), names.len());
    assert_ne!(journaled, names, "the slow hosts finished last");

    // Waivers applied: marked checks and the expired one listed.
    assert!(
        report
            .hosts
            .iter()
            .flat_map(|h| &h.checks)
            .any(|c| c.id.starts_with("wsb.") && c.waived.is_some())
    );
    assert_eq!(report.meta.expired_waivers.len(), 1);
    assert_eq!(
        out.status.code(),
        Some(i32::from(report.exit_status().code())),
        "{stderr}"
    );

    // The same report rendered from memory: every byte the same.
    let mut json = Vec::new();
    report::json::write(&report, &mut json).unwrap();
    assert!(json == read(&p("r.json")), "JSON differs");
    let again = fleetscan(vec![
        "report".into(),
        "--from".into(),
        arg(&p("r.json")),
        "--csv".into(),
        arg(&p("m.csv")),
        "--html".into(),
        arg(&p("m.html")),
        "--junit".into(),
        arg(&p("m.xml")),
    ])
    .await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    for (spilled, memory) in [("r.csv", "m.csv"), ("r.html", "m.html"), ("r.xml", "m.xml")] {
        assert!(
            read(&p(spilled)) == read(&p(memory)),
            "{spilled} differs from its in-memory rendering"
        );
    }
    let summary = fleetscan(vec!["report".into(), "--from".into(), arg(&p("r.json"))]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&summary.stdout)
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_cannot_be_written_costs_no_host() {
    let fleet = RunningFleet::start(fleet_spec())
        .await
        .expect("fleet starts");
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.ini");
    std::fs::write(&inventory, fleet.inventory_ini()).unwrap();
    let json = dir.path().join("r.json");
    let out = fleetscan(scan_args(
        &inventory,
        &[
            // Every write fails with "No space left on device".
            "--journal".into(),
            "/dev/full".into(),
            "--json".into(),
            arg(&json),
        ],
    ))
    .await;
    let hosts = fleet.hosts.len();
    fleet.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the journal") && stderr.contains("still hold every host"),
        "{stderr}"
    );
    let report = report::json::read(&json).unwrap();
    assert_eq!(report.hosts.len(), hosts);
    assert!(
        report.hosts.iter().all(|h| !h.checks.is_empty()),
        "every host keeps its checks"
    );
    assert_eq!(
        out.status.code(),
        Some(i32::from(report.exit_status().code())),
        "{stderr}"
    );
}
