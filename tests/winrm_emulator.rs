//! The WinRM client against the emulated fleet (src/emulator), over every
//! transport the emulator speaks: NTLM with sealing over HTTP, Basic over HTTPS,
//! NTLM over HTTPS with channel binding. The emulator shares no code with the
//! client beyond sspi, so these are two independent readings of MS-WSMV.

use std::sync::Arc;
use std::time::Duration;

use fleetscan::credentials::Credentials;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{EmuAuth, Fault, FleetSpec, RunningFleet};
use fleetscan::winrm::{
    Action, AuthMethod, Client, ClientOptions, CollectedOutput, Endpoint, FailureClass,
    PreparedCommand, PreparedScript, RunLimits, Scheme, Session, TlsOverride, WinrmError,
};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "emu-canary-Pa55";

fn spec(auth: EmuAuth, tls: bool, fault: Option<Fault>) -> FleetSpec {
    let mut spec = FleetSpec::uniform(1, Scenario::Healthy);
    spec.auth = auth;
    spec.tls = tls;
    spec.password = SecretString::from(PASSWORD.to_owned());
    if let Some(h) = spec.hosts.first_mut() {
        h.fault = fault;
    }
    spec
}

struct Fixture {
    fleet: RunningFleet,
    client: Client,
    endpoint: Endpoint,
    _ca: Option<tempfile::NamedTempFile>,
}

impl Fixture {
    /// An NTLM session to the fleet's first host with the right password.
    async fn connect_ntlm(&self) -> Session {
        self.client
            .connect(
                &self.endpoint,
                AuthMethod::Ntlm,
                &creds(&self.fleet, PASSWORD),
            )
            .await
            .expect("connect")
    }
}

async fn start(spec: FleetSpec, opts: ClientOptions) -> Fixture {
    let tls = spec.tls;
    let fleet = RunningFleet::start(spec).await.expect("fleet starts");
    let host = fleet.hosts.first().expect("one host");
    let ca = fleet.ca_pem.as_ref().map(|pem| {
        let file = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(file.path(), pem).expect("write CA");
        file
    });
    let scheme = if tls { Scheme::Https } else { Scheme::Http };
    let endpoint = Endpoint {
        port: host.addr.port(),
        tls: ca.as_ref().map_or(TlsOverride::Default, |f| {
            TlsOverride::ExtraCa(f.path().to_owned())
        }),
        ..Endpoint::new(scheme, host.addr.ip().to_string())
    };
    Fixture {
        client: Client::new(opts).expect("client"),
        fleet,
        endpoint,
        _ca: ca,
    }
}

fn creds(fleet: &RunningFleet, password: &str) -> Credentials {
    Credentials::new(fleet.user.clone(), SecretString::from(password.to_owned()))
}

fn limits(after: Duration) -> RunLimits {
    RunLimits {
        deadline: tokio::time::Instant::now() + after,
        cancel: CancellationToken::new(),
        cleanup: Duration::from_secs(5),
    }
}

fn hostname() -> PreparedCommand {
    PreparedCommand::Cmd {
        command: "hostname".to_owned(),
        args: Vec::new(),
    }
}

fn probe_program(ids: &[&str]) -> PreparedCommand {
    let text: String = ids
        .iter()
        .map(|id| format!("# fleetscan-probe: {id}\nWrite-Output 'x'\n"))
        .collect();
    PreparedCommand::PowerShell(Arc::new(PreparedScript::new(&text)))
}

async fn run_hostname(auth_emu: EmuAuth, tls: bool, auth: AuthMethod) -> u32 {
    let f = start(spec(auth_emu, tls, None), ClientOptions::default()).await;
    let mut session = f
        .client
        .connect(&f.endpoint, auth, &creds(&f.fleet, PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits(Duration::from_secs(30)))
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines, vec![f.fleet.hosts[0].name.clone()]);
    assert_eq!(session.leaked_shells(), 0);
    let sent = session.requests_sent();
    f.fleet.shutdown().await;
    sent
}

#[tokio::test]
async fn ntlm_over_http_with_sealing_runs_a_command_in_five_requests() {
    let sent = run_hostname(EmuAuth::Ntlm, false, AuthMethod::Ntlm).await;
    // type 1, then Create (sealed, carrying type 3), Command, Receive, Delete.
    assert_eq!(sent, 5);
}

#[tokio::test]
async fn ntlm_empty_body_priming_runs_a_command_in_six_requests() {
    let f = start(
        spec(EmuAuth::Ntlm, false, None),
        ClientOptions {
            ntlm_empty_body_priming: true,
            ..ClientOptions::default()
        },
    )
    .await;
    let mut session = f.connect_ntlm().await;
    assert_eq!(session.requests_sent(), 2);
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits(Duration::from_secs(30)))
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines, vec![f.fleet.hosts[0].name.clone()]);
    // type 1, type 3 (empty body), Create, Command, Receive, Delete.
    assert_eq!(session.requests_sent(), 6);
    f.fleet.shutdown().await;
}

#[tokio::test]
async fn basic_over_https_runs_a_command() {
    let sent = run_hostname(EmuAuth::Basic, true, AuthMethod::Basic).await;
    assert_eq!(sent, 4);
}

#[tokio::test]
async fn ntlm_over_https_with_channel_binding_runs_a_command_in_five_requests() {
    let sent = run_hostname(EmuAuth::Ntlm, true, AuthMethod::Negotiate).await;
    // type 1, then Create (carrying type 3 with the binding), Command, Receive, Delete.
    assert_eq!(sent, 5);
}

#[tokio::test]
async fn probe_program_travels_in_environment_chunks_and_comes_back_as_lines() {
    let f = start(spec(EmuAuth::Ntlm, false, None), ClientOptions::default()).await;
    let mut session = f.connect_ntlm().await;
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &probe_program(&["host.context", "os.supported_sku"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines.len(), 2, "{:?}", out.stdout_lines);
    assert!(
        out.stdout_lines[0].starts_with("{\"id\":\"host.context\""),
        "{}",
        out.stdout_lines[0]
    );
    f.fleet.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_a_credentials_error_after_one_logon_attempt() {
    // (emulator auth, TLS, method, requests until the rejection)
    for (emu, tls, auth, requests) in [
        // NEGOTIATE, then the sealed Create carrying the AUTHENTICATE.
        (EmuAuth::Ntlm, false, AuthMethod::Ntlm, 2),
        (EmuAuth::Ntlm, true, AuthMethod::Ntlm, 2),
        // The Create with the Basic header.
        (EmuAuth::Basic, true, AuthMethod::Basic, 1),
    ] {
        let f = start(spec(emu, tls, None), ClientOptions::default()).await;
        let mut session = f
            .client
            .connect(&f.endpoint, auth, &creds(&f.fleet, "not-the-password"))
            .await
            .expect("nothing proves the password before the first SOAP request");
        let mut out = CollectedOutput::default();
        let err = session
            .run(&hostname(), &mut out, &limits(Duration::from_secs(30)))
            .await
            .expect_err("rejected");
        assert!(
            matches!(err, WinrmError::CredentialsRejected { .. }),
            "{auth:?}: {err:?}"
        );
        assert!(!err.is_transient());
        assert_eq!(session.requests_sent(), requests, "{auth:?} tls={tls}");
        assert_eq!(err.class(), FailureClass::AuthFailed);
        assert!(!format!("{err} {err:?}").contains("not-the-password"));
        f.fleet.shutdown().await;
    }
}

#[tokio::test]
async fn receive_that_times_out_twice_then_completes() {
    let mut s = spec(EmuAuth::Ntlm, false, None);
    // The program takes 750 ms; each Receive may wait 300 ms: two TimedOut faults first.
    s.ps_runtime = Duration::from_millis(750);
    let f = start(
        s,
        ClientOptions {
            operation_timeout: Duration::from_millis(300),
            ..ClientOptions::default()
        },
    )
    .await;
    let mut session = f.connect_ntlm().await;
    let mut out = CollectedOutput::default();
    let exit = session
        .run(
            &probe_program(&["host.context"]),
            &mut out,
            &limits(Duration::from_secs(30)),
        )
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(out.stdout_lines.len(), 1);
    // NEGOTIATE + Create (with AUTHENTICATE) + Command + Delete = 4, the rest are Receives.
    let receives = session.requests_sent() - 4;
    assert!(receives >= 3, "{receives} Receives");
    f.fleet.shutdown().await;
}

#[tokio::test]
async fn hung_program_ends_at_the_deadline_with_the_shell_deleted() {
    let f = start(
        spec(EmuAuth::Ntlm, false, Some(Fault::PsTimeout)),
        ClientOptions {
            operation_timeout: Duration::from_millis(300),
            ..ClientOptions::default()
        },
    )
    .await;
    let mut session = f.connect_ntlm().await;
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &probe_program(&["host.context", "os.supported_sku"]),
            &mut out,
            &limits(Duration::from_millis(900)),
        )
        .await
        .expect_err("deadline");
    assert!(
        matches!(
            err,
            WinrmError::DeadlinePassed {
                action: Action::Receive,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::Timeout);
    // The first half of the program's lines arrived before it hung; they stay delivered.
    assert_eq!(out.stdout_lines.len(), 1, "{:?}", out.stdout_lines);
    // Signal + Delete were answered by the host (a Delete of an unknown shell is a fault).
    assert_eq!(session.leaked_shells(), 0);
    f.fleet.shutdown().await;
}

#[tokio::test]
async fn quota_fault_on_create_is_transient() {
    let f = start(
        spec(EmuAuth::Ntlm, false, Some(Fault::Quota)),
        ClientOptions::default(),
    )
    .await;
    let mut session = f.connect_ntlm().await;
    let mut out = CollectedOutput::default();
    let err = session
        .run(&hostname(), &mut out, &limits(Duration::from_secs(30)))
        .await
        .expect_err("quota");
    assert_eq!(
        err.fault_code(),
        Some(fleetscan::winrm::FAULT_SHELL_QUOTA),
        "{err:?}"
    );
    assert!(err.is_transient());
    f.fleet.shutdown().await;
}

#[tokio::test]
async fn garbage_and_refused_hosts_fail_with_typed_errors() {
    let f = start(
        spec(EmuAuth::Ntlm, false, Some(Fault::Garbage)),
        ClientOptions::default(),
    )
    .await;
    let result = match f
        .client
        .connect(&f.endpoint, AuthMethod::Ntlm, &creds(&f.fleet, PASSWORD))
        .await
    {
        Err(e) => Err(e),
        Ok(mut session) => {
            let mut out = CollectedOutput::default();
            session
                .run(&hostname(), &mut out, &limits(Duration::from_secs(30)))
                .await
                .map(|_| ())
        }
    };
    let err = result.expect_err("garbage");
    assert_eq!(err.class(), FailureClass::Protocol, "{err:?}");
    f.fleet.shutdown().await;

    let f = start(
        spec(EmuAuth::Ntlm, false, Some(Fault::Refuse)),
        ClientOptions::default(),
    )
    .await;
    let err = f
        .client
        .connect(&f.endpoint, AuthMethod::Ntlm, &creds(&f.fleet, PASSWORD))
        .await
        .expect_err("refused");
    assert_eq!(err.class(), FailureClass::Unreachable, "{err:?}");
    f.fleet.shutdown().await;
}
