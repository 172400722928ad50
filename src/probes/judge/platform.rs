//! The machine itself: Azure VM or not, hardware for restores, volumes, the EFI partition.

use serde_json::json;

use crate::probes::json::Json;

use super::{
    Ctx, Judged, Unknown, Verdict, need, need_bool, need_objects, opt_bool, opt_date, opt_str,
    opt_u64,
};
use crate::probes::value::as_str;
use crate::report::model::Status;

/// `azure.vm_detect`: informational; warns on Azure so the limitation is visible.
pub(crate) fn azure_vm(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let azure = need_bool(d, "is_azure")?;
    let tag = opt_str(d, "smbios_asset_tag")?;
    let evidence = json!({"is_azure": azure, "smbios_asset_tag": tag, "manufacturer": super::scalar(d, "manufacturer")?,
                          "model": super::scalar(d, "model")?, "azure_guest_agent_services": need_objects(d, "azure_guest_agent_services")?});
    Ok(if azure {
        Verdict::new(
            Status::Warn,
            "this server is an Azure VM (Azure chassis asset tag)",
            evidence,
        )
    } else {
        Verdict::new(Status::Pass, "not an Azure VM", evidence)
    })
}

/// `limit.azure_vm_system_state`: MARS System State backup is not available on Azure VMs.
pub(crate) fn azure_vm_system_state(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let azure = need_bool(d, "is_azure")?;
    let evidence = json!({"is_azure": azure, "smbios_asset_tag": opt_str(d, "smbios_asset_tag")?});
    Ok(if azure {
        Verdict::new(
            Status::Fail,
            "Azure VM: MARS System State backup is not available; use Azure VM backup",
            evidence,
        )
    } else {
        Verdict::new(
            Status::Pass,
            "on-premises server: System State backup is available",
            evidence,
        )
    })
}

/// `limit.restore_hardware`: records the hardware class a System State restore should target.
pub(crate) fn restore_hardware(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let manufacturer = opt_str(d, "manufacturer")?;
    let model = opt_str(d, "model")?;
    let (Some(manufacturer), Some(model)) = (manufacturer, model) else {
        return Err(Unknown("manufacturer or model is null".into()));
    };
    let uefi = opt_bool(d, "uefi_esp_present")?;
    let firmware = match uefi {
        Some(true) => "UEFI",
        Some(false) => "BIOS",
        None => "unknown firmware",
    };
    let evidence = json!({"manufacturer": manufacturer, "model": model, "bios_version": super::scalar(d, "bios_version")?,
                          "firmware": firmware});
    Ok(Verdict::new(
        Status::Pass,
        format!(
            "restore System State to the same hardware class: {manufacturer} {model}, {firmware}"
        ),
        evidence,
    ))
}

fn same_volume(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a
            .trim_end_matches('\\')
            .eq_ignore_ascii_case(b.trim_end_matches('\\')),
        _ => false,
    }
}

/// `vol.unsupported_sources`: boot and system volumes are local, fixed, NTFS, unlocked.
pub(crate) fn volumes(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let vols = need_objects(d, "volumes")?;
    let bitlocker = need_objects(d, "bitlocker")?;
    let disks = need_objects(d, "disks")?;
    let mut problems = Vec::new();
    let mut seen_boot = false;
    for &v in &vols {
        let boot = need_bool(v, "boot_volume")?;
        let system = need_bool(v, "system_volume")?;
        if !boot && !system {
            continue;
        }
        seen_boot |= boot;
        let name = opt_str(v, "name")?
            .or(opt_str(v, "device_id")?)
            .unwrap_or("?");
        let fs = opt_str(v, "file_system")?.unwrap_or("");
        let drive_type = opt_u64(v, "drive_type")?;
        let fs_ok = fs.eq_ignore_ascii_case("NTFS")
            || (!boot && fs.to_ascii_uppercase().starts_with("FAT"));
        if !fs_ok {
            problems.push(format!(
                "{name} ({}) is {}",
                if boot { "boot" } else { "system" },
                if fs.is_empty() { "unformatted" } else { fs }
            ));
        }
        if drive_type != Some(3) {
            problems.push(format!(
                "{name} is not a fixed disk (drive type {})",
                drive_type.map_or("?".into(), |t| t.to_string())
            ));
        }
        let letter = opt_str(v, "drive_letter")?;
        let device = opt_str(v, "device_id")?;
        for &b in &bitlocker {
            let locked = opt_u64(b, "lock_status")? == Some(1);
            let matches = same_volume(opt_str(b, "drive_letter")?, letter)
                || same_volume(opt_str(b, "device_id")?, device);
            if locked && matches {
                problems.push(format!("{name} is BitLocker-locked"));
            }
        }
    }
    let mut odd_disks = Vec::new();
    for &disk in &disks {
        if opt_bool(disk, "is_offline")? == Some(true)
            || opt_bool(disk, "is_read_only")? == Some(true)
        {
            odd_disks.push(need(disk, "number")?.to_string());
        }
    }
    let evidence = json!({"volumes": vols.len(), "problems": problems, "offline_or_read_only_disks": odd_disks});
    if !seen_boot {
        return Err(Unknown("no volume is marked as the boot volume".into()));
    }
    if !problems.is_empty() {
        return Ok(Verdict::new(Status::Fail, problems.join("; "), evidence));
    }
    if !odd_disks.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "disk(s) {} are offline or read-only: keep them out of the backup scope",
                odd_disks.join(", ")
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "boot and system volumes are local, fixed, NTFS and unlocked",
        evidence,
    ))
}

/// `efi.esp_lock`: WSB lock failures on the ESP, or software that could hold it.
pub(crate) fn esp_lock(ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let firmware = opt_str(d, "firmware_type")?;
    let esp = need_objects(d, "esp")?;
    let lock_events = need_objects(d, "lock_events")?;
    let third = need_objects(d, "third_party")?;
    let uefi = firmware.is_some_and(|f| f.eq_ignore_ascii_case("UEFI"));
    let mut recent = 0usize;
    let mut older = 0usize;
    for &e in &lock_events {
        match opt_date(e, "time_utc")? {
            Some(t) if ctx.is_recent(t) => recent += 1,
            _ => older += 1,
        }
    }
    let names: Vec<&str> = third
        .iter()
        .filter_map(|t| super::super::value::field(*t, "display_name").and_then(as_str))
        .collect();
    let evidence = json!({"firmware_type": firmware, "esp_partitions": esp.len(), "lock_events_recent": recent,
                          "lock_events_older": older, "third_party_running": names, "secure_boot": super::scalar(d, "secure_boot")?});
    if esp.is_empty() && !uefi {
        return Ok(Verdict::new(
            Status::NotApplicable,
            "no EFI system partition (BIOS boot)",
            evidence,
        ));
    }
    if recent > 0 {
        return Ok(Verdict::new(
            Status::Fail,
            format!(
                "{recent} WSB failure(s) in the last {} days because the EFI system partition was locked (0x8078011E)",
                ctx.settings.event_recent_days
            ),
            evidence,
        ));
    }
    if older > 0 {
        return Ok(Verdict::new(
            Status::Warn,
            format!("{older} older WSB failure(s) because the EFI system partition was locked"),
            evidence,
        ));
    }
    if !names.is_empty() || !third.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "security or backup software that may hold the EFI partition is running: {}",
                names.join(", ")
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "no EFI partition lock failures and no software known to hold it",
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::report::model::Status;
    use serde_json::json;

    fn platform(tag: &str, azure: bool) -> serde_json::Value {
        json!({"smbios_asset_tag": tag, "chassis_types": 3, "manufacturer": "Microsoft Corporation", "model": "Virtual Machine",
               "hypervisor_present": true, "bios_manufacturer": "Microsoft Corporation", "bios_version": "Hyper-V UEFI Release v4.1",
               "bios_serial": "0000-0000", "azure_guest_agent_services": if azure { json!({"name": "WindowsAzureGuestAgent", "state": "Running"}) } else { json!([]) },
               "uefi_esp_present": true, "is_azure": azure})
    }

    #[test]
    fn azure_vm_fails_the_system_state_limitation() {
        let d = platform("7783-7084-3265-9085-8269-3286-77", true);
        assert_eq!(
            judge("limit.azure_vm_system_state", d.clone()).status,
            Status::Fail
        );
        assert_eq!(judge("azure.vm_detect", d.clone()).status, Status::Warn);
        assert_eq!(judge("limit.restore_hardware", d).status, Status::Pass);
    }

    #[test]
    fn on_premises_hyper_v_guest_passes() {
        let d = platform("None", false);
        assert_eq!(
            judge("limit.azure_vm_system_state", d.clone()).status,
            Status::Pass
        );
        assert_eq!(judge("azure.vm_detect", d).status, Status::Pass);
    }

    fn vol(name: &str, fs: &str, boot: bool, system: bool, drive_type: u64) -> serde_json::Value {
        json!({"name": name, "device_id": format!("\\\\?\\Volume{{{name}}}\\"), "drive_letter": if name.ends_with(':') { json!(name) } else { json!(null) },
               "label": null, "file_system": fs, "drive_type": drive_type, "boot_volume": boot, "system_volume": system,
               "capacity_bytes": 136363683840u64, "free_bytes": 52613349376u64})
    }

    #[test]
    fn ntfs_boot_volume_and_fat32_esp_pass() {
        let d = json!({"volumes": [vol("C:", "NTFS", true, false, 3), vol("esp", "FAT32", false, true, 3)], "bitlocker": [], "disks": {"number": 0, "is_read_only": false, "is_offline": false, "bus_type": "SAS", "partition_style": "GPT"}});
        assert_eq!(judge("vol.unsupported_sources", d).status, Status::Pass);
    }

    #[test]
    fn refs_boot_volume_or_locked_bitlocker_fails() {
        let d = json!({"volumes": vol("C:", "ReFS", true, true, 3), "bitlocker": [], "disks": []});
        assert_eq!(judge("vol.unsupported_sources", d).status, Status::Fail);
        let d = json!({"volumes": vol("C:", "NTFS", true, true, 3), "bitlocker": {"drive_letter": "C:", "device_id": "x", "protection_status": 1, "lock_status": 1}, "disks": []});
        assert_eq!(judge("vol.unsupported_sources", d).status, Status::Fail);
    }

    #[test]
    fn no_boot_volume_is_unknown() {
        let d =
            json!({"volumes": [vol("D:", "NTFS", false, false, 3)], "bitlocker": [], "disks": []});
        assert_eq!(judge("vol.unsupported_sources", d).status, Status::Unknown);
    }

    fn esp(
        firmware: serde_json::Value,
        esp_parts: serde_json::Value,
        events: serde_json::Value,
        third: serde_json::Value,
    ) -> serde_json::Value {
        json!({"firmware_type": firmware, "secure_boot": "True", "esp": esp_parts, "lock_events": events, "third_party": third, "event_errors": []})
    }

    #[test]
    fn esp_lock_event_fails_and_bios_is_not_applicable() {
        let part = json!({"disk": 0, "partition": 1, "size": "104857600", "is_system": true});
        let ev = json!({"time_utc": days_ago(2), "id": 5, "provider": "Microsoft-Windows-Backup", "level": 2, "record_id": 9,
                        "props": ["2025-05-30T21:00:00Z", "0x8078011e", "0x80070005", "%%2155348254"]});
        assert_eq!(
            judge(
                "efi.esp_lock",
                esp(json!("UEFI"), part.clone(), ev, json!([]))
            )
            .status,
            Status::Fail
        );
        assert_eq!(
            judge(
                "efi.esp_lock",
                esp(json!("Legacy"), json!([]), json!([]), json!([]))
            )
            .status,
            Status::NotApplicable
        );
        assert_eq!(judge("efi.esp_lock", esp(json!("UEFI"), part.clone(), json!([]), json!({"name": "SepMasterService", "display_name": "Symantec Endpoint Protection"}))).status, Status::Warn);
        assert_eq!(
            judge(
                "efi.esp_lock",
                esp(json!("UEFI"), part, json!([]), json!([]))
            )
            .status,
            Status::Pass
        );
    }
}
