//! Reports built in code, for tests, the golden files and the size measurements
//! of the writers. Not part of the product's interface.

use std::collections::BTreeMap;

use serde_json::json;
use time::macros::datetime;

use super::model::{
    AppliedWaiver, CheckResult, FleetReport, HostReport, Outcome, SCHEMA_VERSION, ScanMeta,
    Severity, Status,
};

/// Check ids of the catalogue (probe-catalogue.md §4), used to make synthetic reports look real.
pub const CHECK_IDS: [&str; 42] = [
    "host.context",
    "os.supported_sku",
    "mars.installed",
    "mars.version",
    "mars.service_running",
    "net.mars_endpoints",
    "net.tls12",
    "mars.scratch_config",
    "mars.scratch_free_space",
    "av.exclusions_and_conflicts",
    "sched.mars_tasks",
    "sched.powershell_env",
    "os.updates_recent",
    "vol.unsupported_sources",
    "time.clock_timezone",
    "dotnet.version",
    "mars.registration",
    "offline.azure_powershell",
    "azure.vm_detect",
    "limit.azure_vm_system_state",
    "limit.restore_hardware",
    "wsb.feature_installed",
    "acl.svi_system_full_control",
    "svc.rpcss_startup",
    "svc.eventsystem_startup",
    "svc.sens_startup",
    "svc.vss_startup",
    "svc.swprv_startup",
    "wsb.cmdlets_available",
    "wsb.last_job",
    "wsb.summary",
    "wsb.backup_sets",
    "wsb.event_history",
    "sysstate.service_imagepaths",
    "vss.writers",
    "vss.writer_timeout_events",
    "vss.resource_pressure",
    "vss.shadow_storage",
    "vss.volsnap_events",
    "efi.esp_lock",
    "mars.policy_and_jobs",
    "mars.cloudbackup_events",
];

/// Builds one check result.
pub fn check(id: &str, status: Status, summary: &str, evidence: serde_json::Value) -> CheckResult {
    CheckResult {
        id: id.to_owned().into(),
        title: format!("Title of {id}").into(),
        seed_section: "Pre-requisite".into(),
        severity: if id.starts_with("svc.") || id.starts_with("wsb.") {
            Severity::Critical
        } else {
            Severity::Medium
        },
        status,
        summary: summary.to_owned(),
        evidence,
        remediation: format!("Fix {id}: run the documented command, then scan again.").into(),
        waived: None,
    }
}

fn host(name: &str, address: &str, outcome: Outcome, checks: Vec<CheckResult>) -> HostReport {
    HostReport {
        name: name.to_owned(),
        address: address.to_owned(),
        groups: vec!["prod".to_owned()],
        outcome,
        error: None,
        started: datetime!(2026-11-24 20:00:01 UTC),
        duration_ms: 1234,
        requests: 5,
        checks,
    }
}

fn meta(scan_id: &str, selected: &[&str]) -> ScanMeta {
    ScanMeta {
        scan_id: scan_id.to_owned(),
        started: datetime!(2026-11-24 20:00:00 UTC),
        finished: datetime!(2026-11-24 20:01:00 UTC),
        fleetscan_version: "0.1.0".to_owned(),
        inventory_files: vec!["inventories/prod.ini".to_owned()],
        selected_checks: selected.iter().map(|s| (*s).to_owned()).collect(),
        settings: BTreeMap::from([("clock_skew_warn_seconds".to_owned(), "60".to_owned())]),
        interrupted: false,
        expired_waivers: vec![],
    }
}

/// [`fixed_report`] with one expired waiver listed, for the writers that show them.
pub fn fixed_report_with_expired_waiver() -> FleetReport {
    let mut report = fixed_report();
    report
        .meta
        .expired_waivers
        .push("web* <svc.*> 2026-01-31 (waivers.yaml:7)".to_owned());
    report
}

/// A small report with every outcome, every status, a waiver, hostile text from
/// the remote side (formula injection, markup, control characters) and an
/// evidence value longer than a spreadsheet cell.
pub fn fixed_report() -> FleetReport {
    let selected = [
        "wsb.feature_installed",
        "svc.vss_startup",
        "vss.writer_timeout_events",
        "mars.installed",
        "time.clock_timezone",
        "efi.esp_lock",
    ];
    let web01 = host(
        "web01.corp.local",
        "10.0.0.1:5985",
        Outcome::Scanned,
        vec![
            check(
                "wsb.feature_installed",
                Status::Pass,
                "Windows-Server-Backup is Installed",
                json!({"InstallState": 1}),
            ),
            check(
                "svc.vss_startup",
                Status::Fail,
                "VSS start type is Disabled (want Manual)",
                json!({"StartType": 4, "Status": 1}),
            ),
            check(
                "vss.writer_timeout_events",
                Status::Warn,
                "-2 writers timed out in event 8224",
                json!({"events": [{"id": 8224, "message": "-cmd /c calc"}]}),
            ),
            check(
                "mars.installed",
                Status::NotApplicable,
                "MARS agent not installed; Windows Server Backup only",
                serde_json::Value::Null,
            ),
            check(
                "time.clock_timezone",
                Status::Unknown,
                "@SUM(1+1)*cmd|' /C calc'!A0",
                json!({"w32tm": "\tcmd"}),
            ),
            check(
                "efi.esp_lock",
                Status::Pass,
                "\tESP not locked",
                json!({"esp": "<script>alert(1)</script>"}),
            ),
        ],
    );
    let mut waived = check(
        "svc.vss_startup",
        Status::Fail,
        "VSS start type is Disabled (want Manual)",
        json!({"StartType": 4}),
    );
    waived.waived = Some(AppliedWaiver {
        reason: "=cmd|' /C calc'!A0 change CHG-1 pending".to_owned(),
        expires: Some("2026-12-31".to_owned()),
    });
    let mut dc02 = host(
        "=HYPERLINK(\"http://x\",\"y\")",
        "10.0.0.2:5985",
        Outcome::Scanned,
        vec![
            check(
                "wsb.feature_installed",
                Status::Fail,
                "Windows-Server-Backup is Available, not Installed",
                json!({"InstallState": 0}),
            ),
            waived,
            check(
                "vss.writer_timeout_events",
                Status::Pass,
                "+no writer timeouts in 30 days",
                json!({"log": "A".repeat(40_000)}),
            ),
        ],
    );
    dc02.groups = vec!["prod".to_owned(), "dc".to_owned()];
    let mut db03 = host(
        "db03\"><script>alert(1)</script>",
        "10.0.0.3:5985",
        Outcome::Unreachable,
        vec![],
    );
    db03.error = Some(
        "connect to 10.0.0.3:5985: connection refused; check the host is up and WinRM listens"
            .to_owned(),
    );
    let mut app04 = host(
        "app04",
        "10.0.0.4:5986",
        Outcome::Timeout,
        vec![
            check(
                "wsb.feature_installed",
                Status::Pass,
                "Windows-Server-Backup is Installed",
                json!({"InstallState": 1}),
            ),
            check(
                "svc.vss_startup",
                Status::Unknown,
                "timed out before this check reported",
                serde_json::Value::Null,
            ),
        ],
    );
    app04.error = Some("host deadline of 120s passed; 1 of 2 checks reported".to_owned());
    let mut app05 = host("app05", "10.0.0.5:5985", Outcome::AuthFailed, vec![]);
    app05.error = Some("401 Unauthorized for user fleetscan; check the password".to_owned());
    let ok06 = host(
        "ok06",
        "10.0.0.6:5985",
        Outcome::Scanned,
        vec![
            check(
                "wsb.feature_installed",
                Status::Pass,
                "Windows-Server-Backup is Installed",
                json!({"InstallState": 1}),
            ),
            check(
                "svc.vss_startup",
                Status::Pass,
                "VSS start type is Manual",
                json!({"StartType": 3}),
            ),
        ],
    );
    FleetReport {
        schema_version: SCHEMA_VERSION,
        meta: meta("7c1e0c1e-0000-4000-8000-000000000001", &selected),
        hosts: vec![web01, dc02, db03, app04, app05, ok06],
    }
}

/// A synthetic fleet of `hosts` hosts and `checks` (at most 42) checks each, drawn
/// from `seed`: mostly healthy, some failing checks, a few unscanned hosts.
pub fn synthetic(hosts: usize, checks: usize, seed: u64) -> FleetReport {
    let mut rng = fastrand::Rng::with_seed(seed);
    let ids: Vec<&str> = CHECK_IDS.iter().copied().take(checks).collect();
    let start = datetime!(2026-11-24 02:00:00 UTC);
    let mut list = Vec::with_capacity(hosts);
    for n in 0..hosts {
        let name = format!("srv{n:05}.corp.example");
        let address = format!("10.{}.{}.{}:5985", n / 65536, (n / 256) % 256, n % 256);
        let roll = rng.u32(0..100);
        let outcome = match roll {
            0..=3 => Outcome::Unreachable,
            4 => Outcome::AuthFailed,
            5 => Outcome::Timeout,
            6 => Outcome::ProtocolError,
            _ => Outcome::Scanned,
        };
        let broken = rng.u32(0..100) < 30;
        let checks = if matches!(outcome, Outcome::Scanned | Outcome::Timeout) {
            ids.iter()
                .map(|id| {
                    let r = rng.u32(0..1000);
                    let status = match r {
                        _ if outcome == Outcome::Timeout && r < 400 => Status::Unknown,
                        0..=14 if broken => Status::Fail,
                        15..=40 => Status::Warn,
                        41..=50 => Status::Unknown,
                        51..=120 => Status::NotApplicable,
                        _ => Status::Pass,
                    };
                    check(
                        id,
                        status,
                        &format!("{id}: observed value {} on {name}", rng.u32(0..10_000)),
                        json!({
                            "Name": id,
                            "StartType": rng.u8(0..5),
                            "Status": rng.u8(0..8),
                            "collected_utc": "2026-11-24T02:00:03Z",
                            "Path": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
                        }),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut h = HostReport {
            name,
            address,
            groups: vec!["prod".to_owned(), format!("site{}", n % 7)],
            outcome,
            error: None,
            started: start + time::Duration::milliseconds(n as i64 * 20),
            duration_ms: rng.u64(800..9000),
            requests: 5,
            checks,
        };
        if outcome != Outcome::Scanned {
            h.error = Some(format!("{outcome}: synthetic error for host {n}"));
        }
        list.push(h);
    }
    FleetReport {
        schema_version: SCHEMA_VERSION,
        meta: ScanMeta {
            selected_checks: ids.iter().map(|s| (*s).to_owned()).collect(),
            ..meta("synthetic", &[])
        },
        hosts: list,
    }
}
