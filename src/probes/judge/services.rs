//! The dependent services of the article's table: RpcSs, EventSystem and SENS
//! automatic and running; VSS and swprv manual (demand start).

use serde_json::json;

use crate::probes::json::Json;

use super::mars::start_mode;
use super::{Ctx, Judged, Unknown, Verdict, need_bool, need_objects, opt_str};
use crate::report::model::Status;

/// Judges the service `name` of the `svc.rpcss_startup` probe's list.
pub(crate) fn judge(_ctx: &Ctx<'_>, d: Json<'_>, name: &str) -> Judged {
    let services = need_objects(d, "services")?;
    let mut found = None;
    for &s in &services {
        if opt_str(s, "name")?.is_some_and(|n| n.eq_ignore_ascii_case(name)) {
            found = Some(s);
        }
    }
    let Some(s) = found else {
        return Err(Unknown(format!(
            "service {name} is not in the probe's list"
        )));
    };
    if !need_bool(s, "present")? {
        return Ok(Verdict::new(
            Status::Fail,
            format!("service {name} does not exist"),
            json!({"name": name, "present": false}),
        ));
    }
    let mode = start_mode(s)?;
    let state = opt_str(s, "state")?;
    let evidence = json!({"name": name, "start_mode": mode, "state": state,
                          "start_value": super::need(s, "start_value")?, "delayed_auto_start": super::need(s, "delayed_auto_start")?});
    let Some(mode) = mode else {
        return Err(Unknown(format!("start mode of {name} is not readable")));
    };
    let automatic = matches!(name, "RpcSs" | "EventSystem" | "SENS");
    let running = state.map(|s| s.eq_ignore_ascii_case("Running"));
    let v = |status, text: String| Ok(Verdict::new(status, text, evidence.clone()));
    match (automatic, mode) {
        (_, "Disabled") => v(Status::Fail, format!("{name} is disabled")),
        (true, "Auto") => match running {
            Some(true) => v(Status::Pass, format!("{name} is automatic and running")),
            Some(false) => v(
                Status::Fail,
                format!("{name} is automatic but {}", state.unwrap_or("not running")),
            ),
            None => Err(Unknown(format!("state of {name} is null"))),
        },
        (true, other) => v(
            Status::Warn,
            format!("{name} start type is {other}, Windows default is Automatic"),
        ),
        (false, "Manual") => v(
            Status::Pass,
            format!(
                "{name} is manual (demand start), {}",
                state.unwrap_or("state unknown")
            ),
        ),
        (false, other) => v(
            Status::Warn,
            format!("{name} start type is {other}, Windows default is Manual"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::report::model::Status;
    use serde_json::json;

    fn svc(
        name: &str,
        mode: serde_json::Value,
        start_value: u64,
        state: &str,
    ) -> serde_json::Value {
        json!({"name": name, "present": true, "expected_start_mode": "Auto", "start_mode": mode, "start_value": start_value,
               "delayed_auto_start": null, "state": state, "status": "OK", "start_name": "LocalSystem", "exit_code": 0})
    }

    fn healthy() -> Vec<serde_json::Value> {
        vec![
            svc("RpcSs", json!("Auto"), 2, "Running"),
            svc("EventSystem", json!("Auto"), 2, "Running"),
            svc("SENS", json!("Auto"), 2, "Running"),
            svc("VSS", json!("Manual"), 3, "Stopped"),
            svc("swprv", json!("Manual"), 3, "Stopped"),
            svc("wbengine", json!("Manual"), 3, "Stopped"),
        ]
    }

    #[test]
    fn healthy_services_pass() {
        for id in [
            "svc.rpcss_startup",
            "svc.eventsystem_startup",
            "svc.sens_startup",
            "svc.vss_startup",
            "svc.swprv_startup",
        ] {
            assert_eq!(
                judge(id, json!({"services": healthy()})).status,
                Status::Pass,
                "{id}"
            );
        }
    }

    #[test]
    fn vss_startup_disabled_fails() {
        let mut s = healthy();
        s[3] = svc("VSS", json!("Disabled"), 4, "Stopped");
        assert_eq!(
            judge("svc.vss_startup", json!({"services": s.clone()})).status,
            Status::Fail
        );
        assert_eq!(
            judge("svc.swprv_startup", json!({"services": s})).status,
            Status::Pass,
            "other services keep their verdict"
        );
    }

    #[test]
    fn rpc_manual_warns_and_sens_stopped_fails() {
        let mut s = healthy();
        s[0] = svc("RpcSs", json!("Manual"), 3, "Running");
        s[2] = svc("SENS", json!("Auto"), 2, "Stopped");
        assert_eq!(
            judge("svc.rpcss_startup", json!({"services": s.clone()})).status,
            Status::Warn
        );
        assert_eq!(
            judge("svc.sens_startup", json!({"services": s})).status,
            Status::Fail
        );
    }

    #[test]
    fn enum_integer_start_mode_is_read_like_get_service_start_type() {
        let s = vec![svc("VSS", json!(4), 4, "Stopped")];
        assert_eq!(
            judge("svc.vss_startup", json!({"services": s})).status,
            Status::Fail
        );
    }

    #[test]
    fn missing_service_fails_and_collapsed_single_object_is_read() {
        let d = json!({"services": {"name": "swprv", "present": false, "expected_start_mode": "Manual"}});
        assert_eq!(judge("svc.swprv_startup", d).status, Status::Fail);
        let one = json!({"services": svc("VSS", json!("Manual"), 3, "Stopped")});
        assert_eq!(judge("svc.vss_startup", one).status, Status::Pass);
    }
}
