//! The judges: pure functions from one probe's data (plus a few facts about the host
//! and, where the catalogue asks for it, a related probe's data) to a status, a
//! one-line summary and the evidence worth showing.
//!
//! Each judge reads keys through the `need_*`/`opt_*` helpers: a missing key or a
//! value of the wrong type ends the judge with [`Unknown`], never with `pass`.

mod host;
mod mars;
mod net;
mod platform;
#[cfg(test)]
mod samples;
mod security;
mod services;
mod vss;
mod wsb;

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::evidence::ProbeLine;
use super::json::{Json, Kind};
use super::settings::Settings;
use super::value::{as_bool, as_date, as_f64, as_hresult, as_u64, field, list};
use crate::report::model::Status;

/// A judge's verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) status: Status,
    pub(crate) summary: String,
    pub(crate) evidence: Value,
}

impl Verdict {
    pub(crate) fn new(status: Status, summary: impl Into<String>, evidence: Value) -> Verdict {
        Verdict {
            status,
            summary: summary.into(),
            evidence,
        }
    }
}

/// Why the evidence could not be understood (becomes `unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unknown(pub(crate) String);

/// What every judge returns.
pub(crate) type Judged = Result<Verdict, Unknown>;

/// Facts about the host that change how other checks are judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostFacts {
    /// From `host.context`; `None` when that probe did not answer.
    pub(crate) is_admin: Option<bool>,
    /// The account the probes ran as.
    pub(crate) user: Option<String>,
    /// True when culture and UI culture are English (`en-*`); text parsers rely on it.
    pub(crate) english: Option<bool>,
    /// From `mars.installed`: registry key or cbengine.exe present.
    pub(crate) mars_installed: Option<bool>,
}

impl HostFacts {
    pub(crate) fn from_lines(context: Option<Json<'_>>, mars: Option<Json<'_>>) -> HostFacts {
        let text = |v: Json<'_>, k: &str| field(v, k).and_then(Json::as_str).map(str::to_string);
        let is_admin = context.and_then(|c| field(c, "is_admin")).and_then(as_bool);
        let user = context.and_then(|c| text(c, "user"));
        let english = context.and_then(|c| {
            let cultures: Vec<String> = ["culture", "ui_culture"]
                .iter()
                .filter_map(|k| text(c, k))
                .collect();
            if cultures.is_empty() {
                None
            } else {
                Some(
                    cultures
                        .iter()
                        .all(|c| c.to_ascii_lowercase().starts_with("en")),
                )
            }
        });
        let mars_installed = mars.and_then(|m| {
            let key = field(m, "setup_key_present").and_then(as_bool)?;
            let exe = field(m, "cbengine_exists").and_then(as_bool)?;
            Some(key || exe)
        });
        HostFacts {
            is_admin,
            user,
            english,
            mars_installed,
        }
    }
}

/// What a judge may look at besides its own data.
pub(crate) struct Ctx<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) facts: &'a HostFacts,
    lines: &'a HashMap<&'static str, ProbeLine>,
    /// Our clock when the judged line arrived.
    pub(crate) received_at: OffsetDateTime,
    /// "Now" on the host's clock (the line's `collected_utc`, else `received_at`):
    /// ages of host timestamps are measured against it.
    pub(crate) host_now: OffsetDateTime,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        settings: &'a Settings,
        facts: &'a HostFacts,
        lines: &'a HashMap<&'static str, ProbeLine>,
        line: &ProbeLine,
    ) -> Ctx<'a> {
        Ctx {
            settings,
            facts,
            lines,
            received_at: line.received_at,
            host_now: line.collected_utc.unwrap_or(line.received_at),
        }
    }

    /// Data of another probe that answered `ok:true`, if it ran.
    pub(crate) fn other(&self, probe: &str) -> Option<Json<'a>> {
        self.lines.get(probe).filter(|l| l.ok).map(ProbeLine::data)
    }

    /// Whole days from `t` to the host's now (negative when `t` is in the future).
    pub(crate) fn age_days(&self, t: OffsetDateTime) -> i64 {
        (self.host_now - t).whole_days()
    }

    /// True when `t` is within `event_recent_days` of the host's now.
    pub(crate) fn is_recent(&self, t: OffsetDateTime) -> bool {
        self.age_days(t) < i64::try_from(self.settings.event_recent_days).unwrap_or(i64::MAX)
    }
}

/// Runs the judge of check `id` on its probe's data (an object).
pub(crate) fn run(id: &str, ctx: &Ctx<'_>, data: Json<'_>) -> Judged {
    match id {
        "host.context" => host::context(ctx, data),
        "os.supported_sku" => host::supported_sku(ctx, data),
        "dotnet.version" => host::dotnet(ctx, data),
        "os.updates_recent" => host::updates(ctx, data),
        "time.clock_timezone" => host::clock(ctx, data),
        "mars.installed" => mars::installed(ctx, data),
        "mars.version" => mars::version(ctx, data),
        "mars.service_running" => mars::service(ctx, data),
        "mars.scratch_config" => mars::scratch_config(ctx, data),
        "mars.scratch_free_space" => mars::scratch_free(ctx, data),
        "mars.registration" => mars::registration(ctx, data),
        "mars.policy_and_jobs" => mars::policy_and_jobs(ctx, data),
        "mars.cloudbackup_events" => mars::cloudbackup_events(ctx, data),
        "sched.mars_tasks" => mars::tasks(ctx, data),
        "sched.powershell_env" => mars::powershell_env(ctx, data),
        "offline.azure_powershell" => mars::offline_azure_powershell(ctx, data),
        "net.mars_endpoints" => net::endpoints(ctx, data),
        "net.tls12" => net::tls12(ctx, data),
        "azure.vm_detect" => platform::azure_vm(ctx, data),
        "limit.azure_vm_system_state" => platform::azure_vm_system_state(ctx, data),
        "limit.restore_hardware" => platform::restore_hardware(ctx, data),
        "vol.unsupported_sources" => platform::volumes(ctx, data),
        "efi.esp_lock" => platform::esp_lock(ctx, data),
        "av.exclusions_and_conflicts" => security::av(ctx, data),
        "acl.svi_system_full_control" => security::svi_acl(ctx, data),
        "svc.rpcss_startup" => services::judge(ctx, data, "RpcSs"),
        "svc.eventsystem_startup" => services::judge(ctx, data, "EventSystem"),
        "svc.sens_startup" => services::judge(ctx, data, "SENS"),
        "svc.vss_startup" => services::judge(ctx, data, "VSS"),
        "svc.swprv_startup" => services::judge(ctx, data, "swprv"),
        "wsb.feature_installed" => wsb::feature(ctx, data),
        "wsb.cmdlets_available" => wsb::cmdlets(ctx, data),
        "wsb.last_job" => wsb::last_job(ctx, data),
        "wsb.summary" => wsb::summary(ctx, data),
        "wsb.backup_sets" => wsb::backup_sets(ctx, data),
        "wsb.event_history" => wsb::event_history(ctx, data),
        "sysstate.service_imagepaths" => wsb::service_imagepaths(ctx, data),
        "vss.writers" => vss::writers(ctx, data),
        "vss.writer_timeout_events" => vss::timeout_events(ctx, data),
        "vss.resource_pressure" => vss::resource_pressure(ctx, data),
        "vss.shadow_storage" => vss::shadow_storage(ctx, data),
        "vss.volsnap_events" => vss::volsnap_events(ctx, data),
        other => Err(Unknown(format!("no judge for check `{other}`"))),
    }
}

// ---- reading helpers: missing or mistyped → Unknown -------------------------------

/// The value of `key` (may be `null`); missing → Unknown.
pub(crate) fn need<'a>(data: Json<'a>, key: &str) -> Result<Json<'a>, Unknown> {
    field(data, key).ok_or_else(|| Unknown(format!("key `{key}` is missing")))
}

/// A value shown as evidence: present and a scalar (text, number, boolean or `null`).
pub(crate) fn scalar<'a>(data: Json<'a>, key: &str) -> Result<Json<'a>, Unknown> {
    let v = need(data, key)?;
    match v.kind() {
        Kind::Array | Kind::Object => Err(wrong(key, "a single value", v)),
        _ => Ok(v),
    }
}

/// A list of texts (a single text may have collapsed from a one-element list).
pub(crate) fn need_strings<'a>(data: Json<'a>, key: &str) -> Result<Vec<&'a str>, Unknown> {
    let mut out = Vec::new();
    for v in need_list(data, key)? {
        match v.kind() {
            Kind::String(s) => out.push(s),
            Kind::Null => {}
            _ => return Err(wrong(key, "a list of texts", v)),
        }
    }
    Ok(out)
}

fn wrong(key: &str, what: &str, v: Json<'_>) -> Unknown {
    let mut shown = v.to_string();
    if shown.len() > 60 {
        shown = shown.chars().take(60).collect::<String>() + "…";
    }
    Unknown(format!("`{key}` should be {what}, got {shown}"))
}

/// A boolean that must be present and not null.
pub(crate) fn need_bool(data: Json<'_>, key: &str) -> Result<bool, Unknown> {
    let v = need(data, key)?;
    as_bool(v).ok_or_else(|| wrong(key, "a boolean", v))
}

/// A boolean key that may be `null`.
pub(crate) fn opt_bool(data: Json<'_>, key: &str) -> Result<Option<bool>, Unknown> {
    match need(data, key)? {
        v if v.is_null() => Ok(None),
        v => as_bool(v)
            .map(Some)
            .ok_or_else(|| wrong(key, "a boolean", v)),
    }
}

/// A text key that may be `null` (empty text counts as `null`).
pub(crate) fn opt_str<'a>(data: Json<'a>, key: &str) -> Result<Option<&'a str>, Unknown> {
    let v = need(data, key)?;
    match v.kind() {
        Kind::Null => Ok(None),
        Kind::String(s) if s.trim().is_empty() => Ok(None),
        Kind::String(s) => Ok(Some(s)),
        _ => Err(wrong(key, "text", v)),
    }
}

/// An unsigned integer key (number or decimal text) that may be `null`.
pub(crate) fn opt_u64(data: Json<'_>, key: &str) -> Result<Option<u64>, Unknown> {
    match need(data, key)? {
        v if v.is_null() => Ok(None),
        v => as_u64(v)
            .map(Some)
            .ok_or_else(|| wrong(key, "a whole number", v)),
    }
}

/// An unsigned integer key that must be present.
pub(crate) fn need_u64(data: Json<'_>, key: &str) -> Result<u64, Unknown> {
    let v = need(data, key)?;
    as_u64(v).ok_or_else(|| wrong(key, "a whole number", v))
}

/// A number key that may be `null`.
pub(crate) fn opt_f64(data: Json<'_>, key: &str) -> Result<Option<f64>, Unknown> {
    match need(data, key)? {
        v if v.is_null() => Ok(None),
        v => as_f64(v).map(Some).ok_or_else(|| wrong(key, "a number", v)),
    }
}

/// A date key (`\/Date(ms)\/` or ISO) that may be `null`.
pub(crate) fn opt_date(data: Json<'_>, key: &str) -> Result<Option<OffsetDateTime>, Unknown> {
    let v = need(data, key)?;
    match v.kind() {
        Kind::Null => Ok(None),
        Kind::String(s) if s.trim().is_empty() => Ok(None),
        _ => as_date(v).map(Some).ok_or_else(|| wrong(key, "a date", v)),
    }
}

/// An HRESULT key that may be `null`.
pub(crate) fn opt_hresult(data: Json<'_>, key: &str) -> Result<Option<u32>, Unknown> {
    let v = need(data, key)?;
    match v.kind() {
        Kind::Null => Ok(None),
        Kind::String(s) if s.trim().is_empty() => Ok(None),
        _ => as_hresult(v)
            .map(Some)
            .ok_or_else(|| wrong(key, "an HRESULT", v)),
    }
}

/// A list key (a one-element list may have collapsed to its element; `null` is empty).
pub(crate) fn need_list<'a>(data: Json<'a>, key: &str) -> Result<Vec<Json<'a>>, Unknown> {
    Ok(list(need(data, key)?))
}

/// A list of objects: every element must be an object.
pub(crate) fn need_objects<'a>(data: Json<'a>, key: &str) -> Result<Vec<Json<'a>>, Unknown> {
    let items = need_list(data, key)?;
    match items.iter().find(|v| !v.is_object()) {
        Some(bad) => Err(wrong(key, "a list of objects", *bad)),
        None => Ok(items),
    }
}

/// Text of an enum-like value: a string, or the integer PowerShell 5.1 writes for an
/// enum, mapped with `names` (index = value).
pub(crate) fn enum_text<'a>(v: Json<'a>, names: &[&'a str]) -> Option<&'a str> {
    match v.kind() {
        Kind::String(s) => Some(s),
        Kind::Number(_) => as_u64(v)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|i| names.get(i).copied()),
        _ => None,
    }
}

/// `0x%08X` text for an HRESULT.
pub(crate) fn hex(hr: u32) -> String {
    format!("0x{hr:08X}")
}

/// What a WSB/MARS error code points at (catalogue §3.4), for summaries.
pub(crate) fn hresult_hint(hr: u32, detailed: Option<u32>) -> Option<&'static str> {
    match (hr, detailed) {
        (0x8078_011E, _) => Some("the EFI system partition is locked (see efi.esp_lock)"),
        (0x8078_00A1, _) | (0x8004_23F2, _) => Some("a VSS failure (see vss.* checks)"),
        (0x8078_010D, _) | (0x8078_0049, _) | (_, Some(0x8007_007B)) => {
            Some("an invalid service image path (see sysstate.service_imagepaths)")
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for judge tests: judge a check on a data object with default settings.

    use super::*;
    use crate::probes::json::Doc;
    use serde_json::json;

    /// A received-at time used by the tests: 2025-06-01T12:00:00Z.
    pub(crate) fn now() -> OffsetDateTime {
        time::macros::datetime!(2025-06-01 12:00:00 UTC)
    }

    /// A probe line carrying `data`, parsed as a scan parses it.
    pub(crate) fn line(data: &Value) -> ProbeLine {
        ProbeLine {
            ok: true,
            error: None,
            doc: Some(Doc::from_value(&json!({ "data": data }))),
            received_at: now(),
            collected_utc: Some(now()),
        }
    }

    /// Judges `id` on `data` with default settings, an elevated English host and optional other probes.
    pub(crate) fn judge_with(
        id: &str,
        data: Value,
        others: &[(&'static str, Value)],
        settings: &Settings,
    ) -> Verdict {
        let facts = HostFacts {
            is_admin: Some(true),
            user: None,
            english: Some(true),
            mars_installed: Some(true),
        };
        judge_facts(id, data, others, settings, &facts)
    }

    pub(crate) fn judge_facts(
        id: &str,
        data: Value,
        others: &[(&'static str, Value)],
        settings: &Settings,
        facts: &HostFacts,
    ) -> Verdict {
        let mut lines = HashMap::new();
        for (probe, d) in others {
            lines.insert(*probe, line(d));
        }
        let own = line(&data);
        let ctx = Ctx::new(settings, facts, &lines, &own);
        match run(id, &ctx, own.data()) {
            Ok(v) => v,
            Err(u) => Verdict::new(Status::Unknown, u.0, json!({})),
        }
    }

    pub(crate) fn judge(id: &str, data: Value) -> Verdict {
        judge_with(id, data, &[], &Settings::default())
    }

    /// ISO time `days` before [`now`].
    pub(crate) fn days_ago(days: i64) -> String {
        let t = now() - time::Duration::days(days);
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    }

    /// `\/Date(ms)\/` text (as serde sees it) `days` before [`now`].
    pub(crate) fn ps_date_days_ago(days: i64) -> String {
        let t = now() - time::Duration::days(days);
        format!("/Date({})/", t.unix_timestamp() * 1000)
    }
}

#[cfg(test)]
mod tests {
    //! Properties every judge must have, run over every check of the catalogue.

    use super::samples::healthy;
    use super::testing::*;
    use crate::probes::catalogue::catalogue;
    use crate::report::model::Status;
    use serde_json::{Value, json};

    /// Keys a check's judge deliberately does not read (context for operators only,
    /// or read only by another check of the same probe).
    fn unread(check: &str, key: &str) -> bool {
        let shared: &[(&str, &[&str])] = &[
            (
                "host.context",
                &[
                    "version",
                    "edition_id",
                    "product_type",
                    "os_arch",
                    "clr_version",
                    "part_of_domain",
                    "last_boot_utc",
                    "utc_now",
                ],
            ),
            (
                "os.supported_sku",
                &[
                    "version",
                    "ubr",
                    "edition_id",
                    "ps_version",
                    "clr_version",
                    "is_admin",
                    "user",
                    "culture",
                    "ui_culture",
                    "part_of_domain",
                    "domain_role",
                    "last_boot_utc",
                    "utc_now",
                    "caption",
                ],
            ),
            (
                "mars.installed",
                &[
                    "cbengine_path",
                    "file_version",
                    "uninstall_display_name",
                    "uninstall_key",
                ],
            ),
            (
                "mars.version",
                &[
                    "setup_key_present",
                    "install_path",
                    "cbengine_path",
                    "cbengine_exists",
                    "uninstall_display_name",
                    "uninstall_key",
                    "file_version",
                    "uninstall_display_version",
                ],
            ),
            (
                "mars.service_running",
                &[
                    "name",
                    "display_name",
                    "start_value",
                    "delayed_auto_start",
                    "status",
                    "path_name",
                    "process_id",
                ],
            ),
            ("mars.scratch_config", &["cbssb_volumes"]),
            (
                "mars.scratch_free_space",
                &[
                    "config_scratch",
                    "provider_scratch",
                    "paths_match",
                    "is_unc",
                    "exists",
                    "attributes",
                    "attributes_value",
                    "cbssb_volumes",
                ],
            ),
            ("av.exclusions_and_conflicts", &["scratch"]),
            (
                "sched.powershell_env",
                &["ps_version", "expected_module_dir", "module_files"],
            ),
            (
                "os.updates_recent",
                &[
                    "hotfix_without_date",
                    "current_build",
                    "display_version",
                    "wu_history",
                    "wu_history_error",
                ],
            ),
            (
                "time.clock_timezone",
                &[
                    "tz_display",
                    "base_utc_offset_min",
                    "current_utc_offset_min",
                    "is_dst_now",
                    "registry_tz_key",
                    "w32time_start_mode",
                    "w32tm_status",
                ],
            ),
            ("mars.registration", &["subscription_id"]),
            (
                "azure.vm_detect",
                &[
                    "chassis_types",
                    "hypervisor_present",
                    "bios_manufacturer",
                    "bios_version",
                    "bios_serial",
                    "uefi_esp_present",
                ],
            ),
            (
                "limit.azure_vm_system_state",
                &[
                    "chassis_types",
                    "manufacturer",
                    "model",
                    "hypervisor_present",
                    "bios_manufacturer",
                    "bios_version",
                    "bios_serial",
                    "azure_guest_agent_services",
                    "uefi_esp_present",
                    "smbios_asset_tag",
                ],
            ),
            (
                "limit.restore_hardware",
                &[
                    "smbios_asset_tag",
                    "chassis_types",
                    "hypervisor_present",
                    "bios_manufacturer",
                    "bios_serial",
                    "azure_guest_agent_services",
                    "is_azure",
                    "uefi_esp_present",
                ],
            ),
            ("wsb.feature_installed", &["wbengine_service_present"]),
            (
                "acl.svi_system_full_control",
                &["aces", "icacls_text", "path"],
            ),
            (
                "wsb.cmdlets_available",
                &["module_path", "import_error", "command_found"],
            ),
            (
                "wsb.summary",
                &[
                    "next_backup_utc",
                    "last_successful_target_path",
                    "last_successful_target_label",
                    "last_backup_utc",
                    "last_backup_target",
                ],
            ),
            ("wsb.backup_sets", &["wbadmin"]),
            ("wsb.event_history", &["window_days"]),
            ("vss.writers", &["writer_count", "stderr", "raw_head"]),
            (
                "vss.writer_timeout_events",
                &["window_days", "timeout_8229_count"],
            ),
            ("vss.resource_pressure", &["top_ws", "free_mem_mb"]),
            ("vss.shadow_storage", &["shadow_copies"]),
            ("vss.volsnap_events", &["window_days"]),
            ("efi.esp_lock", &["event_errors"]),
            ("mars.cloudbackup_events", &["window_days"]),
            ("mars.policy_and_jobs", &["files_policy_present"]),
        ];
        shared
            .iter()
            .any(|(c, keys)| *c == check && keys.contains(&key))
    }

    #[test]
    fn healthy_evidence_passes_every_check() {
        for c in catalogue() {
            let v = judge(c.id, healthy(c.probe));
            let want = if c.id == "offline.azure_powershell" {
                Status::NotApplicable
            } else {
                Status::Pass
            };
            assert_eq!(v.status, want, "{}: {}", c.id, v.summary);
            assert!(
                !v.summary.is_empty() && !v.summary.contains('\n'),
                "{}: one-line summary",
                c.id
            );
            assert!(v.evidence.is_object(), "{}: evidence is an object", c.id);
        }
    }

    #[test]
    fn judge_never_passes_on_empty_or_foreign_data() {
        for c in catalogue() {
            for data in [
                json!({}),
                json!({"unexpected": 1}),
                json!({"data": healthy(c.probe)}),
            ] {
                let v = judge(c.id, data.clone());
                assert_ne!(v.status, Status::Pass, "{} passed on {data}", c.id);
            }
        }
    }

    #[test]
    fn judge_never_passes_on_missing_keys() {
        for c in catalogue() {
            let sample = healthy(c.probe);
            let Value::Object(map) = &sample else {
                panic!("sample is an object")
            };
            for key in map.keys() {
                if unread(c.id, key) {
                    continue;
                }
                let mut d = sample.clone();
                d.as_object_mut().expect("object").remove(key);
                let v = judge(c.id, d);
                assert_ne!(
                    v.status,
                    Status::Pass,
                    "{} passed without `{key}`: {}",
                    c.id,
                    v.summary
                );
            }
        }
    }

    #[test]
    fn judge_never_passes_on_wrongly_typed_values() {
        // Replace each read value by a type no snippet emits for it.
        let mut passed = Vec::new();
        for c in catalogue() {
            let sample = healthy(c.probe);
            let Value::Object(map) = &sample else {
                panic!("sample is an object")
            };
            for key in map.keys() {
                if unread(c.id, key) {
                    continue;
                }
                let mut d = sample.clone();
                d[key] = match &map[key] {
                    Value::Array(_) | Value::Object(_) => json!(true),
                    _ => json!([{"bogus": [1, 2]}]),
                };
                let v = judge(c.id, d.clone());
                if v.status == Status::Pass {
                    passed.push(format!("{} passed with `{key}` = {}", c.id, d[key]));
                }
            }
        }
        assert!(passed.is_empty(), "{passed:#?}");
    }

    #[test]
    fn sample_keys_are_the_keys_the_snippets_emit() {
        // Guards against drift between a snippet and its judge: every top-level key of a
        // sample is assigned in the probe's PowerShell (`key = ` in an [ordered] table).
        for c in catalogue() {
            let own = crate::probes::catalogue::probe_def(c.probe)
                .expect("probe")
                .script;
            let script = format!("{}\n{own}", crate::probes::program::PREAMBLE);
            let mut keys = Vec::new();
            collect_keys(&healthy(c.probe), &mut keys);
            for key in keys {
                assert!(
                    script.contains(&format!("{key} = ")) || script.contains(&format!("{key}=")),
                    "{}: snippet does not emit `{key}`",
                    c.probe
                );
            }
        }
    }

    /// Object keys at any depth, except inside values the snippets copy verbatim
    /// (event data from XML, flattened WSB objects).
    fn collect_keys(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    out.push(k.clone());
                    if !["data", "raw", "job_items"].contains(&k.as_str()) {
                        collect_keys(child, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect_keys(i, out)),
            _ => {}
        }
    }
}
