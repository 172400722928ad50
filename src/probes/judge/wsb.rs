//! Windows Server Backup: the feature, its cmdlets, the last job, the summary, the
//! versions on record, its event history, and the service image paths that break
//! System State enumeration.

use serde_json::json;

use crate::probes::json::Json;
use time::OffsetDateTime;

use super::{
    Ctx, Judged, Unknown, Verdict, hex, hresult_hint, need, need_bool, need_objects, need_u64,
    opt_bool, opt_date, opt_hresult, opt_str, opt_u64,
};
use crate::probes::value::{as_hresult, as_str, field, hresult_text, list};
use crate::report::model::Status;

/// `wsb.feature_installed`: the feature is installed.
pub(crate) fn feature(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let method = opt_str(d, "method")?;
    let installed = opt_bool(d, "installed")?;
    let state = opt_str(d, "install_state")?;
    let evidence = json!({"method": method, "installed": installed, "install_state": state,
                          "wbadmin_exists": opt_bool(d, "wbadmin_exists")?, "module_available": opt_bool(d, "module_available")?});
    if method.is_none() {
        return Err(Unknown(
            "neither Get-WindowsFeature nor Get-WindowsOptionalFeature exists on this host".into(),
        ));
    }
    match installed {
        Some(true) => Ok(Verdict::new(
            Status::Pass,
            "Windows Server Backup is installed",
            evidence,
        )),
        Some(false) => {
            let s = state.unwrap_or("not installed");
            if s.to_ascii_lowercase().contains("pending") {
                Ok(Verdict::new(
                    Status::Warn,
                    format!("Windows Server Backup is {s}: a restart is needed"),
                    evidence,
                ))
            } else {
                Ok(Verdict::new(
                    Status::Fail,
                    format!("Windows Server Backup is not installed (install state {s})"),
                    evidence,
                ))
            }
        }
        None => Err(Unknown("`installed` is null".into())),
    }
}

/// `wsb.cmdlets_available`: `Get-WBJob` runs.
pub(crate) fn cmdlets(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let listed = need_bool(d, "module_listed")?;
    let ok = opt_bool(d, "invoke_ok")?;
    let err_id = opt_str(d, "invoke_error_id")?;
    let running = opt_str(d, "current_job_state")?;
    let evidence = json!({"module_listed": listed, "invoke_ok": ok, "invoke_error_id": err_id, "current_job_state": running,
                          "invoke_error": super::scalar(d, "invoke_error")?});
    if ok == Some(true) {
        let busy = running.is_some_and(|s| s.eq_ignore_ascii_case("Running"));
        return Ok(Verdict::new(
            Status::Pass,
            if busy {
                "Get-WBJob works; a WSB job is running now"
            } else {
                "Get-WBJob works"
            },
            evidence,
        ));
    }
    // Match the error id, never the localized message.
    if err_id.is_some_and(|e| e.starts_with("CommandNotFoundException")) || !listed {
        return Ok(Verdict::new(
            Status::Fail,
            "Get-WBJob is not recognized: the WSB PowerShell module is missing",
            evidence,
        ));
    }
    let why = opt_str(d, "invoke_error")?.unwrap_or("no error text");
    Err(Unknown(format!("Get-WBJob failed: {why}")))
}

struct Job<'a> {
    start: Option<OffsetDateTime>,
    state: Option<&'a str>,
    hresult: Option<u32>,
    detailed: Option<u32>,
    raw: Json<'a>,
}

/// `wsb.last_job`: newest backup job completed with HRESULT 0, recently.
pub(crate) fn last_job(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if !need_bool(d, "cmdlet_present")? {
        return Err(Unknown(
            "Get-WBJob is not available (see wsb.cmdlets_available)".into(),
        ));
    }
    let current = need(d, "current")?;
    if !(current.is_null() || current.is_object()) {
        return Err(Unknown("`current` should be a job object or null".into()));
    }
    let running = current.is_object()
        && opt_str(current, "job_state")?.is_some_and(|s| s.eq_ignore_ascii_case("Running"));
    let mut newest: Option<Job<'_>> = None;
    for j in need_objects(d, "previous")? {
        let kind = opt_str(j, "job_type")?;
        if kind.is_some_and(|k| !k.eq_ignore_ascii_case("Backup")) {
            continue;
        }
        let job = Job {
            start: opt_date(j, "start_utc")?,
            state: opt_str(j, "job_state")?,
            hresult: opt_hresult(j, "hresult")?,
            detailed: opt_hresult(j, "detailed_hresult")?,
            raw: j,
        };
        if newest.as_ref().is_none_or(|n| job.start > n.start) {
            newest = Some(job);
        }
    }
    let Some(job) = newest else {
        return Err(Unknown(
            "no WSB backup job on record: run a one-off System State backup to a spare volume to prove WSB works".into(),
        ));
    };
    let age = job.start.map(|t| ctx.age_days(t));
    let evidence = json!({"job_state": job.state, "start_utc": job.start.map(|t| t.to_string()), "age_days": age,
                          "hresult": job.hresult.map(hex), "detailed_hresult": job.detailed.map(hex),
                          "error_description": field(job.raw, "error_description"), "backup_running_now": running});
    let completed = job
        .state
        .is_some_and(|s| s.eq_ignore_ascii_case("Completed"));
    if job.state.is_none() {
        return Err(Unknown("the last job's state is null".into()));
    }
    if !completed || job.hresult.is_some_and(|h| h != 0) {
        let hr = job.hresult.unwrap_or(0);
        let hint = hresult_hint(hr, job.detailed)
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "last WSB backup job ended {} with {}{hint}",
                job.state.unwrap_or("?"),
                job.hresult.map_or("no HRESULT".into(), hex)
            ),
            evidence,
        ));
    }
    if job.hresult.is_none() {
        return Err(Unknown(
            "the last job reads Completed but has no HRESULT to confirm success".into(),
        ));
    }
    let max = i64::try_from(ctx.settings.wsb_max_age_days).unwrap_or(i64::MAX);
    match age {
        Some(a) if a > max => Ok(Verdict::new(
            Status::Warn,
            format!("last WSB backup succeeded {a} days ago (older than {max})"),
            evidence,
        )),
        Some(a) => Ok(Verdict::new(
            Status::Pass,
            format!("last WSB backup succeeded {a} days ago"),
            evidence,
        )),
        None => Err(Unknown("the last job has no start time".into())),
    }
}

/// `wsb.summary`: last result HRESULT 0 and a recent success.
pub(crate) fn summary(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if !need_bool(d, "cmdlet_present")? {
        return Err(Unknown(
            "Get-WBSummary is not available (see wsb.cmdlets_available)".into(),
        ));
    }
    let hr = opt_hresult(d, "last_result_hr")?;
    let detailed = opt_hresult(d, "last_result_detailed_hr")?;
    let last_ok = opt_date(d, "last_successful_utc")?;
    let op = opt_str(d, "current_operation_status")?;
    let busy = op.is_some_and(|o| !o.eq_ignore_ascii_case("NoOperationInProgress"));
    let evidence = json!({"last_result_hr": hr.map(hex), "last_result_detailed_hr": detailed.map(hex),
                          "last_successful_utc": last_ok.map(|t| t.to_string()), "current_operation_status": op,
                          "detailed_message": super::scalar(d, "detailed_message")?, "number_of_versions": opt_u64(d, "number_of_versions")?});
    let note = if busy {
        " (a backup is running now)"
    } else {
        ""
    };
    let Some(hr) = hr else {
        return Err(Unknown("LastBackupResultHR is null".into()));
    };
    if hr != 0 {
        let hint = hresult_hint(hr, detailed)
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        return Ok(Verdict::new(
            Status::Fail,
            format!("last WSB backup failed with {}{hint}{note}", hex(hr)),
            evidence,
        ));
    }
    let max = i64::try_from(ctx.settings.wsb_max_age_days).unwrap_or(i64::MAX);
    match last_ok {
        None => Ok(Verdict::new(
            Status::Warn,
            format!("WSB has no successful backup on record{note}"),
            evidence,
        )),
        Some(t) if ctx.age_days(t) > max => Ok(Verdict::new(
            Status::Warn,
            format!(
                "last successful WSB backup is {} days old{note}",
                ctx.age_days(t)
            ),
            evidence,
        )),
        Some(t) => Ok(Verdict::new(
            Status::Pass,
            format!(
                "last WSB backup succeeded {} days ago{note}",
                ctx.age_days(t)
            ),
            evidence,
        )),
    }
}

/// Parses a WSB version id `MM/dd/yyyy-HH:mm` (UTC).
fn version_time(id: &str) -> Option<OffsetDateTime> {
    let (date, clock) = id.trim().split_once('-')?;
    let mut d = date.split('/');
    let (m, day, y) = (
        d.next()?.parse::<u8>().ok()?,
        d.next()?.parse::<u8>().ok()?,
        d.next()?.parse::<i32>().ok()?,
    );
    let (hh, mm) = clock.split_once(':')?;
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, day).ok()?;
    let t = time::Time::from_hms(hh.parse().ok()?, mm.parse().ok()?, 0).ok()?;
    Some(date.with_time(t).assume_utc())
}

/// `wsb.backup_sets`: a recent backup set that includes System State. Never fails alone.
pub(crate) fn backup_sets(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    if let Some(skip) = field(d, "skipped").and_then(as_str) {
        return Err(Unknown(format!(
            "skipped: a WSB operation was running ({skip})"
        )));
    }
    let method = opt_str(d, "method")?;
    let count = opt_u64(d, "count")?;
    let max = i64::try_from(ctx.settings.wsb_max_age_days).unwrap_or(i64::MAX);
    match method {
        Some("Get-WBBackupSet") => {
            let sets = need_objects(d, "newest")?;
            let mut newest_ss: Option<OffsetDateTime> = None;
            let mut newest_any: Option<OffsetDateTime> = None;
            for &s in &sets {
                let t = opt_date(s, "backup_time_utc")?;
                let items = opt_str(s, "recoverable_items")?
                    .unwrap_or("")
                    .to_ascii_lowercase()
                    .replace(' ', "");
                newest_any = newest_any.max(t);
                if items.contains("systemstate") {
                    newest_ss = newest_ss.max(t);
                }
            }
            let evidence = json!({"method": method, "count": count, "newest_system_state": newest_ss.map(|t| t.to_string()),
                                  "newest_any": newest_any.map(|t| t.to_string())});
            if count == Some(0) || sets.is_empty() {
                return Err(Unknown("no WSB backup versions on record (normal on MARS-only servers); run a one-off System State backup to prove WSB works".into()));
            }
            match newest_ss {
                Some(t) if ctx.age_days(t) <= max => Ok(Verdict::new(
                    Status::Pass,
                    format!("System State backup set from {} days ago", ctx.age_days(t)),
                    evidence,
                )),
                Some(t) => Ok(Verdict::new(
                    Status::Warn,
                    format!(
                        "newest System State backup set is {} days old",
                        ctx.age_days(t)
                    ),
                    evidence,
                )),
                None => Ok(Verdict::new(
                    Status::Warn,
                    "WSB backup sets exist but none includes System State",
                    evidence,
                )),
            }
        }
        Some("wbadmin") => {
            let wb = need(d, "wbadmin")?;
            if !wb.is_object() {
                return Err(Unknown("`wbadmin` should be an object".into()));
            }
            if opt_bool(wb, "timed_out")? == Some(true) {
                return Err(Unknown("wbadmin get versions timed out".into()));
            }
            let ids: Vec<&str> = list(need(wb, "version_ids")?)
                .into_iter()
                .filter_map(as_str)
                .collect();
            let newest = ids.iter().filter_map(|i| version_time(i)).max();
            let evidence = json!({"method": "wbadmin", "count": ids.len(), "newest": newest.map(|t| t.to_string()),
                                  "exit_code": need(wb, "exit_code")?});
            match newest {
                None => Err(Unknown(
                    "wbadmin lists no backup versions (normal on MARS-only servers)".into(),
                )),
                Some(t) => Ok(Verdict::new(
                    Status::Warn,
                    format!(
                        "{} WSB versions, newest {} days old; wbadmin does not say whether they include System State",
                        ids.len(),
                        ctx.age_days(t)
                    ),
                    evidence,
                )),
            }
        }
        other => Err(Unknown(format!("unknown method {other:?}"))),
    }
}

const WSB_SUCCESS: &[u64] = &[4, 14];
const WSB_FAILURE: &[u64] = &[5, 7, 8, 9, 517, 519, 521, 546];

/// Error codes in an event's data and properties, as HRESULTs.
fn event_codes(e: Json<'_>) -> Vec<u32> {
    let mut out = Vec::new();
    if let Some(data) = field(e, "data") {
        for k in ["HRESULT", "DetailedHRESULT"] {
            if let Some(hr) = field(data, k).and_then(as_hresult) {
                out.push(hr);
            }
        }
        if let Some(msg) = field(data, "ErrorMessage").and_then(as_str)
            && let Ok(hr) = msg.trim_start_matches('%').parse::<u32>()
        {
            out.push(hr);
        }
    }
    if let Some(props) = field(e, "props") {
        for p in list(props).into_iter().filter_map(as_str) {
            for tok in p.split(|c: char| !c.is_ascii_alphanumeric()) {
                if tok.len() >= 8
                    && let Some(hr) = hresult_text(tok)
                    && hr >= 0x8000_0000
                {
                    out.push(hr);
                }
            }
        }
    }
    out
}

/// `wsb.event_history`: newest terminal WSB event is a success.
pub(crate) fn event_history(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let mut events = need_objects(d, "operational")?;
    events.extend(need_objects(d, "application")?);
    let mut newest: Option<(OffsetDateTime, u64, Json<'_>)> = None;
    let mut failures = 0usize;
    for &e in &events {
        let id = need_u64(e, "id")?;
        let Some(t) = opt_date(e, "time_utc")? else {
            continue;
        };
        let terminal = WSB_SUCCESS.contains(&id) || WSB_FAILURE.contains(&id);
        if WSB_FAILURE.contains(&id) {
            failures += 1;
        }
        if terminal && newest.as_ref().is_none_or(|(n, _, _)| t > *n) {
            newest = Some((t, id, e));
        }
    }
    let Some((t, id, e)) = newest else {
        return Err(Unknown(
            "no WSB backup finished in the probe's 30-day window".into(),
        ));
    };
    let codes = event_codes(e);
    let hint = codes.iter().find_map(|c| hresult_hint(*c, None));
    let evidence = json!({"newest_terminal_event": id, "time_utc": t.to_string(), "failures_in_window": failures,
                          "codes": codes.iter().map(|c| hex(*c)).collect::<Vec<_>>()});
    if WSB_FAILURE.contains(&id) {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "the last WSB backup failed (event {id}{}){}",
                codes
                    .first()
                    .map(|c| format!(", {}", hex(*c)))
                    .unwrap_or_default(),
                hint.map(|h| format!(": {h}")).unwrap_or_default()
            ),
            evidence,
        ));
    }
    if failures > 0 {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "the last WSB backup succeeded but {failures} failure(s) occurred in the window"
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "the last WSB backup in the window succeeded",
        evidence,
    ))
}

/// `sysstate.service_imagepaths`: no service with an invalid executable path.
pub(crate) fn service_imagepaths(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let checked = need_u64(d, "services_checked")?;
    let suspicious = need_objects(d, "suspicious")?;
    let scm = need_objects(d, "scm_7000")?;
    if checked == 0 {
        return Err(Unknown("no service key was read".into()));
    }
    let mut scm_names: Vec<String> = Vec::new();
    for &e in &scm {
        for p in list(need(e, "props")?).into_iter().filter_map(as_str) {
            scm_names.push(p.to_ascii_lowercase());
        }
    }
    // A WSB/MARS failure code that means "invalid path" makes every finding a failure.
    let invalid_path = |c: &u32| matches!(c, 0x8078_010D | 0x8078_0049 | 0x8007_007B);
    let in_events = ctx.other("wsb.event_history").is_some_and(|h| {
        ["operational", "application"].iter().any(|k| {
            field(h, k).is_some_and(|v| {
                list(v)
                    .iter()
                    .any(|e| event_codes(*e).iter().any(invalid_path))
            })
        })
    });
    let in_jobs = ctx.other("wsb.last_job").is_some_and(|j| {
        field(j, "previous").is_some_and(|p| {
            list(p).iter().any(|job| {
                ["hresult", "detailed_hresult"]
                    .iter()
                    .filter_map(|k| field(*job, k).and_then(as_hresult))
                    .any(|c| invalid_path(&c))
            })
        })
    });
    let in_summary = ctx.other("wsb.summary").is_some_and(|s| {
        ["last_result_hr", "last_result_detailed_hr"]
            .iter()
            .filter_map(|k| field(s, k).and_then(as_hresult))
            .any(|c| invalid_path(&c))
    });
    let enumeration_failed = in_events || in_jobs || in_summary;
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut infos = Vec::new();
    for &s in &suspicious {
        let name = opt_str(s, "service")?.unwrap_or("?");
        let reasons: Vec<&str> = list(need(s, "reasons")?)
            .into_iter()
            .filter_map(as_str)
            .collect();
        let real: Vec<&str> = reasons
            .iter()
            .copied()
            .filter(|r| *r != "unquoted_space")
            .collect();
        if real.is_empty() {
            infos.push(name.to_string());
            continue;
        }
        let entry = format!("{name} ({})", real.join(", "));
        let lname = name.to_ascii_lowercase();
        let in_scm = scm_names.contains(&lname);
        if (real.contains(&"file_missing") && in_scm) || enumeration_failed {
            fails.push(entry);
        } else {
            warns.push(entry);
        }
    }
    let evidence = json!({"services_checked": checked, "failing": fails, "suspicious": warns, "unquoted_paths": infos,
                          "wsb_reported_invalid_path": enumeration_failed});
    if !fails.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "invalid service image paths break System State enumeration: {}",
                fails.join("; ")
            ),
            evidence,
        ));
    }
    if !warns.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!("suspicious service image paths: {}", warns.join("; ")),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        format!("all {checked} service image paths point at existing files"),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::report::model::Status;
    use serde_json::json;

    #[test]
    fn feature_available_fails_installed_passes() {
        let d = |installed: bool, state: &str| {
            json!({"method": "Get-WindowsFeature", "installed": installed, "install_state": state,
                                                      "wbengine_service_present": installed, "wbadmin_exists": true, "module_available": installed})
        };
        assert_eq!(
            judge("wsb.feature_installed", d(true, "Installed")).status,
            Status::Pass
        );
        assert_eq!(
            judge("wsb.feature_installed", d(false, "Available")).status,
            Status::Fail
        );
        assert_eq!(
            judge("wsb.feature_installed", d(false, "InstallPending")).status,
            Status::Warn
        );
        let none = json!({"method": null, "installed": null, "install_state": null, "wbengine_service_present": false, "wbadmin_exists": false, "module_available": false});
        assert_eq!(judge("wsb.feature_installed", none).status, Status::Unknown);
    }

    #[test]
    fn cmdlet_not_recognized_fails_on_error_id_not_text() {
        let d = json!({"module_listed": false, "module_path": null, "import_error": null, "command_found": false, "invoke_ok": false,
                       "invoke_error": "Le terme 'Get-WBJob' n'est pas reconnu", "invoke_error_id": "CommandNotFoundException", "current_job_state": null});
        assert_eq!(judge("wsb.cmdlets_available", d).status, Status::Fail);
        let denied = json!({"module_listed": true, "module_path": "x", "import_error": null, "command_found": true, "invoke_ok": false,
                            "invoke_error": "Access is denied", "invoke_error_id": "System.UnauthorizedAccessException,Microsoft.Windows.ServerBackup.Commands.GetWBJob", "current_job_state": null});
        assert_eq!(
            judge("wsb.cmdlets_available", denied).status,
            Status::Unknown
        );
    }

    fn job(state: &str, hr: &str, start: String) -> serde_json::Value {
        json!({"job_type": "Backup", "job_state": state, "start_utc": start, "end_utc": null, "hresult": hr, "detailed_hresult": "0x80070005",
               "error_description": "", "current_operation": "", "version_id": "", "success_log": "", "failure_log": "", "job_items": [], "raw": {}})
    }

    #[test]
    fn last_job_grades_on_state_and_hresult() {
        let ok = json!({"cmdlet_present": true, "current": null, "previous": job("Completed", "0x00000000", days_ago(1))});
        assert_eq!(judge("wsb.last_job", ok).status, Status::Pass);
        let failed_but_completed = json!({"cmdlet_present": true, "current": null, "previous": [job("Completed", "0x00000000", days_ago(3)), job("Completed", "0x8078011E", days_ago(1))]});
        let v = judge("wsb.last_job", failed_but_completed);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("EFI"), "{}", v.summary);
        let none = json!({"cmdlet_present": true, "current": null, "previous": []});
        assert_eq!(judge("wsb.last_job", none).status, Status::Unknown);
        let old = json!({"cmdlet_present": true, "current": null, "previous": [job("Completed", "0x00000000", ps_date_days_ago(90))]});
        assert_eq!(judge("wsb.last_job", old).status, Status::Warn);
    }

    #[test]
    fn summary_with_decimal_and_signed_hresults() {
        let d = |hr: serde_json::Value, last: serde_json::Value| {
            json!({"cmdlet_present": true, "next_backup_utc": null, "number_of_versions": 101,
            "last_successful_utc": last, "last_successful_target_path": "", "last_successful_target_label": "", "last_backup_utc": null,
            "last_backup_target": "", "detailed_message": "", "last_result_hr": hr, "last_result_detailed_hr": "0", "current_operation_status": "NoOperationInProgress"})
        };
        assert_eq!(
            judge("wsb.summary", d(json!("0x00000000"), json!(days_ago(1)))).status,
            Status::Pass
        );
        assert_eq!(
            judge("wsb.summary", d(json!(2155348165u64), json!(days_ago(1)))).status,
            Status::Fail
        );
        assert_eq!(
            judge("wsb.summary", d(json!(-2147467259), json!(days_ago(1)))).status,
            Status::Fail
        );
        assert_eq!(
            judge("wsb.summary", d(json!("0x00000000"), json!(null))).status,
            Status::Warn
        );
    }

    #[test]
    fn backup_sets_never_fail_and_empty_is_unknown() {
        let empty = json!({"method": "Get-WBBackupSet", "count": 0, "newest": [], "wbadmin": null});
        assert_eq!(judge("wsb.backup_sets", empty).status, Status::Unknown);
        let ss = json!({"method": "Get-WBBackupSet", "count": 1, "newest": {"version_id": "05/30/2025-21:00", "backup_time_utc": days_ago(2), "backup_set_id": "x",
                        "recoverable_items": "Volumes, SystemState, Applications, Files, BareMetalRecovery", "target_path": "E:", "target_label": "", "vss_backup_option": "VssCopyBackup", "volumes": []}});
        assert_eq!(judge("wsb.backup_sets", ss).status, Status::Pass);
        let wb = json!({"method": "wbadmin", "count": 1, "newest": [], "wbadmin": {"exit_code": 0, "timed_out": false, "version_ids": "03/15/2024-15:16", "text": "..."}});
        assert_eq!(judge("wsb.backup_sets", wb).status, Status::Warn);
        let skipped = json!({"skipped": "wsb_busy"});
        assert_eq!(judge("wsb.backup_sets", skipped).status, Status::Unknown);
    }

    fn ev(id: u64, days: i64, hr: &str) -> serde_json::Value {
        json!({"time_utc": days_ago(days), "id": id, "provider": "Microsoft-Windows-Backup", "level": 2, "record_id": 1, "props": [], "data": {"HRESULT": hr, "DetailedHRESULT": "0x80070005"}})
    }

    #[test]
    fn event_history_newest_terminal_event_decides() {
        let failing = json!({"window_days": 30, "operational": [ev(4, 5, "0x0"), ev(5, 1, "0x8078011e")], "application": []});
        assert_eq!(judge("wsb.event_history", failing).status, Status::Fail);
        let recovered = json!({"window_days": 30, "operational": [ev(5, 5, "0x8078011e"), ev(4, 1, "0x0")], "application": null});
        assert_eq!(judge("wsb.event_history", recovered).status, Status::Warn);
        let none = json!({"window_days": 30, "operational": [], "application": []});
        assert_eq!(judge("wsb.event_history", none).status, Status::Unknown);
    }

    #[test]
    fn missing_image_path_with_scm_event_fails() {
        let bad = json!({"service": "BadSvc", "image_path": "C:\\Gone\\bad.exe", "resolved": "C:\\Gone\\bad.exe", "type": 16, "reasons": "file_missing"});
        let scm = json!({"time_utc": days_ago(1), "id": 7000, "provider": "Service Control Manager", "level": 2, "record_id": 1, "props": ["BadSvc", "%%3"]});
        assert_eq!(
            judge(
                "sysstate.service_imagepaths",
                json!({"services_checked": 412, "suspicious": bad.clone(), "scm_7000": scm})
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "sysstate.service_imagepaths",
                json!({"services_checked": 412, "suspicious": bad, "scm_7000": []})
            )
            .status,
            Status::Warn
        );
        let unquoted = json!({"service": "Svc", "image_path": "C:\\Program Files\\x.exe", "resolved": "x", "type": 16, "reasons": ["unquoted_space"]});
        assert_eq!(
            judge(
                "sysstate.service_imagepaths",
                json!({"services_checked": 412, "suspicious": unquoted, "scm_7000": []})
            )
            .status,
            Status::Pass
        );
    }
}
