//! VSS: writer states, writer-timeout events, resource pressure, shadow storage and
//! volsnap events.

use serde_json::json;

use crate::probes::json::Json;

use super::{
    Ctx, Judged, Unknown, Verdict, need, need_list, need_objects, need_u64, opt_bool, opt_date,
    opt_f64, opt_str, opt_u64,
};
use crate::probes::value::{as_f64, as_str, as_u64, field, list};
use crate::report::model::Status;

const SYSTEM_WRITER_ID: &str = "e8132975-6f93-4464-a53e-1050253ae220";

/// `vss.writers`: every writer stable, the System Writer present.
pub(crate) fn writers(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if let Some(skip) = field(d, "skipped").and_then(as_str) {
        return Err(Unknown(format!(
            "skipped: a WSB operation was running ({skip})"
        )));
    }
    if opt_bool(d, "timed_out")? == Some(true) {
        return Err(Unknown("vssadmin list writers timed out".into()));
    }
    let exit = opt_u64(d, "exit_code")?;
    if exit != Some(0) {
        return Err(Unknown(format!(
            "vssadmin list writers exited with {} (not elevated, or the VSS service is broken)",
            exit.map_or("no exit code".into(), |c| c.to_string())
        )));
    }
    let writers = need_objects(d, "writers")?;
    if writers.is_empty() {
        return Err(Unknown("vssadmin listed no writers".into()));
    }
    struct W<'a> {
        name: &'a str,
        id: Option<&'a str>,
        state: Option<u64>,
        last_error: Option<&'a str>,
    }
    let mut ws = Vec::new();
    for &w in &writers {
        ws.push(W {
            name: opt_str(w, "name")?.unwrap_or("?"),
            id: opt_str(w, "writer_id")?,
            state: opt_u64(w, "state")?,
            last_error: opt_str(w, "last_error")?,
        });
    }
    // "No error" in English; on other locales, the most common text among stable writers.
    let english = ctx.facts.english == Some(true);
    let no_error: Option<String> = if english {
        Some("no error".into())
    } else {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for w in ws.iter().filter(|w| w.state == Some(1)) {
            if let Some(e) = w.last_error {
                let e = e.to_ascii_lowercase();
                match counts.iter_mut().find(|(t, _)| *t == e) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((e, 1)),
                }
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).map(|(t, _)| t)
    };
    let system_writer = ws.iter().any(|w| {
        w.id.is_some_and(|i| i.eq_ignore_ascii_case(SYSTEM_WRITER_ID))
    });
    let mut failed = Vec::new();
    let mut busy = Vec::new();
    let mut errors = Vec::new();
    for w in &ws {
        match w.state {
            Some(s) if s >= 6 => failed.push(format!("{} [{s}]", w.name)),
            Some(0) | Some(2..=5) => busy.push(format!("{} [{}]", w.name, w.state.unwrap_or(0))),
            Some(_) => {}
            None => return Err(Unknown(format!("writer {} has no state", w.name))),
        }
        if let (Some(e), Some(ok)) = (w.last_error, no_error.as_deref())
            && !e.eq_ignore_ascii_case(ok)
            && (english || w.state != Some(1))
        {
            errors.push(format!("{}: {e}", w.name));
        }
    }
    let evidence = json!({"writer_count": ws.len(), "system_writer_present": system_writer, "failed": failed,
                          "in_progress": busy, "last_errors": errors});
    if !system_writer {
        return Ok(Verdict::new(
            Status::Fail,
            "the System Writer is missing: System State cannot be captured",
            evidence,
        ));
    }
    if !failed.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!("failed VSS writers: {}", failed.join(", ")),
            evidence,
        ));
    }
    if english && !errors.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!("VSS writers report errors: {}", errors.join("; ")),
            evidence,
        ));
    }
    if !busy.is_empty() || !errors.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "VSS writers busy or unclear (another backup may be running): {}",
                busy.iter()
                    .chain(errors.iter())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        format!("all {} VSS writers stable, System Writer present", ws.len()),
        evidence,
    ))
}

const VSS_OTHER_ERRORS: &[u64] = &[8193, 8194, 12289, 12298, 12301, 12338, 12340];

/// `vss.writer_timeout_events`: 0x800423f2 timeouts and related VSS errors.
pub(crate) fn timeout_events(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let events = need_objects(d, "events")?;
    let mut recent_timeouts = 0;
    let mut old_timeouts = 0;
    let mut disabled = Vec::new();
    let mut other_recent = 0;
    for &e in &events {
        let id = need_u64(e, "id")?;
        let Some(t) = opt_date(e, "time_utc")? else {
            continue;
        };
        let timeout = match field(e, "has_800423f2") {
            Some(v) if !v.is_null() => opt_bool(e, "has_800423f2")?.unwrap_or(false),
            _ => list(need(e, "props")?)
                .into_iter()
                .filter_map(as_str)
                .any(|p| p.to_ascii_lowercase().contains("0x800423f2")),
        };
        if timeout {
            if ctx.is_recent(t) {
                recent_timeouts += 1;
            } else {
                old_timeouts += 1;
            }
        } else if id == 19 || id == 40 {
            disabled.push(id);
        } else if VSS_OTHER_ERRORS.contains(&id) && ctx.is_recent(t) {
            other_recent += 1;
        }
    }
    let days = ctx.settings.event_recent_days;
    let evidence = json!({"events_in_window": events.len(), "timeouts_recent": recent_timeouts, "timeouts_older": old_timeouts,
                          "service_disabled_events": disabled, "other_vss_errors_recent": other_recent});
    if recent_timeouts > 0 {
        return Ok(Verdict::new(
            Status::Fail,
            format!("{recent_timeouts} VSS writer timeout(s) (0x800423f2) in the last {days} days"),
            evidence,
        ));
    }
    if !disabled.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            "VSS logged that EventSystem or SWPRV is disabled (events 19/40)",
            evidence,
        ));
    }
    if old_timeouts > 0 || other_recent > 0 {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "{old_timeouts} older writer timeout(s), {other_recent} other VSS error(s) in the last {days} days"
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "no VSS writer timeouts or VSS errors in the window",
        evidence,
    ))
}

/// `vss.resource_pressure`: a snapshot of memory, CPU and disk; warns at most.
pub(crate) fn resource_pressure(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let free_pct =
        opt_f64(d, "free_mem_pct")?.ok_or_else(|| Unknown("free_mem_pct is null".into()))?;
    let free_mb = opt_f64(d, "free_mem_mb")?;
    let samples: Vec<f64> = need_list(d, "cpu_samples_pct")?
        .into_iter()
        .filter_map(as_f64)
        .collect();
    if samples.is_empty() {
        return Err(Unknown("no CPU samples".into()));
    }
    // The first formatted sample is often meaningless.
    let graded = if samples.len() > 1 {
        samples.get(1..).unwrap_or(&samples)
    } else {
        &samples
    };
    let cpu = graded.iter().sum::<f64>() / graded.len() as f64;
    let mut busy_disks = Vec::new();
    for disk in need_objects(d, "logical_disks")? {
        if let Some(idle) = field(disk, "pct_idle").and_then(as_f64)
            && idle < ctx.settings.disk_idle_pct_warn
        {
            busy_disks.push(
                field(disk, "name")
                    .and_then(as_str)
                    .unwrap_or("?")
                    .to_string(),
            );
        }
    }
    let procs = super::need_strings(d, "backup_processes_running")?;
    let s = ctx.settings;
    let mut notes = Vec::new();
    if free_pct < s.mem_free_pct_fail || free_mb.is_some_and(|m| m < 100.0) {
        notes.push(format!("memory critically low ({free_pct:.1} % free)"));
    } else if free_pct <= s.mem_free_pct_warn {
        notes.push(format!("memory low ({free_pct:.1} % free)"));
    }
    if cpu >= s.cpu_pct_high {
        notes.push(format!("CPU critical ({cpu:.0} %)"));
    } else if cpu >= s.cpu_pct_warn {
        notes.push(format!("CPU busy ({cpu:.0} %)"));
    }
    if !busy_disks.is_empty() {
        notes.push(format!("disks busy: {}", busy_disks.join(", ")));
    }
    let evidence = json!({"free_mem_pct": free_pct, "free_mem_mb": free_mb, "cpu_avg_pct": (cpu * 10.0).round() / 10.0,
                          "busy_disks": busy_disks, "backup_processes_running": procs, "total_mem_mb": opt_f64(d, "total_mem_mb")?});
    // One scan is a snapshot: at most a warning.
    Ok(if notes.is_empty() {
        Verdict::new(
            Status::Pass,
            format!("{free_pct:.0} % memory free, CPU {cpu:.0} %"),
            evidence,
        )
    } else {
        Verdict::new(
            Status::Warn,
            format!("{} (snapshot at scan time)", notes.join("; ")),
            evidence,
        )
    })
}

fn norm_vol(v: &str) -> String {
    v.trim().trim_end_matches('\\').to_ascii_lowercase()
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const VOLSNAP_GROWTH_FAILURES: &[u64] = &[23, 24, 25, 35, 36, 38];

/// `vss.shadow_storage`: the boot volume and every diff-area volume have room to grow.
pub(crate) fn shadow_storage(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let vols = need_objects(d, "volumes")?;
    let storage = need_objects(d, "shadow_storage")?;
    struct V {
        id: String,
        name: String,
        cap: u64,
        free: u64,
        boot: bool,
        system: bool,
    }
    let mut vs = Vec::new();
    for &v in &vols {
        let Some(id) = opt_str(v, "device_id")? else {
            continue;
        };
        let (Some(cap), Some(free)) = (opt_u64(v, "capacity")?, opt_u64(v, "free")?) else {
            continue;
        };
        vs.push(V {
            id: norm_vol(id),
            name: opt_str(v, "drive_letter")?.unwrap_or(id).to_string(),
            cap,
            free,
            boot: need(v, "boot_volume").map(|b| crate::probes::value::as_bool(b) == Some(true))?,
            system: need(v, "system_volume")
                .map(|b| crate::probes::value::as_bool(b) == Some(true))?,
        });
    }
    if !vs.iter().any(|v| v.boot) {
        return Err(Unknown(
            "the boot volume is not among the fixed volumes".into(),
        ));
    }
    let s = ctx.settings;
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut relevant: Vec<&V> = vs.iter().filter(|v| v.boot || v.system).collect();
    let important: Vec<String> = relevant.iter().map(|v| v.id.clone()).collect();
    for &row in &storage {
        let vol = opt_str(row, "volume")?.map(norm_vol);
        let diff = opt_str(row, "diff_volume")?.map(norm_vol);
        if !vol.as_ref().is_some_and(|v| important.contains(v)) {
            continue;
        }
        if let Some(dv) = diff.as_ref().and_then(|d| vs.iter().find(|v| v.id == *d))
            && !relevant.iter().any(|r| r.id == dv.id)
        {
            relevant.push(dv);
        }
        let unbounded = opt_bool(row, "max_unbounded")?.unwrap_or(false);
        let max = opt_u64(row, "max")?;
        let used = opt_u64(row, "used")?;
        if let (false, Some(max), Some(used)) = (unbounded || max == Some(u64::MAX), max, used)
            && max > 0
            && (max.saturating_sub(used) as f64) < 0.10 * max as f64
        {
            warns.push(format!(
                "shadow storage of {} is near its limit ({} of {} bytes used)",
                vol.as_deref().unwrap_or("?"),
                used,
                max
            ));
        }
    }
    for v in &relevant {
        if v.cap == 0 {
            continue;
        }
        let pct = 100.0 * v.free as f64 / v.cap as f64;
        let gib = v.free as f64 / GIB;
        // Small system partitions (EFI, System Reserved) are judged by percentage only.
        let small = v.system && !v.boot && (v.cap as f64) < 10.0 * s.shadow_min_free_gib * GIB;
        if pct < s.shadow_free_pct_fail || (!small && gib < s.shadow_min_free_gib) {
            fails.push(format!("{} has {gib:.1} GiB ({pct:.1} %) free", v.name));
        } else if pct < s.shadow_free_pct_warn {
            warns.push(format!("{} has {pct:.1} % free", v.name));
        }
    }
    // volsnap growth failures for these volumes escalate to fail.
    let mut events = 0;
    if let Some(vs_events) = ctx.other("vss.volsnap_events")
        && let Some(list_v) = field(vs_events, "events")
    {
        for e in list(list_v) {
            let id = field(e, "id").and_then(as_u64).unwrap_or(0);
            let t = field(e, "time_utc").and_then(crate::probes::value::as_date);
            if VOLSNAP_GROWTH_FAILURES.contains(&id) && t.is_some_and(|t| ctx.is_recent(t)) {
                events += 1;
            }
        }
    }
    let evidence = json!({"volumes_checked": relevant.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
                          "low_space": fails, "warnings": warns, "volsnap_growth_failures_recent": events});
    if !fails.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!("not enough room for shadow copies: {}", fails.join("; ")),
            evidence,
        ));
    }
    if events > 0 {
        return Ok(Verdict::new(
            Status::Fail,
            format!("volsnap reported {events} shadow storage growth failure(s) recently"),
            evidence,
        ));
    }
    if !warns.is_empty() {
        return Ok(Verdict::new(Status::Warn, warns.join("; "), evidence));
    }
    Ok(Verdict::new(
        Status::Pass,
        "the boot volume and shadow storage volumes have room to grow",
        evidence,
    ))
}

/// `vss.volsnap_events`: shadow storage growth failures.
pub(crate) fn volsnap_events(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let events = need_objects(d, "events")?;
    let mut recent_fail = Vec::new();
    let mut warn = Vec::new();
    for &e in &events {
        let id = need_u64(e, "id")?;
        let Some(t) = opt_date(e, "time_utc")? else {
            continue;
        };
        let recent = ctx.is_recent(t);
        let vol = list(need(e, "props")?)
            .into_iter()
            .filter_map(as_str)
            .nth(1)
            .unwrap_or("?")
            .to_string();
        match id {
            23 | 24 | 25 | 35 | 36 if recent => recent_fail.push(format!("{id} on {vol}")),
            23 | 24 | 25 | 35 | 36 | 38 | 8 | 9 | 32 => warn.push(format!("{id} on {vol}")),
            _ => {}
        }
    }
    let evidence =
        json!({"events_in_window": events.len(), "recent_failures": recent_fail, "warnings": warn});
    if !recent_fail.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "shadow storage could not grow (volsnap {}) in the last {} days",
                recent_fail.join(", "),
                ctx.settings.event_recent_days
            ),
            evidence,
        ));
    }
    if !warn.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!("volsnap warnings: {}", warn.join(", ")),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "no shadow storage growth failures in the window",
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::probes::Settings;
    use crate::probes::judge::HostFacts;
    use crate::report::model::Status;
    use serde_json::json;

    fn w(name: &str, id: &str, state: u64, err: &str) -> serde_json::Value {
        json!({"name": name, "writer_id": id, "instance_id": "a0000000-0000-0000-0000-000000000000", "state": state, "state_text": "Stable", "last_error": err})
    }

    fn writers(list: Vec<serde_json::Value>) -> serde_json::Value {
        json!({"exit_code": 0, "timed_out": false, "writer_count": list.len(), "writers": list, "stderr": "", "raw_head": ""})
    }

    const SYS: &str = "e8132975-6f93-4464-a53e-1050253ae220";

    #[test]
    fn stable_writers_with_system_writer_pass() {
        let d = writers(vec![
            w("System Writer", SYS, 1, "No error"),
            w(
                "WMI Writer",
                "a6ad56c2-b509-4e6c-bb19-49d8f43532f0",
                1,
                "No error",
            ),
        ]);
        assert_eq!(judge("vss.writers", d).status, Status::Pass);
    }

    #[test]
    fn failed_writer_or_missing_system_writer_fails() {
        let d = writers(vec![w("System Writer", SYS, 9, "Timed out")]);
        assert_eq!(judge("vss.writers", d).status, Status::Fail);
        let d = writers(vec![w(
            "WMI Writer",
            "a6ad56c2-b509-4e6c-bb19-49d8f43532f0",
            1,
            "No error",
        )]);
        assert_eq!(judge("vss.writers", d).status, Status::Fail);
    }

    #[test]
    fn localized_last_error_is_not_misjudged() {
        let facts = HostFacts {
            is_admin: Some(true),
            user: None,
            english: Some(false),
            mars_installed: Some(true),
        };
        let d = writers(vec![
            w("System Writer", SYS, 1, "Aucune erreur"),
            w(
                "Registry Writer",
                "afbab4a2-367d-4d15-a586-71dbb18f8485",
                1,
                "Aucune erreur",
            ),
        ]);
        assert_eq!(
            judge_facts("vss.writers", d, &[], &Settings::default(), &facts).status,
            Status::Pass
        );
    }

    #[test]
    fn vssadmin_failure_is_unknown() {
        let d = json!({"exit_code": 2, "timed_out": false, "writer_count": 0, "writers": [], "stderr": "", "raw_head": "Error: You don't have the correct permissions"});
        assert_eq!(judge("vss.writers", d).status, Status::Unknown);
    }

    fn vev(id: u64, days: i64, timeout: bool) -> serde_json::Value {
        json!({"time_utc": days_ago(days), "id": id, "provider": "VSS", "level": 3, "record_id": 5,
               "props": if timeout { json!(["0x800423f2, The writer's timeout expired between the Freeze and Thaw events.", "Operation:\n   Freeze Event"]) } else { json!([]) },
               "has_800423f2": timeout})
    }

    #[test]
    fn recent_writer_timeout_fails_older_warns() {
        assert_eq!(
            judge(
                "vss.writer_timeout_events",
                json!({"window_days": 30, "events": vev(8229, 1, true), "timeout_8229_count": 1})
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "vss.writer_timeout_events",
                json!({"window_days": 30, "events": [vev(8229, 20, true)], "timeout_8229_count": 1})
            )
            .status,
            Status::Warn
        );
        assert_eq!(
            judge(
                "vss.writer_timeout_events",
                json!({"window_days": 30, "events": [], "timeout_8229_count": 0})
            )
            .status,
            Status::Pass
        );
        assert_eq!(
            judge(
                "vss.writer_timeout_events",
                json!({"window_days": 30, "events": [vev(40, 20, false)], "timeout_8229_count": 0})
            )
            .status,
            Status::Fail
        );
    }

    #[test]
    fn resource_pressure_warns_at_most() {
        let d = |free: f64, cpu: Vec<u64>| {
            json!({"total_mem_mb": 16384, "free_mem_mb": 16384.0 * free / 100.0, "free_mem_pct": free,
            "cpu_samples_pct": cpu, "logical_disks": {"name": "C:", "pct_idle": 95, "queue": 0}, "top_ws": [], "backup_processes_running": []})
        };
        assert_eq!(
            judge("vss.resource_pressure", d(40.0, vec![100, 10, 12, 9])).status,
            Status::Pass
        );
        assert_eq!(
            judge("vss.resource_pressure", d(2.0, vec![99, 99, 99, 99])).status,
            Status::Warn
        );
    }

    fn vol(
        id: &str,
        letter: &str,
        cap: u64,
        free: u64,
        boot: bool,
        system: bool,
    ) -> serde_json::Value {
        json!({"device_id": id, "drive_letter": letter, "label": null, "fs": "NTFS", "capacity": cap.to_string(), "free": free.to_string(), "system_volume": system, "boot_volume": boot})
    }

    const C: &str = "\\\\?\\Volume{11111111-1111-1111-1111-111111111111}\\";
    const R: &str = "\\\\?\\Volume{22222222-2222-2222-2222-222222222222}\\";

    #[test]
    fn shadow_storage_low_boot_volume_fails_and_unbounded_uint64_max_is_read() {
        let ss = json!({"volume": C, "diff_volume": C, "allocated": "1000", "used": "500", "max": "18446744073709551615", "max_unbounded": true});
        let ok = json!({"volumes": [vol(C, "C:", 200_000_000_000, 80_000_000_000, true, false), vol(R, "", 524_288_000, 100_000_000, false, true)], "shadow_storage": ss, "shadow_copies": []});
        assert_eq!(judge("vss.shadow_storage", ok).status, Status::Pass);
        let low = json!({"volumes": vol(C, "C:", 200_000_000_000, 1_000_000_000, true, true), "shadow_storage": [], "shadow_copies": []});
        assert_eq!(judge("vss.shadow_storage", low).status, Status::Fail);
    }

    #[test]
    fn shadow_storage_near_user_limit_warns() {
        let ss = json!({"volume": C, "diff_volume": C, "allocated": "1000", "used": "9600000000", "max": "10000000000", "max_unbounded": false});
        let d = json!({"volumes": [vol(C, "C:", 200_000_000_000, 80_000_000_000, true, true)], "shadow_storage": ss, "shadow_copies": null});
        assert_eq!(judge("vss.shadow_storage", d).status, Status::Warn);
    }

    #[test]
    fn shadow_storage_escalates_on_recent_volsnap_growth_failure() {
        let d = json!({"volumes": [vol(C, "C:", 200_000_000_000, 80_000_000_000, true, true)], "shadow_storage": [], "shadow_copies": []});
        let events = json!({"window_days": 30, "events": [{"time_utc": days_ago(1), "id": 24, "provider": "volsnap", "level": 3, "record_id": 1, "props": ["\\Device\\HarddiskVolumeShadowCopy1", "C:", "C:"]}]});
        let v = judge_with(
            "vss.shadow_storage",
            d,
            &[("vss.volsnap_events", events)],
            &Settings::default(),
        );
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn volsnap_24_recent_fails_33_passes() {
        let e = |id: u64, days: i64| json!({"time_utc": days_ago(days), "id": id, "provider": "volsnap", "level": 3, "record_id": 1, "props": ["x", "C:", "C:"]});
        assert_eq!(
            judge(
                "vss.volsnap_events",
                json!({"window_days": 30, "events": e(24, 1)})
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "vss.volsnap_events",
                json!({"window_days": 30, "events": [e(24, 20)]})
            )
            .status,
            Status::Warn
        );
        assert_eq!(
            judge(
                "vss.volsnap_events",
                json!({"window_days": 30, "events": [e(33, 1)]})
            )
            .status,
            Status::Pass
        );
    }
}
