//! Over the wire: every named scenario of the emulated fleet, scanned through the
//! real WinRM client (NTLM with sealing over HTTP, `--deep`), gets the verdict the
//! scenario is about; and `fleetscan diff` on two scans of a fleet where one
//! host's scenario changed reports exactly that change.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use fleetscan::credentials::CredentialResolver;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{FleetSpec, RunningFleet};
use fleetscan::inventory::{self, Format, Scheme};
use fleetscan::probes::{Program, Selection, Settings};
use fleetscan::report::model::{FleetReport, Outcome, Status};
use fleetscan::scan::{
    self, AuthChoice, Defaults, FanOutOptions, ProgressMode, ScanRequest, WinrmRemote,
};
use fleetscan::winrm::{self, PreparedCommand, PreparedScript};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// Scans a running fleet with the library, as `fleetscan scan --deep` would.
async fn scan_fleet(fleet: &RunningFleet) -> FleetReport {
    let inv = inventory::parse_str(Format::Ini, &fleet.inventory_ini(), "fleet.ini").unwrap();
    let mut creds = CredentialResolver::new(
        Some("fleetscan".into()),
        SecretString::from("fleetscan".to_owned()),
    );
    let defaults = Defaults {
        scheme: Scheme::Http,
        port: None,
        auth: AuthChoice::Negotiate,
        insecure: false,
        allow_unencrypted: false,
    };
    let hosts = scan::resolve(inv.targets().to_vec(), &defaults, |t| {
        t.credentials(&mut creds).map_err(|e| e.to_string())
    })
    .unwrap();
    let program = Program::assemble(&Selection::all(true)).unwrap();
    let command = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(program.script())));
    let client = winrm::Client::new(winrm::ClientOptions::default()).unwrap();
    let request = ScanRequest {
        scan_id: uuid::Uuid::new_v4().to_string(),
        hosts,
        program: Arc::new(program),
        settings: Arc::new(Settings::default()),
        fan_out: FanOutOptions {
            concurrency: 32,
            ..FanOutOptions::default()
        },
        inventory_files: vec!["fleet.ini".into()],
        journal: None,
        progress: ProgressMode::Quiet,
    };
    let remote = Arc::new(WinrmRemote::new(client, command));
    scan::scan_fleet(remote, request, CancellationToken::new())
        .await
        .into_report()
        .unwrap()
}

/// The check each scenario is about, and the verdicts that are right for it.
fn headline(scenario: Scenario) -> Option<(&'static str, &'static [Status])> {
    use Status::*;
    Some(match scenario {
        Scenario::Healthy | Scenario::NotAdmin | Scenario::GermanLocale => return None,
        Scenario::WsbMissing => ("wsb.feature_installed", &[Fail]),
        Scenario::VssDisabled => ("svc.vss_startup", &[Fail]),
        Scenario::SwprvDisabled => ("svc.swprv_startup", &[Fail]),
        Scenario::RpcManual => ("svc.rpcss_startup", &[Warn, Fail]),
        Scenario::MarsMissing => ("mars.installed", &[Fail]),
        Scenario::MarsOutdated => ("mars.version", &[Fail, Warn]),
        Scenario::MarsStopped => ("mars.service_running", &[Warn, Fail]),
        Scenario::LowScratchSpace => ("mars.scratch_free_space", &[Fail]),
        Scenario::DotnetOld => ("dotnet.version", &[Fail]),
        Scenario::SviAclBroken => ("acl.svi_system_full_control", &[Fail]),
        Scenario::VssWriterTimeout => ("vss.writer_timeout_events", &[Fail]),
        Scenario::ShadowStorageFull => ("vss.shadow_storage", &[Fail]),
        Scenario::EfiLocked => ("efi.esp_lock", &[Fail]),
        Scenario::AzureVm => ("limit.azure_vm_system_state", &[Fail]),
        Scenario::ClockSkew => ("time.clock_timezone", &[Fail]),
        Scenario::ServerCore => ("os.supported_sku", &[Fail]),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_scanned_over_the_wire_gets_the_verdict_it_is_about() {
    let mut spec = FleetSpec::uniform(Scenario::ALL.len(), Scenario::Healthy);
    for (host, scenario) in spec.hosts.iter_mut().zip(Scenario::ALL) {
        host.scenario = scenario;
    }
    let fleet = RunningFleet::start(spec).await.unwrap();
    let scenarios: HashMap<String, Scenario> = fleet
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.scenario))
        .collect();
    let report = scan_fleet(&fleet).await;
    fleet.shutdown().await;

    let all_checks = Program::assemble(&Selection::all(true))
        .unwrap()
        .check_ids()
        .len();
    for host in &report.hosts {
        let scenario = scenarios[&host.name];
        assert_eq!(
            host.outcome,
            Outcome::Scanned,
            "{scenario:?}: {:?}",
            host.error
        );
        assert_eq!(
            host.checks.len(),
            all_checks,
            "{scenario:?}: every selected check has a row"
        );
        let status = |id: &str| host.checks.iter().find(|c| c.id == id).map(|c| c.status);
        match headline(scenario) {
            Some((id, allowed)) => {
                let got = status(id).unwrap();
                assert!(
                    allowed.contains(&got),
                    "{scenario:?}: {id} is {got:?}, expected {allowed:?}"
                );
            }
            None if scenario == Scenario::NotAdmin => {
                assert_eq!(status("acl.svi_system_full_control"), Some(Status::Unknown));
            }
            None => assert!(
                !host.has_unwaived_failure(),
                "{scenario:?} should not fail: {:?}",
                host.checks
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .map(|c| &c.id)
                    .collect::<Vec<_>>()
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_two_scans_reports_the_host_whose_scenario_changed() {
    let spec = FleetSpec::uniform(3, Scenario::Healthy);
    let fleet = RunningFleet::start(spec.clone()).await.unwrap();
    let before = scan_fleet(&fleet).await;
    fleet.shutdown().await;

    let mut changed = spec;
    changed.hosts[1].scenario = Scenario::VssDisabled;
    let fleet = RunningFleet::start(changed).await.unwrap();
    let after = scan_fleet(&fleet).await;
    fleet.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&old, serde_json::to_vec(&before).unwrap()).unwrap();
    std::fs::write(&new, serde_json::to_vec(&after).unwrap()).unwrap();
    let bin = env!("CARGO_BIN_EXE_fleetscan");
    let out = Command::new(bin)
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "something got worse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_failures = diff["new_failures"].as_array().unwrap();
    assert!(!new_failures.is_empty());
    let host = &after.hosts[1].name;
    assert!(
        new_failures
            .iter()
            .all(|f| f.to_string().contains(host.as_str())),
        "{new_failures:?}"
    );
    assert!(
        new_failures
            .iter()
            .any(|f| f.to_string().contains("svc.vss_startup")),
        "{new_failures:?}"
    );

    let back = Command::new(bin)
        .arg("diff")
        .arg(&new)
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(
        back.status.code(),
        Some(0),
        "only fixes the other way round"
    );
    assert!(String::from_utf8_lossy(&back.stdout).contains("svc.vss_startup"));
}
