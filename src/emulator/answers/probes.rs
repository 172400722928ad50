//! One answer per probe of the catalogue (probe-catalogue.md §5, P01–P33): the
//! `data` object the probe's PowerShell snippet builds on the modelled host, or the
//! exception message it would catch (`Err`, printed as `ok:false`).
//!
//! Keys and their order follow each snippet's `[ordered]@{}`; values follow what
//! Windows PowerShell 5.1 serialises (numbers for DWORDs and casts to `[int]`,
//! strings for `[string]` casts of enums, ISO-8601 from `IsoUtc`, `@()` arrays kept
//! even with one element).

use time::Duration;

use super::Ctx;
use super::clock::{
    TZ_BASE_MIN, TZ_DISPLAY, TZ_DISPLAY_DE, TZ_ID, invariant, is_dst, iso_utc,
    local_midnight_days_ago, micros, offset_min, wsb_log_stamp, wsb_version_id,
};
use super::events::{
    Filter, HR_ACCESS_DENIED, HR_ESP_LOCK, LOG_APPLICATION, LOG_CLOUDBACKUP, LOG_SYSTEM, LOG_WSB,
    log_exists, query, run_times,
};
use super::json::{J, obj};
use super::text;
use crate::emulator::host::{HostState, Mars, RunOutcome, Service, SvcState};

/// What a probe prints when the `probe_error` fault makes it throw: the CIM
/// failure text of WBEM_E_FAILED (note the trailing space, as Windows prints it).
pub(crate) const PROBE_ERROR_TEXT: &str = "Generic failure ";

/// What WSB and MSOnlineBackup cmdlets throw for a non-elevated account.
const ACCESS_DENIED: &str = "Access is denied.";

/// Every probe id answered, in catalogue order (P01–P33 by first check id).
pub(crate) const PROBE_IDS: &[&str] = &[
    "host.context",
    "mars.installed",
    "mars.service_running",
    "net.mars_endpoints",
    "net.tls12",
    "mars.scratch_config",
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
    "wsb.feature_installed",
    "acl.svi_system_full_control",
    "svc.rpcss_startup",
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

type Answer = Result<J, String>;

/// The probe's data (or its exception), or `None` for an unknown probe id.
///
/// Accepts the catalogue's first check ids, the ids the §5 snippets pass to
/// `Emit` where they differ (`mars.scratch`, `platform.identity`,
/// `svc.dependencies`), the other check ids a probe produces, and `P01`…`P33`.
pub(crate) fn answer(ctx: &Ctx<'_>, id: &str) -> Option<Answer> {
    let canonical = match id {
        "P01" | "os.supported_sku" => "host.context",
        "P02" | "mars.version" => "mars.installed",
        "P03" => "mars.service_running",
        "P04" => "net.mars_endpoints",
        "P05" => "net.tls12",
        "P06" | "mars.scratch" | "mars.scratch_free_space" => "mars.scratch_config",
        "P07" => "av.exclusions_and_conflicts",
        "P08" => "sched.mars_tasks",
        "P09" => "sched.powershell_env",
        "P10" => "os.updates_recent",
        "P11" => "vol.unsupported_sources",
        "P12" => "time.clock_timezone",
        "P13" => "dotnet.version",
        "P14" => "mars.registration",
        "P15" => "offline.azure_powershell",
        "P16" | "platform.identity" | "limit.azure_vm_system_state" | "limit.restore_hardware" => {
            "azure.vm_detect"
        }
        "P17" => "wsb.feature_installed",
        "P18" => "acl.svi_system_full_control",
        "P19"
        | "svc.dependencies"
        | "svc.eventsystem_startup"
        | "svc.sens_startup"
        | "svc.vss_startup"
        | "svc.swprv_startup" => "svc.rpcss_startup",
        "P20" => "wsb.cmdlets_available",
        "P21" => "wsb.last_job",
        "P22" => "wsb.summary",
        "P23" => "wsb.backup_sets",
        "P24" => "wsb.event_history",
        "P25" => "sysstate.service_imagepaths",
        "P26" => "vss.writers",
        "P27" => "vss.writer_timeout_events",
        "P28" => "vss.resource_pressure",
        "P29" => "vss.shadow_storage",
        "P30" => "vss.volsnap_events",
        "P31" => "efi.esp_lock",
        "P32" => "mars.policy_and_jobs",
        "P33" => "mars.cloudbackup_events",
        other => other,
    };
    let h = ctx.host;
    Some(match canonical {
        "host.context" => Ok(host_context(ctx)),
        "mars.installed" => Ok(mars_installed(h)),
        "mars.service_running" => Ok(mars_service(h)),
        "net.mars_endpoints" => Ok(endpoints(h)),
        "net.tls12" => Ok(tls12(h)),
        "mars.scratch_config" => Ok(scratch(h)),
        "av.exclusions_and_conflicts" => Ok(av(h)),
        "sched.mars_tasks" => Ok(sched_tasks(ctx)),
        "sched.powershell_env" => Ok(ps_env(h)),
        "os.updates_recent" => Ok(updates(ctx)),
        "vol.unsupported_sources" => volumes(h),
        "time.clock_timezone" => Ok(clock(ctx)),
        "dotnet.version" => Ok(obj! {
            "full_key_present" => true,
            "release" => h.dotnet.release,
            "version" => h.dotnet.version,
        }),
        "mars.registration" => Ok(registration(h)),
        "offline.azure_powershell" => {
            Ok(obj! { "modules" => J::Arr(vec![]), "msi" => J::Arr(vec![]) })
        }
        "azure.vm_detect" => Ok(platform(h)),
        "wsb.feature_installed" => Ok(wsb_feature(h)),
        "acl.svi_system_full_control" => Ok(svi_acl(h)),
        "svc.rpcss_startup" => Ok(dependencies(h)),
        "wsb.cmdlets_available" => Ok(wsb_cmdlets(h)),
        "wsb.last_job" => wsb_last_job(ctx),
        "wsb.summary" => wsb_summary(ctx),
        "wsb.backup_sets" => wsb_backup_sets(ctx),
        "wsb.event_history" => wsb_events(ctx),
        "sysstate.service_imagepaths" => Ok(imagepaths(ctx)),
        "vss.writers" => Ok(vss_writers(h)),
        "vss.writer_timeout_events" => vss_events(ctx),
        "vss.resource_pressure" => Ok(resources(h)),
        "vss.shadow_storage" => Ok(shadow_storage(h)),
        "vss.volsnap_events" => volsnap(ctx),
        "efi.esp_lock" => efi(ctx),
        "mars.policy_and_jobs" => mars_jobs(ctx),
        "mars.cloudbackup_events" => cloudbackup(ctx),
        _ => return None,
    })
}

// ---------------------------------------------------------------- P01 host context

fn host_context(ctx: &Ctx<'_>) -> J {
    let h = ctx.host;
    obj! {
        "caption" => h.os.caption,
        "version" => h.os.version,
        "build" => h.os.build,
        "ubr" => h.os.ubr,
        "installation_type" => h.os.installation_type,
        "edition_id" => h.os.edition_id,
        "product_type" => h.os.product_type,
        "os_arch" => h.os.arch,
        "ps_version" => h.ps_version(),
        "clr_version" => "4.0.30319.42000",
        "is_admin" => h.account.is_admin,
        "user" => ctx.account.clone(),
        "culture" => h.account.culture,
        "ui_culture" => h.account.culture,
        "part_of_domain" => true,
        "domain_role" => h.account.domain_role,
        "last_boot_utc" => iso_utc(micros(ctx.now - h.os.uptime)),
        "utc_now" => iso_utc(ctx.now),
    }
}

// ---------------------------------------------------------------- P02 / P03 MARS

const MARS_PRODUCT_CODE: &str = "{FFE6D16C-3F87-4192-AF94-DDBEFF165106}";

/// `Join-Path $ip $child` (one separator, whatever `$ip` ends with).
fn join(base: &str, child: &str) -> String {
    format!("{}\\{}", base.trim_end_matches('\\'), child)
}

fn mars_installed(h: &HostState) -> J {
    match &h.mars {
        Some(m) => obj! {
            "setup_key_present" => true,
            "install_path" => m.install_path,
            "cbengine_path" => join(m.install_path, "bin\\cbengine.exe"),
            "cbengine_exists" => true,
            "file_version" => m.version,
            "version" => m.version,
            "uninstall_display_name" => "Microsoft Azure Recovery Services Agent",
            "uninstall_display_version" => m.version,
            "uninstall_key" => MARS_PRODUCT_CODE,
        },
        None => obj! {
            "setup_key_present" => false,
            "install_path" => J::Null,
            "cbengine_path" => J::Null,
            "cbengine_exists" => false,
            "file_version" => J::Null,
            "version" => J::Null,
            "uninstall_display_name" => J::Null,
            "uninstall_display_version" => J::Null,
            "uninstall_key" => J::Null,
        },
    }
}

fn mars_service(h: &HostState) -> J {
    match h.service("obengine") {
        Some(s) => obj! {
            "present" => true,
            "name" => s.name,
            "display_name" => s.display_name,
            "state" => s.state.as_str(),
            "start_mode" => s.start_mode.as_str(),
            "start_value" => s.start_mode.start_value(),
            "delayed_auto_start" => s.delayed_auto_start,
            "status" => "OK",
            "start_name" => s.start_name,
            "path_name" => s.path_name,
            "process_id" => s.process_id,
            "exit_code" => s.exit_code,
        },
        None => obj! { "present" => false },
    }
}

// ---------------------------------------------------------------- P04 / P05 network

fn endpoints(h: &HostState) -> J {
    let targets: &[(&str, &[&str])] = &[
        (
            "login.microsoftonline.com",
            &[
                "20.190.151.68",
                "20.190.151.70",
                "40.126.23.146",
                "20.190.151.7",
            ],
        ),
        ("login.windows.net", &["20.190.151.131", "40.126.23.98"]),
        ("www.msftconnecttest.com", &["13.107.4.52"]),
        ("www.msftncsi.com", &["23.48.201.7", "23.48.201.17"]),
        ("go.microsoft.com", &["23.40.100.173"]),
    ];
    let rows = targets
        .iter()
        .map(|(host, ips)| {
            obj! {
                "host" => *host,
                "dns_ok" => true,
                "addresses" => ips.to_vec(),
                "dns_error" => J::Null,
                "tcp443" => true,
            }
        })
        .collect::<Vec<J>>();
    obj! {
        "targets" => rows,
        "system_proxy_enable" => 0,
        "system_proxy_server" => J::Null,
        "system_autoconfig_url" => J::Null,
        "winhttp_proxy_text" => text::netsh_winhttp_proxy(h),
    }
}

fn tls12(h: &HostState) -> J {
    let t = &h.tls;
    obj! {
        "schannel_client_key_present" => t.schannel_enabled.is_some() || t.schannel_disabled_by_default.is_some(),
        "schannel_enabled" => t.schannel_enabled,
        "schannel_disabled_by_default" => t.schannel_disabled_by_default,
        "net64_system_default_tls" => t.net_system_default_tls,
        "net64_strong_crypto" => t.net_strong_crypto,
        "net32_system_default_tls" => t.net_system_default_tls,
        "net32_strong_crypto" => t.net_strong_crypto,
    }
}

// ---------------------------------------------------------------- P06 scratch

fn round_to(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[allow(clippy::cast_precision_loss)]
fn pct(part: u64, whole: u64, digits: i32) -> J {
    if whole == 0 {
        J::Null
    } else {
        J::Num(round_to(100.0 * part as f64 / whole as f64, digits))
    }
}

/// `Win32_Volume.Name`: `C:\` for lettered volumes, else the device path.
fn volume_name(h: &HostState, v: &crate::emulator::host::Volume) -> String {
    match v.letter {
        Some(l) => format!("{l}\\"),
        None => h.volume_device_id(v),
    }
}

fn scratch(h: &HostState) -> J {
    let Some(m) = &h.mars else {
        return obj! {
            "config_scratch" => J::Null, "provider_scratch" => J::Null, "paths_match" => J::Null,
            "is_unc" => J::Null, "exists" => J::Null, "attributes" => J::Null,
            "attributes_value" => J::Null, "volume" => J::Null, "cbssb_volumes" => J::Arr(vec![]),
        };
    };
    let p = m.config_scratch;
    let full = p.to_ascii_lowercase();
    let vol = h
        .volumes
        .iter()
        .filter(|v| full.starts_with(&volume_name(h, v).to_ascii_lowercase()))
        .max_by_key(|v| volume_name(h, v).len());
    let volume = vol.map_or(J::Null, |v| {
        obj! {
            "name" => volume_name(h, v),
            "label" => v.label,
            "file_system" => v.file_system,
            "drive_type" => v.drive_type,
            "capacity_bytes" => v.capacity,
            "free_bytes" => v.free,
            "free_pct" => pct(v.free, v.capacity, 2),
        }
    });
    obj! {
        "config_scratch" => m.config_scratch,
        "provider_scratch" => m.provider_scratch,
        "paths_match" => m.config_scratch.trim_end_matches('\\').eq_ignore_ascii_case(m.provider_scratch.trim_end_matches('\\')),
        "is_unc" => p.starts_with("\\\\"),
        "exists" => true,
        "attributes" => "Directory",
        "attributes_value" => 16,
        "volume" => volume,
        "cbssb_volumes" => J::Arr(vec![]),
    }
}

// ---------------------------------------------------------------- P07 AV / other backup

const AV_PATTERN: &[&str] = &[
    "Sophos",
    "McAfee",
    "Trellix",
    "Symantec",
    "SentinelOne",
    "CrowdStrike",
    "CSFalcon",
    "Cylance",
    "ESET",
    "ekrn",
    "Kaspersky",
    "Trend ?Micro",
    "Bitdefender",
    "Carbon ?Black",
    "CbDefense",
    "Webroot",
    "Malwarebytes",
    "Cortex",
    "Cybereason",
    "F-Secure",
    "WithSecure",
    "Panda",
    "Avast",
    "AVG",
];
const BACKUP_PATTERN: &[&str] = &[
    "Veeam",
    "Acronis",
    "Commvault",
    "GxCVD",
    "Backup ?Exec",
    "Arcserve",
    "NetBackup",
    "Datto",
    "Cohesity",
    "Rubrik",
    "Unitrends",
    "StorageCraft",
    "ShadowProtect",
    "Altaro",
    "Carbonite",
    "Macrium",
    "NAKIVO",
    "Druva",
    "Barracuda",
    "Zerto",
    "Nutanix",
    "Spectrum ?Protect",
    "TSM",
];

/// PowerShell's case-insensitive `-match` of an alternation of plain words where
/// `X ?Y` means an optional space.
///
/// ASCII case folding (the words are ASCII), the text folded once, a word compared
/// only where its first letter stands: this runs for every word of its list for
/// every service of every host the emulator answers for. With a lowercased copy
/// and a substring search per word it was 8 % of the emulator's instructions.
fn matches_any(text: &str, words: &[&str]) -> bool {
    let t = text.to_ascii_lowercase().into_bytes();
    // Most words' first letter is nowhere in the text: one look-up rules them out.
    let mut present = [false; 256];
    for &c in &t {
        present[usize::from(c)] = true;
    }
    let may_start = |w: &str| {
        w.as_bytes()
            .first()
            .is_some_and(|c| present[usize::from(c.to_ascii_lowercase())])
    };
    words
        .iter()
        .filter(|w| may_start(w))
        .any(|w| match w.split_once(" ?") {
            Some((a, b)) => folded_starts(&t, a.as_bytes()).any(|at| {
                let rest = &t[at + a.len()..];
                starts_with_folded(rest.strip_prefix(b" ").unwrap_or(rest), b.as_bytes())
            }),
            None => folded_starts(&t, w.as_bytes()).next().is_some(),
        })
}

/// Where `word` starts in `folded` (ASCII-lowercased text), the word's case ignored.
fn folded_starts<'a>(folded: &'a [u8], word: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let first = word.first().map(u8::to_ascii_lowercase);
    folded.iter().enumerate().filter_map(move |(at, &c)| {
        (Some(c) == first && starts_with_folded(&folded[at..], word)).then_some(at)
    })
}

fn starts_with_folded(folded: &[u8], word: &[u8]) -> bool {
    folded
        .get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
}

fn service_text(s: &Service) -> String {
    format!("{} {}", s.name, s.display_name)
}

/// What the word lists say of a service's name and display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServiceWords {
    backup: bool,
    security: bool,
    efi: bool,
}

impl ServiceWords {
    /// Matches the service's text against each list.
    fn of(s: &Service) -> ServiceWords {
        let text = service_text(s);
        ServiceWords {
            backup: matches_any(&text, BACKUP_PATTERN),
            security: matches_any(&text, AV_PATTERN),
            efi: matches_any(&text, EFI_PATTERN),
        }
    }
}

/// [`ServiceWords`] per (name, display name), matched once per emulator. Every
/// host's services come from the emulator's static tables, so a fleet has a
/// handful of distinct pairs; matching them again for every host was 5 % of the
/// emulator's instructions. (Per thread would not do: plans run on tokio's
/// blocking pool, whose many threads would each start cold.)
static SERVICE_WORDS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<(&'static str, &'static str), ServiceWords>>,
> = std::sync::LazyLock::new(Default::default);

/// [`ServiceWords::of`], remembered.
fn service_words(s: &Service) -> ServiceWords {
    // A poisoned map still holds only finished entries.
    *SERVICE_WORDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry((s.name, s.display_name))
        .or_insert_with(|| ServiceWords::of(s))
}

fn av(h: &HostState) -> J {
    let ip = h.mars.as_ref().map(|m| m.install_path);
    let scratch = h.mars.as_ref().map(|m| m.config_scratch);
    let (paths, procs): (Vec<J>, Vec<J>) = if h.account.is_admin {
        (
            vec![
                J::from(MARS_EXCLUDED_FOLDER),
                J::from(crate::emulator::host::MARS_SCRATCH),
            ],
            vec![J::from("cbengine.exe")],
        )
    } else {
        let hidden = "N/A: Must be and administrator to view exclusions";
        (vec![J::from(hidden)], vec![J::from(hidden)])
    };
    let mut expected: Vec<J> = Vec::new();
    if let Some(ip) = ip {
        expected.push(join(ip, "Scratch").into());
        expected.push(join(ip, "Bin").into());
    }
    if let Some(scratch) = scratch {
        expected.push(scratch.into());
    }
    expected.push("cbengine.exe".into());
    let third: Vec<J> = h
        .services
        .iter()
        .filter_map(|s| {
            // The backup list first: a backup agent that also names "antivirus" is backup.
            let words = service_words(s);
            let category = if words.backup {
                "backup"
            } else if words.security {
                "security"
            } else {
                return None;
            };
            Some(obj! {
                "name" => s.name, "display_name" => s.display_name, "state" => s.state.as_str(),
                "start_mode" => s.start_mode.as_str(),
                "category" => category,
            })
        })
        .collect();
    obj! {
        "install_path" => ip,
        "scratch" => scratch,
        "defender_preferences" => obj! {
            "exclusion_path" => J::Arr(paths),
            "exclusion_process" => J::Arr(procs),
            "realtime_monitoring_disabled" => false,
        },
        "defender_status" => obj! {
            "am_service_enabled" => true,
            "realtime_enabled" => true,
            "am_running_mode" => "Normal",
        },
        "expected_exclusions" => J::Arr(expected),
        "third_party_services" => J::Arr(third),
    }
}

/// The agent folder the (GPO-managed) Defender exclusions cover on every host.
const MARS_EXCLUDED_FOLDER: &str = "C:\\Program Files\\Microsoft Azure Recovery Services Agent";

// ---------------------------------------------------------------- P08 / P09 schedule

fn newest_run_start(ctx: &Ctx<'_>) -> Option<time::OffsetDateTime> {
    ctx.host.runs.iter().map(|r| ctx.now - r.age).max()
}

fn sched_tasks(ctx: &Ctx<'_>) -> J {
    let h = ctx.host;
    let Some(m) = &h.mars else {
        return obj! { "tasks" => J::Arr(vec![]) };
    };
    let last = newest_run_start(ctx);
    let next = last.map(|t| t + Duration::days(1));
    let start_boundary = last.map_or_else(String::new, |t| {
        let l = super::clock::local(t - Duration::days(60));
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:00{}",
            l.year(),
            u8::from(l.month()),
            l.day(),
            l.hour(),
            l.minute(),
            if offset_min(t) == 120 {
                "+02:00"
            } else {
                "+01:00"
            }
        )
    });
    let task = obj! {
        "task_name" => "Microsoft-OnlineBackup-SystemStateBackup",
        "task_path" => "\\Microsoft\\OnlineBackup\\",
        "state" => "Ready",
        "settings_enabled" => true,
        "user_id" => "SYSTEM",
        "group_id" => "",
        "logon_type" => "ServiceAccount",
        "run_level" => "Highest",
        "multiple_instances" => "IgnoreNew",
        "triggers" => vec![obj! {
            "type" => "MSFT_TaskDailyTrigger",
            "enabled" => true,
            "start_boundary" => start_boundary,
        }],
        "actions" => vec![obj! {
            "execute" => "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "arguments" => format!(
                "-NonInteractive -WindowStyle Hidden -command \"Import-Module '{}'; Start-OBSystemStateBackup -NonInteractive\"",
                join(m.install_path, "bin\\Modules\\MSOnlineBackup")
            ),
        }],
        "last_run_time_utc" => last.map(iso_utc),
        "last_task_result" => "0x00000000",
        "next_run_time_utc" => next.map(iso_utc),
        "missed_runs" => 0,
    };
    obj! { "tasks" => vec![task] }
}

fn ps_env(h: &HostState) -> J {
    let base = "%ProgramFiles%\\WindowsPowerShell\\Modules;%SystemRoot%\\system32\\WindowsPowerShell\\v1.0\\Modules";
    let (raw, module_dir, contains_parent, files) = match &h.mars {
        Some(m) => {
            let dir = join(m.install_path, "bin\\Modules\\MSOnlineBackup");
            let parent = join(m.install_path, "bin\\Modules\\");
            let when = |days: i64| {
                iso_utc(time::OffsetDateTime::UNIX_EPOCH + Duration::days(20_300 - days))
            };
            let files = vec![
                obj! { "name" => "MSOnlineBackup.psd1", "length" => 4_608, "last_write_utc" => when(0) },
                obj! { "name" => "MSOnlineBackup.format.ps1xml", "length" => 61_274, "last_write_utc" => when(0) },
                obj! { "name" => "Microsoft.Internal.CloudBackup.Commands.dll", "length" => 1_021_952, "last_write_utc" => when(0) },
            ];
            (format!("{base};{parent}"), Some(dir), true, files)
        }
        None => (base.to_owned(), None, false, vec![]),
    };
    let policies = [
        ("MachinePolicy", "Undefined"),
        ("UserPolicy", "Undefined"),
        ("Process", "Bypass"),
        ("CurrentUser", "Undefined"),
        ("LocalMachine", "RemoteSigned"),
    ]
    .iter()
    .map(|(scope, policy)| obj! { "scope" => *scope, "policy" => *policy })
    .collect::<Vec<J>>();
    obj! {
        "ps_version" => h.ps_version(),
        "powershell_engine_version" => "5.1.20348.1",
        "machine_psmodulepath" => raw,
        "expected_module_dir" => module_dir.clone(),
        "contains_module_dir" => false,
        "contains_modules_parent" => contains_parent,
        "manifest_exists" => module_dir.is_some(),
        "module_files" => files,
        "execution_policies" => policies,
    }
}

// ---------------------------------------------------------------- P10 updates

fn updates(ctx: &Ctx<'_>) -> J {
    let h = ctx.host;
    let mut dated: Vec<_> = h.hotfixes.iter().collect();
    dated.sort_by_key(|f| f.age_days);
    let latest = dated
        .iter()
        .take(5)
        .map(|f| {
            obj! {
                "id" => f.id,
                "description" => f.description,
                "installed_on_utc" => iso_utc(local_midnight_days_ago(ctx.now, f.age_days)),
            }
        })
        .collect::<Vec<J>>();
    obj! {
        "hotfix_count" => h.hotfixes.len(),
        "hotfix_without_date" => 0,
        "latest" => latest,
        "current_build" => h.os.build.to_string(),
        "ubr" => h.os.ubr,
        "display_version" => h.os.display_version,
        "wu_history" => J::Null,
        "wu_history_error" => J::Null,
    }
}

// ---------------------------------------------------------------- P11 volumes

fn volumes(h: &HostState) -> Answer {
    if !h.account.is_admin {
        // Get-Disk (MSFT_Disk) refuses a standard-user token.
        return Err("Access denied ".to_owned());
    }
    let vols = h
        .volumes
        .iter()
        .map(|v| {
            obj! {
                "name" => volume_name(h, v),
                "device_id" => h.volume_device_id(v),
                "drive_letter" => v.letter,
                "label" => v.label,
                "file_system" => v.file_system,
                "drive_type" => v.drive_type,
                "boot_volume" => v.boot,
                "system_volume" => v.system,
                "capacity_bytes" => v.capacity,
                "free_bytes" => v.free,
            }
        })
        .collect::<Vec<J>>();
    let bus = if h.platform.hypervisor_present {
        "SCSI"
    } else {
        "RAID"
    };
    let disks = (0..2u32)
        .map(|n| {
            obj! {
                "number" => n, "is_read_only" => false, "is_offline" => false,
                "bus_type" => bus, "partition_style" => "GPT",
            }
        })
        .collect::<Vec<J>>();
    Ok(obj! { "volumes" => vols, "bitlocker" => J::Arr(vec![]), "disks" => disks })
}

// ---------------------------------------------------------------- P12 clock

fn clock(ctx: &Ctx<'_>) -> J {
    let h = ctx.host;
    let w = h.service("W32Time");
    obj! {
        "utc_now" => iso_utc(ctx.now),
        "tz_id" => TZ_ID,
        "tz_display" => if h.german() { TZ_DISPLAY_DE } else { TZ_DISPLAY },
        "base_utc_offset_min" => TZ_BASE_MIN,
        "current_utc_offset_min" => offset_min(ctx.now),
        "supports_dst" => true,
        "is_dst_now" => is_dst(ctx.now),
        "registry_tz_key" => TZ_ID,
        "w32time_state" => w.map(|s| s.state.as_str()),
        "w32time_start_mode" => w.map(|s| s.start_mode.as_str()),
        "w32tm_source" => text::w32tm_source(h),
        "w32tm_status" => text::w32tm_status(h, ctx.now),
    }
}

// ---------------------------------------------------------------- P14 registration

fn registration(h: &HostState) -> J {
    match &h.mars {
        Some(m) => obj! {
            "config_key_present" => true,
            "machine_id" => h.guid("mars-machine"),
            "resource_id" => format!("{}", 1_000_000_000_000_000_000u64 + (h.host_seed % 8_000_000_000_000_000_000)),
            "vault_name" => m.vault_name,
            "subscription_id" => "6f1c2a7e-93b4-4d0f-8a51-2c9e7b3d4f60",
            "resource_group" => m.resource_group,
        },
        None => obj! {
            "config_key_present" => false,
            "machine_id" => J::Null, "resource_id" => J::Null, "vault_name" => J::Null,
            "subscription_id" => J::Null, "resource_group" => J::Null,
        },
    }
}

// ---------------------------------------------------------------- P16 platform

fn platform(h: &HostState) -> J {
    let p = &h.platform;
    let agents: Vec<J> = h
        .services
        .iter()
        .filter(|s| s.name == "WindowsAzureGuestAgent" || s.name == "RdAgent")
        .map(|s| obj! { "name" => s.name, "state" => s.state.as_str() })
        .collect();
    obj! {
        "smbios_asset_tag" => p.asset_tag,
        "chassis_types" => vec![p.chassis_type],
        "manufacturer" => p.manufacturer,
        "model" => p.model,
        "hypervisor_present" => p.hypervisor_present,
        "bios_manufacturer" => p.bios_manufacturer,
        "bios_version" => p.bios_version,
        "bios_serial" => p.serial.clone(),
        "azure_guest_agent_services" => J::Arr(agents),
        // Get-Partition needs an elevated token (errors are silenced in the snippet).
        "uefi_esp_present" => p.uefi && h.account.is_admin,
        "is_azure" => p.asset_tag.trim() == crate::emulator::host::AZURE_ASSET_TAG,
    }
}

// ---------------------------------------------------------------- P17 / P20 WSB feature

fn wsb_feature(h: &HostState) -> J {
    obj! {
        "method" => "Get-WindowsFeature",
        "installed" => h.wsb_installed,
        "install_state" => if h.wsb_installed { "Installed" } else { "Available" },
        "wbengine_service_present" => h.service("wbengine").is_some(),
        "wbadmin_exists" => h.wsb_installed,
        "module_available" => h.wsb_installed,
    }
}

const GET_WBJOB_NOT_FOUND: &str = "The term 'Get-WBJob' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.";

fn wsb_cmdlets(h: &HostState) -> J {
    let mut d = obj! {
        "module_listed" => false, "module_path" => J::Null, "import_error" => J::Null,
        "command_found" => false, "invoke_ok" => J::Null, "invoke_error" => J::Null,
        "invoke_error_id" => J::Null, "current_job_state" => J::Null,
    };
    if h.wsb_installed {
        d.set("module_listed", true);
        d.set(
            "module_path",
            "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules\\WindowsServerBackup\\WindowsServerBackup.psd1",
        );
        d.set("command_found", true);
        if h.account.is_admin {
            d.set("invoke_ok", true);
        } else {
            d.set("invoke_ok", false);
            d.set("invoke_error", ACCESS_DENIED);
            d.set(
                "invoke_error_id",
                "System.UnauthorizedAccessException,Microsoft.Windows.ServerBackup.Commands.GetWBJob",
            );
        }
    } else {
        d.set("invoke_ok", false);
        d.set("invoke_error", GET_WBJOB_NOT_FOUND);
        d.set("invoke_error_id", "CommandNotFoundException");
    }
    d
}

// ---------------------------------------------------------------- P21–P23 WSB jobs

fn hex32(v: u32) -> String {
    format!("0x{v:08X}")
}

/// Runs newest first.
fn runs_newest_first(h: &HostState) -> Vec<&crate::emulator::host::BackupRun> {
    let mut runs: Vec<_> = h.runs.iter().collect();
    runs.sort_by_key(|r| r.age);
    runs
}

fn run_hr(outcome: RunOutcome) -> (u32, u32) {
    match outcome {
        RunOutcome::Succeeded => (0, 0),
        RunOutcome::EspLocked => (HR_ESP_LOCK, HR_ACCESS_DENIED),
    }
}

const ESP_LOCK_TEXT: &str = "Windows Server Backup failed to get an exclusive lock on the EFI system partition (ESP). This can happen if another application is using files on the ESP. Please retry the operation.";

fn wb_job_out(ctx: &Ctx<'_>, run: &crate::emulator::host::BackupRun) -> J {
    let (start, end) = run_times(ctx.now, run.age, run.duration);
    let (hr, detailed) = run_hr(run.outcome);
    let ok = run.outcome == RunOutcome::Succeeded;
    let error_description = if ok { "" } else { ESP_LOCK_TEXT };
    let version_id = if ok {
        wsb_version_id(start)
    } else {
        String::new()
    };
    let success_log = if ok {
        format!(
            "C:\\Windows\\Logs\\WindowsServerBackup\\Backup-{}.log",
            wsb_log_stamp(start)
        )
    } else {
        String::new()
    };
    let failure_log = if ok {
        String::new()
    } else {
        format!(
            "C:\\Windows\\Logs\\WindowsServerBackup\\Backup_Error-{}.log",
            wsb_log_stamp(start)
        )
    };
    #[allow(clippy::cast_possible_wrap)]
    let raw = obj! {
        "JobType" => "Backup",
        "StartTime" => invariant(start),
        "EndTime" => invariant(end),
        "JobState" => "Completed",
        "CurrentOperation" => "",
        "HResult" => (hr as i32).to_string(),
        "DetailedHResult" => (detailed as i32).to_string(),
        "ErrorDescription" => error_description,
        "JobItems" => "",
        "VersionId" => &version_id,
        "SuccessLogPath" => &success_log,
        "FailureLogPath" => &failure_log,
    };
    obj! {
        "job_type" => "Backup",
        "job_state" => "Completed",
        "start_utc" => iso_utc(start),
        "end_utc" => iso_utc(end),
        "hresult" => hex32(hr),
        "detailed_hresult" => hex32(detailed),
        "error_description" => error_description,
        "current_operation" => "",
        "version_id" => &version_id,
        "success_log" => &success_log,
        "failure_log" => &failure_log,
        "job_items" => J::Arr(vec![]),
        "raw" => raw,
    }
}

fn wsb_last_job(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    if !h.wsb_installed {
        return Ok(obj! { "cmdlet_present" => false });
    }
    if !h.account.is_admin {
        return Err(ACCESS_DENIED.to_owned());
    }
    let previous: Vec<J> = runs_newest_first(h)
        .into_iter()
        .take(5)
        .map(|r| wb_job_out(ctx, r))
        .collect();
    Ok(obj! { "cmdlet_present" => true, "current" => J::Null, "previous" => previous })
}

fn wsb_summary(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    if !h.wsb_installed {
        return Ok(obj! { "cmdlet_present" => false });
    }
    if !h.account.is_admin {
        return Err(ACCESS_DENIED.to_owned());
    }
    let runs = runs_newest_first(h);
    let last = runs.first();
    let last_ok = runs.iter().find(|r| r.outcome == RunOutcome::Succeeded);
    let label = format!("CBSSBVol_{}", h.guid("cbssbvol"));
    let target = format!("\\\\?\\Volume{{{}}}", h.guid("cbssbvol"));
    let (hr, detailed) = last.map_or((0, 0), |r| run_hr(r.outcome));
    Ok(obj! {
        "cmdlet_present" => true,
        "next_backup_utc" => J::Null,
        "number_of_versions" => runs.iter().filter(|r| r.outcome == RunOutcome::Succeeded).count(),
        "last_successful_utc" => last_ok.map(|r| iso_utc(ctx.now - r.age)),
        "last_successful_target_path" => if last_ok.is_some() { target.clone() } else { String::new() },
        "last_successful_target_label" => if last_ok.is_some() { label.clone() } else { String::new() },
        "last_backup_utc" => last.map(|r| iso_utc(ctx.now - r.age)),
        "last_backup_target" => &label,
        "detailed_message" => if hr == 0 { "" } else { ESP_LOCK_TEXT },
        "last_result_hr" => hex32(hr),
        "last_result_detailed_hr" => hex32(detailed),
        "current_operation_status" => "NoOperationInProgress",
    })
}

fn wsb_backup_sets(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    if !h.wsb_installed {
        // No Get-WBBackupSet; the wbadmin fallback finds no wbadmin.exe either.
        return Err("Exception calling \"Start\" with \"1\" argument(s): \"The system cannot find the file specified\"".to_owned());
    }
    if !h.account.is_admin {
        return Err(ACCESS_DENIED.to_owned());
    }
    let ok_runs: Vec<_> = runs_newest_first(h)
        .into_iter()
        .filter(|r| r.outcome == RunOutcome::Succeeded)
        .collect();
    let label = format!("CBSSBVol_{}", h.guid("cbssbvol"));
    let target = format!("\\\\?\\Volume{{{}}}\\", h.guid("cbssbvol"));
    let newest = ok_runs
        .iter()
        .take(5)
        .map(|r| {
            let start = ctx.now - r.age;
            obj! {
                "version_id" => wsb_version_id(start),
                "backup_time_utc" => iso_utc(start),
                "backup_set_id" => h.guid(&format!("set-{}", wsb_version_id(start))),
                "recoverable_items" => "SystemState",
                "target_path" => &target,
                "target_label" => &label,
                "vss_backup_option" => "VssCopyBackup",
                "volumes" => J::Arr(vec![]),
            }
        })
        .collect::<Vec<J>>();
    Ok(
        obj! { "method" => "Get-WBBackupSet", "count" => ok_runs.len(), "newest" => newest, "wbadmin" => J::Null },
    )
}

// ---------------------------------------------------------------- P24 / P25 events

fn wsb_events(ctx: &Ctx<'_>) -> Answer {
    let since = ctx.now - Duration::days(30);
    let ops = query(
        ctx,
        &Filter {
            log: LOG_WSB,
            provider: None,
            ids: &[1, 4, 5, 7, 8, 9, 14, 17, 20, 49, 50],
            levels: &[],
            since,
            max: 60,
        },
    )?;
    let app = query(
        ctx,
        &Filter {
            log: LOG_APPLICATION,
            provider: Some("Microsoft-Windows-Backup"),
            ids: &[517, 518, 519, 521, 544, 546, 561],
            levels: &[],
            since,
            max: 40,
        },
    )?;
    Ok(obj! {
        "window_days" => 30,
        "operational" => ops.iter().map(|e| e.wsb_ev_out()).collect::<Vec<J>>(),
        "application" => app.iter().map(|e| e.wsb_ev_out()).collect::<Vec<J>>(),
    })
}

fn imagepaths(ctx: &Ctx<'_>) -> J {
    // Best effort (the program wraps it in its own try/catch): an unreadable
    // System log leaves the list empty.
    let scm = query(
        ctx,
        &Filter {
            log: LOG_SYSTEM,
            provider: Some("Service Control Manager"),
            ids: &[7000],
            levels: &[],
            since: ctx.now - Duration::days(30),
            max: 50,
        },
    )
    .unwrap_or_default();
    let n = ctx.host.other_service_keys as usize + ctx.host.services.len();
    obj! {
        "services_checked" => n,
        "suspicious" => J::Arr(vec![]),
        "scm_7000" => scm.iter().map(|e| e.ev_out()).collect::<Vec<J>>(),
    }
}

// ---------------------------------------------------------------- P26–P28 VSS

/// Parses vssadmin's text exactly as the P26 snippet does.
fn parse_writers(text: &str) -> Vec<J> {
    let mut writers = Vec::new();
    let mut cur: Option<[Option<String>; 6]> = None;
    let flush = |cur: &mut Option<[Option<String>; 6]>, out: &mut Vec<J>| {
        if let Some([name, id, inst, state, state_text, last]) = cur.take() {
            out.push(obj! {
                "name" => name, "writer_id" => id, "instance_id" => inst,
                "state" => state.and_then(|s| s.parse::<i64>().ok()),
                "state_text" => state_text, "last_error" => last,
            });
        }
    };
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        let starts_non_space = line.chars().next().is_some_and(|c| !c.is_whitespace());
        if starts_non_space
            && line.trim_end().ends_with('\'')
            && let Some(open) = line.find('\'')
            && line.trim_end().len() - 1 > open + 1
        {
            let end = line.trim_end().len() - 1;
            flush(&mut cur, &mut writers);
            cur = Some([
                line.get(open + 1..end).map(str::to_owned),
                None,
                None,
                None,
                None,
                None,
            ]);
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if let (Some(a), Some(b)) = (line.find('{'), line.find('}'))
            && b == a + 37
        {
            let g = line.get(a + 1..b).map(str::to_lowercase);
            if c[1].is_none() {
                c[1] = g;
            } else if c[2].is_none() {
                c[2] = g;
            }
            continue;
        }
        if let (Some(a), Some(b)) = (line.find('['), line.find(']'))
            && b > a + 1
            && line
                .get(a + 1..b)
                .is_some_and(|d| d.chars().all(|ch| ch.is_ascii_digit()))
        {
            c[3] = line.get(a + 1..b).map(str::to_owned);
            c[4] = line.get(b + 1..).map(|s| s.trim().to_owned());
            continue;
        }
        if c[3].is_some() && c[5].is_none() && !line.trim().is_empty() {
            let v = line.split_once(':').map_or(line, |(_, v)| v);
            c[5] = Some(v.trim().to_owned());
        }
    }
    flush(&mut cur, &mut writers);
    writers
}

fn vss_writers(h: &HostState) -> J {
    let (exit, stdout) = text::vssadmin_list_writers(h);
    let writers = if exit == 0 {
        parse_writers(&stdout)
    } else {
        Vec::new()
    };
    let head: String = stdout.chars().take(600).collect();
    obj! {
        "exit_code" => exit,
        "timed_out" => false,
        "writer_count" => writers.len(),
        "writers" => writers,
        "stderr" => "",
        "raw_head" => head,
    }
}

fn vss_events(ctx: &Ctx<'_>) -> Answer {
    let ev = query(
        ctx,
        &Filter {
            log: LOG_APPLICATION,
            provider: Some("VSS"),
            ids: &[8229, 8193, 8194, 12289, 12298, 12301, 12338, 12340, 19, 40],
            levels: &[],
            since: ctx.now - Duration::days(30),
            max: 200,
        },
    )?;
    let rows: Vec<J> = ev
        .iter()
        .map(|e| {
            let mut o = e.ev_out();
            o.set(
                "has_800423f2",
                e.props_text().to_lowercase().contains("0x800423f2"),
            );
            o
        })
        .collect();
    let count = ev
        .iter()
        .filter(|e| e.id == 8229 && e.props_text().to_lowercase().contains("0x800423f2"))
        .count();
    Ok(obj! { "window_days" => 30, "events" => rows, "timeout_8229_count" => count })
}

#[allow(clippy::cast_precision_loss)]
fn resources(h: &HostState) -> J {
    let r = &h.resources;
    let mb = |kb: u64| J::Num((kb as f64 / 1024.0).round());
    let disks: Vec<J> = h
        .volumes
        .iter()
        .map(|v| obj! { "name" => v.perf_name, "pct_idle" => v.pct_idle, "queue" => 0 })
        .collect();
    let mut top = vec![
        ("MsMpEng", 3_412u32, 412u32),
        ("svchost", 1_288, 178),
        ("WmiPrvSE", 3_020, 96),
        ("ServerManager", 5_904, 142),
        ("Memory Compression", 2_504, 121),
    ];
    if h.cbengine_running() {
        top.push(("cbengine", 4_640, 268));
    }
    top.sort_by_key(|(_, _, ws)| std::cmp::Reverse(*ws));
    top.truncate(5);
    let top: Vec<J> = top
        .into_iter()
        .map(|(n, pid, ws)| obj! { "name" => n, "pid" => pid, "ws_mb" => J::Num(f64::from(ws)) })
        .collect();
    let busy: Vec<J> = if h.cbengine_running() {
        vec![J::from("cbengine")]
    } else {
        vec![]
    };
    obj! {
        "total_mem_mb" => mb(r.total_mem_kb),
        "free_mem_mb" => mb(r.free_mem_kb),
        "free_mem_pct" => J::Num(round_to(100.0 * r.free_mem_kb as f64 / r.total_mem_kb.max(1) as f64, 1)),
        "cpu_samples_pct" => r.cpu_samples.to_vec(),
        "logical_disks" => disks,
        "top_ws" => top,
        "backup_processes_running" => J::Arr(busy),
    }
}

// ---------------------------------------------------------------- P29 / P30 shadow storage

fn shadow_storage(h: &HostState) -> J {
    let vols: Vec<J> = h
        .volumes
        .iter()
        .filter(|v| v.drive_type == 3)
        .map(|v| {
            obj! {
                "device_id" => h.volume_device_id(v),
                "drive_letter" => v.letter,
                "label" => v.label,
                "fs" => v.file_system,
                "capacity" => v.capacity.to_string(),
                "free" => v.free.to_string(),
                "system_volume" => v.system,
                "boot_volume" => v.boot,
            }
        })
        .collect();
    // Win32_ShadowStorage refuses standard users (errors silenced in the snippet).
    let ss: Vec<J> = if h.account.is_admin {
        h.shadow_storage
            .iter()
            .filter_map(|s| {
                let v = h.volumes.get(s.volume)?;
                let id = h.volume_device_id(v);
                Some(obj! {
                    "volume" => &id,
                    "diff_volume" => &id,
                    "allocated" => s.allocated.to_string(),
                    "used" => s.used.to_string(),
                    "max" => s.max.to_string(),
                    "max_unbounded" => s.max == u64::MAX,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    obj! { "volumes" => vols, "shadow_storage" => ss, "shadow_copies" => J::Arr(vec![]) }
}

fn volsnap(ctx: &Ctx<'_>) -> Answer {
    let ev = query(
        ctx,
        &Filter {
            log: LOG_SYSTEM,
            provider: None,
            ids: &[8, 9, 23, 24, 25, 32, 33, 35, 36, 38],
            levels: &[],
            since: ctx.now - Duration::days(30),
            max: 300,
        },
    )?;
    let rows: Vec<J> = ev
        .iter()
        .filter(|e| e.provider.eq_ignore_ascii_case("volsnap"))
        .map(|e| e.ev_out())
        .collect();
    Ok(obj! { "window_days" => 30, "events" => rows })
}

// ---------------------------------------------------------------- P31 EFI

const EFI_PATTERN: &[&str] = &[
    "Sophos",
    "McAfee",
    "Trellix",
    "Symantec",
    "SentinelOne",
    "CrowdStrike",
    "CSFalcon",
    "Cylance",
    "ESET",
    "Kaspersky",
    "Trend ?Micro",
    "Bitdefender",
    "Carbon ?Black",
    "Cortex",
    "Veeam",
    "Acronis",
    "Commvault",
    "Backup ?Exec",
    "Arcserve",
    "NetBackup",
    "Datto",
    "Cohesity",
    "Rubrik",
    "Unitrends",
    "StorageCraft",
    "ShadowProtect",
    "Macrium",
    "NAKIVO",
];

fn efi(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    let since = ctx.now - Duration::days(30);
    // Each event query has its own try/catch (the catalogue's note under P31): a
    // missing Backup channel or an unreadable log is recorded, not fatal.
    let mut w = Vec::new();
    let mut event_errors: Vec<J> = Vec::new();
    for filter in [
        Filter {
            log: LOG_WSB,
            provider: None,
            ids: &[5],
            levels: &[],
            since,
            max: 50,
        },
        Filter {
            log: LOG_APPLICATION,
            provider: Some("Microsoft-Windows-Backup"),
            ids: &[517],
            levels: &[],
            since,
            max: 50,
        },
    ] {
        match query(ctx, &filter) {
            Ok(events) => w.extend(events),
            Err(e) => event_errors.push(J::from(e)),
        }
    }
    let lock_events: Vec<J> = w
        .iter()
        .filter(|e| {
            let t = e.props_text().to_lowercase();
            t.contains("0x8078011e") || t.contains("2155348254")
        })
        .map(|e| e.ev_out())
        .collect();
    let esp: Vec<J> = if h.platform.uefi {
        vec![obj! { "disk" => 0, "partition" => 1, "size" => "104857600", "is_system" => true }]
    } else {
        vec![]
    };
    let third: Vec<J> = h
        .services
        .iter()
        .filter(|s| s.state == SvcState::Running && service_words(s).efi)
        .map(|s| obj! { "name" => s.name, "display_name" => s.display_name })
        .collect();
    Ok(obj! {
        "firmware_type" => if h.platform.uefi { "UEFI" } else { "Legacy" },
        "secure_boot" => if h.platform.secure_boot { "True" } else { "False" },
        "esp" => esp,
        "lock_events" => lock_events,
        "third_party" => third,
        "event_errors" => J::Arr(event_errors),
    })
}

// ---------------------------------------------------------------- P32 / P33 MARS jobs and log

fn mars_jobs(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    let Some(m) = &h.mars else {
        return Ok(obj! { "mars_installed" => false });
    };
    if !h.account.is_admin {
        return Err(ACCESS_DENIED.to_owned());
    }
    if !h.cbengine_running() {
        return Err("The Microsoft Azure Recovery Services Agent service (obengine) is not running. Start the service and try again.".to_owned());
    }
    Ok(obj! {
        "mars_installed" => true,
        "ss_policy" => policy(m),
        "files_policy_present" => false,
        "jobs" => runs_newest_first(h).into_iter().map(|r| mars_job(ctx, r)).collect::<Vec<J>>(),
    })
}

fn policy(m: &Mars) -> J {
    obj! {
        "policy_state" => m.policy_state,
        "state" => "Existing",
        "schedule" => "Microsoft.Internal.CloudBackup.Commands.OBSchedule",
        "retention" => "Microsoft.Internal.CloudBackup.Commands.OBRetentionPolicy",
    }
}

fn mars_job(ctx: &Ctx<'_>, run: &crate::emulator::host::BackupRun) -> J {
    let (start, end) = run_times(ctx.now, run.age, run.duration);
    let (state, code, detailed) = match run.outcome {
        RunOutcome::Succeeded => ("Completed", String::new(), String::new()),
        RunOutcome::EspLocked => (
            "Aborted",
            HR_ESP_LOCK.to_string(),
            HR_ACCESS_DENIED.to_string(),
        ),
    };
    obj! {
        "job_type" => "Backup",
        "job_state" => state,
        "start_utc" => iso_utc(start),
        "end_utc" => iso_utc(end + Duration::seconds(40)),
        "error_code" => code,
        "detailed_error_code" => detailed,
        "datasources" => vec![obj! { "name" => "System State", "state" => state }],
    }
}

fn cloudbackup(ctx: &Ctx<'_>) -> Answer {
    let h = ctx.host;
    let exists = log_exists(h, LOG_CLOUDBACKUP);
    let events = if exists {
        query(
            ctx,
            &Filter {
                log: LOG_CLOUDBACKUP,
                provider: None,
                ids: &[],
                levels: &[1, 2, 3],
                since: ctx.now - Duration::days(14),
                max: 100,
            },
        )?
    } else {
        Vec::new()
    };
    Ok(obj! {
        "log_exists" => exists,
        "window_days" => 14,
        "events" => events.iter().map(|e| e.ev_out()).collect::<Vec<J>>(),
    })
}

// ---------------------------------------------------------------- P18 / P19

fn svi_acl(h: &HostState) -> J {
    let path = "C:\\System Volume Information";
    if !h.account.is_admin {
        return obj! {
            "path" => path, "exists" => true, "readable" => false,
            "read_error" => "Attempted to perform an unauthorized operation.",
            "owner_sid" => J::Null, "system_full_control" => J::Null, "system_deny" => J::Null,
            "aces" => J::Arr(vec![]), "icacls_text" => text::icacls_denied(),
        };
    }
    const FULL: i64 = 2_032_127;
    const GENERIC_ALL: i64 = 268_435_456;
    let rights = h.svi.system_rights;
    let full = (rights & FULL) == FULL || (rights & GENERIC_ALL) != 0;
    obj! {
        "path" => path,
        "exists" => true,
        "readable" => true,
        "read_error" => J::Null,
        "owner_sid" => "S-1-5-18",
        "system_full_control" => full,
        "system_deny" => false,
        "aces" => vec![obj! {
            "sid" => "S-1-5-18", "type" => "Allow", "rights" => rights, "inherited" => false,
            "inheritance" => "ContainerInherit, ObjectInherit", "propagation" => "None",
        }],
        "icacls_text" => J::Null,
    }
}

fn dependencies(h: &HostState) -> J {
    let want = [
        ("RpcSs", "Auto"),
        ("EventSystem", "Auto"),
        ("SENS", "Auto"),
        ("VSS", "Manual"),
        ("swprv", "Manual"),
        ("wbengine", "Manual"),
    ];
    let rows: Vec<J> = want
        .iter()
        .map(|(n, expected)| match h.service(n) {
            Some(s) => obj! {
                "name" => *n,
                "present" => true,
                "expected_start_mode" => *expected,
                "start_mode" => s.start_mode.as_str(),
                "start_value" => s.start_mode.start_value(),
                "delayed_auto_start" => s.delayed_auto_start,
                "state" => s.state.as_str(),
                "status" => "OK",
                "start_name" => s.start_name,
                "exit_code" => s.exit_code,
            },
            None => obj! { "name" => *n, "present" => false, "expected_start_mode" => *expected },
        })
        .collect();
    obj! { "services" => rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_in_any_ascii_case_and_an_optional_space_may_be_absent() {
        assert!(matches_any(
            "VeeamBackupSvc Veeam Backup Service",
            BACKUP_PATTERN
        ));
        assert!(matches_any("bexec backup exec agent", BACKUP_PATTERN));
        assert!(matches_any("BEXEC BACKUPEXEC AGENT", BACKUP_PATTERN));
        assert!(matches_any("x IBM Spectrum Protect client", BACKUP_PATTERN));
        assert!(matches_any("csagent crowdstrike falcon sensor", AV_PATTERN));
        assert!(
            !matches_any("Backup  Exec", &["Backup ?Exec"]),
            "one space at most"
        );
        assert!(!matches_any("Backup Ex", &["Backup ?Exec"]));
        assert!(!matches_any("VSS Volume Shadow Copy", BACKUP_PATTERN));
        assert!(!matches_any("", BACKUP_PATTERN));
    }

    #[test]
    fn service_words_are_the_lists_verdicts_asked_again_or_not() {
        let service = |name: &'static str, display_name: &'static str| Service {
            name,
            display_name,
            state: SvcState::Running,
            start_mode: crate::emulator::host::StartMode::Auto,
            delayed_auto_start: None,
            start_name: "LocalSystem",
            path_name: "C:\\x.exe",
            process_id: 1,
            exit_code: 0,
        };
        for (s, expected) in [
            (
                service("VeeamBackupSvc", "Veeam Backup Service"),
                (true, false, true),
            ),
            (
                service("csagent", "CrowdStrike Falcon Sensor"),
                (false, true, true),
            ),
            (service("VSS", "Volume Shadow Copy"), (false, false, false)),
        ] {
            let direct = ServiceWords::of(&s);
            assert_eq!((direct.backup, direct.security, direct.efi), expected);
            // First call matches and remembers, the second reads the memory.
            assert_eq!(service_words(&s), direct);
            assert_eq!(service_words(&s), direct);
        }
    }
}
