//! End to end through the model: for each scenario, the probe program assembled by
//! `probes::Program` is answered by the emulated host (`answers::run_powershell`),
//! its lines are fed into the program's `Evidence` and judged. Healthy has no
//! failure and nothing the judges did not understand; every other scenario flips the
//! checks it is about, and no others.

use std::collections::BTreeMap;

use fleetscan::emulator::answers;
use fleetscan::emulator::host::HostState;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::probes::{Program, ProgramEnd, Selection, Settings, catalogue};
use fleetscan::report::model::Status;

type Verdicts = BTreeMap<String, (Status, String)>;

fn verdicts_for(scenario: Scenario, hostname: &str, seed: u64) -> Verdicts {
    judge(&HostState::for_scenario(scenario, hostname, seed))
}

fn judge(host: &HostState) -> Verdicts {
    let scenario = host.scenario();
    let program = Program::assemble(&Selection::all(true)).expect("the full catalogue assembles");
    let out = answers::run_powershell(host, program.script(), "fleetscan");
    assert_eq!(out.exit_code, 0, "{scenario}: {}", out.stderr);
    let mut evidence = program.collector();
    for line in &out.stdout_lines {
        evidence.accept_line(line);
    }
    evidence
        .judge(&Settings::default(), ProgramEnd::Completed)
        .into_iter()
        .map(|r| (r.id.into_owned(), (r.status, r.summary)))
        .collect()
}

fn verdicts(scenario: Scenario) -> Verdicts {
    verdicts_for(scenario, "srv-0042", 7)
}

fn status(v: &Verdicts, id: &str) -> Status {
    v.get(id)
        .map(|(s, _)| *s)
        .unwrap_or_else(|| panic!("no verdict for {id}"))
}

/// What each scenario is about: the checks whose verdict it must change, and to what.
fn expected(scenario: Scenario) -> Vec<(&'static str, &'static [Status])> {
    use Status::*;
    match scenario {
        Scenario::Healthy => vec![],
        Scenario::WsbMissing => vec![
            ("wsb.feature_installed", &[Fail]),
            ("wsb.cmdlets_available", &[Fail]),
            ("wsb.last_job", &[Fail, Unknown]),
            ("wsb.summary", &[Fail, Unknown]),
            ("wsb.backup_sets", &[Unknown, Warn]),
            ("wsb.event_history", &[Unknown, Fail]),
        ],
        Scenario::VssDisabled => vec![
            ("svc.vss_startup", &[Fail]),
            ("vss.writers", &[Unknown, Fail]),
        ],
        Scenario::SwprvDisabled => vec![("svc.swprv_startup", &[Fail])],
        Scenario::RpcManual => vec![("svc.rpcss_startup", &[Warn, Fail])],
        Scenario::MarsMissing => vec![
            ("mars.installed", &[Fail]),
            ("mars.version", &[NotApplicable]),
            ("mars.service_running", &[NotApplicable]),
            ("mars.scratch_config", &[NotApplicable]),
            ("mars.scratch_free_space", &[NotApplicable]),
            ("mars.registration", &[NotApplicable]),
            ("sched.mars_tasks", &[NotApplicable]),
            ("sched.powershell_env", &[NotApplicable]),
            ("mars.policy_and_jobs", &[NotApplicable]),
            ("mars.cloudbackup_events", &[NotApplicable]),
        ],
        Scenario::MarsOutdated => vec![("mars.version", &[Fail, Warn])],
        Scenario::MarsStopped => vec![
            ("mars.service_running", &[Warn, Fail]),
            ("mars.policy_and_jobs", &[Unknown]),
        ],
        Scenario::LowScratchSpace => vec![("mars.scratch_free_space", &[Fail])],
        Scenario::DotnetOld => vec![("dotnet.version", &[Fail])],
        Scenario::SviAclBroken => vec![("acl.svi_system_full_control", &[Fail])],
        Scenario::VssWriterTimeout => vec![
            ("vss.writers", &[Fail]),
            ("vss.writer_timeout_events", &[Fail]),
        ],
        Scenario::ShadowStorageFull => vec![
            ("vss.shadow_storage", &[Fail]),
            ("vss.volsnap_events", &[Fail]),
        ],
        Scenario::EfiLocked => vec![("efi.esp_lock", &[Fail]), ("wsb.event_history", &[Warn])],
        Scenario::AzureVm => vec![("limit.azure_vm_system_state", &[Fail])],
        Scenario::ClockSkew => vec![("time.clock_timezone", &[Fail])],
        Scenario::ServerCore => vec![("os.supported_sku", &[Fail])],
        Scenario::NotAdmin => vec![],
        // Localized console text must not change any verdict.
        Scenario::GermanLocale => vec![],
    }
}

/// Checks a scenario may also move because Windows ties them to its change; each
/// is explained.
fn allowed_side_effects(scenario: Scenario) -> &'static [&'static str] {
    match scenario {
        // The Backup event channel does not exist without the feature.
        Scenario::WsbMissing => &["efi.esp_lock"],
        // The MARS engine process (cbengine) is one of the "backup processes" P28 reports.
        Scenario::MarsMissing | Scenario::MarsStopped => &["vss.resource_pressure"],
        // The failed run is also MARS's failed job and its error event.
        Scenario::EfiLocked => &[
            "mars.cloudbackup_events",
            "mars.policy_and_jobs",
            "wsb.last_job",
            "wsb.summary",
        ],
        // The Azure VM detection check reports what it found.
        Scenario::AzureVm => &["azure.vm_detect"],
        _ => &[],
    }
}

#[test]
fn healthy_host_has_no_failure_and_nothing_unknown() {
    let v = verdicts(Scenario::Healthy);
    let bad: Vec<_> = v
        .iter()
        .filter(|(_, (s, _))| matches!(s, Status::Fail | Status::Unknown))
        .collect();
    assert!(bad.is_empty(), "healthy: {bad:#?}");
    assert_eq!(v.len(), catalogue().len());
}

#[test]
fn each_scenario_flips_the_checks_it_is_about() {
    let healthy = verdicts(Scenario::Healthy);
    for scenario in Scenario::ALL {
        let v = verdicts(scenario);
        for (id, want) in expected(scenario) {
            let got = status(&v, id);
            assert!(
                want.contains(&got),
                "{scenario}: {id} is {got:?} ({}), want one of {want:?}",
                v[id].1
            );
            assert_ne!(got, status(&healthy, id), "{scenario}: {id} did not change");
        }
    }
}

#[test]
fn each_scenario_changes_no_other_check() {
    let healthy = verdicts(Scenario::Healthy);
    for scenario in Scenario::ALL {
        if scenario == Scenario::NotAdmin {
            continue;
        }
        let v = verdicts(scenario);
        let about: Vec<&str> = expected(scenario).iter().map(|(id, _)| *id).collect();
        let side = allowed_side_effects(scenario);
        let extra: Vec<_> = v
            .iter()
            .filter(|(id, (s, _))| {
                *s != healthy[*id].0
                    && !about.contains(&id.as_str())
                    && !side.contains(&id.as_str())
            })
            .map(|(id, (s, why))| format!("{id}: {:?} -> {s:?} ({why})", healthy[id].0))
            .collect();
        assert!(extra.is_empty(), "{scenario} also changed: {extra:#?}");
    }
}

#[test]
fn not_admin_turns_admin_only_checks_unknown_and_nothing_else() {
    let healthy = verdicts(Scenario::Healthy);
    let v = verdicts(Scenario::NotAdmin);
    for check in catalogue() {
        let got = status(&v, check.id);
        if check.admin_only {
            assert_eq!(got, Status::Unknown, "{}: {}", check.id, v[check.id].1);
        } else if check.id == "host.context" {
            // The context check itself reports the missing elevation.
            assert_eq!(got, Status::Warn, "{}", v[check.id].1);
        } else if got != status(&healthy, check.id) {
            assert_eq!(
                got,
                Status::Unknown,
                "{} changed to {got:?}: {}",
                check.id,
                v[check.id].1
            );
        }
    }
    assert!(catalogue().iter().any(|c| c.admin_only));
}

#[test]
fn per_host_variation_never_changes_a_verdict() {
    for scenario in [
        Scenario::Healthy,
        Scenario::LowScratchSpace,
        Scenario::ShadowStorageFull,
        Scenario::ClockSkew,
    ] {
        let base: Vec<Status> = verdicts(scenario).values().map(|(s, _)| *s).collect();
        for i in 0..12 {
            let v: Vec<Status> = verdicts_for(scenario, &format!("host-{i:04}"), 1000 + i)
                .values()
                .map(|(s, _)| *s)
                .collect();
            assert_eq!(v, base, "{scenario} on host-{i:04}");
        }
    }
}

#[test]
fn a_throwing_probe_makes_only_its_own_checks_unknown() {
    let healthy = verdicts(Scenario::Healthy);
    let mut host = HostState::for_scenario(Scenario::Healthy, "srv-0042", 7);
    host.set_throwing_probe(Some("svc.rpcss_startup"));
    let v = judge(&host);
    for check in catalogue() {
        let got = status(&v, check.id);
        if check.probe == "svc.rpcss_startup" {
            assert_eq!(got, Status::Unknown, "{}", check.id);
        } else {
            assert_eq!(got, status(&healthy, check.id), "{}", check.id);
        }
    }
}
