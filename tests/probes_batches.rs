//! The probe program's output batches end to end: the emulator writes each flush as
//! the program does (marker, gzip, base64), the client's collector reads them, and a
//! healthy host whose output comes in several batches is judged exactly as one whose
//! output comes in one.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fleetscan::credentials::Credentials;
use fleetscan::emulator::answers::{self, program_batch_line};
use fleetscan::emulator::host::HostState;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{FleetSpec, RunningFleet};
use fleetscan::probes::batch::{self, MAX_BATCH_INFLATED_BYTES};
use fleetscan::probes::{BATCH_MARKER, Program, ProgramEnd, Selection, Settings};
use fleetscan::report::model::{FleetReport, Outcome, Status};
use fleetscan::winrm::{
    AuthMethod, Client, ClientOptions, CollectedOutput, Endpoint, PreparedCommand, PreparedScript,
    RunLimits, Scheme,
};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_fleetscan");

/// Longer than the program's 2-second flush interval: the emulator writes a first
/// batch early and the rest at the end, as the program on Windows would.
const SLOW_RUNTIME: Duration = Duration::from_millis(2500);

fn healthy_lines(program: &Program) -> Vec<String> {
    let host = HostState::for_scenario(Scenario::Healthy, "win0001", 1);
    answers::run_powershell(&host, program.script(), "fleetscan").stdout_lines
}

#[test]
fn emulator_and_client_agree_on_the_batch_marker() {
    assert_eq!(answers::BATCH_MARKER, BATCH_MARKER);
}

#[test]
fn emulated_batch_of_a_healthy_host_round_trips_through_the_decoder() {
    let program = Program::assemble(&Selection::all(true)).expect("assembles");
    let lines = healthy_lines(&program);
    assert_eq!(lines.len(), program.probe_ids().len());
    let line = program_batch_line(&lines);
    let payload = line.strip_prefix(BATCH_MARKER).expect("marker");
    let text = batch::decode(payload, MAX_BATCH_INFLATED_BYTES).expect("decodes");
    let decoded: Vec<&str> = text.lines().collect();
    assert_eq!(decoded, lines);
    let plain: usize = lines.iter().map(|l| l.len() + 2).sum();
    println!(
        "healthy host, deep: {plain} bytes of JSON lines, {} bytes as one batch line",
        line.len()
    );
    assert!(line.len() * 2 < plain, "{} vs {plain}", line.len());
}

#[test]
fn collector_judges_a_batch_exactly_as_the_same_lines_plain() {
    let program = Program::assemble(&Selection::all(true)).expect("assembles");
    let lines = healthy_lines(&program);
    let (first, rest) = lines.split_at(lines.len() / 2);
    let mut plain = program.collector();
    let mut batched = program.collector();
    for l in &lines {
        plain.accept_line(l);
    }
    batched.accept_line(&program_batch_line(first));
    batched.accept_line(&program_batch_line(rest));
    assert!(batched.is_complete());
    let settings = Settings::default();
    let a = plain.judge(&settings, ProgramEnd::Completed);
    let b = batched.judge(&settings, ProgramEnd::Completed);
    let view = |r: &[fleetscan::report::model::CheckResult]| {
        r.iter()
            .map(|c| (c.id.clone(), c.status, c.summary.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(view(&a), view(&b));
}

#[tokio::test]
async fn slow_host_sends_its_output_in_two_batch_lines_that_make_complete_evidence() {
    let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
    spec.ps_runtime = SLOW_RUNTIME;
    let fleet = RunningFleet::start(spec).await.expect("fleet starts");
    let host = fleet.hosts.first().expect("one host");
    let endpoint = Endpoint {
        port: host.addr.port(),
        ..Endpoint::new(Scheme::Http, host.addr.ip().to_string())
    };
    let client = Client::new(ClientOptions::default()).expect("client");
    let creds = Credentials::new(
        fleet.user.clone(),
        SecretString::from("fleetscan".to_owned()),
    );
    let mut session = client
        .connect(&endpoint, AuthMethod::Ntlm, &creds)
        .await
        .expect("connect");
    let program = Program::assemble(&Selection::all(false)).expect("assembles");
    let command = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(program.script())));
    let mut out = CollectedOutput::default();
    let limits = RunLimits {
        deadline: tokio::time::Instant::now() + Duration::from_secs(30),
        cancel: CancellationToken::new(),
        cleanup: Duration::from_secs(5),
    };
    let exit = session
        .run(&command, &mut out, &limits)
        .await
        .expect("runs");
    fleet.shutdown().await;
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines.len(), 2, "an early flush and the last one");
    assert!(
        out.stdout_lines.iter().all(|l| l.starts_with(BATCH_MARKER)),
        "{:?}",
        out.stdout_lines
    );
    let mut evidence = program.collector();
    for line in &out.stdout_lines {
        evidence.accept_line(line);
    }
    assert!(evidence.is_complete());
    assert_eq!(evidence.received(), program.probe_ids().len());
    for r in evidence.judge(&Settings::default(), ProgramEnd::Completed) {
        assert!(
            !r.summary.starts_with("no evidence"),
            "{}: {}",
            r.id,
            r.summary
        );
    }
}

/// Scans the fleet with the real binary and returns its JSON report.
async fn scan(fleet: &RunningFleet, dir: &Path) -> FleetReport {
    let inv = dir.join("fleet.ini");
    std::fs::write(&inv, fleet.inventory_ini()).expect("inventory");
    let json = dir.join("scan.json");
    let args: Vec<String> = [
        "scan",
        "-i",
        inv.to_str().expect("utf-8"),
        "-u",
        "fleetscan",
        "-q",
        "--json",
        json.to_str().expect("utf-8"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("FLEETSCAN_PASSWORD", "fleetscan")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run fleetscan")
    })
    .await
    .expect("join");
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_host_is_judged_the_same_from_one_batch_or_several() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut verdicts = Vec::new();
    for runtime in [Duration::ZERO, SLOW_RUNTIME] {
        let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
        spec.ps_runtime = runtime;
        let fleet = RunningFleet::start(spec).await.expect("fleet starts");
        let report = scan(&fleet, dir.path()).await;
        fleet.shutdown().await;
        let host = report.hosts.first().expect("one host");
        assert_eq!(host.outcome, Outcome::Scanned, "{:?}", host.error);
        assert!(!host.checks.is_empty());
        for c in &host.checks {
            assert!(
                !(c.status == Status::Unknown && c.summary.starts_with("no evidence")),
                "{runtime:?}: {}: {}",
                c.id,
                c.summary
            );
        }
        verdicts.push(
            host.checks
                .iter()
                .map(|c| (c.id.clone(), c.status))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(verdicts[0], verdicts[1]);
}
