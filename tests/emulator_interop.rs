//! The scanner's WinRM client against the emulated fleet: two independent
//! implementations of the protocol (they share no parsing code) must agree on
//! every path a scan takes: NTLM with sealing over HTTP, NTLM with channel binding
//! over verified HTTPS, Basic over HTTPS, the PowerShell transport format.

use std::sync::Arc;
use std::time::Duration;

use fleetscan::credentials::Credentials;
use fleetscan::emulator::answers::known_probe_ids;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{EmuAuth, Fault, FleetSpec, RunningFleet};
use fleetscan::winrm::{
    AuthMethod, Client, ClientOptions, CollectedOutput, Endpoint, PreparedCommand, PreparedScript,
    RunLimits, Scheme, TlsOverride,
};
use secrecy::SecretString;

fn creds() -> Credentials {
    Credentials::new("fleetscan", SecretString::from("fleetscan".to_owned()))
}

fn limits(secs: u64) -> RunLimits {
    RunLimits {
        deadline: tokio::time::Instant::now() + Duration::from_secs(secs),
        cancel: tokio_util::sync::CancellationToken::new(),
        cleanup: Duration::from_secs(5),
    }
}

fn endpoint(fleet: &RunningFleet, i: usize, tls: TlsOverride) -> Endpoint {
    let addr = fleet.hosts[i].addr;
    let mut ep = Endpoint::new(
        if fleet.tls {
            Scheme::Https
        } else {
            Scheme::Http
        },
        addr.ip().to_string(),
    );
    ep.port = addr.port();
    ep.tls = tls;
    ep
}

fn program() -> String {
    known_probe_ids()
        .iter()
        .map(|id| format!("# fleetscan-probe: {id}\nEmit '{id}'\n"))
        .collect()
}

async fn run_program(fleet: &RunningFleet, auth: AuthMethod, tls: TlsOverride) -> CollectedOutput {
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(&endpoint(fleet, 0, tls), auth, &creds())
        .await
        .expect("connects and authenticates");
    let cmd = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(&program())));
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&cmd, &mut out, &limits(30))
        .await
        .expect("program runs");
    assert_eq!(exit.exit_code, 0);
    out
}

fn assert_every_probe_answered(out: &CollectedOutput) {
    let ids: Vec<String> = out
        .stdout_lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids, known_probe_ids());
}

#[tokio::test]
async fn client_runs_the_program_over_ntlm_with_sealing() {
    let fleet = RunningFleet::start(FleetSpec::uniform(1, Scenario::Healthy))
        .await
        .expect("starts");
    let out = run_program(&fleet, AuthMethod::Negotiate, TlsOverride::Default).await;
    assert_every_probe_answered(&out);
    fleet.shutdown().await;
}

#[tokio::test]
async fn client_runs_the_program_over_verified_https_with_channel_binding() {
    let mut spec = FleetSpec::uniform(1, Scenario::MarsOutdated);
    spec.tls = true;
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, fleet.ca_pem.as_deref().expect("CA")).expect("write CA");
    let out = run_program(&fleet, AuthMethod::Ntlm, TlsOverride::ExtraCa(ca)).await;
    assert_every_probe_answered(&out);
    fleet.shutdown().await;
}

#[tokio::test]
async fn client_runs_cmd_over_basic_https() {
    let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
    spec.tls = true;
    spec.auth = EmuAuth::Basic;
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, fleet.ca_pem.as_deref().expect("CA")).expect("write CA");
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(
            &endpoint(&fleet, 0, TlsOverride::ExtraCa(ca)),
            AuthMethod::Basic,
            &creds(),
        )
        .await
        .expect("connects");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &PreparedCommand::Cmd {
                command: "hostname".into(),
                args: vec![],
            },
            &mut out,
            &limits(10),
        )
        .await
        .expect("runs");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines, vec![fleet.hosts[0].name.clone()]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn client_keeps_early_lines_when_the_program_never_finishes() {
    let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
    spec.hosts[0].fault = Some(Fault::PsTimeout);
    let fleet = RunningFleet::start(spec).await.expect("starts");
    let client = Client::new(ClientOptions {
        operation_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    })
    .expect("client");
    let mut session = client
        .connect(
            &endpoint(&fleet, 0, TlsOverride::Default),
            AuthMethod::Ntlm,
            &creds(),
        )
        .await
        .expect("connects");
    let cmd = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(&program())));
    let mut out = CollectedOutput::default();
    let result = session.run(&cmd, &mut out, &limits(2)).await;
    assert!(result.is_err(), "the deadline ends the run");
    assert_eq!(out.stdout_lines.len(), known_probe_ids().len() / 2);
    fleet.shutdown().await;
}
