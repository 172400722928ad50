//! `fleetscan scan` end to end: the real binary against an emulated fleet on
//! loopback, with every fault kind, a hang, an interrupt, and a canary password.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{Fault, FleetSpec, RunningFleet};
use fleetscan::report::model::{FleetReport, Outcome, Status};
use secrecy::SecretString;

const BIN: &str = env!("CARGO_BIN_EXE_fleetscan");

async fn start(mut spec: FleetSpec, password: &str) -> RunningFleet {
    spec.password = SecretString::from(password.to_owned());
    RunningFleet::start(spec)
        .await
        .expect("emulated fleet starts")
}

/// Runs the binary off the runtime's threads, so the in-process fleet keeps serving.
async fn fleetscan(args: Vec<String>, password: &str) -> Output {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("FLEETSCAN_PASSWORD", password)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run fleetscan")
    })
    .await
    .expect("join")
}

/// A temporary directory holding the fleet's inventory, and the inventory's path.
fn inventory_of(fleet: &RunningFleet) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("fleet.ini");
    std::fs::write(&inv, fleet.inventory_ini()).unwrap();
    (dir, inv)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn read_report(path: &Path) -> FleetReport {
    let text = std::fs::read_to_string(path).expect("report written");
    serde_json::from_str(&text).expect("report parses")
}

fn expected_outcome(fault: Option<Fault>) -> Outcome {
    match fault {
        None | Some(Fault::Slow) | Some(Fault::ProbeError) => Outcome::Scanned,
        Some(Fault::Refuse) => Outcome::Unreachable,
        Some(Fault::AuthReject) => Outcome::AuthFailed,
        Some(Fault::Hang) | Some(Fault::PsTimeout) => Outcome::Timeout,
        // `reset` drops the connection mid-response: the host was reached, and a
        // reset after the response began is not retried (it may have run).
        Some(Fault::Reset)
        | Some(Fault::Garbage)
        | Some(Fault::Quota)
        | Some(Fault::HugeOutput) => Outcome::ProtocolError,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_fleet_of_200_hosts_ends_each_host_in_the_outcome_its_fault_implies() {
    let fleet = start(FleetSpec::mixed(200, 7), "fleetscan").await;
    let faults: HashMap<String, Option<Fault>> = fleet
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.fault))
        .collect();
    for fault in Fault::ALL {
        assert!(
            faults.values().any(|f| *f == Some(fault)),
            "mixed fleet lacks {fault:?}"
        );
    }
    let (dir, inv) = inventory_of(&fleet);
    let json = dir.path().join("scan.json");
    let csv = dir.path().join("scan.csv");
    let out = fleetscan(
        args(&[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-u",
            "fleetscan",
            "--concurrency",
            "200",
            "--timeout",
            "40s",
            "--retries",
            "1",
            "-q",
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ]),
        "fleetscan",
    )
    .await;
    fleet.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");

    let report = read_report(&json);
    assert_eq!(report.hosts.len(), 200, "every host is in the report");
    for host in &report.hosts {
        let fault = faults[&host.name];
        assert_eq!(
            host.outcome,
            expected_outcome(fault),
            "{} with fault {fault:?}: {:?}",
            host.name,
            host.error
        );
        if host.outcome == Outcome::Scanned {
            assert!(
                !host.checks.is_empty(),
                "{} scanned without checks",
                host.name
            );
        } else {
            assert!(
                host.error.as_deref().is_some_and(|e| !e.is_empty()),
                "{} has no error",
                host.name
            );
        }
        if fault == Some(Fault::ProbeError) {
            assert!(
                host.checks.iter().any(|c| c.status == Status::Unknown),
                "{}",
                host.name
            );
        }
    }
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    for host in &report.hosts {
        assert!(csv_text.contains(&host.name), "CSV lacks {}", host.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_host_ends_at_the_timeout_and_the_others_are_scanned() {
    let mut spec = FleetSpec::uniform(3, Scenario::Healthy);
    spec.hosts[1].fault = Some(Fault::Hang);
    spec.hosts[2].fault = Some(Fault::PsTimeout);
    let fleet = start(spec, "fleetscan").await;
    let (dir, inv) = inventory_of(&fleet);
    let json = dir.path().join("scan.json");
    let t0 = std::time::Instant::now();
    let out = fleetscan(
        args(&[
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-u",
            "fleetscan",
            "--timeout",
            "3s",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ]),
        "fleetscan",
    )
    .await;
    let took = t0.elapsed();
    fleet.shutdown().await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(15),
        "the 3 s deadline held (took {took:?})"
    );
    let report = read_report(&json);
    assert_eq!(report.hosts[0].outcome, Outcome::Scanned);
    assert_eq!(report.hosts[1].outcome, Outcome::Timeout);
    assert!(
        report.hosts[1].checks.is_empty(),
        "a host that never answered has no check rows"
    );
    assert_eq!(report.hosts[2].outcome, Outcome::Timeout);
    let kept = report.hosts[2]
        .checks
        .iter()
        .filter(|c| c.status != Status::Unknown)
        .count();
    assert!(
        kept > 0,
        "checks that reported before the deadline are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_never_appears_in_output_logs_reports_or_journal() {
    let canary = "Canary-Pw-4c1d";
    let mut spec = FleetSpec::uniform(3, Scenario::Healthy);
    spec.hosts[2].fault = Some(Fault::AuthReject);
    let fleet = start(spec, canary).await;
    let (dir, _inv) = inventory_of(&fleet);
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let out = fleetscan(
        vec![
            "scan".into(),
            "-i".into(),
            p("fleet.ini"),
            "-u".into(),
            "fleetscan".into(),
            "-vvv".into(),
            "--json".into(),
            p("r.json"),
            "--csv".into(),
            p("r.csv"),
            "--html".into(),
            p("r.html"),
            "--junit".into(),
            p("r.xml"),
            "--journal".into(),
            p("j.jsonl"),
        ],
        canary,
    )
    .await;
    fleet.shutdown().await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() > 100, "-vvv logged something");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(canary));
    assert!(!stderr.contains(canary));
    for f in ["r.json", "r.csv", "r.html", "r.xml", "j.jsonl"] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(!text.is_empty(), "{f} written");
        assert!(!text.contains(canary), "{f} contains the password");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_scan_writes_journal_and_report_and_exits_130() {
    let mut spec = FleetSpec::uniform(6, Scenario::Healthy);
    for h in spec.hosts.iter_mut().skip(2) {
        h.fault = Some(Fault::Hang);
    }
    let fleet = start(spec, "fleetscan").await;
    let (dir, inv) = inventory_of(&fleet);
    let json = dir.path().join("scan.json");
    let journal = dir.path().join("j.jsonl");
    let child = Command::new(BIN)
        .args([
            "scan",
            "-i",
            inv.to_str().unwrap(),
            "-u",
            "fleetscan",
            "--concurrency",
            "3",
            "--timeout",
            "60s",
            "-q",
            "--json",
            json.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ])
        .env("FLEETSCAN_PASSWORD", "fleetscan")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the two healthy hosts are journaled, then interrupt.
    let journal_path = journal.clone();
    tokio::task::spawn_blocking(move || {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            let n = std::fs::read_to_string(&journal_path)
                .map(|t| t.lines().count())
                .unwrap_or(0);
            if n >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    fleet.shutdown().await;
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_report(&json);
    assert!(report.meta.interrupted);
    assert_eq!(report.hosts.len(), 6);
    assert_eq!(
        report
            .hosts
            .iter()
            .filter(|h| h.outcome == Outcome::Scanned)
            .count(),
        2
    );
    assert!(
        report
            .hosts
            .iter()
            .skip(2)
            .all(|h| h.outcome == Outcome::Skipped)
    );
    let journaled = fleetscan::scan::journal::read(&journal).unwrap();
    assert_eq!(
        journaled.len(),
        6,
        "every host, finished or skipped, is journaled"
    );
}
