//! Security settings that break backups: antivirus exclusions and conflicting
//! products, and the System Volume Information ACL.

use serde_json::json;

use crate::probes::json::Json;

use super::{
    Ctx, Judged, Unknown, Verdict, need, need_bool, need_list, need_objects, opt_bool, opt_str,
};
use crate::probes::value::{as_bool, as_str, field};
use crate::report::model::Status;

fn norm(p: &str) -> String {
    p.trim()
        .trim_end_matches(['\\', '*'])
        .trim_end_matches('\\')
        .to_ascii_lowercase()
}

/// True when an exclusion entry covers `path` (same folder or a parent, case-insensitive).
fn covers(exclusion: &str, path: &str) -> bool {
    let (e, p) = (norm(exclusion), norm(path));
    !e.is_empty() && (p == e || p.starts_with(&format!("{e}\\")))
}

/// `av.exclusions_and_conflicts`: Defender exclusions for the agent; other security or backup products.
pub(crate) fn av(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let install = opt_str(d, "install_path")?;
    let prefs = need(d, "defender_preferences")?;
    let status = need(d, "defender_status")?;
    let expected = super::need_strings(d, "expected_exclusions")?;
    let services = need_objects(d, "third_party_services")?;
    let mut security = Vec::new();
    let mut backup = Vec::new();
    for &s in &services {
        let running = opt_str(s, "state")?.is_some_and(|st| st.eq_ignore_ascii_case("Running"));
        if !running {
            continue;
        }
        let name = opt_str(s, "display_name")?
            .or(opt_str(s, "name")?)
            .unwrap_or("?")
            .to_string();
        match opt_str(s, "category")? {
            Some("backup") => backup.push(name),
            _ => security.push(name),
        }
    }
    if !(status.is_null() || status.is_object()) || !(prefs.is_null() || prefs.is_object()) {
        return Err(Unknown(
            "Defender preferences and status should be objects or null".into(),
        ));
    }
    let defender_active = if status.is_object() {
        need_bool(status, "am_service_enabled")? && need_bool(status, "realtime_enabled")?
    } else if prefs.is_object() {
        !field(prefs, "realtime_monitoring_disabled")
            .and_then(as_bool)
            .unwrap_or(true)
    } else {
        false
    };
    let mut missing = Vec::new();
    let mut unreadable = None;
    if defender_active && install.is_some() {
        if !prefs.is_object() {
            unreadable = Some("Defender preferences were not returned".to_string());
        } else if let Some(e) = field(prefs, "error").and_then(as_str) {
            unreadable = Some(format!("Defender preferences unreadable: {e}"));
        } else {
            let paths: Vec<&str> = need_list(prefs, "exclusion_path")?
                .into_iter()
                .filter_map(as_str)
                .collect();
            let procs: Vec<&str> = need_list(prefs, "exclusion_process")?
                .into_iter()
                .filter_map(as_str)
                .collect();
            if paths
                .iter()
                .chain(procs.iter())
                .any(|p| p.starts_with("N/A"))
            {
                unreadable = Some("Defender hides its exclusions from this account".to_string());
            } else {
                for want in expected.iter().copied() {
                    if want.eq_ignore_ascii_case("cbengine.exe") {
                        if !procs
                            .iter()
                            .any(|p| p.to_ascii_lowercase().ends_with("cbengine.exe"))
                        {
                            missing.push(want.to_string());
                        }
                    } else if !paths.iter().any(|p| covers(p, want)) {
                        missing.push(want.to_string());
                    }
                }
            }
        }
    }
    let evidence = json!({"defender_active": defender_active, "missing_exclusions": missing, "exclusions_unreadable": unreadable,
                          "security_products_running": security, "backup_products_running": backup});
    let mut warnings = Vec::new();
    if !missing.is_empty() {
        warnings.push(format!("Defender does not exclude {}", missing.join(", ")));
    }
    if !security.is_empty() {
        warnings.push(format!(
            "third-party security running ({}): verify its exclusions by hand",
            security.join(", ")
        ));
    }
    if !backup.is_empty() {
        warnings.push(format!(
            "other backup software running ({}): keep it out of the System State window",
            backup.join(", ")
        ));
    }
    if !warnings.is_empty() {
        return Ok(Verdict::new(Status::Warn, warnings.join("; "), evidence));
    }
    if let Some(why) = unreadable {
        return Err(Unknown(why));
    }
    Ok(Verdict::new(
        Status::Pass,
        if defender_active {
            "Defender excludes the agent's folders and no other security or backup product runs"
        } else {
            "no active scanner or other backup product found"
        },
        evidence,
    ))
}

/// `acl.svi_system_full_control`: SYSTEM has full control and no deny entry.
pub(crate) fn svi_acl(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let path = opt_str(d, "path")?.unwrap_or("System Volume Information");
    let exists = need_bool(d, "exists")?;
    let readable = opt_bool(d, "readable")?;
    let full = opt_bool(d, "system_full_control")?;
    let deny = opt_bool(d, "system_deny")?;
    let evidence = json!({"path": path, "exists": exists, "readable": readable, "system_full_control": full,
                          "system_deny": deny, "owner_sid": super::scalar(d, "owner_sid")?, "read_error": super::scalar(d, "read_error")?});
    if readable == Some(false) {
        let why = opt_str(d, "read_error")?.unwrap_or("access denied");
        return Err(Unknown(format!("cannot read the ACL of {path}: {why}")));
    }
    if !exists {
        return Err(Unknown(format!("{path} does not exist")));
    }
    match (full, deny) {
        (_, Some(true)) => Ok(Verdict::new(
            Status::Fail,
            format!("SYSTEM has a deny entry on {path}"),
            evidence,
        )),
        (Some(true), Some(false)) => Ok(Verdict::new(
            Status::Pass,
            format!("SYSTEM has full control of {path}"),
            evidence,
        )),
        (Some(false), Some(false)) => Ok(Verdict::new(
            Status::Fail,
            format!("SYSTEM lacks full control of {path}"),
            evidence,
        )),
        _ => Err(Unknown("system_full_control or system_deny is null".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::report::model::Status;
    use serde_json::json;

    const IP: &str = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\";

    fn av(
        paths: serde_json::Value,
        procs: serde_json::Value,
        services: serde_json::Value,
    ) -> serde_json::Value {
        json!({"install_path": IP, "scratch": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\Scratch",
               "defender_preferences": {"exclusion_path": paths, "exclusion_process": procs, "realtime_monitoring_disabled": false},
               "defender_status": {"am_service_enabled": true, "realtime_enabled": true, "am_running_mode": "Normal"},
               "expected_exclusions": [format!("{IP}Scratch"), format!("{IP}Bin"), "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\Scratch", "cbengine.exe"],
               "third_party_services": services})
    }

    #[test]
    fn defender_with_agent_exclusions_passes() {
        let d = av(
            json!("C:\\Program Files\\Microsoft Azure Recovery Services Agent"),
            json!("C:\\Program Files\\Microsoft Azure Recovery Services Agent\\bin\\cbengine.exe"),
            json!([]),
        );
        assert_eq!(judge("av.exclusions_and_conflicts", d).status, Status::Pass);
    }

    #[test]
    fn missing_exclusions_warn() {
        let d = av(json!([null]), json!(null), json!([]));
        assert_eq!(judge("av.exclusions_and_conflicts", d).status, Status::Warn);
    }

    #[test]
    fn hidden_exclusions_are_unknown() {
        let d = av(
            json!("N/A: Must be an administrator to view exclusions"),
            json!("N/A: Must be an administrator to view exclusions"),
            json!([]),
        );
        assert_eq!(
            judge("av.exclusions_and_conflicts", d).status,
            Status::Unknown
        );
    }

    #[test]
    fn running_backup_product_warns() {
        let svc = json!({"name": "VeeamEndpointBackupSvc", "display_name": "Veeam Agent for Microsoft Windows", "state": "Running", "start_mode": "Auto", "category": "backup"});
        let d = av(json!(IP), json!("cbengine.exe"), svc);
        assert_eq!(judge("av.exclusions_and_conflicts", d).status, Status::Warn);
    }

    fn svi(full: serde_json::Value, deny: serde_json::Value, readable: bool) -> serde_json::Value {
        json!({"path": "C:\\System Volume Information", "exists": true, "readable": readable, "read_error": if readable { json!(null) } else { json!("Attempted to perform an unauthorized operation.") },
               "owner_sid": "S-1-5-18", "system_full_control": full, "system_deny": deny,
               "aces": {"sid": "S-1-5-18", "type": "Allow", "rights": 2032127, "inherited": false, "inheritance": "ContainerInherit, ObjectInherit", "propagation": "None"},
               "icacls_text": null})
    }

    #[test]
    fn svi_acl_rules() {
        assert_eq!(
            judge(
                "acl.svi_system_full_control",
                svi(json!(true), json!(false), true)
            )
            .status,
            Status::Pass
        );
        assert_eq!(
            judge(
                "acl.svi_system_full_control",
                svi(json!(false), json!(false), true)
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "acl.svi_system_full_control",
                svi(json!(true), json!(true), true)
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "acl.svi_system_full_control",
                svi(json!(null), json!(null), false)
            )
            .status,
            Status::Unknown
        );
    }
}
