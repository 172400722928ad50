//! The MARS agent: install, version, service, scratch folder, registration, policy and
//! jobs, its event log, its scheduled tasks and PowerShell environment, offline seeding.

use serde_json::json;

use crate::probes::json::Json;

use super::{
    Ctx, Judged, Unknown, Verdict, enum_text, need, need_bool, need_objects, opt_bool, opt_date,
    opt_hresult, opt_str, opt_u64,
};
use crate::probes::value::{Version4, as_u64};
use crate::report::model::Status;

/// Agents older than this stopped working when ACS was retired (March 2018).
const MARS_FLOOR_ACS: Version4 = Version4([2, 0, 9083, 0]);
/// Agents older than this cannot parse current vault credentials.
const MARS_FLOOR_VAULT_CREDS: Version4 = Version4([2, 0, 9249, 0]);

/// `mars.installed`: registry key and cbengine.exe agree.
pub(crate) fn installed(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let key = need_bool(d, "setup_key_present")?;
    let exe = need_bool(d, "cbengine_exists")?;
    let path = opt_str(d, "install_path")?;
    let version = opt_str(d, "version")?;
    let evidence = json!({"setup_key_present": key, "cbengine_exists": exe, "install_path": path, "version": version,
                          "uninstall_display_version": super::scalar(d, "uninstall_display_version")?});
    Ok(match (key, exe) {
        (true, true) => Verdict::new(
            Status::Pass,
            format!(
                "MARS agent {} installed at {}",
                version.unwrap_or("?"),
                path.unwrap_or("?")
            ),
            evidence,
        ),
        (false, false) => Verdict::new(Status::Fail, "the MARS agent is not installed", evidence),
        (true, false) => Verdict::new(
            Status::Warn,
            "MARS setup key present but cbengine.exe is missing: broken install",
            evidence,
        ),
        (false, true) => Verdict::new(
            Status::Warn,
            "cbengine.exe present without the setup key: broken install",
            evidence,
        ),
    })
}

/// `mars.version`: floors from Microsoft, then the configured newest version.
pub(crate) fn version(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let text = opt_str(d, "version")?
        .or(opt_str(d, "file_version")?)
        .or(opt_str(d, "uninstall_display_version")?);
    let Some(text) = text else {
        return Err(Unknown(
            "no agent version (cbengine.exe and the uninstall entry have none)".into(),
        ));
    };
    let Some(v) = Version4::parse(text) else {
        return Err(Unknown(format!(
            "agent version '{text}' is not a version number"
        )));
    };
    let latest = ctx.settings.mars_latest_known;
    let evidence = json!({"version": v.to_string(), "mars_latest_known": latest.to_string()});
    Ok(if v < MARS_FLOOR_ACS {
        Verdict::new(
            Status::Fail,
            format!(
                "agent {v} is older than {MARS_FLOOR_ACS}: backups fail since the ACS retirement"
            ),
            evidence,
        )
    } else if v < MARS_FLOOR_VAULT_CREDS {
        Verdict::new(
            Status::Fail,
            format!(
                "agent {v} is older than {MARS_FLOOR_VAULT_CREDS}: vault credentials and registration fail"
            ),
            evidence,
        )
    } else if v < latest {
        Verdict::new(
            Status::Warn,
            format!("agent {v} is behind the newest known {latest}"),
            evidence,
        )
    } else {
        Verdict::new(
            Status::Pass,
            format!("agent {v} is current (newest known {latest})"),
            evidence,
        )
    })
}

/// Win32_Service start modes, or the registry `Start` number (2 auto, 3 manual, 4 disabled).
pub(crate) fn start_mode(d: Json<'_>) -> Result<Option<&'static str>, Unknown> {
    let mode = match super::need(d, "start_mode")? {
        v if v.is_null() => None,
        v => Some(
            enum_text(v, &["Boot", "System", "Auto", "Manual", "Disabled"])
                .ok_or_else(|| Unknown(format!("start_mode {v} is not a start mode")))?,
        ),
    };
    let from_text = mode.and_then(|m| match m.to_ascii_lowercase().as_str() {
        "auto" | "automatic" => Some("Auto"),
        "manual" => Some("Manual"),
        "disabled" => Some("Disabled"),
        "boot" => Some("Boot"),
        "system" => Some("System"),
        _ => None,
    });
    if from_text.is_some() {
        return Ok(from_text);
    }
    let from_reg = super::super::value::field(d, "start_value")
        .and_then(as_u64)
        .and_then(|n| match n {
            0 => Some("Boot"),
            1 => Some("System"),
            2 => Some("Auto"),
            3 => Some("Manual"),
            4 => Some("Disabled"),
            _ => None,
        });
    Ok(from_reg)
}

/// `mars.service_running`: obengine running; disabled or missing fails.
pub(crate) fn service(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let present = need_bool(d, "present")?;
    if !present {
        return Ok(Verdict::new(
            Status::Fail,
            "the obengine service (MARS agent) does not exist",
            json!({"present": false}),
        ));
    }
    let state = opt_str(d, "state")?;
    let mode = start_mode(d)?;
    let exit_code = opt_u64(d, "exit_code")?;
    let evidence = json!({"present": true, "state": state, "start_mode": mode, "exit_code": exit_code,
                          "start_name": super::scalar(d, "start_name")?});
    if mode == Some("Disabled") {
        return Ok(Verdict::new(
            Status::Fail,
            "the MARS agent service is disabled",
            evidence,
        ));
    }
    match state {
        Some(s) if s.eq_ignore_ascii_case("Running") => Ok(Verdict::new(
            Status::Pass,
            "the MARS agent service is running",
            evidence,
        )),
        Some(s) => Ok(Verdict::new(
            Status::Warn,
            format!(
                "the MARS agent service is {s} (start mode {}, exit code {})",
                mode.unwrap_or("?"),
                exit_code.map_or("?".into(), |c| c.to_string())
            ),
            evidence,
        )),
        None => Err(Unknown("service state is null".into())),
    }
}

const FILE_ATTRIBUTE_SPARSE: u64 = 0x200;
const FILE_ATTRIBUTE_REPARSE_POINT: u64 = 0x400;
const FILE_ATTRIBUTE_COMPRESSED: u64 = 0x800;
const FILE_ATTRIBUTE_ENCRYPTED: u64 = 0x4000;

/// `mars.scratch_config`: both registry values, same folder, local fixed volume, plain attributes.
pub(crate) fn scratch_config(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let s1 = opt_str(d, "config_scratch")?;
    let s2 = opt_str(d, "provider_scratch")?;
    let matches = opt_bool(d, "paths_match")?;
    let unc = opt_bool(d, "is_unc")?;
    let exists = opt_bool(d, "exists")?;
    let attr_value = opt_u64(d, "attributes_value")?;
    let attr_text = opt_str(d, "attributes")?;
    let volume = need(d, "volume")?;
    let drive_type = if volume.is_object() {
        opt_u64(volume, "drive_type")?
    } else {
        None
    };
    let evidence = json!({"config_scratch": s1, "provider_scratch": s2, "paths_match": matches, "is_unc": unc,
                          "exists": exists, "attributes": attr_text, "drive_type": drive_type});
    let fail = |why: String| Ok(Verdict::new(Status::Fail, why, evidence.clone()));
    let (Some(path), Some(_)) = (s1, s2) else {
        return fail("a ScratchLocation registry value is missing (Config and CloudBackupProvider must both be set)".into());
    };
    if matches == Some(false) {
        return fail("the two ScratchLocation values point at different folders".into());
    }
    if unc == Some(true) {
        return fail(format!("scratch folder {path} is a network path"));
    }
    match exists {
        Some(false) => return fail(format!("scratch folder {path} does not exist")),
        None => return Err(Unknown("`exists` is null".into())),
        Some(true) => {}
    }
    match drive_type {
        Some(3) => {}
        Some(t) => {
            return fail(format!(
                "scratch folder {path} is on a volume of drive type {t}, not a fixed disk"
            ));
        }
        None => return Err(Unknown("the scratch folder's volume was not found".into())),
    }
    let bad_bits = [
        (FILE_ATTRIBUTE_ENCRYPTED, "Encrypted"),
        (FILE_ATTRIBUTE_COMPRESSED, "Compressed"),
        (FILE_ATTRIBUTE_SPARSE, "SparseFile"),
        (FILE_ATTRIBUTE_REPARSE_POINT, "ReparsePoint"),
    ];
    let bad: Vec<&str> = match (attr_value, attr_text) {
        (Some(v), _) => bad_bits
            .iter()
            .filter(|(bit, _)| v & bit != 0)
            .map(|(_, n)| *n)
            .collect(),
        (None, Some(t)) => bad_bits
            .iter()
            .filter(|(_, n)| t.contains(n))
            .map(|(_, n)| *n)
            .collect(),
        (None, None) => return Err(Unknown("the scratch folder's attributes are null".into())),
    };
    if !bad.is_empty() {
        return fail(format!(
            "scratch folder {path} is {}: not supported for the cache",
            bad.join(", ")
        ));
    }
    if matches != Some(true) {
        return Err(Unknown("`paths_match` is null".into()));
    }
    Ok(Verdict::new(
        Status::Pass,
        format!("scratch folder {path} is on a local fixed volume"),
        evidence,
    ))
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `mars.scratch_free_space`: room for the System State copy plus a share of the data.
pub(crate) fn scratch_free(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let volume = need(d, "volume")?;
    if !volume.is_object() {
        return Err(Unknown("the scratch folder's volume was not found".into()));
    }
    let free =
        opt_u64(volume, "free_bytes")?.ok_or_else(|| Unknown("free_bytes is null".into()))?;
    let cap = opt_u64(volume, "capacity_bytes")?
        .ok_or_else(|| Unknown("capacity_bytes is null".into()))?;
    if cap == 0 {
        return Err(Unknown("the scratch volume reports a capacity of 0".into()));
    }
    let name = opt_str(volume, "name")?.unwrap_or("?");
    let s = ctx.settings;
    let free_gb = free as f64 / GIB;
    let pct = 100.0 * free as f64 / cap as f64;
    let need_pass = s.scratch_system_state_gb + 0.10 * s.protected_data_gb;
    let need_min = s.scratch_system_state_gb_min + 0.05 * s.protected_data_gb;
    let evidence = json!({"volume": name, "free_bytes": free, "capacity_bytes": cap,
                          "free_pct": (pct * 100.0).round() / 100.0, "required_gb": need_pass, "minimum_gb": need_min});
    let summary = format!(
        "{name} has {free_gb:.1} GB free ({pct:.1} %); System State needs about {need_pass:.0} GB"
    );
    let status = if free_gb < need_min || pct < s.scratch_free_pct_fail {
        Status::Fail
    } else if free_gb < need_pass || pct < s.scratch_free_pct_warn {
        Status::Warn
    } else {
        Status::Pass
    };
    Ok(Verdict::new(status, summary, evidence))
}

/// Shows only the last four characters of an identifier.
fn mask(id: Option<&str>) -> Option<String> {
    id.map(|s| {
        let tail: String = s
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("****{tail}")
    })
}

/// `mars.registration`: registered to a vault.
pub(crate) fn registration(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let present = need_bool(d, "config_key_present")?;
    let machine = opt_str(d, "machine_id")?;
    let resource = opt_str(d, "resource_id")?;
    let vault = opt_str(d, "vault_name")?;
    let evidence = json!({"config_key_present": present, "registered": machine.is_some() && resource.is_some(),
                          "vault_name": vault, "subscription_id": mask(opt_str(d, "subscription_id")?),
                          "resource_group": super::scalar(d, "resource_group")?});
    if machine.is_some() && resource.is_some() {
        Ok(Verdict::new(
            Status::Pass,
            format!(
                "registered to vault {}; to re-register, remove the agent and the portal entry first and reuse the original passphrase",
                vault.unwrap_or("?")
            ),
            evidence,
        ))
    } else {
        Ok(Verdict::new(
            Status::Warn,
            "the agent is installed but not registered to a vault",
            evidence,
        ))
    }
}

/// `mars.policy_and_jobs`: a System State policy exists and its last job completed.
pub(crate) fn policy_and_jobs(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if !need_bool(d, "mars_installed")? {
        return Ok(Verdict::new(
            Status::NotApplicable,
            "the MARS agent is not installed",
            json!({"mars_installed": false}),
        ));
    }
    let policy = need(d, "ss_policy")?;
    let jobs = need_objects(d, "jobs")?;
    let mut evidence = json!({"ss_policy": policy, "jobs_seen": jobs.len()});
    if policy.is_null() {
        return Ok(if ctx.settings.expect_system_state_policy {
            Verdict::new(
                Status::Fail,
                "no System State backup policy is configured in the agent",
                evidence,
            )
        } else {
            Verdict::new(
                Status::NotApplicable,
                "no System State policy (not expected by settings)",
                evidence,
            )
        });
    }
    if !policy.is_object() {
        return Err(Unknown("`ss_policy` should be an object".into()));
    }
    if let Some(e) = super::super::value::field(policy, "error").and_then(Json::as_str) {
        return Err(Unknown(format!(
            "the System State policy could not be read: {e}"
        )));
    }
    let paused = opt_str(policy, "policy_state")?.is_some_and(|s| s.eq_ignore_ascii_case("Paused"));
    // Newest job that protects System State.
    let mut newest: Option<(Option<time::OffsetDateTime>, Json<'_>)> = None;
    for &job in &jobs {
        let ds = need_objects(job, "datasources")?;
        let mut is_ss = false;
        for &x in &ds {
            let name = opt_str(x, "name")?
                .unwrap_or("")
                .to_ascii_lowercase()
                .replace(' ', "");
            is_ss |= name.contains("systemstate");
        }
        if !is_ss {
            continue;
        }
        let start = opt_date(job, "start_utc")?;
        if newest.as_ref().is_none_or(|(t, _)| start > *t) {
            newest = Some((start, job));
        }
    }
    let Some((start, job)) = newest else {
        return Ok(Verdict::new(
            Status::Warn,
            "a System State policy exists but no System State job is in the agent's recent history",
            evidence,
        ));
    };
    let state = opt_str(job, "job_state")?.unwrap_or("?");
    let code = opt_str(job, "error_code")?;
    evidence["last_ss_job"] = json!({"job_state": state, "start_utc": start.map(|t| t.to_string()), "error_code": code,
                                     "detailed_error_code": super::scalar(job, "detailed_error_code")?});
    let when = start.map_or("at an unknown time".to_string(), |t| {
        format!("{} days ago", ctx.age_days(t))
    });
    let lower = state.to_ascii_lowercase();
    if lower == "aborted" || lower.contains("fail") {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "last System State job ({when}) ended {state}, error code {}",
                code.unwrap_or("?")
            ),
            evidence,
        ));
    }
    if paused {
        return Ok(Verdict::new(
            Status::Warn,
            "the System State policy is paused",
            evidence,
        ));
    }
    if lower == "completed" {
        return Ok(Verdict::new(
            Status::Pass,
            format!("last System State job ({when}) completed"),
            evidence,
        ));
    }
    if lower.starts_with("completedwith") {
        return Ok(Verdict::new(
            Status::Warn,
            format!("last System State job ({when}) ended {state}"),
            evidence,
        ));
    }
    Err(Unknown(format!(
        "job state '{state}' is not one the judge knows"
    )))
}

/// `mars.cloudbackup_events`: critical/error events of the agent's own log, recent ones warn.
pub(crate) fn cloudbackup_events(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if !need_bool(d, "log_exists")? {
        return Err(Unknown(
            "the CloudBackup/Operational log does not exist".into(),
        ));
    }
    let events = need_objects(d, "events")?;
    let mut recent = Vec::new();
    for &e in &events {
        let level = opt_u64(e, "level")?;
        let Some(t) = opt_date(e, "time_utc")? else {
            continue;
        };
        if matches!(level, Some(1 | 2)) && ctx.is_recent(t) {
            recent.push(json!({"id": need(e, "id")?, "time_utc": t.to_string(), "level": level}));
        }
    }
    let evidence = json!({"events_in_window": events.len(), "recent_errors": recent.iter().take(5).collect::<Vec<_>>()});
    Ok(if recent.is_empty() {
        Verdict::new(
            Status::Pass,
            format!(
                "no agent errors in the last {} days",
                ctx.settings.event_recent_days
            ),
            evidence,
        )
    } else {
        Verdict::new(
            Status::Warn,
            format!(
                "{} agent error events in the last {} days",
                recent.len(),
                ctx.settings.event_recent_days
            ),
            evidence,
        )
    })
}

const SS_TASK: &str = "Microsoft-OnlineBackup-SystemStateBackup";
/// Task results that are not failures: success, ready, running, not yet run.
const OK_TASK_RESULTS: &[u32] = &[0x0, 0x41300, 0x41301, 0x41303];

/// `sched.mars_tasks`: the Online Backup task is enabled, triggered, runs as SYSTEM.
pub(crate) fn tasks(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let tasks = need_objects(d, "tasks")?;
    if tasks.is_empty() {
        // The agent creates its tasks when a schedule is saved; without a System State
        // policy (known only from the deep probe) a missing task is expected.
        let no_policy = ctx
            .other("mars.policy_and_jobs")
            .and_then(|p| super::super::value::field(p, "ss_policy"))
            .is_some_and(Json::is_null);
        return Ok(if no_policy {
            Verdict::new(
                Status::Warn,
                "no scheduled task under \\Microsoft\\OnlineBackup\\ and no System State policy: nothing is scheduled",
                json!({"tasks": [], "ss_policy": null}),
            )
        } else {
            Verdict::new(
                Status::Fail,
                "no scheduled task under \\Microsoft\\OnlineBackup\\: scheduled backups cannot run",
                json!({"tasks": []}),
            )
        });
    }
    let mut chosen = tasks[0];
    for &t in &tasks {
        if opt_str(t, "task_name")?.is_some_and(|n| n.eq_ignore_ascii_case(SS_TASK)) {
            chosen = t;
        }
    }
    let name = opt_str(chosen, "task_name")?.unwrap_or("?");
    let state = opt_str(chosen, "state")?;
    let enabled = opt_bool(chosen, "settings_enabled")?;
    let triggers = need_objects(chosen, "triggers")?;
    let user = opt_str(chosen, "user_id")?;
    let group = opt_str(chosen, "group_id")?;
    let multiple = opt_str(chosen, "multiple_instances")?;
    let result = opt_hresult(chosen, "last_task_result")?;
    let evidence = json!({"task": name, "state": state, "settings_enabled": enabled, "triggers": triggers.len(),
                          "user_id": user, "group_id": group, "multiple_instances": multiple,
                          "last_task_result": result.map(super::hex), "last_run_time_utc": super::scalar(chosen, "last_run_time_utc")?});
    if state.is_some_and(|s| s.eq_ignore_ascii_case("Disabled")) || enabled == Some(false) {
        return Ok(Verdict::new(
            Status::Fail,
            format!("task {name} is disabled"),
            evidence,
        ));
    }
    let mut trigger_on = Vec::new();
    for &t in &triggers {
        trigger_on.push(opt_bool(t, "enabled")?.unwrap_or(false));
    }
    if !trigger_on.is_empty() && trigger_on.iter().all(|on| !on) {
        return Ok(Verdict::new(
            Status::Fail,
            format!("every trigger of task {name} is disabled"),
            evidence,
        ));
    }
    if state.is_none() {
        return Err(Unknown("task state is null".into()));
    }
    let mut warnings = Vec::new();
    let is_system = user.is_some_and(|u| {
        let u = u.to_ascii_uppercase();
        u == "SYSTEM" || u.ends_with("\\SYSTEM") || u == "S-1-5-18"
    });
    let is_admins = group.is_some_and(|g| {
        g.eq_ignore_ascii_case("Administrators")
            || g.eq_ignore_ascii_case("S-1-5-32-544")
            || g.to_ascii_uppercase().ends_with("\\ADMINISTRATORS")
    });
    // Account names are localized: only judge them on English hosts.
    if !is_system && !is_admins && ctx.facts.english == Some(true) {
        warnings.push(format!(
            "runs as {} rather than SYSTEM",
            user.or(group).unwrap_or("?")
        ));
    }
    if multiple.is_some_and(|m| !m.eq_ignore_ascii_case("IgnoreNew")) {
        warnings.push(format!(
            "multiple-instance rule is {} (use 'do not start a new instance')",
            multiple.unwrap_or("?")
        ));
    }
    if let Some(r) = result
        && !OK_TASK_RESULTS.contains(&r)
    {
        warnings.push(format!("last run result {}", super::hex(r)));
    }
    Ok(if warnings.is_empty() {
        Verdict::new(
            Status::Pass,
            format!("task {name} is enabled and runs as SYSTEM"),
            evidence,
        )
    } else {
        Verdict::new(
            Status::Warn,
            format!("task {name}: {}", warnings.join("; ")),
            evidence,
        )
    })
}

/// PowerShell `ExecutionPolicy` enum values, in order.
const POLICIES: &[&str] = &[
    "Unrestricted",
    "RemoteSigned",
    "AllSigned",
    "Restricted",
    "Default",
    "Bypass",
    "Undefined",
];
/// PowerShell `ExecutionPolicyScope` enum values, in order.
const SCOPES: &[&str] = &[
    "Process",
    "CurrentUser",
    "LocalMachine",
    "UserPolicy",
    "MachinePolicy",
];

/// `sched.powershell_env`: module path, module files, machine execution policy, engine version.
pub(crate) fn powershell_env(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let in_path = need_bool(d, "contains_module_dir")? || need_bool(d, "contains_modules_parent")?;
    let manifest = need_bool(d, "manifest_exists")?;
    let engine = opt_str(d, "powershell_engine_version")?;
    let mut machine = None;
    let mut local = None;
    for p in need_objects(d, "execution_policies")? {
        let scope = enum_text(need(p, "scope")?, SCOPES)
            .ok_or_else(|| Unknown("execution policy scope not readable".into()))?;
        let policy = enum_text(need(p, "policy")?, POLICIES)
            .ok_or_else(|| Unknown("execution policy not readable".into()))?;
        if scope.eq_ignore_ascii_case("MachinePolicy") {
            machine = Some(policy);
        } else if scope.eq_ignore_ascii_case("LocalMachine") {
            local = Some(policy);
        }
    }
    let effective = match machine {
        Some(m) if !m.eq_ignore_ascii_case("Undefined") => Some(m),
        _ => local,
    };
    let evidence = json!({"module_dir_in_psmodulepath": in_path, "manifest_exists": manifest,
                          "machine_execution_policy": effective, "powershell_engine_version": engine,
                          "machine_psmodulepath": super::scalar(d, "machine_psmodulepath")?});
    let mut fails = Vec::new();
    if !in_path {
        fails.push("the machine PSModulePath lacks the agent's Modules folder".to_string());
    }
    if !manifest {
        fails.push("MSOnlineBackup.psd1 is missing".to_string());
    }
    if effective.is_some_and(|p| p.eq_ignore_ascii_case("Restricted")) {
        fails.push("the machine execution policy is Restricted".to_string());
    }
    if let Some(v) = engine
        .and_then(|e| e.split('.').next())
        .and_then(|m| m.parse::<u32>().ok())
        && v < 3
    {
        fails.push(format!(
            "PowerShell engine {} is older than 3.0",
            engine.unwrap_or("?")
        ));
    }
    if !fails.is_empty() {
        return Ok(Verdict::new(Status::Fail, fails.join("; "), evidence));
    }
    let Some(effective) = effective else {
        return Err(Unknown(
            "no LocalMachine execution policy in the list".into(),
        ));
    };
    if effective.eq_ignore_ascii_case("AllSigned") {
        return Ok(Verdict::new(
            Status::Warn,
            "the machine execution policy is AllSigned",
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        format!("MSOnlineBackup module reachable, execution policy {effective}"),
        evidence,
    ))
}

/// `offline.azure_powershell`: only for offline-seeding machines (not System State).
pub(crate) fn offline_azure_powershell(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let modules = need_objects(d, "modules")?;
    let msi = need_objects(d, "msi")?;
    let mut found = Vec::new();
    for &m in modules.iter().chain(msi.iter()) {
        let name = opt_str(m, "name")?.unwrap_or("?");
        let version = opt_str(m, "version")?.unwrap_or("?");
        found.push(format!("{name} {version}"));
    }
    let evidence = json!({"found": found});
    if !ctx.settings.offline_seeding {
        return Ok(Verdict::new(
            Status::NotApplicable,
            "offline backup cannot be used for System State (set offline_seeding=true for seeding machines)",
            evidence,
        ));
    }
    let has_370 = found.iter().any(|f| {
        let mut parts = f.rsplitn(2, ' ');
        let version = parts.next().unwrap_or("");
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        (name == "azure" || name == "azurerm" || name.starts_with("microsoft azure powershell"))
            && version.starts_with("3.7.0")
    });
    Ok(if has_370 {
        Verdict::new(
            Status::Pass,
            "Azure PowerShell 3.7.0 is installed",
            evidence,
        )
    } else {
        Verdict::new(
            Status::Warn,
            "Azure PowerShell 3.7.0 is not installed (needed for offline seeding)",
            evidence,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::samples::healthy;
    use super::super::testing::*;
    use crate::probes::Settings;
    use crate::report::model::Status;
    use serde_json::json;

    fn with(probe: &str, key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut d = healthy(probe);
        d[key] = value;
        d
    }

    #[test]
    fn mars_missing_fails_and_half_install_warns() {
        let gone = json!({"setup_key_present": false, "install_path": null, "cbengine_path": null, "cbengine_exists": false,
                          "file_version": null, "version": null, "uninstall_display_name": null, "uninstall_display_version": null, "uninstall_key": null});
        assert_eq!(judge("mars.installed", gone).status, Status::Fail);
        assert_eq!(
            judge(
                "mars.installed",
                with("mars.installed", "cbengine_exists", json!(false))
            )
            .status,
            Status::Warn
        );
    }

    #[test]
    fn mars_version_floors_and_latest_known() {
        let v = |s: &str| judge("mars.version", with("mars.installed", "version", json!(s))).status;
        assert_eq!(v("2.0.9262.0"), Status::Pass);
        assert_eq!(v("2.0.9250.0"), Status::Warn);
        assert_eq!(v("2.0.9200.0"), Status::Fail);
        assert_eq!(v("2.0.8999.0"), Status::Fail);
        assert_eq!(v("garbage"), Status::Unknown);
        let mut s = Settings::default();
        s.set("mars_latest_known", "2.0.9300.0").expect("valid");
        assert_eq!(
            judge_with("mars.version", healthy("mars.installed"), &[], &s).status,
            Status::Warn
        );
    }

    #[test]
    fn mars_service_stopped_warns_disabled_fails() {
        let stopped = with("mars.service_running", "state", json!("Stopped"));
        assert_eq!(
            judge("mars.service_running", stopped.clone()).status,
            Status::Warn
        );
        let mut disabled = stopped;
        disabled["start_mode"] = json!("Disabled");
        disabled["start_value"] = json!(4);
        assert_eq!(judge("mars.service_running", disabled).status, Status::Fail);
        assert_eq!(
            judge("mars.service_running", json!({"present": false})).status,
            Status::Fail
        );
    }

    #[test]
    fn scratch_mismatch_unc_and_compressed_fail() {
        assert_eq!(
            judge(
                "mars.scratch_config",
                with("mars.scratch_config", "paths_match", json!(false))
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "mars.scratch_config",
                with("mars.scratch_config", "provider_scratch", json!(null))
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "mars.scratch_config",
                with("mars.scratch_config", "attributes_value", json!(2064))
            )
            .status,
            Status::Fail
        );
        let mut unc = with("mars.scratch_config", "is_unc", json!(true));
        unc["volume"] = json!(null);
        assert_eq!(judge("mars.scratch_config", unc).status, Status::Fail);
    }

    #[test]
    fn low_scratch_space_fails_and_percent_warns() {
        let vol = |free: u64, cap: u64| {
            with(
                "mars.scratch_config",
                "volume",
                json!({"name": "D:\\", "label": "cache", "file_system": "NTFS",
            "drive_type": 3, "capacity_bytes": cap, "free_bytes": free, "free_pct": null}),
            )
        };
        let gib = 1024u64 * 1024 * 1024;
        assert_eq!(
            judge("mars.scratch_free_space", vol(8 * gib, 500 * gib)).status,
            Status::Fail
        );
        assert_eq!(
            judge("mars.scratch_free_space", vol(40 * gib, 500 * gib)).status,
            Status::Warn,
            "8 % free"
        );
        assert_eq!(
            judge("mars.scratch_free_space", vol(100 * gib, 500 * gib)).status,
            Status::Pass
        );
        assert_eq!(
            judge(
                "mars.scratch_free_space",
                with("mars.scratch_config", "volume", json!(null))
            )
            .status,
            Status::Unknown
        );
    }

    #[test]
    fn unregistered_agent_warns_and_subscription_is_masked() {
        let v = judge("mars.registration", healthy("mars.registration"));
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.evidence["subscription_id"], "****4444");
        assert_eq!(
            judge(
                "mars.registration",
                with("mars.registration", "resource_id", json!(null))
            )
            .status,
            Status::Warn
        );
    }

    #[test]
    fn policy_missing_fails_paused_warns_aborted_job_fails() {
        assert_eq!(
            judge(
                "mars.policy_and_jobs",
                with("mars.policy_and_jobs", "ss_policy", json!(null))
            )
            .status,
            Status::Fail
        );
        let mut paused = healthy("mars.policy_and_jobs");
        paused["ss_policy"]["policy_state"] = json!("Paused");
        assert_eq!(judge("mars.policy_and_jobs", paused).status, Status::Warn);
        let mut aborted = healthy("mars.policy_and_jobs");
        aborted["jobs"] = json!([{"job_type": "Backup", "job_state": "Aborted", "start_utc": days_ago(1), "end_utc": days_ago(1),
            "error_code": "100034", "detailed_error_code": "", "datasources": [{"name": "System State", "state": "Aborted"}]}]);
        assert_eq!(judge("mars.policy_and_jobs", aborted).status, Status::Fail);
        assert_eq!(
            judge("mars.policy_and_jobs", json!({"mars_installed": false})).status,
            Status::NotApplicable
        );
    }

    #[test]
    fn recent_agent_error_events_warn() {
        let events = json!({"log_exists": true, "window_days": 14, "events": {"time_utc": days_ago(1), "id": 18, "provider": "CloudBackup", "level": 2, "record_id": 5, "props": []}});
        assert_eq!(
            judge("mars.cloudbackup_events", events).status,
            Status::Warn
        );
        assert_eq!(
            judge(
                "mars.cloudbackup_events",
                json!({"log_exists": false, "window_days": 14, "events": []})
            )
            .status,
            Status::Unknown
        );
    }

    #[test]
    fn disabled_task_fails_and_no_task_fails() {
        let mut d = healthy("sched.mars_tasks");
        d["tasks"][0]["state"] = json!("Disabled");
        assert_eq!(judge("sched.mars_tasks", d).status, Status::Fail);
        assert_eq!(
            judge("sched.mars_tasks", json!({"tasks": []})).status,
            Status::Fail
        );
        let mut parallel = healthy("sched.mars_tasks");
        parallel["tasks"][0]["multiple_instances"] = json!("Parallel");
        assert_eq!(judge("sched.mars_tasks", parallel).status, Status::Warn);
    }

    #[test]
    fn restricted_policy_or_missing_module_path_fails() {
        let mut d = healthy("sched.powershell_env");
        d["execution_policies"][4]["policy"] = json!("Restricted");
        assert_eq!(judge("sched.powershell_env", d).status, Status::Fail);
        let mut d = healthy("sched.powershell_env");
        d["contains_modules_parent"] = json!(false);
        assert_eq!(judge("sched.powershell_env", d).status, Status::Fail);
        // Enum integers as a raw Get-ExecutionPolicy -List would give: MachinePolicy=4/Undefined=6, LocalMachine=2/AllSigned=2.
        let mut d = healthy("sched.powershell_env");
        d["execution_policies"] = json!([{"scope": 4, "policy": 6}, {"scope": 2, "policy": 2}]);
        assert_eq!(judge("sched.powershell_env", d).status, Status::Warn);
    }

    #[test]
    fn offline_azure_powershell_only_for_seeding_machines() {
        assert_eq!(
            judge(
                "offline.azure_powershell",
                healthy("offline.azure_powershell")
            )
            .status,
            Status::NotApplicable
        );
        let mut s = Settings::default();
        s.set("offline_seeding", "true").expect("valid");
        assert_eq!(
            judge_with(
                "offline.azure_powershell",
                healthy("offline.azure_powershell"),
                &[],
                &s
            )
            .status,
            Status::Warn
        );
        let have =
            json!({"modules": {"name": "Azure", "version": "3.7.0", "base": "C:\\x"}, "msi": []});
        assert_eq!(
            judge_with("offline.azure_powershell", have, &[], &s).status,
            Status::Pass
        );
    }
}
