//! `fleetscan emulate` as users run it: the built binary prints one `ready:` line
//! once every host listens, writes the inventory and CA, and exits 0 on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn first_line_within(child: &mut std::process::Child, limit: Duration) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(limit) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("no ready line within {limit:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn emulate_prints_ready_writes_its_files_and_exits_zero_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = dir.path().join("fleet.ini");
    let ca = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .args([
            "emulate",
            "--hosts",
            "3",
            "--scenario",
            "mixed",
            "--seed",
            "5",
        ])
        .args(["--base-port", "0", "--tls"])
        .arg("--inventory-out")
        .arg(&inventory)
        .arg("--ca-out")
        .arg(&ca)
        .env("FLEETSCAN_PASSWORD", "canary-pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let line = first_line_within(&mut child, Duration::from_secs(30));
    assert!(line.starts_with("ready: 3 hosts on 127.0.0.1"), "{line}");
    assert!(line.contains("https"), "{line}");

    let ini = std::fs::read_to_string(&inventory).expect("inventory written");
    assert_eq!(ini.lines().filter(|l| l.starts_with("win000")).count(), 3);
    assert!(ini.contains("ansible_winrm_scheme=https"));
    assert!(!ini.contains("canary-pw"), "no password in the inventory");
    let pem = std::fs::read_to_string(&ca).expect("CA written");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn emulate_rejects_a_bind_range_outside_loopback() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .args(["emulate", "--hosts", "2", "--bind", "10.0.0.0/24"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.0/8"));
}
