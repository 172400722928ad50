//! The modelled Windows Server host: what an emulated server *is* (OS, features,
//! services, MARS agent, volumes, VSS, event history, …). [`crate::emulator::answers`]
//! turns it into what Windows PowerShell 5.1 would print.
//!
//! A host is built from `(scenario, hostname, seed)` and is deterministic: the same
//! triple always gives the same host. Per-host variation (free space, memory, ages
//! of events and updates) is drawn from `hostname` and `seed` only, inside ranges
//! that never change a verdict; the scenario alone decides what is wrong.
//!
//! Times are kept as ages (how long before "now" something happened) so the answers
//! stay true whenever they are asked: a backup that ran "five hours ago" is five
//! hours old in every scan.
//!
//! The state is kept compact (mostly `&'static str` and numbers): an emulated fleet
//! holds thousands of hosts.

use time::Duration;

use super::scenario::Scenario;

/// Default MARS install folder as the Setup key stores it (with the trailing `\`).
pub(crate) const MARS_INSTALL_PATH: &str =
    "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\";
/// Current MARS agent version on healthy hosts (the newest number named in the
/// catalogue's sources, §3.1).
pub(crate) const MARS_CURRENT_VERSION: &str = "2.0.9262.0";
/// MARS version on `mars_outdated` hosts: older than 2.0.9249.0 (registration fix).
pub(crate) const MARS_OUTDATED_VERSION: &str = "2.0.9197.0";
/// SMBIOS chassis asset tag Azure sets on every VM (catalogue §3.7).
pub(crate) const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";
/// Scratch (cache) folder of the modelled agent: relocated to the data volume, as
/// Microsoft's FAQ describes, so that a full cache volume is not the system volume.
pub(crate) const MARS_SCRATCH: &str = "D:\\MARS\\Scratch";

/// How a service starts, as `Win32_Service.StartMode` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartMode {
    Auto,
    Manual,
    Disabled,
}

impl StartMode {
    /// `Win32_Service.StartMode` text.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StartMode::Auto => "Auto",
            StartMode::Manual => "Manual",
            StartMode::Disabled => "Disabled",
        }
    }

    /// Registry `Start` DWORD (same numbers as `ServiceStartMode`).
    pub(crate) fn start_value(self) -> u32 {
        match self {
            StartMode::Auto => 2,
            StartMode::Manual => 3,
            StartMode::Disabled => 4,
        }
    }
}

/// Whether a service runs, as `Win32_Service.State` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SvcState {
    Running,
    Stopped,
}

impl SvcState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SvcState::Running => "Running",
            SvcState::Stopped => "Stopped",
        }
    }
}

/// One Windows service (`Win32_Service` plus its registry key).
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) display_name: &'static str,
    pub(crate) state: SvcState,
    pub(crate) start_mode: StartMode,
    pub(crate) delayed_auto_start: Option<u32>,
    pub(crate) start_name: &'static str,
    /// `PathName` / `ImagePath`.
    pub(crate) path_name: &'static str,
    pub(crate) process_id: u32,
    pub(crate) exit_code: u32,
}

/// Operating system facts (`Win32_OperatingSystem`, CurrentVersion key).
#[derive(Debug, Clone)]
pub(crate) struct Os {
    pub(crate) caption: &'static str,
    pub(crate) version: &'static str,
    pub(crate) build: u32,
    pub(crate) ubr: u32,
    pub(crate) display_version: &'static str,
    pub(crate) edition_id: &'static str,
    /// `Server` or `Server Core`.
    pub(crate) installation_type: &'static str,
    /// 1 workstation, 2 domain controller, 3 server.
    pub(crate) product_type: u8,
    pub(crate) arch: &'static str,
    pub(crate) uptime: Duration,
}

/// Who the scan runs as, and the machine's domain membership.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) domain_netbios: &'static str,
    pub(crate) domain_dns: &'static str,
    pub(crate) is_admin: bool,
    pub(crate) culture: &'static str,
    /// `Win32_ComputerSystem.DomainRole` (3 = member server).
    pub(crate) domain_role: u8,
}

/// SMBIOS, firmware and hypervisor identity.
#[derive(Debug, Clone)]
pub(crate) struct Platform {
    pub(crate) manufacturer: &'static str,
    pub(crate) model: &'static str,
    pub(crate) asset_tag: &'static str,
    pub(crate) chassis_type: u16,
    pub(crate) hypervisor_present: bool,
    pub(crate) bios_manufacturer: &'static str,
    pub(crate) bios_version: &'static str,
    pub(crate) serial: String,
    pub(crate) uefi: bool,
    pub(crate) secure_boot: bool,
    pub(crate) ipv4: [u8; 4],
}

/// The MARS (Azure Backup) agent.
#[derive(Debug, Clone)]
pub(crate) struct Mars {
    pub(crate) install_path: &'static str,
    pub(crate) version: &'static str,
    pub(crate) config_scratch: &'static str,
    pub(crate) provider_scratch: &'static str,
    pub(crate) vault_name: &'static str,
    pub(crate) resource_group: &'static str,
    /// `Get-OBSystemStatePolicy` `PolicyState`.
    pub(crate) policy_state: &'static str,
}

/// .NET Framework 4.x (`NDP\v4\Full`).
#[derive(Debug, Clone)]
pub(crate) struct DotNet {
    pub(crate) release: u32,
    pub(crate) version: &'static str,
}

/// SChannel and .NET TLS registry values (`None` = value absent).
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub(crate) schannel_enabled: Option<u32>,
    pub(crate) schannel_disabled_by_default: Option<u32>,
    pub(crate) net_system_default_tls: Option<u32>,
    pub(crate) net_strong_crypto: Option<u32>,
}

/// One `Win32_Volume`.
#[derive(Debug, Clone)]
pub(crate) struct Volume {
    /// Tag the volume GUID is derived from.
    pub(crate) tag: &'static str,
    pub(crate) letter: Option<&'static str>,
    pub(crate) label: Option<&'static str>,
    pub(crate) file_system: Option<&'static str>,
    /// 3 fixed, 5 CD-ROM.
    pub(crate) drive_type: u32,
    pub(crate) boot: bool,
    pub(crate) system: bool,
    pub(crate) capacity: u64,
    pub(crate) free: u64,
    /// Logical-disk performance counter instance name.
    pub(crate) perf_name: &'static str,
    pub(crate) pct_idle: u32,
}

/// SYSTEM's entry on `C:\System Volume Information`.
#[derive(Debug, Clone)]
pub(crate) struct Svi {
    /// `FileSystemRights` of SYSTEM's allow entry (2032127 = FullControl).
    pub(crate) system_rights: i64,
}

/// One VSS writer as `vssadmin list writers` shows it.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    pub(crate) name: &'static str,
    pub(crate) id: &'static str,
    /// `VSS_WRITER_STATE`.
    pub(crate) state: u8,
    pub(crate) last_error: &'static str,
}

/// Why `vssadmin list writers` fails instead of listing writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VssadminError {
    ServiceDisabled,
    NotElevated,
}

/// One `Win32_ShadowStorage` association (diff area on the same volume).
#[derive(Debug, Clone)]
pub(crate) struct ShadowStorage {
    /// Index into [`HostState::volumes`].
    pub(crate) volume: usize,
    pub(crate) allocated: u64,
    pub(crate) used: u64,
    /// `u64::MAX` = unbounded.
    pub(crate) max: u64,
}

/// The clock and its time source.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// Host clock minus true time, in milliseconds.
    pub(crate) skew_ms: i64,
    /// Synchronised with the domain hierarchy (else "Local CMOS Clock").
    pub(crate) synced: bool,
    pub(crate) last_sync_age: Duration,
}

/// One `Win32_QuickFixEngineering` row.
#[derive(Debug, Clone)]
pub(crate) struct Hotfix {
    pub(crate) id: &'static str,
    pub(crate) description: &'static str,
    /// Days before today the update was installed.
    pub(crate) age_days: i64,
}

/// How one System State backup run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    Succeeded,
    /// WSB could not get an exclusive lock on the EFI system partition.
    EspLocked,
}

/// One (MARS-driven, WSB-executed) System State backup run.
#[derive(Debug, Clone)]
pub(crate) struct BackupRun {
    /// How long before now the run started.
    pub(crate) age: Duration,
    pub(crate) duration: Duration,
    pub(crate) outcome: RunOutcome,
}

/// An event that is not part of the nightly backup history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incident {
    /// VSS 8229 (warning) with 0x800423f2 from the named writer.
    VssWriterTimeout { age: Duration },
    /// volsnap 24: insufficient space on C: to grow the shadow storage.
    VolsnapCannotGrow { age: Duration },
}

/// Memory, CPU and process facts.
#[derive(Debug, Clone)]
pub(crate) struct Resources {
    pub(crate) total_mem_kb: u64,
    pub(crate) free_mem_kb: u64,
    pub(crate) cpu_samples: [u32; 4],
}

/// A modelled Windows Server host.
#[derive(Debug, Clone)]
pub struct HostState {
    hostname: String,
    scenario: Scenario,
    /// Host-specific seed (mixed from the fleet seed and the host name); GUIDs and
    /// other identifiers are derived from it on demand.
    pub(crate) host_seed: u64,
    /// The probe (by the id in its `# fleetscan-probe:` marker) that throws on this
    /// host, answering `ok:false` — the emulator's `probe_error` fault.
    pub throwing_probe: Option<String>,
    pub(crate) os: Os,
    pub(crate) account: Account,
    pub(crate) platform: Platform,
    pub(crate) wsb_installed: bool,
    pub(crate) services: Vec<Service>,
    pub(crate) mars: Option<Mars>,
    pub(crate) dotnet: DotNet,
    pub(crate) tls: Tls,
    pub(crate) volumes: Vec<Volume>,
    pub(crate) svi: Svi,
    pub(crate) writers: Vec<Writer>,
    pub(crate) vssadmin_error: Option<VssadminError>,
    pub(crate) shadow_storage: Vec<ShadowStorage>,
    pub(crate) clock: Clock,
    pub(crate) hotfixes: Vec<Hotfix>,
    pub(crate) runs: Vec<BackupRun>,
    pub(crate) incidents: Vec<Incident>,
    pub(crate) resources: Resources,
    /// Service keys with an ImagePath besides the modelled services.
    pub(crate) other_service_keys: u32,
}

/// Index of the C: volume in [`HostState::volumes`].
pub(crate) const VOL_C: usize = 2;
/// Index of the D: (data, MARS scratch) volume in [`HostState::volumes`].
pub(crate) const VOL_D: usize = 3;

impl HostState {
    /// Builds the host `hostname` of `scenario`, with per-host variation drawn from
    /// `seed` and `hostname` (never from the scenario, so two scenarios of the same
    /// host differ only by the scenario's change).
    pub fn for_scenario(scenario: Scenario, hostname: &str, seed: u64) -> HostState {
        let host_seed = mix(seed, fnv1a(hostname.as_bytes()));
        let mut rng = fastrand::Rng::with_seed(host_seed);
        let mut h = healthy(hostname, host_seed, &mut rng);
        h.scenario = scenario;
        apply(&mut h, scenario, &mut rng);
        h
    }

    /// The host name the emulator serves it under (as `hostname` prints it).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// `$env:COMPUTERNAME`: the NetBIOS name, upper case, at most 15 characters.
    pub fn computer_name(&self) -> String {
        let short = self.hostname.split('.').next().unwrap_or(&self.hostname);
        short.chars().take(15).collect::<String>().to_uppercase()
    }

    /// Whether console tools and display names speak German (culture de-*).
    pub(crate) fn german(&self) -> bool {
        self.account.culture.starts_with("de")
    }

    /// The scenario the host was built from.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// Whether the scan account gets an elevated (administrator) token.
    pub fn is_admin(&self) -> bool {
        self.account.is_admin
    }

    /// Marks one probe (by marker id) as throwing: it then answers `ok:false`.
    /// `None` clears it.
    pub fn set_throwing_probe(&mut self, probe_id: Option<&str>) {
        self.throwing_probe = probe_id.map(str::to_owned);
    }

    /// Windows PowerShell version (`$PSVersionTable.PSVersion`).
    pub fn ps_version(&self) -> String {
        format!("5.1.{}.{}", self.os.build, self.os.ubr)
    }

    /// The service called `name` (case-insensitive), if the host has it.
    pub(crate) fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn service_mut(&mut self, name: &str) -> Option<&mut Service> {
        self.services
            .iter_mut()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// A GUID (lower case, no braces) that is stable for this host and `tag`.
    pub(crate) fn guid(&self, tag: &str) -> String {
        let a = mix(self.host_seed, fnv1a(tag.as_bytes()));
        let b = mix(a, 0x9e37_79b9_7f4a_7c15);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// `\\?\Volume{…}\` of a modelled volume.
    pub(crate) fn volume_device_id(&self, v: &Volume) -> String {
        format!("\\\\?\\Volume{{{}}}\\", self.guid(v.tag))
    }

    /// Whether the MARS agent service process (cbengine.exe) is running.
    pub(crate) fn cbengine_running(&self) -> bool {
        self.mars.is_some()
            && self
                .service("obengine")
                .is_some_and(|s| s.state == SvcState::Running)
    }
}

fn svc(
    name: &'static str,
    display_name: &'static str,
    start_mode: StartMode,
    state: SvcState,
    start_name: &'static str,
    path_name: &'static str,
    pid: u32,
) -> Service {
    Service {
        name,
        display_name,
        state,
        start_mode,
        delayed_auto_start: None,
        start_name,
        path_name,
        process_id: if state == SvcState::Running { pid } else { 0 },
        exit_code: 0,
    }
}

fn between(rng: &mut fastrand::Rng, lo: u64, hi: u64) -> u64 {
    rng.u64(lo..=hi)
}

fn healthy(hostname: &str, host_seed: u64, rng: &mut fastrand::Rng) -> HostState {
    use StartMode::{Auto, Manual};
    use SvcState::{Running, Stopped};
    let pid = |rng: &mut fastrand::Rng| rng.u32(600..9000) & !3;

    let services = vec![
        svc(
            "RpcSs",
            "Remote Procedure Call (RPC)",
            Auto,
            Running,
            "NT AUTHORITY\\NetworkService",
            "C:\\Windows\\system32\\svchost.exe -k rpcss -p",
            pid(rng),
        ),
        svc(
            "EventSystem",
            "COM+ Event System",
            Auto,
            Running,
            "NT AUTHORITY\\LocalService",
            "C:\\Windows\\system32\\svchost.exe -k LocalService -p",
            pid(rng),
        ),
        svc(
            "SENS",
            "System Event Notification Service",
            Auto,
            Running,
            "LocalSystem",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
            pid(rng),
        ),
        svc(
            "VSS",
            "Volume Shadow Copy",
            Manual,
            Stopped,
            "LocalSystem",
            "C:\\Windows\\system32\\vssvc.exe",
            0,
        ),
        svc(
            "swprv",
            "Microsoft Software Shadow Copy Provider",
            Manual,
            Stopped,
            "LocalSystem",
            "C:\\Windows\\System32\\svchost.exe -k swprv",
            0,
        ),
        svc(
            "wbengine",
            "Block Level Backup Engine Service",
            Manual,
            Stopped,
            "localSystem",
            "\"C:\\Windows\\system32\\wbengine.exe\"",
            0,
        ),
        svc(
            "obengine",
            "Microsoft Azure Recovery Services Agent",
            Auto,
            Running,
            "LocalSystem",
            "\"C:\\Program Files\\Microsoft Azure Recovery Services Agent\\bin\\cbengine.exe\"",
            pid(rng),
        ),
        svc(
            "W32Time",
            "Windows Time",
            Manual,
            Running,
            "NT AUTHORITY\\LocalService",
            "C:\\Windows\\system32\\svchost.exe -k LocalService",
            pid(rng),
        ),
        svc(
            "WinDefend",
            "Microsoft Defender Antivirus Service",
            Auto,
            Running,
            "LocalSystem",
            "\"C:\\ProgramData\\Microsoft\\Windows Defender\\platform\\4.18.25100.9008-0\\MsMpEng.exe\"",
            pid(rng),
        ),
        svc(
            "WinRM",
            "Windows Remote Management (WS-Management)",
            Auto,
            Running,
            "NT AUTHORITY\\NetworkService",
            "C:\\Windows\\System32\\svchost.exe -k NetworkService -p",
            pid(rng),
        ),
    ];

    let c_cap: u64 = 272_629_757_952;
    let d_cap: u64 = 1_099_375_964_160;
    let volumes = vec![
        Volume {
            tag: "esp",
            letter: None,
            label: None,
            file_system: Some("FAT32"),
            drive_type: 3,
            boot: false,
            system: true,
            capacity: 99_614_720,
            free: between(rng, 60_000_000, 72_000_000),
            perf_name: "HarddiskVolume1",
            pct_idle: 100,
        },
        Volume {
            tag: "recovery",
            letter: None,
            label: None,
            file_system: Some("NTFS"),
            drive_type: 3,
            boot: false,
            system: false,
            capacity: 673_181_696,
            free: between(rng, 90_000_000, 110_000_000),
            perf_name: "HarddiskVolume4",
            pct_idle: 100,
        },
        Volume {
            tag: "c",
            letter: Some("C:"),
            label: None,
            file_system: Some("NTFS"),
            drive_type: 3,
            boot: true,
            system: false,
            capacity: c_cap,
            free: c_cap / 100 * between(rng, 40, 65),
            perf_name: "C:",
            pct_idle: between(rng, 90, 99) as u32,
        },
        Volume {
            tag: "d",
            letter: Some("D:"),
            label: Some("Data"),
            file_system: Some("NTFS"),
            drive_type: 3,
            boot: false,
            system: false,
            capacity: d_cap,
            free: d_cap / 100 * between(rng, 40, 70),
            perf_name: "D:",
            pct_idle: between(rng, 85, 99) as u32,
        },
    ];
    let shadow_storage = vec![ShadowStorage {
        volume: VOL_C,
        allocated: between(rng, 900, 2_400) * (1 << 20),
        used: between(rng, 300, 800) * (1 << 20),
        max: c_cap / 10,
    }];

    let writer = |name, id| Writer {
        name,
        id,
        state: 1,
        last_error: "No error",
    };
    let writers = vec![
        writer(
            "Task Scheduler Writer",
            "d61d61c8-d73a-4eee-8cdd-f6f9786b7124",
        ),
        writer(
            "VSS Metadata Store Writer",
            "75dfb225-e2e4-4d39-9ac9-ffaff65ddf06",
        ),
        writer(
            "Performance Counters Writer",
            "0bada1de-01a9-4625-8278-69e735f39dd2",
        ),
        writer("System Writer", "e8132975-6f93-4464-a53e-1050253ae220"),
        writer("ASR Writer", "be000cbe-11fe-4426-9c58-531aa6355fc4"),
        writer("WMI Writer", "a6ad56c2-b509-4e6c-bb19-49d8f43532f0"),
        writer("Registry Writer", "afbab4a2-367d-4d15-a586-71dbb18f8485"),
        writer("COM+ REGDB Writer", "542da469-d3e1-473c-9f4f-7847f01fc64f"),
        writer(
            "Shadow Copy Optimization Writer",
            "4dc3bdd4-ab48-4d07-adb0-3bee2926fd7f",
        ),
        writer("BITS Writer", "4969d978-be47-48b0-b100-f328f07ac1e0"),
    ];

    // Nightly MARS System State backups (executed by WSB) for the last two weeks;
    // the newest one started 2–20 hours ago.
    let newest = Duration::minutes(between(rng, 120, 1200) as i64);
    let runs = (0..14)
        .map(|day| BackupRun {
            age: newest
                + Duration::days(day)
                + Duration::milliseconds(between(rng, 0, 90_000) as i64)
                + Duration::nanoseconds(between(rng, 0, 999_900) as i64),
            duration: Duration::seconds(between(rng, 900, 2400) as i64),
            outcome: RunOutcome::Succeeded,
        })
        .collect();

    let cu_age = between(rng, 6, 24) as i64;
    let hotfixes = vec![
        Hotfix {
            id: "KB5011497",
            description: "Security Update",
            age_days: 1_300,
        },
        Hotfix {
            id: "KB5012170",
            description: "Security Update",
            age_days: 1_190,
        },
        Hotfix {
            id: "KB5066530",
            description: "Update",
            age_days: 200,
        },
        Hotfix {
            id: "KB5070881",
            description: "Security Update",
            age_days: cu_age + 30,
        },
        Hotfix {
            id: "KB5072127",
            description: "Update",
            age_days: cu_age + 1,
        },
        Hotfix {
            id: "KB5072435",
            description: "Security Update",
            age_days: cu_age,
        },
    ];

    let total_mem_kb = 33_553_844;
    HostState {
        hostname: hostname.to_owned(),
        scenario: Scenario::Healthy,
        host_seed,
        throwing_probe: None,
        os: Os {
            caption: "Microsoft Windows Server 2022 Standard",
            version: "10.0.20348",
            build: 20348,
            ubr: 4405,
            display_version: "21H2",
            edition_id: "ServerStandard",
            installation_type: "Server",
            product_type: 3,
            arch: "64-bit",
            uptime: Duration::hours(between(rng, 3 * 24, 40 * 24) as i64)
                + Duration::seconds(between(rng, 0, 3599) as i64),
        },
        account: Account {
            domain_netbios: "CORP",
            domain_dns: "corp.contoso.com",
            is_admin: true,
            culture: "en-US",
            domain_role: 3,
        },
        platform: Platform {
            manufacturer: "Dell Inc.",
            model: "PowerEdge R650",
            asset_tag: "",
            chassis_type: 23,
            hypervisor_present: false,
            bios_manufacturer: "Dell Inc.",
            bios_version: "1.14.1",
            serial: service_tag(rng),
            uefi: true,
            secure_boot: true,
            ipv4: [10, 20, rng.u8(1..=30), rng.u8(10..=250)],
        },
        wsb_installed: true,
        services,
        mars: Some(Mars {
            install_path: MARS_INSTALL_PATH,
            version: MARS_CURRENT_VERSION,
            config_scratch: MARS_SCRATCH,
            provider_scratch: MARS_SCRATCH,
            vault_name: "rsv-systemstate-weu-01",
            resource_group: "rg-backup-weu",
            policy_state: "Valid",
        }),
        dotnet: DotNet {
            release: 528449,
            version: "4.8.04161",
        },
        tls: Tls {
            schannel_enabled: None,
            schannel_disabled_by_default: None,
            net_system_default_tls: Some(1),
            net_strong_crypto: Some(1),
        },
        volumes,
        svi: Svi {
            system_rights: 2_032_127,
        },
        writers,
        vssadmin_error: None,
        shadow_storage,
        clock: Clock {
            skew_ms: between(rng, 0, 3000) as i64 - 1500,
            synced: true,
            last_sync_age: Duration::seconds(between(rng, 60, 3000) as i64),
        },
        hotfixes,
        runs,
        incidents: Vec::new(),
        resources: Resources {
            total_mem_kb,
            free_mem_kb: total_mem_kb / 100 * between(rng, 40, 60),
            cpu_samples: [
                rng.u32(5..40),
                rng.u32(2..15),
                rng.u32(2..15),
                rng.u32(2..15),
            ],
        },
        other_service_keys: 598 + rng.u32(0..40),
    }
}

fn service_tag(rng: &mut fastrand::Rng) -> String {
    const ALNUM: &[u8] = b"0123456789BCDFGHJKLMNPQRSTVWXYZ";
    (0..7)
        .map(|_| char::from(ALNUM[rng.usize(0..ALNUM.len())]))
        .collect()
}

fn apply(h: &mut HostState, scenario: Scenario, rng: &mut fastrand::Rng) {
    match scenario {
        Scenario::Healthy => {}
        Scenario::WsbMissing => {
            h.wsb_installed = false;
            h.services.retain(|s| s.name != "wbengine");
        }
        Scenario::VssDisabled => {
            if let Some(s) = h.service_mut("VSS") {
                s.start_mode = StartMode::Disabled;
                s.exit_code = 1077;
            }
            h.vssadmin_error = Some(VssadminError::ServiceDisabled);
        }
        Scenario::SwprvDisabled => {
            if let Some(s) = h.service_mut("swprv") {
                s.start_mode = StartMode::Disabled;
                s.exit_code = 1077;
            }
        }
        Scenario::RpcManual => {
            if let Some(s) = h.service_mut("RpcSs") {
                s.start_mode = StartMode::Manual;
            }
        }
        Scenario::MarsMissing => {
            h.mars = None;
            h.services.retain(|s| s.name != "obengine");
        }
        Scenario::MarsOutdated => {
            if let Some(m) = h.mars.as_mut() {
                m.version = MARS_OUTDATED_VERSION;
            }
        }
        Scenario::MarsStopped => {
            if let Some(s) = h.service_mut("obengine") {
                s.state = SvcState::Stopped;
                s.process_id = 0;
                s.exit_code = 1067;
            }
        }
        Scenario::LowScratchSpace => {
            if let Some(d) = h.volumes.get_mut(VOL_D) {
                // 1.5–3 % free: below 5 % and below the 35 GB System State minimum.
                d.free = d.capacity / 1000 * between(rng, 15, 30);
            }
        }
        Scenario::DotnetOld => {
            h.dotnet = DotNet {
                release: 378_758,
                version: "4.5.50938",
            };
        }
        Scenario::SviAclBroken => {
            // Read & execute + synchronize only.
            h.svi.system_rights = 1_179_817;
        }
        Scenario::VssWriterTimeout => {
            if let Some(w) = h.writers.iter_mut().find(|w| w.name == "WMI Writer") {
                w.last_error = "Timed out";
            }
            let first = Duration::hours(between(rng, 26, 60) as i64);
            h.incidents.push(Incident::VssWriterTimeout { age: first });
            h.incidents.push(Incident::VssWriterTimeout {
                age: first + Duration::days(2),
            });
        }
        Scenario::ShadowStorageFull => {
            let cap = h.volumes.get(VOL_C).map_or(0, |c| c.capacity);
            if let Some(c) = h.volumes.get_mut(VOL_C) {
                // 2–4 % free: below the 5 % diff-area minimum.
                c.free = cap / 100 * between(rng, 2, 4);
            }
            if let Some(ss) = h.shadow_storage.first_mut() {
                ss.max = cap / 20;
                ss.allocated = ss.max - between(rng, 20, 200) * (1 << 20);
                ss.used = ss.allocated - between(rng, 1, 15) * (1 << 20);
            }
            h.incidents.push(Incident::VolsnapCannotGrow {
                age: Duration::hours(between(rng, 20, 70) as i64),
            });
        }
        Scenario::EfiLocked => {
            // The run three nights ago could not lock the ESP; the retries since
            // succeeded (the lock failure is reported as sporadic on 2022).
            if let Some(run) = h.runs.get_mut(2) {
                run.outcome = RunOutcome::EspLocked;
                run.duration = Duration::seconds(between(rng, 40, 200) as i64);
            }
        }
        Scenario::AzureVm => {
            h.platform.manufacturer = "Microsoft Corporation";
            h.platform.model = "Virtual Machine";
            h.platform.asset_tag = AZURE_ASSET_TAG;
            h.platform.chassis_type = 3;
            h.platform.hypervisor_present = true;
            h.platform.bios_manufacturer = "Microsoft Corporation";
            h.platform.bios_version = "Hyper-V UEFI Release v4.1";
            h.platform.serial = format!(
                "0000-0013-{:04}-{:04}-{:04}-{:04}-{:02}",
                rng.u32(1000..9999),
                rng.u32(1000..9999),
                rng.u32(1000..9999),
                rng.u32(1000..9999),
                rng.u32(10..99)
            );
            let pid = rng.u32(1000..8000) & !3;
            h.services.push(svc(
                "WindowsAzureGuestAgent",
                "Windows Azure Guest Agent",
                StartMode::Auto,
                SvcState::Running,
                "LocalSystem",
                "C:\\WindowsAzure\\GuestAgent_2.7.41491.1176_2025-09-17_180339\\WindowsAzureGuestAgent.exe",
                pid,
            ));
            h.services.push(svc(
                "RdAgent",
                "RdAgent",
                StartMode::Auto,
                SvcState::Running,
                "LocalSystem",
                "C:\\WindowsAzure\\Packages\\WaAppAgent.exe",
                pid + 4,
            ));
        }
        Scenario::ClockSkew => {
            h.clock.skew_ms = between(rng, 420_000, 600_000) as i64;
            h.clock.synced = false;
            h.clock.last_sync_age = Duration::days(between(rng, 20, 60) as i64);
        }
        Scenario::ServerCore => {
            h.os.installation_type = "Server Core";
        }
        Scenario::NotAdmin => {
            h.account.is_admin = false;
            h.vssadmin_error = Some(VssadminError::NotElevated);
        }
        Scenario::GermanLocale => {
            h.account.culture = "de-DE";
        }
    }
}

/// FNV-1a: a stable hash (std's `RandomState` changes per process).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// splitmix64 finaliser over two words.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn gib(n: u64) -> u64 {
        n << 30
    }

    #[test]
    fn same_scenario_host_and_seed_give_the_same_host() {
        let a = HostState::for_scenario(Scenario::Healthy, "srv-001", 7);
        let b = HostState::for_scenario(Scenario::Healthy, "srv-001", 7);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn other_host_names_vary_free_space() {
        let frees: Vec<u64> = (0..20)
            .map(|i| {
                HostState::for_scenario(Scenario::Healthy, &format!("srv-{i:03}"), 7).volumes[VOL_C]
                    .free
            })
            .collect();
        assert!(frees.iter().any(|f| *f != frees[0]));
    }

    #[test]
    fn computer_name_is_upper_case_netbios_name() {
        let h = HostState::for_scenario(Scenario::Healthy, "web-frontend-0001.corp.contoso.com", 1);
        assert_eq!(h.computer_name(), "WEB-FRONTEND-00");
    }

    #[test]
    fn guids_are_stable_per_tag_and_well_formed() {
        let h = HostState::for_scenario(Scenario::Healthy, "srv-1", 3);
        let g = h.guid("c");
        assert_eq!(g, h.guid("c"));
        assert_ne!(g, h.guid("d"));
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
    }

    #[test]
    fn scenario_variation_never_depends_on_the_scenario() {
        for s in Scenario::ALL {
            let h = HostState::for_scenario(s, "srv-042", 9);
            let healthy = HostState::for_scenario(Scenario::Healthy, "srv-042", 9);
            assert_eq!(
                h.resources.free_mem_kb, healthy.resources.free_mem_kb,
                "{s}"
            );
            assert_eq!(h.platform.ipv4, healthy.platform.ipv4, "{s}");
        }
    }

    #[test]
    fn low_scratch_space_leaves_less_than_five_percent_and_35_gib() {
        for i in 0..50 {
            let h = HostState::for_scenario(Scenario::LowScratchSpace, &format!("h{i}"), 1);
            let d = &h.volumes[VOL_D];
            assert!(d.free * 20 < d.capacity);
            assert!(d.free < gib(35));
        }
    }

    #[test]
    fn healthy_scratch_volume_has_room_for_system_state() {
        for i in 0..50 {
            let h = HostState::for_scenario(Scenario::Healthy, &format!("h{i}"), 1);
            for v in &h.volumes[VOL_C..=VOL_D] {
                assert!(v.free * 10 > v.capacity * 3, "{}", v.tag);
                assert!(v.free > gib(60));
            }
        }
    }
}
