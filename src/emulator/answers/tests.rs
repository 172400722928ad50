//! What each scenario prints, probe by probe, and the shapes of §7.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::emulator::scenario::Scenario;

const NOW: OffsetDateTime = datetime!(2026-11-24 20:00:00 UTC);

fn program(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("# fleetscan-probe: {id}\ntry {{ }} catch {{ }}\n"))
        .collect()
}

fn host(s: Scenario) -> HostState {
    HostState::for_scenario(s, "srv-0042", 7)
}

/// Every probe's envelope on `host`, keyed by id.
fn answers(h: &HostState) -> Vec<(String, Value)> {
    let out = run_powershell_at(h, &program(known_probe_ids()), "fleetscan", NOW);
    assert_eq!(out.exit_code, 0);
    assert!(out.stderr.is_empty());
    out.stdout_lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (v["id"].as_str().unwrap_or_default().to_owned(), v)
        })
        .collect()
}

fn probe(s: Scenario, id: &str) -> Value {
    let out = run_powershell_at(&host(s), &program(&[id]), "fleetscan", NOW);
    assert_eq!(out.stdout_lines.len(), 1);
    serde_json::from_str(&out.stdout_lines[0]).unwrap()
}

fn data(s: Scenario, id: &str) -> Value {
    let v = probe(s, id);
    assert_eq!(v["ok"], true, "{id} on {s}: {v}");
    v["data"].clone()
}

fn is_iso_utc(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 28
            && s.ends_with('Z')
            && s.as_bytes().get(10) == Some(&b'T')
            && s.as_bytes().get(19) == Some(&b'.')
    })
}

fn service<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["services"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or(&Value::Null)
}

#[test]
fn every_catalogue_probe_answers_ok_on_healthy() {
    let all = answers(&host(Scenario::Healthy));
    assert_eq!(all.len(), 33);
    for (id, v) in &all {
        assert_eq!(v["ok"], true, "{id}: {v}");
        assert!(v["error"].is_null(), "{id}");
        assert!(v["data"].is_object(), "{id}");
    }
}

#[test]
fn envelope_keys_come_in_emit_order() {
    let out = run_powershell_at(&host(Scenario::Healthy), &program(&["net.tls12"]), "u", NOW);
    let line = &out.stdout_lines[0];
    let pos = |k: &str| line.find(&format!("\"{k}\":")).unwrap();
    assert!(pos("id") < pos("ok"));
    assert!(pos("ok") < pos("error"));
    assert!(pos("error") < pos("collected_utc"));
    assert!(pos("collected_utc") < pos("ps"));
    assert!(pos("ps") < pos("data"));
    let v: Value = serde_json::from_str(line).unwrap();
    assert!(is_iso_utc(&v["collected_utc"]), "{v}");
    assert_eq!(v["ps"], "5.1.20348.4405");
}

#[test]
fn probes_answer_in_marker_order_including_indented_markers() {
    let script = "$ErrorActionPreference='Stop'\n  # fleetscan-probe: dotnet.version\nx\n# fleetscan-probe: host.context\n";
    let out = run_powershell_at(&host(Scenario::Healthy), script, "u", NOW);
    let ids: Vec<Value> = out
        .stdout_lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![Value::from("dotnet.version"), Value::from("host.context")]
    );
}

#[test]
fn snippet_emit_ids_are_answered_under_their_own_id() {
    for (emit_id, first_check) in [
        ("mars.scratch", "mars.scratch_config"),
        ("platform.identity", "azure.vm_detect"),
        ("svc.dependencies", "svc.rpcss_startup"),
    ] {
        let a = probe(Scenario::Healthy, emit_id);
        let b = probe(Scenario::Healthy, first_check);
        assert_eq!(a["id"], emit_id);
        assert_eq!(a["data"], b["data"]);
    }
}

#[test]
fn unknown_probe_answers_ok_false_with_powershell_text() {
    let v = probe(Scenario::Healthy, "no.such_probe");
    assert_eq!(v["ok"], false);
    assert!(v["data"].is_null());
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("is not recognized as the name of a cmdlet")
    );
}

#[test]
fn throwing_probe_answers_ok_false_and_others_still_answer() {
    let mut h = host(Scenario::Healthy);
    h.set_throwing_probe(Some("dotnet.version"));
    let out = run_powershell_at(&h, &program(&["dotnet.version", "net.tls12"]), "u", NOW);
    let a: Value = serde_json::from_str(&out.stdout_lines[0]).unwrap();
    let b: Value = serde_json::from_str(&out.stdout_lines[1]).unwrap();
    assert_eq!(a["ok"], false);
    assert_eq!(a["error"], "Generic failure ");
    assert!(a["data"].is_null());
    assert_eq!(b["ok"], true);
}

#[test]
fn healthy_shapes_follow_windows_powershell_5_1() {
    let s = Scenario::Healthy;
    let ctx = data(s, "host.context");
    assert_eq!(ctx["build"], 20348);
    assert_eq!(ctx["product_type"], 3);
    assert_eq!(ctx["installation_type"], "Server");
    assert_eq!(ctx["is_admin"], true);
    assert_eq!(ctx["user"], "CORP\\fleetscan");
    assert!(is_iso_utc(&ctx["last_boot_utc"]));

    let svc = data(s, "mars.service_running");
    assert_eq!(svc["state"], "Running");
    assert_eq!(svc["start_mode"], "Auto");
    assert_eq!(svc["start_value"], 2);

    let deps = data(s, "svc.rpcss_startup");
    assert_eq!(deps["services"].as_array().unwrap().len(), 6);
    assert_eq!(service(&deps, "VSS")["start_value"], 3);
    assert_eq!(service(&deps, "VSS")["state"], "Stopped");
    assert_eq!(service(&deps, "RpcSs")["start_mode"], "Auto");

    let mars = data(s, "mars.installed");
    assert_eq!(mars["version"], "2.0.9262.0");

    let scratch = data(s, "mars.scratch_config");
    assert_eq!(scratch["paths_match"], true);
    assert_eq!(scratch["volume"]["drive_type"], 3);
    assert!(scratch["volume"]["free_pct"].as_f64().unwrap() > 10.0);
    assert!(scratch["cbssb_volumes"].as_array().unwrap().is_empty());

    let ss = data(s, "vss.shadow_storage");
    let row = &ss["shadow_storage"][0];
    assert!(
        row["max"].as_str().unwrap().parse::<u64>().is_ok(),
        "byte counts are strings"
    );
    assert_eq!(row["max_unbounded"], false);

    let w = data(s, "vss.writers");
    assert_eq!(w["exit_code"], 0);
    let writers = w["writers"].as_array().unwrap();
    assert!(
        writers
            .iter()
            .all(|w| w["state"] == 1 && w["last_error"] == "No error")
    );
    assert!(
        writers
            .iter()
            .any(|w| w["writer_id"] == "e8132975-6f93-4464-a53e-1050253ae220")
    );

    let job = data(s, "wsb.last_job");
    let newest = &job["previous"][0];
    assert_eq!(newest["hresult"], "0x00000000");
    assert!(is_iso_utc(&newest["start_utc"]));
    assert!(job["current"].is_null());

    let sum = data(s, "wsb.summary");
    assert_eq!(sum["last_result_hr"], "0x00000000");
    assert_eq!(sum["current_operation_status"], "NoOperationInProgress");

    let tasks = data(s, "sched.mars_tasks");
    assert_eq!(
        tasks["tasks"].as_array().unwrap().len(),
        1,
        "one task stays an array"
    );
    assert_eq!(tasks["tasks"][0]["multiple_instances"], "IgnoreNew");

    let platform = data(s, "azure.vm_detect");
    assert_eq!(platform["is_azure"], false);
    assert_eq!(platform["chassis_types"], serde_json::json!([23]));

    let upd = data(s, "os.updates_recent");
    assert!(is_iso_utc(&upd["latest"][0]["installed_on_utc"]));

    let tls = data(s, "net.tls12");
    assert!(tls["schannel_enabled"].is_null());
    assert_eq!(tls["net64_strong_crypto"], 1);
}

#[test]
fn healthy_newest_backup_is_recent_and_successful() {
    let job = data(Scenario::Healthy, "wsb.last_job");
    let start = OffsetDateTime::parse(
        job["previous"][0]["start_utc"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let age = NOW - start;
    assert!(
        age > time::Duration::hours(1) && age < time::Duration::hours(22),
        "{age}"
    );
    let ev = data(Scenario::Healthy, "wsb.event_history");
    assert_eq!(
        ev["operational"][0]["id"], 4,
        "newest terminal event is a success"
    );
    assert!(ev["application"].as_array().unwrap().is_empty());
}

#[test]
fn wsb_missing_reads_available_and_command_not_found() {
    let s = Scenario::WsbMissing;
    let f = data(s, "wsb.feature_installed");
    assert_eq!(f["installed"], false);
    assert_eq!(f["install_state"], "Available");
    assert_eq!(f["wbengine_service_present"], false);
    let c = data(s, "wsb.cmdlets_available");
    assert_eq!(c["invoke_ok"], false);
    assert_eq!(c["invoke_error_id"], "CommandNotFoundException");
    assert_eq!(data(s, "wsb.last_job")["cmdlet_present"], false);
    assert_eq!(data(s, "wsb.summary")["cmdlet_present"], false);
    let ev = probe(s, "wsb.event_history");
    assert_eq!(ev["ok"], false);
    assert!(
        ev["error"]
            .as_str()
            .unwrap()
            .contains("There is not an event log")
    );
    assert_eq!(
        service(&data(s, "svc.dependencies"), "wbengine")["present"],
        false
    );
}

#[test]
fn service_scenarios_change_start_modes() {
    let d = data(Scenario::VssDisabled, "svc.rpcss_startup");
    assert_eq!(service(&d, "VSS")["start_mode"], "Disabled");
    assert_eq!(service(&d, "VSS")["start_value"], 4);
    let w = data(Scenario::VssDisabled, "vss.writers");
    assert_ne!(w["exit_code"], 0);
    assert!(w["writers"].as_array().unwrap().is_empty());

    let d = data(Scenario::SwprvDisabled, "svc.rpcss_startup");
    assert_eq!(service(&d, "swprv")["start_mode"], "Disabled");
    assert_eq!(service(&d, "VSS")["start_mode"], "Manual");

    let d = data(Scenario::RpcManual, "svc.rpcss_startup");
    assert_eq!(service(&d, "RpcSs")["start_mode"], "Manual");
    assert_eq!(service(&d, "RpcSs")["start_value"], 3);
    assert_eq!(service(&d, "RpcSs")["state"], "Running");
}

#[test]
fn mars_missing_has_no_agent_anywhere() {
    let s = Scenario::MarsMissing;
    let m = data(s, "mars.installed");
    assert_eq!(m["setup_key_present"], false);
    assert_eq!(m["cbengine_exists"], false);
    assert!(m["version"].is_null());
    assert_eq!(
        data(s, "mars.service_running"),
        serde_json::json!({"present": false})
    );
    assert!(data(s, "mars.scratch_config")["config_scratch"].is_null());
    assert_eq!(data(s, "sched.mars_tasks")["tasks"], serde_json::json!([]));
    assert_eq!(data(s, "mars.registration")["config_key_present"], false);
    assert_eq!(
        data(s, "mars.policy_and_jobs"),
        serde_json::json!({"mars_installed": false})
    );
    assert_eq!(data(s, "mars.cloudbackup_events")["log_exists"], false);
    assert_eq!(data(s, "sched.powershell_env")["manifest_exists"], false);
}

#[test]
fn mars_outdated_and_stopped_change_the_agent_only() {
    let m = data(Scenario::MarsOutdated, "mars.installed");
    assert_eq!(m["version"], "2.0.9197.0");
    assert_eq!(m["uninstall_display_version"], "2.0.9197.0");
    let svc = data(Scenario::MarsStopped, "mars.service_running");
    assert_eq!(svc["state"], "Stopped");
    assert_eq!(svc["start_mode"], "Auto");
    assert_eq!(svc["process_id"], 0);
    assert_eq!(
        probe(Scenario::MarsStopped, "mars.policy_and_jobs")["ok"],
        false
    );
}

#[test]
fn low_scratch_space_is_below_five_percent() {
    let d = data(Scenario::LowScratchSpace, "mars.scratch_config");
    assert!(d["volume"]["free_pct"].as_f64().unwrap() < 5.0, "{d}");
    assert!(d["volume"]["free_bytes"].as_u64().unwrap() < 35 << 30);
}

#[test]
fn dotnet_old_is_below_4_5_2() {
    let d = data(Scenario::DotnetOld, "dotnet.version");
    assert!(d["release"].as_u64().unwrap() < 379_893);
}

#[test]
fn svi_acl_broken_lacks_system_full_control() {
    let d = data(Scenario::SviAclBroken, "acl.svi_system_full_control");
    assert_eq!(d["readable"], true);
    assert_eq!(d["system_full_control"], false);
    assert_eq!(d["aces"][0]["rights"], 1_179_817);
}

#[test]
fn vss_writer_timeout_logs_8229_and_a_timed_out_writer() {
    let s = Scenario::VssWriterTimeout;
    let ev = data(s, "vss.writer_timeout_events");
    assert!(ev["timeout_8229_count"].as_u64().unwrap() >= 1);
    let first = &ev["events"][0];
    assert_eq!(first["id"], 8229);
    assert_eq!(first["level"], 3);
    assert_eq!(first["has_800423f2"], true);
    let w = data(s, "vss.writers");
    let wmi = w["writers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "WMI Writer")
        .unwrap();
    assert_eq!(wmi["last_error"], "Timed out");
}

#[test]
fn shadow_storage_full_logs_volsnap_24_and_low_c() {
    let s = Scenario::ShadowStorageFull;
    let ev = data(s, "vss.volsnap_events");
    assert_eq!(ev["events"][0]["id"], 24);
    assert_eq!(ev["events"][0]["provider"], "volsnap");
    let ss = data(s, "vss.shadow_storage");
    let c = ss["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["drive_letter"] == "C:")
        .unwrap();
    let cap: u64 = c["capacity"].as_str().unwrap().parse().unwrap();
    let free: u64 = c["free"].as_str().unwrap().parse().unwrap();
    assert!(free * 20 < cap);
}

#[test]
fn efi_locked_has_lock_events_but_a_later_successful_run() {
    let s = Scenario::EfiLocked;
    let e = data(s, "efi.esp_lock");
    let lock = e["lock_events"].as_array().unwrap();
    assert_eq!(lock.len(), 2, "operational 5 and application 517: {e}");
    assert!(
        lock[0]["props"]
            .to_string()
            .to_lowercase()
            .contains("0x8078011e")
            || lock[0]["props"].to_string().contains("2155348254")
    );
    assert_eq!(
        data(s, "wsb.last_job")["previous"][0]["hresult"],
        "0x00000000"
    );
    assert_eq!(data(s, "wsb.summary")["last_result_hr"], "0x00000000");
    let line = run_powershell_at(&host(s), &program(&["efi.esp_lock"]), "u", NOW)
        .stdout_lines
        .remove(0);
    assert!(
        line.contains("\\u003cVolumeInfo\\u003e"),
        "JavaScriptSerializer escapes survive: {line}"
    );
}

#[test]
fn azure_vm_carries_the_azure_asset_tag() {
    let d = data(Scenario::AzureVm, "azure.vm_detect");
    assert_eq!(d["smbios_asset_tag"], "7783-7084-3265-9085-8269-3286-77");
    assert_eq!(d["is_azure"], true);
    assert_eq!(d["model"], "Virtual Machine");
    assert_eq!(d["azure_guest_agent_services"].as_array().unwrap().len(), 2);
}

#[test]
fn clock_skew_moves_the_host_clock_minutes_ahead() {
    let d = data(Scenario::ClockSkew, "time.clock_timezone");
    let t = OffsetDateTime::parse(
        d["utc_now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let skew = t - NOW;
    assert!(
        skew > time::Duration::seconds(300) && skew < time::Duration::seconds(660),
        "{skew}"
    );
    assert_eq!(d["w32tm_source"], "Local CMOS Clock");
    let healthy = data(Scenario::Healthy, "time.clock_timezone");
    let t = OffsetDateTime::parse(
        healthy["utc_now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((t - NOW).abs() < time::Duration::seconds(2));
}

#[test]
fn server_core_reports_its_installation_type() {
    assert_eq!(
        data(Scenario::ServerCore, "host.context")["installation_type"],
        "Server Core"
    );
}

#[test]
fn not_admin_makes_admin_only_probes_throw_access_denied() {
    let s = Scenario::NotAdmin;
    assert_eq!(data(s, "host.context")["is_admin"], false);
    for id in [
        "wsb.last_job",
        "wsb.summary",
        "wsb.backup_sets",
        "mars.policy_and_jobs",
    ] {
        let v = probe(s, id);
        assert_eq!(v["ok"], false, "{id}");
        assert_eq!(v["error"], "Access is denied.", "{id}");
    }
    for id in [
        "wsb.event_history",
        "vss.writer_timeout_events",
        "vss.volsnap_events",
    ] {
        let v = probe(s, id);
        assert_eq!(v["ok"], false, "{id}");
        assert_eq!(
            v["error"], "Attempted to perform an unauthorized operation.",
            "{id}"
        );
    }
    let efi = data(s, "efi.esp_lock");
    assert_eq!(
        efi["event_errors"][0],
        "Attempted to perform an unauthorized operation."
    );
    assert_eq!(efi["lock_events"], serde_json::json!([]));
    assert_eq!(data(s, "acl.svi_system_full_control")["readable"], false);
    assert_ne!(data(s, "vss.writers")["exit_code"], 0);
    assert_eq!(
        data(s, "dotnet.version"),
        data(Scenario::Healthy, "dotnet.version")
    );
}

/// The probes whose data differ from healthy on the same host: a scenario is a
/// small change, and this pins exactly how small.
#[test]
fn each_scenario_changes_only_the_evidence_it_is_about() {
    let healthy: Vec<(String, Value)> = answers(&host(Scenario::Healthy));
    let expect: &[(Scenario, &[&str])] = &[
        (
            Scenario::WsbMissing,
            &[
                "wsb.feature_installed",
                "svc.rpcss_startup",
                "wsb.cmdlets_available",
                "wsb.last_job",
                "wsb.summary",
                "wsb.backup_sets",
                "wsb.event_history",
                "sysstate.service_imagepaths",
                "efi.esp_lock",
            ],
        ),
        (Scenario::VssDisabled, &["svc.rpcss_startup", "vss.writers"]),
        (Scenario::SwprvDisabled, &["svc.rpcss_startup"]),
        (Scenario::RpcManual, &["svc.rpcss_startup"]),
        (
            Scenario::MarsMissing,
            &[
                "mars.installed",
                "mars.service_running",
                "mars.scratch_config",
                "av.exclusions_and_conflicts",
                "sched.mars_tasks",
                "sched.powershell_env",
                "mars.registration",
                "sysstate.service_imagepaths",
                "vss.resource_pressure",
                "mars.policy_and_jobs",
                "mars.cloudbackup_events",
            ],
        ),
        (Scenario::MarsOutdated, &["mars.installed"]),
        (
            Scenario::MarsStopped,
            &[
                "mars.service_running",
                "vss.resource_pressure",
                "mars.policy_and_jobs",
            ],
        ),
        (
            Scenario::LowScratchSpace,
            &[
                "mars.scratch_config",
                "vol.unsupported_sources",
                "vss.shadow_storage",
            ],
        ),
        (Scenario::DotnetOld, &["dotnet.version"]),
        (Scenario::SviAclBroken, &["acl.svi_system_full_control"]),
        (
            Scenario::VssWriterTimeout,
            &["vss.writers", "vss.writer_timeout_events"],
        ),
        (
            Scenario::ShadowStorageFull,
            &[
                "vol.unsupported_sources",
                "vss.shadow_storage",
                "vss.volsnap_events",
            ],
        ),
        (
            Scenario::EfiLocked,
            &[
                "wsb.last_job",
                "wsb.summary",
                "wsb.backup_sets",
                "wsb.event_history",
                "efi.esp_lock",
                "mars.policy_and_jobs",
                "mars.cloudbackup_events",
            ],
        ),
        (
            Scenario::AzureVm,
            &[
                "azure.vm_detect",
                "vol.unsupported_sources",
                "sysstate.service_imagepaths",
            ],
        ),
        (Scenario::ServerCore, &["host.context"]),
        (
            Scenario::GermanLocale,
            &[
                "host.context",
                "net.mars_endpoints",
                "time.clock_timezone",
                "vss.writers",
            ],
        ),
        (
            Scenario::NotAdmin,
            &[
                "host.context",
                "av.exclusions_and_conflicts",
                "vol.unsupported_sources",
                "azure.vm_detect",
                "acl.svi_system_full_control",
                "wsb.cmdlets_available",
                "wsb.last_job",
                "wsb.summary",
                "wsb.backup_sets",
                "wsb.event_history",
                "vss.writers",
                "vss.writer_timeout_events",
                "vss.shadow_storage",
                "vss.volsnap_events",
                "efi.esp_lock",
                "mars.policy_and_jobs",
                "mars.cloudbackup_events",
            ],
        ),
    ];
    for (s, ids) in expect {
        let got: BTreeSet<String> = answers(&host(*s))
            .into_iter()
            .zip(&healthy)
            .filter(|((_, a), (_, b))| a["data"] != b["data"] || a["ok"] != b["ok"])
            .map(|((id, _), _)| id)
            .collect();
        let want: BTreeSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, want, "{s}");
    }
}

#[test]
fn answers_are_deterministic_for_the_same_host_and_time() {
    for s in Scenario::ALL {
        let a = run_powershell_at(&host(s), &program(known_probe_ids()), "u", NOW);
        let b = run_powershell_at(&host(s), &program(known_probe_ids()), "u", NOW);
        assert_eq!(a, b, "{s}");
    }
}

#[test]
fn simple_scripts_print_what_powershell_would() {
    let h = host(Scenario::Healthy);
    let out = run_powershell_at(
        &h,
        "Write-Output 'it''s here'; $env:COMPUTERNAME\nhostname",
        "u",
        NOW,
    );
    assert_eq!(out.stdout_lines, vec!["it's here", "SRV-0042", "srv-0042"]);
    assert_eq!(out.exit_code, 0);
    let out = run_powershell_at(&h, "echo \"on $env:COMPUTERNAME\"\nexit 3", "u", NOW);
    assert_eq!(out.stdout_lines, vec!["on SRV-0042"]);
    assert_eq!(out.exit_code, 3);
}

#[test]
fn unknown_powershell_command_writes_clixml_error_and_exits_1() {
    let out = run_powershell_at(&host(Scenario::Healthy), "Get-Foo -Bar", "u", NOW);
    assert_eq!(out.exit_code, 1);
    assert!(out.stdout_lines.is_empty());
    assert!(
        out.stderr
            .starts_with("#< CLIXML\r\n<Objs Version=\"1.1.0.1\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("<S S=\"Error\">Get-Foo : The term 'Get-Foo' is not recognized")
    );
    assert!(
        out.stderr
            .contains("CommandNotFoundException_x000D__x000A_</S>")
    );
}

#[test]
fn cmd_commands_answer_like_cmd() {
    let h = host(Scenario::Healthy);
    assert_eq!(
        run_cmd(&h, "hostname", "fleetscan").stdout_lines,
        vec!["srv-0042"]
    );
    assert_eq!(
        run_cmd(&h, "whoami", "CORP\\FleetScan").stdout_lines,
        vec!["corp\\fleetscan"]
    );
    assert_eq!(
        run_cmd(&h, "cmd /c echo hello %COMPUTERNAME%", "u").stdout_lines,
        vec!["hello SRV-0042"]
    );
    assert_eq!(run_cmd(&h, "cmd.exe /c exit /b 7", "u").exit_code, 7);
    let ip = run_cmd(&h, "ipconfig", "u");
    assert!(
        ip.stdout_lines
            .iter()
            .any(|l| l.starts_with("   IPv4 Address. . . . . . . . . . . : 10.20."))
    );
    let bad = run_cmd(&h, "frobnicate now", "u");
    assert_eq!(bad.exit_code, 1);
    assert_eq!(
        bad.stderr,
        "'frobnicate' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    );
}

#[test]
fn german_locale_localizes_console_text_but_keeps_parseable_tokens() {
    let s = Scenario::GermanLocale;
    let ctx = data(s, "host.context");
    assert_eq!(ctx["culture"], "de-DE");
    assert_eq!(ctx["ui_culture"], "de-DE");
    let w = data(s, "vss.writers");
    assert_eq!(w["exit_code"], 0);
    assert_eq!(w["writer_count"], 10);
    let writers = w["writers"].as_array().unwrap();
    assert!(writers.iter().all(|w| w["state"] == 1
        && w["last_error"] == "Kein Fehler"
        && w["state_text"] == "Stabil"));
    assert!(
        w["raw_head"]
            .as_str()
            .unwrap()
            .contains("Verfassername: \u{27}")
    );
    let t = data(s, "time.clock_timezone");
    assert!(
        t["w32tm_status"]
            .as_str()
            .unwrap()
            .starts_with("Sprungindikator: 0")
    );
    assert_eq!(t["tz_id"], "W. Europe Standard Time");
    assert!(
        data(s, "net.mars_endpoints")["winhttp_proxy_text"]
            .as_str()
            .unwrap()
            .contains("Direkter Zugriff")
    );
}

#[test]
fn each_batch_is_a_whole_gzip_member_though_the_deflate_state_is_reused() {
    use std::io::Read as _;
    let inflate = |gz: &[u8]| {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut text)
            .expect("a valid gzip member");
        text
    };
    let first = b"{\"id\":\"wsb.feature\"}\n".repeat(50);
    let second = b"{\"id\":\"svc.vss\"}\n".to_vec();
    let (a, b, c, empty) = (gzip(&first), gzip(&second), gzip(&first), gzip(b""));
    assert_eq!(inflate(&a), first);
    assert_eq!(
        inflate(&b),
        second,
        "nothing of the first batch carries over"
    );
    assert_eq!(a, c, "the same input compresses the same way every time");
    assert!(inflate(&empty).is_empty());
}
