//! Host-wide facts: the context probe, the OS SKU, .NET, updates, the clock.

use serde_json::json;

use crate::probes::json::Json;

use super::{
    Ctx, Judged, Unknown, Verdict, need_bool, need_list, need_u64, opt_date, opt_str, opt_u64,
};
use crate::report::model::Status;

/// `host.context`: information; warns when the account is not elevated.
pub(crate) fn context(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let caption = opt_str(d, "caption")?.unwrap_or("Windows");
    let build = need_u64(d, "build")?;
    let is_admin = need_bool(d, "is_admin")?;
    let ps = opt_str(d, "ps_version")?.unwrap_or("?");
    let culture = opt_str(d, "ui_culture")?
        .or(opt_str(d, "culture")?)
        .unwrap_or("?");
    let user = opt_str(d, "user")?.unwrap_or("?");
    let evidence = json!({
        "caption": caption, "build": build, "ubr": super::scalar(d, "ubr")?, "is_admin": is_admin, "user": user,
        "ps_version": ps, "culture": super::scalar(d, "culture")?, "ui_culture": super::scalar(d, "ui_culture")?,
        "installation_type": super::scalar(d, "installation_type")?, "domain_role": super::scalar(d, "domain_role")?,
    });
    if is_admin {
        Ok(Verdict::new(
            Status::Pass,
            format!(
                "{caption} (build {build}), PowerShell {ps}, {user} elevated, culture {culture}"
            ),
            evidence,
        ))
    } else {
        Ok(Verdict::new(
            Status::Warn,
            format!("{user} is not elevated: checks that need an administrator token are unknown"),
            evidence,
        ))
    }
}

/// `os.supported_sku`: 64-bit Server with the Desktop Experience on a supported build.
pub(crate) fn supported_sku(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let product_type = need_u64(d, "product_type")?;
    let build = need_u64(d, "build")?;
    let arch = opt_str(d, "os_arch")?;
    let install = opt_str(d, "installation_type")?;
    let caption = opt_str(d, "caption")?.unwrap_or("Windows");
    let evidence = json!({"caption": caption, "build": build, "product_type": product_type,
                          "os_arch": arch, "installation_type": install});
    if product_type == 1 {
        return Ok(Verdict::new(
            Status::Fail,
            format!("{caption} is a client OS: MARS System State backup needs Windows Server"),
            evidence,
        ));
    }
    let Some(arch) = arch else {
        return Err(Unknown("os_arch is null".into()));
    };
    if !arch.contains("64") {
        return Ok(Verdict::new(
            Status::Fail,
            format!("{caption} is {arch}: MARS needs a 64-bit OS"),
            evidence,
        ));
    }
    let Some(install) = install else {
        return Err(Unknown(
            "installation_type is null: cannot tell Server Core from Desktop Experience".into(),
        ));
    };
    if install.to_ascii_lowercase().contains("core") {
        return Ok(Verdict::new(
            Status::Fail,
            format!("{caption} is {install}: MARS does not support Server Core"),
            evidence,
        ));
    }
    let (status, note) = match build {
        14393 | 17763 | 20348 => (Status::Pass, "supported"),
        9600 => (
            Status::Warn,
            "Windows Server 2012 R2 is out of support (needs ESU)",
        ),
        b if b >= 26100 => (
            Status::Warn,
            "newer than the stored MARS support matrix: verify support",
        ),
        b if b < 9600 => (
            Status::Warn,
            "older than Windows Server 2012 R2: outside the MARS support matrix",
        ),
        _ => (Status::Warn, "build not listed in the MARS support matrix"),
    };
    Ok(Verdict::new(
        status,
        format!("{caption} build {build} ({install}): {note}"),
        evidence,
    ))
}

/// (minimum `Release`, display version), ascending (catalogue §3.2).
const DOTNET_RELEASES: &[(u64, &str)] = &[
    (378389, "4.5"),
    (378675, "4.5.1"),
    (379893, "4.5.2"),
    (393295, "4.6"),
    (394254, "4.6.1"),
    (394802, "4.6.2"),
    (460798, "4.7"),
    (461308, "4.7.1"),
    (461808, "4.7.2"),
    (528040, "4.8"),
    (533320, "4.8.1"),
];
const DOTNET_452: u64 = 379893;
const DOTNET_462: u64 = 394802;

fn dotnet_name(release: u64) -> &'static str {
    DOTNET_RELEASES
        .iter()
        .rev()
        .find(|(min, _)| release >= *min)
        .map_or("older than 4.5", |(_, name)| name)
}

/// `dotnet.version`: fail below 4.5.2 (2019 article), warn below 4.6.2 (2025 article).
pub(crate) fn dotnet(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let present = need_bool(d, "full_key_present")?;
    let release = opt_u64(d, "release")?;
    let evidence = json!({"full_key_present": present, "release": release, "version": super::scalar(d, "version")?});
    if !present {
        return Ok(Verdict::new(
            Status::Fail,
            ".NET Framework 4.5 or later is not installed (no NDP\\v4\\Full key)",
            evidence,
        ));
    }
    let Some(release) = release else {
        return Err(Unknown("the NDP\\v4\\Full key has no Release value".into()));
    };
    let name = dotnet_name(release);
    let (status, note) = if release < DOTNET_452 {
        (Status::Fail, "below the 4.5.2 minimum")
    } else if release < DOTNET_462 {
        (
            Status::Warn,
            "meets 4.5.2 but not the 4.6.2 the current article asks for",
        )
    } else {
        (Status::Pass, "4.6.2 or later")
    };
    Ok(Verdict::new(
        status,
        format!(".NET Framework {name} (release {release}): {note}"),
        evidence,
    ))
}

/// `os.updates_recent`: age of the newest dated hotfix.
pub(crate) fn updates(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let latest = need_list(d, "latest")?;
    let count = opt_u64(d, "hotfix_count")?;
    let mut newest: Option<(time::OffsetDateTime, String)> = None;
    for &item in &latest {
        if !item.is_object() {
            return Err(Unknown("`latest` should hold objects".into()));
        }
        let Some(t) = opt_date(item, "installed_on_utc")? else {
            continue;
        };
        let id = opt_str(item, "id")?.unwrap_or("?").to_string();
        if newest.as_ref().is_none_or(|(n, _)| t > *n) {
            newest = Some((t, id));
        }
    }
    let Some((t, id)) = newest else {
        return Err(Unknown("no update with an installation date".into()));
    };
    let age = ctx.age_days(t).max(0);
    let s = ctx.settings;
    let evidence = json!({"newest_update": id, "installed_on_utc": t.date().to_string(), "age_days": age,
                          "hotfix_count": count, "ubr": super::scalar(d, "ubr")?});
    let age_u = u64::try_from(age).unwrap_or(0);
    let status = if age_u > s.update_age_fail_days {
        Status::Fail
    } else if age_u > s.update_age_warn_days {
        Status::Warn
    } else {
        Status::Pass
    };
    Ok(Verdict::new(
        status,
        format!("newest update {id} installed {age} days ago"),
        evidence,
    ))
}

/// `time.clock_timezone`: clock skew against our clock, time source, expected zone.
pub(crate) fn clock(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let Some(host_now) = opt_date(d, "utc_now")? else {
        return Err(Unknown("utc_now is null".into()));
    };
    let tz = opt_str(d, "tz_id")?;
    let state = opt_str(d, "w32time_state")?;
    let source = opt_str(d, "w32tm_source")?;
    let dst = super::opt_bool(d, "supports_dst")?;
    let skew = (host_now - ctx.received_at).whole_seconds();
    let abs = skew.unsigned_abs();
    let s = ctx.settings;
    let evidence = json!({"skew_seconds": skew, "tz_id": tz, "w32time_state": state, "w32tm_source": source,
                          "supports_dst": dst});
    if abs > s.clock_skew_fail_seconds {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "clock is {skew} s off (limit {} s)",
                s.clock_skew_fail_seconds
            ),
            evidence,
        ));
    }
    if !s.expected_time_zone.is_empty()
        && tz.is_some_and(|z| !z.eq_ignore_ascii_case(&s.expected_time_zone))
    {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "time zone is {} but {} is expected",
                tz.unwrap_or("?"),
                s.expected_time_zone
            ),
            evidence,
        ));
    }
    if abs > s.clock_skew_warn_seconds {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "clock is {skew} s off (warn above {} s)",
                s.clock_skew_warn_seconds
            ),
            evidence,
        ));
    }
    if let Some(st) = state
        && !st.eq_ignore_ascii_case("Running")
    {
        return Ok(Verdict::new(
            Status::Warn,
            format!("Windows Time service is {st}: the clock is not being synchronised"),
            evidence,
        ));
    }
    // w32tm output is localized: only English text is matched.
    if ctx.facts.english == Some(true)
        && let Some(src) = source
    {
        let l = src.to_ascii_lowercase();
        if l.contains("local cmos clock") || l.contains("free-running system clock") {
            return Ok(Verdict::new(
                Status::Warn,
                format!("no time source: w32tm reports '{src}'"),
                evidence,
            ));
        }
    }
    Ok(Verdict::new(
        Status::Pass,
        format!(
            "clock within {abs} s, time zone {}{}",
            tz.unwrap_or("?"),
            if dst == Some(true) {
                " (observes DST: backup times do not follow it automatically)"
            } else {
                ""
            }
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::probes::Settings;
    use crate::report::model::Status;
    use serde_json::json;

    fn ctx_data(build: u64, arch: &str, install: &str, product: u64) -> serde_json::Value {
        json!({"caption": "Microsoft Windows Server 2022 Standard", "version": "10.0.20348", "build": build,
               "ubr": 2700, "installation_type": install, "edition_id": "ServerStandard", "product_type": product,
               "os_arch": arch, "ps_version": "5.1.20348.2652", "clr_version": "4.0.30319.42000", "is_admin": true,
               "user": "CONTOSO\\scan", "culture": "en-US", "ui_culture": "en-US", "part_of_domain": true,
               "domain_role": 3, "last_boot_utc": "2025-05-01T00:00:00.0000000Z", "utc_now": "2025-06-01T12:00:00.0000000Z"})
    }

    #[test]
    fn supported_server_2022_passes() {
        assert_eq!(
            judge("os.supported_sku", ctx_data(20348, "64-bit", "Server", 3)).status,
            Status::Pass
        );
    }

    #[test]
    fn server_core_fails() {
        assert_eq!(
            judge(
                "os.supported_sku",
                ctx_data(20348, "64-bit", "Server Core", 3)
            )
            .status,
            Status::Fail
        );
    }

    #[test]
    fn client_os_and_32_bit_fail() {
        assert_eq!(
            judge("os.supported_sku", ctx_data(19045, "64-bit", "Client", 1)).status,
            Status::Fail
        );
        assert_eq!(
            judge("os.supported_sku", ctx_data(14393, "32-bit", "Server", 3)).status,
            Status::Fail
        );
    }

    #[test]
    fn localized_os_arch_is_read_by_its_digits() {
        assert_eq!(
            judge("os.supported_sku", ctx_data(17763, "64 bits", "Server", 3)).status,
            Status::Pass
        );
    }

    #[test]
    fn server_2012_r2_and_2025_warn() {
        assert_eq!(
            judge("os.supported_sku", ctx_data(9600, "64-bit", "Server", 3)).status,
            Status::Warn
        );
        assert_eq!(
            judge("os.supported_sku", ctx_data(26100, "64-bit", "Server", 3)).status,
            Status::Warn
        );
    }

    #[test]
    fn null_installation_type_is_unknown_not_pass() {
        let mut d = ctx_data(20348, "64-bit", "Server", 3);
        d["installation_type"] = json!(null);
        assert_eq!(judge("os.supported_sku", d).status, Status::Unknown);
    }

    #[test]
    fn host_context_warns_when_not_elevated() {
        let mut d = ctx_data(20348, "64-bit", "Server", 3);
        assert_eq!(judge("host.context", d.clone()).status, Status::Pass);
        d["is_admin"] = json!(false);
        assert_eq!(judge("host.context", d).status, Status::Warn);
    }

    #[test]
    fn dotnet_thresholds_follow_the_two_articles() {
        let v = |release: serde_json::Value| json!({"full_key_present": true, "release": release, "version": "4.8.04161"});
        assert_eq!(
            judge("dotnet.version", v(json!(528449))).status,
            Status::Pass
        );
        assert_eq!(
            judge("dotnet.version", v(json!(394254))).status,
            Status::Warn
        );
        assert_eq!(
            judge("dotnet.version", v(json!(378675))).status,
            Status::Fail
        );
        assert_eq!(
            judge("dotnet.version", v(json!(null))).status,
            Status::Unknown
        );
        assert_eq!(
            judge("dotnet.version", v(json!("528449"))).status,
            Status::Pass
        );
        let missing = json!({"full_key_present": false, "release": null, "version": null});
        assert_eq!(judge("dotnet.version", missing).status, Status::Fail);
    }

    #[test]
    fn updates_age_is_graded_with_ps_dates_and_iso() {
        let d = |t: String| {
            json!({"hotfix_count": 12, "hotfix_without_date": 0, "latest": {"id": "KB5040437", "description": "Security Update", "installed_on_utc": t},
                             "current_build": "20348", "ubr": 2700, "display_version": null, "wu_history": null, "wu_history_error": null})
        };
        assert_eq!(
            judge("os.updates_recent", d(days_ago(10))).status,
            Status::Pass
        );
        assert_eq!(
            judge("os.updates_recent", d(ps_date_days_ago(60))).status,
            Status::Warn
        );
        assert_eq!(
            judge("os.updates_recent", d(days_ago(200))).status,
            Status::Fail
        );
        let none = json!({"hotfix_count": 3, "hotfix_without_date": 3, "latest": [], "current_build": "20348", "ubr": 1, "display_version": null, "wu_history": null, "wu_history_error": null});
        assert_eq!(judge("os.updates_recent", none).status, Status::Unknown);
    }

    fn clock_data(skew_secs: i64, source: &str) -> serde_json::Value {
        let t = now() + time::Duration::seconds(skew_secs);
        json!({"utc_now": t.format(&time::format_description::well_known::Rfc3339).expect("fmt"), "tz_id": "W. Europe Standard Time",
               "tz_display": "(UTC+01:00) Amsterdam", "base_utc_offset_min": 60, "current_utc_offset_min": 120,
               "supports_dst": true, "is_dst_now": true, "registry_tz_key": "W. Europe Standard Time",
               "w32time_state": "Running", "w32time_start_mode": "Auto", "w32tm_source": source, "w32tm_status": "Leap Indicator: 0(no warning)"})
    }

    #[test]
    fn clock_skew_thresholds() {
        assert_eq!(
            judge("time.clock_timezone", clock_data(5, "dc01.contoso.com")).status,
            Status::Pass
        );
        assert_eq!(
            judge("time.clock_timezone", clock_data(-120, "dc01.contoso.com")).status,
            Status::Warn
        );
        assert_eq!(
            judge("time.clock_timezone", clock_data(900, "dc01.contoso.com")).status,
            Status::Fail
        );
    }

    #[test]
    fn local_cmos_clock_warns_only_on_english_hosts() {
        assert_eq!(
            judge("time.clock_timezone", clock_data(0, "Local CMOS Clock")).status,
            Status::Warn
        );
        let facts = crate::probes::judge::HostFacts {
            is_admin: Some(true),
            user: None,
            english: Some(false),
            mars_installed: Some(true),
        };
        let v = judge_facts(
            "time.clock_timezone",
            clock_data(0, "Horloge CMOS locale"),
            &[],
            &Settings::default(),
            &facts,
        );
        assert_eq!(v.status, Status::Pass);
    }

    #[test]
    fn expected_time_zone_mismatch_fails() {
        let mut s = Settings::default();
        s.set("expected_time_zone", "UTC").expect("valid");
        assert_eq!(
            judge_with("time.clock_timezone", clock_data(0, "dc01"), &[], &s).status,
            Status::Fail
        );
    }
}
