//! `fleetscan run` and the configuration errors of `fleetscan scan`, through the
//! real binary: exit codes of CLI.md, output prefixed by host, nothing half-done.

use std::process::{Command, Output, Stdio};

use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{Fault, FleetSpec, RunningFleet};

const BIN: &str = env!("CARGO_BIN_EXE_fleetscan");

async fn fleetscan(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("FLEETSCAN_PASSWORD", "fleetscan")
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

/// Runs the binary with FLEETSCAN_PASSWORD set and no stdin, waiting for it.
fn fleetscan_sync(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("FLEETSCAN_PASSWORD", "x")
        .stdin(Stdio::null())
        .output()
        .expect("run fleetscan")
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_each_hosts_output_prefixed_and_exit_codes_follow_cli_md() {
    let fleet = RunningFleet::start(FleetSpec::uniform(2, Scenario::Healthy))
        .await
        .unwrap();
    let (_dir, inv) = inventory_of(&fleet);
    let inv = inv.to_str().unwrap();

    let out = fleetscan(owned(&[
        "run",
        "-i",
        inv,
        "-u",
        "fleetscan",
        "--",
        "hostname",
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for h in &fleet.hosts {
        assert!(
            stdout.contains(&format!("{}: {}", h.name, h.name)),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("{}: [exit 0]", h.name)),
            "{stdout}"
        );
    }

    let out = fleetscan(owned(&[
        "run",
        "-i",
        inv,
        "-u",
        "fleetscan",
        "--format",
        "json",
        "--",
        "cmd",
        "/c",
        "exit /b 3",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a non-zero exit code on a host makes run exit 1"
    );
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["exit_code"] == 3 && r["outcome"] == "scanned")
    );

    let out = fleetscan(owned(&[
        "run",
        "-i",
        inv,
        "-u",
        "fleetscan",
        "--format",
        "csv",
        "--",
        "whoami",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("host,address,outcome,exit_code"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_3_when_a_host_cannot_run_the_command() {
    let mut spec = FleetSpec::uniform(2, Scenario::Healthy);
    spec.hosts[1].fault = Some(Fault::Refuse);
    let fleet = RunningFleet::start(spec).await.unwrap();
    let (_dir, inv) = inventory_of(&fleet);
    let out = fleetscan(owned(&[
        "run",
        "-i",
        inv.to_str().unwrap(),
        "-u",
        "fleetscan",
        "--",
        "hostname",
    ]))
    .await;
    fleet.shutdown().await;
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("[unreachable]"), "{stdout}");
}

#[test]
fn malformed_inventory_stops_the_scan_with_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("prod.ini");
    std::fs::write(
        &inv,
        "[windows]\nweb01 ansible_port=5985\nweb02 ansible_winrm_transprot=ntlm\n",
    )
    .unwrap();
    let journal = dir.path().join("j.jsonl");
    let out = fleetscan_sync(&[
        "scan",
        "-i",
        inv.to_str().unwrap(),
        "-u",
        "x",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("prod.ini:3"), "{stderr}");
    assert!(stderr.contains("ansible_winrm_transport"), "{stderr}");
    assert!(!journal.exists(), "nothing was started");
}

#[test]
fn malformed_waiver_file_stops_the_scan_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let waivers = dir.path().join("waivers.yml");
    std::fs::write(
        &waivers,
        "- host: 'web*'\n  check: svc.vss_startup\n  expires: not-a-date\n",
    )
    .unwrap();
    let out = fleetscan_sync(&[
        "scan",
        "-t",
        "127.0.0.1:1",
        "-u",
        "x",
        "--waivers",
        waivers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waivers.yml"));
}

#[test]
fn missing_password_variable_is_a_usage_error_that_says_how_to_set_it() {
    let out = fleetscan_sync(&[
        "scan",
        "-t",
        "127.0.0.1:1",
        "-u",
        "x",
        "--password-env",
        "FS_TEST_UNSET_VAR",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FS_TEST_UNSET_VAR"));
}

#[test]
fn basic_over_http_is_refused_without_allow_unencrypted() {
    let out = fleetscan_sync(&["scan", "-t", "127.0.0.1:1", "-u", "x", "--auth", "basic"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-unencrypted"));
}
