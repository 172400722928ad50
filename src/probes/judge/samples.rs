//! Healthy evidence for every probe, in the shapes Windows PowerShell 5.1's
//! `ConvertTo-Json -Compress -Depth 8` gives for the catalogue's snippets: one-element
//! lists collapsed where `@()` does not keep them, `null`s, UInt64 values as text,
//! enum values as the strings the snippets cast them to. Used by the judge-wide tests.

use serde_json::{Value, json};

use super::testing::{days_ago, now, ps_date_days_ago};

const IP: &str = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\";
const SCRATCH: &str = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\Scratch";
const C_VOL: &str = "\\\\?\\Volume{3b5a8f8e-0000-0000-0000-100000000000}\\";
const ESP_VOL: &str = "\\\\?\\Volume{3b5a8f8e-0000-0000-0000-200000000000}\\";

fn svc(name: &str, mode: &str, state: &str) -> Value {
    json!({"name": name, "present": true, "expected_start_mode": mode, "start_mode": mode,
           "start_value": if mode == "Auto" { 2 } else { 3 }, "delayed_auto_start": null, "state": state,
           "status": "OK", "start_name": "LocalSystem", "exit_code": 0})
}

/// Healthy data for each probe id.
pub(crate) fn healthy(probe: &str) -> Value {
    match probe {
        "host.context" => {
            json!({"caption": "Microsoft Windows Server 2022 Standard", "version": "10.0.20348", "build": 20348,
            "ubr": 2700, "installation_type": "Server", "edition_id": "ServerStandard", "product_type": 3, "os_arch": "64-bit",
            "ps_version": "5.1.20348.2652", "clr_version": "4.0.30319.42000", "is_admin": true, "user": "CONTOSO\\svc-scan",
            "culture": "en-US", "ui_culture": "en-US", "part_of_domain": true, "domain_role": 3,
            "last_boot_utc": days_ago(3), "utc_now": now().format(&time::format_description::well_known::Rfc3339).expect("fmt")})
        }
        "mars.installed" => {
            json!({"setup_key_present": true, "install_path": IP, "cbengine_path": format!("{IP}bin\\cbengine.exe"),
            "cbengine_exists": true, "file_version": "2.0.9262.0", "version": "2.0.9262.0",
            "uninstall_display_name": "Microsoft Azure Recovery Services Agent", "uninstall_display_version": "2.0.9262.0",
            "uninstall_key": "{FFE6D16C-3F87-4192-AF94-DDBEFF165106}"})
        }
        "mars.service_running" => {
            json!({"present": true, "name": "obengine", "display_name": "Microsoft Azure Recovery Services Agent",
            "state": "Running", "start_mode": "Auto", "start_value": 2, "delayed_auto_start": null, "status": "OK",
            "start_name": "LocalSystem", "path_name": format!("\"{IP}bin\\cbengine.exe\""), "process_id": 2412, "exit_code": 0})
        }
        "net.mars_endpoints" => json!({"targets": [
                {"host": "login.microsoftonline.com", "dns_ok": true, "addresses": ["20.190.160.1", "40.126.32.1"], "dns_error": null, "tcp443": true},
                {"host": "login.windows.net", "dns_ok": true, "addresses": "20.190.160.2", "dns_error": null, "tcp443": true},
                {"host": "www.msftconnecttest.com", "dns_ok": true, "addresses": ["13.107.4.52"], "dns_error": null, "tcp443": true},
                {"host": "www.msftncsi.com", "dns_ok": true, "addresses": ["23.215.0.1"], "dns_error": null, "tcp443": true},
                {"host": "go.microsoft.com", "dns_ok": true, "addresses": ["23.1.2.3"], "dns_error": null, "tcp443": true}],
            "system_proxy_enable": null, "system_proxy_server": null, "system_autoconfig_url": null,
            "winhttp_proxy_text": "Current WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server)."}),
        "net.tls12" => {
            json!({"schannel_client_key_present": false, "schannel_enabled": null, "schannel_disabled_by_default": null,
            "net64_system_default_tls": 1, "net64_strong_crypto": 1, "net32_system_default_tls": 1, "net32_strong_crypto": 1})
        }
        "mars.scratch_config" => {
            json!({"config_scratch": SCRATCH, "provider_scratch": SCRATCH, "paths_match": true, "is_unc": false,
            "exists": true, "attributes": "Directory", "attributes_value": 16,
            "volume": {"name": "C:\\", "label": null, "file_system": "NTFS", "drive_type": 3,
                       "capacity_bytes": 136363683840u64, "free_bytes": 52613349376u64, "free_pct": 38.58},
            "cbssb_volumes": []})
        }
        "av.exclusions_and_conflicts" => json!({"install_path": IP, "scratch": SCRATCH,
            "defender_preferences": {"exclusion_path": [IP.trim_end_matches('\\')], "exclusion_process": "cbengine.exe", "realtime_monitoring_disabled": false},
            "defender_status": {"am_service_enabled": true, "realtime_enabled": true, "am_running_mode": "Normal"},
            "expected_exclusions": [format!("{IP}Scratch"), format!("{IP}Bin"), SCRATCH, "cbengine.exe"],
            "third_party_services": []}),
        "sched.mars_tasks" => {
            json!({"tasks": [{"task_name": "Microsoft-OnlineBackup", "task_path": "\\Microsoft\\OnlineBackup\\",
            "state": "Ready", "settings_enabled": true, "user_id": "SYSTEM", "group_id": "", "logon_type": "ServiceAccount",
            "run_level": "Highest", "multiple_instances": "IgnoreNew",
            "triggers": {"type": "MSFT_TaskWeeklyTrigger", "enabled": true, "start_boundary": "2025-01-05T21:00:00"},
            "actions": {"execute": format!("{IP}bin\\cbengine.exe"), "arguments": "StartBackup"},
            "last_run_time_utc": days_ago(1), "last_task_result": "0x00000000", "next_run_time_utc": days_ago(-6), "missed_runs": 0}]})
        }
        "sched.powershell_env" => {
            json!({"ps_version": "5.1.20348.2652", "powershell_engine_version": "5.1.20348.1",
            "machine_psmodulepath": format!("%ProgramFiles%\\WindowsPowerShell\\Modules;%SystemRoot%\\system32\\WindowsPowerShell\\v1.0\\Modules;{IP}bin\\Modules\\"),
            "expected_module_dir": format!("{IP}bin\\Modules\\MSOnlineBackup"), "contains_module_dir": false, "contains_modules_parent": true,
            "manifest_exists": true, "module_files": [{"name": "MSOnlineBackup.psd1", "length": 2048, "last_write_utc": days_ago(100)}],
            "execution_policies": [{"scope": "MachinePolicy", "policy": "Undefined"}, {"scope": "UserPolicy", "policy": "Undefined"},
                                   {"scope": "Process", "policy": "Bypass"}, {"scope": "CurrentUser", "policy": "Undefined"},
                                   {"scope": "LocalMachine", "policy": "RemoteSigned"}]})
        }
        "os.updates_recent" => json!({"hotfix_count": 4, "hotfix_without_date": 0,
            "latest": [{"id": "KB5044281", "description": "Security Update", "installed_on_utc": days_ago(12)},
                       {"id": "KB5043050", "description": "Update", "installed_on_utc": ps_date_days_ago(40)}],
            "current_build": "20348", "ubr": 2700, "display_version": "21H2", "wu_history": null, "wu_history_error": null}),
        "vol.unsupported_sources" => json!({"volumes": [
                {"name": "C:\\", "device_id": C_VOL, "drive_letter": "C:", "label": null, "file_system": "NTFS", "drive_type": 3,
                 "boot_volume": true, "system_volume": false, "capacity_bytes": 136363683840u64, "free_bytes": 52613349376u64},
                {"name": ESP_VOL, "device_id": ESP_VOL, "drive_letter": null, "label": null, "file_system": "FAT32", "drive_type": 3,
                 "boot_volume": false, "system_volume": true, "capacity_bytes": 104857600, "free_bytes": 70000000}],
            "bitlocker": [], "disks": {"number": 0, "is_read_only": false, "is_offline": false, "bus_type": "SAS", "partition_style": "GPT"}}),
        "time.clock_timezone" => {
            json!({"utc_now": now().format(&time::format_description::well_known::Rfc3339).expect("fmt"),
            "tz_id": "W. Europe Standard Time", "tz_display": "(UTC+01:00) Amsterdam, Berlin", "base_utc_offset_min": 60,
            "current_utc_offset_min": 120, "supports_dst": true, "is_dst_now": true, "registry_tz_key": "W. Europe Standard Time",
            "w32time_state": "Running", "w32time_start_mode": "Auto", "w32tm_source": "dc01.contoso.com",
            "w32tm_status": "Leap Indicator: 0(no warning)\r\nStratum: 3"})
        }
        "dotnet.version" => {
            json!({"full_key_present": true, "release": 528449, "version": "4.8.04161"})
        }
        "mars.registration" => {
            json!({"config_key_present": true, "machine_id": "4f5d6e7a-0000-0000-0000-000000000001",
            "resource_id": "1234567890123456789", "vault_name": "rsv-prod-weu", "subscription_id": "00000000-1111-2222-3333-444444444444",
            "resource_group": "rg-backup"})
        }
        "offline.azure_powershell" => json!({"modules": [], "msi": []}),
        "azure.vm_detect" => {
            json!({"smbios_asset_tag": "", "chassis_types": [23], "manufacturer": "Dell Inc.", "model": "PowerEdge R650",
            "hypervisor_present": false, "bios_manufacturer": "Dell Inc.", "bios_version": "1.9.2", "bios_serial": "ABC1234",
            "azure_guest_agent_services": [], "uefi_esp_present": true, "is_azure": false})
        }
        "wsb.feature_installed" => {
            json!({"method": "Get-WindowsFeature", "installed": true, "install_state": "Installed",
            "wbengine_service_present": true, "wbadmin_exists": true, "module_available": true})
        }
        "acl.svi_system_full_control" => {
            json!({"path": "C:\\System Volume Information", "exists": true, "readable": true,
            "read_error": null, "owner_sid": "S-1-5-32-544", "system_full_control": true, "system_deny": false,
            "aces": {"sid": "S-1-5-18", "type": "Allow", "rights": 2032127, "inherited": false,
                     "inheritance": "ContainerInherit, ObjectInherit", "propagation": "None"},
            "icacls_text": null})
        }
        "svc.rpcss_startup" => {
            json!({"services": [svc("RpcSs", "Auto", "Running"), svc("EventSystem", "Auto", "Running"),
            svc("SENS", "Auto", "Running"), svc("VSS", "Manual", "Stopped"), svc("swprv", "Manual", "Stopped"),
            svc("wbengine", "Manual", "Stopped")]})
        }
        "wsb.cmdlets_available" => json!({"module_listed": true,
            "module_path": "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules\\WindowsServerBackup\\WindowsServerBackup.psd1",
            "import_error": null, "command_found": true, "invoke_ok": true, "invoke_error": null, "invoke_error_id": null,
            "current_job_state": null}),
        "wsb.last_job" => json!({"cmdlet_present": true, "current": null, "previous": [
            {"job_type": "Backup", "job_state": "Completed", "start_utc": days_ago(1), "end_utc": days_ago(1),
             "hresult": "0x00000000", "detailed_hresult": "0x00000000", "error_description": "", "current_operation": "",
             "version_id": "05/31/2025-21:00", "success_log": "C:\\Windows\\Logs\\WindowsServerBackup\\Backup-31-05-2025_21-00-00.log",
             "failure_log": "", "job_items": [{"Name": "System State", "State": "Completed"}], "raw": {"JobType": "Backup"}}]}),
        "wsb.summary" => {
            json!({"cmdlet_present": true, "next_backup_utc": null, "number_of_versions": 3,
            "last_successful_utc": days_ago(1), "last_successful_target_path": "\\\\?\\Volume{61776c53-3eeb-447b-b38e-a6cd3bee7fbb}",
            "last_successful_target_label": "CBSSBVol_1", "last_backup_utc": days_ago(1), "last_backup_target": "CBSSBVol_1",
            "detailed_message": "", "last_result_hr": "0x00000000", "last_result_detailed_hr": "0x00000000",
            "current_operation_status": "NoOperationInProgress"})
        }
        "wsb.backup_sets" => {
            json!({"method": "Get-WBBackupSet", "count": 1, "newest": {"version_id": "05/31/2025-21:00",
            "backup_time_utc": days_ago(1), "backup_set_id": "9e6fa1c2-0000-0000-0000-000000000000",
            "recoverable_items": "SystemState", "target_path": "\\\\?\\Volume{61776c53-3eeb-447b-b38e-a6cd3bee7fbb}\\",
            "target_label": "CBSSBVol_1", "vss_backup_option": "VssCopyBackup", "volumes": []}, "wbadmin": null})
        }
        "wsb.event_history" => json!({"window_days": 30, "operational": [
                {"time_utc": days_ago(1), "id": 4, "provider": "Microsoft-Windows-Backup", "level": 4, "record_id": 120, "props": [],
                 "data": {"HRESULT": "0x0", "DetailedHRESULT": "0x0", "BackupState": "1"}},
                {"time_utc": days_ago(1), "id": 1, "provider": "Microsoft-Windows-Backup", "level": 4, "record_id": 119, "props": [], "data": {}}],
            "application": []}),
        "sysstate.service_imagepaths" => {
            json!({"services_checked": 412, "suspicious": [], "scm_7000": []})
        }
        "vss.writers" => json!({"exit_code": 0, "timed_out": false, "writer_count": 2, "writers": [
                {"name": "System Writer", "writer_id": "e8132975-6f93-4464-a53e-1050253ae220", "instance_id": "1c6e4d8a-0000-0000-0000-000000000000",
                 "state": 1, "state_text": "Stable", "last_error": "No error"},
                {"name": "Registry Writer", "writer_id": "afbab4a2-367d-4d15-a586-71dbb18f8485", "instance_id": "2c6e4d8a-0000-0000-0000-000000000000",
                 "state": 1, "state_text": "Stable", "last_error": "No error"}],
            "stderr": "", "raw_head": "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool"}),
        "vss.writer_timeout_events" => {
            json!({"window_days": 30, "events": [], "timeout_8229_count": 0})
        }
        "vss.resource_pressure" => {
            json!({"total_mem_mb": 16384, "free_mem_mb": 8120, "free_mem_pct": 49.6,
            "cpu_samples_pct": [87, 12, 9, 11], "logical_disks": {"name": "C:", "pct_idle": 97, "queue": 0},
            "top_ws": [{"name": "sqlservr", "pid": 3120, "ws_mb": 4096}], "backup_processes_running": "cbengine"})
        }
        "vss.shadow_storage" => json!({"volumes": [
                {"device_id": C_VOL, "drive_letter": "C:", "label": null, "fs": "NTFS", "capacity": "136363683840", "free": "52613349376",
                 "system_volume": false, "boot_volume": true},
                {"device_id": ESP_VOL, "drive_letter": null, "label": null, "fs": "FAT32", "capacity": "104857600", "free": "70000000",
                 "system_volume": true, "boot_volume": false}],
            "shadow_storage": {"volume": C_VOL, "diff_volume": C_VOL, "allocated": "2147483648", "used": "1073741824",
                               "max": "18446744073709551615", "max_unbounded": true},
            "shadow_copies": {"volume": C_VOL, "count": 1}}),
        "vss.volsnap_events" => json!({"window_days": 30, "events": []}),
        "efi.esp_lock" => {
            json!({"firmware_type": "UEFI", "secure_boot": "True", "esp": {"disk": 0, "partition": 1, "size": "104857600", "is_system": true},
            "lock_events": [], "third_party": [], "event_errors": []})
        }
        "mars.cloudbackup_events" => json!({"log_exists": true, "window_days": 14, "events": [
            {"time_utc": days_ago(10), "id": 11, "provider": "CloudBackup", "level": 3, "record_id": 77, "props": []}]}),
        "mars.policy_and_jobs" => json!({"mars_installed": true,
            "ss_policy": {"policy_state": "Valid", "state": "Existing", "schedule": "Sunday 21:00", "retention": "Retention Days : 30"},
            "files_policy_present": false, "jobs": [{"job_type": "Backup", "job_state": "Completed", "start_utc": days_ago(1),
                "end_utc": days_ago(1), "error_code": "0", "detailed_error_code": "",
                "datasources": {"name": "System State", "state": "Completed"}}]}),
        other => panic!("no sample for probe {other}"),
    }
}
