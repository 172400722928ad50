//! The table of checks and of the probes (PowerShell snippets) that gather their
//! evidence, in run order: light and moderate probes first, heavy ones last.
//!
//! A probe's id is the id of the first check it serves (CONTRACTS.md, "The probe
//! program format"); several checks may share one probe (e.g. `host.context` serves
//! `host.context` and `os.supported_sku`).
//!
//! The snippets follow `probe-catalogue.md` §5 with these deliberate differences
//! (the data shapes are otherwise the document's):
//!
//! - Probe ids are first check ids: P06 emits `mars.scratch_config` (document:
//!   `mars.scratch`), P16 `azure.vm_detect` (`platform.identity`), P19
//!   `svc.rpcss_startup` (`svc.dependencies`). The old names are still accepted.
//! - External tools (`netsh`, `w32tm`, `icacls`) run through `RunExe` with a kill
//!   timer; their text lands in the same keys.
//! - P07 builds `expected_exclusions` without the document's `if` inside `@()` (a
//!   parse error); P28 writes `1048576`/`1024` instead of `1MB`/`1KB`.
//! - P31 wraps each event query in its own try and reports failures in `event_errors`.
//! - The heavy P23/P26 answer `{"skipped":"wsb_busy"}` when P20/P22 saw a running WSB
//!   operation, instead of enumerating writers or catalogues during a backup.
//! - P25 tolerates a missing SCM event log (its `scm_7000` is then empty).

use serde::Serialize;

use crate::report::model::Severity;

/// How long a check's probe may take on a host (probe-catalogue.md §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Under a second.
    Light,
    /// One to ten seconds.
    Moderate,
    /// May exceed ten seconds or block; runs last and only with `--deep`.
    Heavy,
}

impl Cost {
    /// The name used in `fleetscan checks` and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Cost::Light => "light",
            Cost::Moderate => "moderate",
            Cost::Heavy => "heavy",
        }
    }
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check of the catalogue. Ids are stable: reports, waivers and `--checks` use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckDef {
    /// Stable id, e.g. `svc.vss_startup`.
    pub id: &'static str,
    /// Short human title.
    pub title: &'static str,
    /// Section of Microsoft's article the check comes from (its heading text).
    pub seed_section: &'static str,
    /// How bad a failure is.
    pub severity: Severity,
    /// Cost class of the probe that gathers the evidence.
    pub cost: Cost,
    /// Id of the probe (the JSON line) that carries this check's evidence.
    pub probe: &'static str,
    /// What to do about a failure, in our own words.
    pub remediation: &'static str,
    /// Needs an elevated (administrator) token: `unknown` when the account is not elevated.
    pub admin_only: bool,
    /// Only meaningful with the MARS agent: `not_applicable` when MARS is not installed.
    pub mars_only: bool,
}

impl CheckDef {
    /// True for checks that run only with `--deep`.
    pub fn is_heavy(&self) -> bool {
        self.cost == Cost::Heavy
    }
}

/// A PowerShell probe: one block of the program, printing one JSON line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProbeDef {
    /// The id the block passes to `Emit` and names in its marker line.
    pub(crate) id: &'static str,
    /// The block: a try/catch that calls `Emit` exactly once.
    pub(crate) script: &'static str,
    /// Heavy probes run last and only with `--deep`.
    pub(crate) cost: Cost,
}

/// Every probe, in run order (heavy last).
pub(crate) const PROBES: &[ProbeDef] = &[
    probe(
        "host.context",
        include_str!("snippets/host_context.ps1"),
        Cost::Light,
    ),
    probe(
        "mars.installed",
        include_str!("snippets/mars_installed.ps1"),
        Cost::Light,
    ),
    probe(
        "mars.service_running",
        include_str!("snippets/mars_service.ps1"),
        Cost::Light,
    ),
    probe(
        "net.mars_endpoints",
        include_str!("snippets/net_endpoints.ps1"),
        Cost::Moderate,
    ),
    probe(
        "net.tls12",
        include_str!("snippets/net_tls12.ps1"),
        Cost::Light,
    ),
    probe(
        "mars.scratch_config",
        include_str!("snippets/mars_scratch.ps1"),
        Cost::Light,
    ),
    probe(
        "av.exclusions_and_conflicts",
        include_str!("snippets/av_exclusions.ps1"),
        Cost::Moderate,
    ),
    probe(
        "sched.mars_tasks",
        include_str!("snippets/sched_tasks.ps1"),
        Cost::Light,
    ),
    probe(
        "sched.powershell_env",
        include_str!("snippets/sched_psenv.ps1"),
        Cost::Light,
    ),
    probe(
        "os.updates_recent",
        include_str!("snippets/os_updates.ps1"),
        Cost::Moderate,
    ),
    probe(
        "vol.unsupported_sources",
        include_str!("snippets/vol_sources.ps1"),
        Cost::Moderate,
    ),
    probe(
        "time.clock_timezone",
        include_str!("snippets/time_clock.ps1"),
        Cost::Light,
    ),
    probe(
        "dotnet.version",
        include_str!("snippets/dotnet.ps1"),
        Cost::Light,
    ),
    probe(
        "mars.registration",
        include_str!("snippets/mars_registration.ps1"),
        Cost::Light,
    ),
    probe(
        "offline.azure_powershell",
        include_str!("snippets/offline_azps.ps1"),
        Cost::Moderate,
    ),
    probe(
        "azure.vm_detect",
        include_str!("snippets/platform.ps1"),
        Cost::Light,
    ),
    probe(
        "wsb.feature_installed",
        include_str!("snippets/wsb_feature.ps1"),
        Cost::Moderate,
    ),
    probe(
        "acl.svi_system_full_control",
        include_str!("snippets/svi_acl.ps1"),
        Cost::Light,
    ),
    probe(
        "svc.rpcss_startup",
        include_str!("snippets/services.ps1"),
        Cost::Light,
    ),
    probe(
        "wsb.cmdlets_available",
        include_str!("snippets/wsb_cmdlets.ps1"),
        Cost::Light,
    ),
    probe(
        "wsb.last_job",
        include_str!("snippets/wsb_jobs.ps1"),
        Cost::Moderate,
    ),
    probe(
        "wsb.summary",
        include_str!("snippets/wsb_summary.ps1"),
        Cost::Moderate,
    ),
    probe(
        "wsb.event_history",
        include_str!("snippets/wsb_events.ps1"),
        Cost::Moderate,
    ),
    probe(
        "sysstate.service_imagepaths",
        include_str!("snippets/service_imagepaths.ps1"),
        Cost::Moderate,
    ),
    probe(
        "vss.writer_timeout_events",
        include_str!("snippets/vss_events.ps1"),
        Cost::Moderate,
    ),
    probe(
        "vss.resource_pressure",
        include_str!("snippets/vss_pressure.ps1"),
        Cost::Moderate,
    ),
    probe(
        "vss.shadow_storage",
        include_str!("snippets/vss_shadow_storage.ps1"),
        Cost::Moderate,
    ),
    probe(
        "vss.volsnap_events",
        include_str!("snippets/vss_volsnap.ps1"),
        Cost::Moderate,
    ),
    probe(
        "efi.esp_lock",
        include_str!("snippets/efi_esp.ps1"),
        Cost::Moderate,
    ),
    probe(
        "mars.cloudbackup_events",
        include_str!("snippets/mars_events.ps1"),
        Cost::Moderate,
    ),
    probe(
        "wsb.backup_sets",
        include_str!("snippets/wsb_backup_sets.ps1"),
        Cost::Heavy,
    ),
    probe(
        "vss.writers",
        include_str!("snippets/vss_writers.ps1"),
        Cost::Heavy,
    ),
    probe(
        "mars.policy_and_jobs",
        include_str!("snippets/mars_policy.ps1"),
        Cost::Heavy,
    ),
];

const fn probe(id: &'static str, script: &'static str, cost: Cost) -> ProbeDef {
    ProbeDef { id, script, cost }
}

/// The probe with this id.
#[cfg(test)]
pub(crate) fn probe_def(id: &str) -> Option<&'static ProbeDef> {
    PROBES.iter().find(|p| p.id == id)
}

/// Other ids a probe line may carry for the same evidence: the names the catalogue
/// document's snippets used before the contract fixed "first check id".
pub(crate) const PROBE_ALIASES: &[(&str, &str)] = &[
    ("mars.scratch", "mars.scratch_config"),
    ("platform.identity", "azure.vm_detect"),
    ("svc.dependencies", "svc.rpcss_startup"),
];

/// Every check, in run order.
pub fn catalogue() -> &'static [CheckDef] {
    CHECKS
}

/// The check with this id.
pub fn check(id: &str) -> Option<&'static CheckDef> {
    CHECKS.iter().find(|c| c.id == id)
}

const ALL: &str = "Troubleshoot System State Backup";
const BASIC: &str = "Basic troubleshooting";
const LIMITATION: &str = "Limitation";
const WSB_INSTALLED: &str = "Verify Windows Server Backup is installed";
const SVI: &str = "System Volume information permission";
const DEP_SERVICES: &str = "Dependent services";
const WSB_STATUS: &str = "Validate Windows Server Backup status";
const VSS_TIMEOUT: &str = "VSS Writer timeout error";
const SHADOW_SPACE: &str = "Insufficient disk space to grow shadow copies";
const EFI: &str = "EFI partition locked";
const COMMON: &str = "Common Errors";

struct Flags {
    admin: bool,
    mars: bool,
}
const PLAIN: Flags = Flags {
    admin: false,
    mars: false,
};
const ADMIN: Flags = Flags {
    admin: true,
    mars: false,
};
const MARS: Flags = Flags {
    admin: false,
    mars: true,
};
const ADMIN_MARS: Flags = Flags {
    admin: true,
    mars: true,
};

#[allow(clippy::too_many_arguments)]
const fn def(
    id: &'static str,
    title: &'static str,
    seed_section: &'static str,
    severity: Severity,
    cost: Cost,
    probe: &'static str,
    flags: Flags,
    remediation: &'static str,
) -> CheckDef {
    CheckDef {
        id,
        title,
        seed_section,
        severity,
        cost,
        probe,
        remediation,
        admin_only: flags.admin,
        mars_only: flags.mars,
    }
}

use Cost::{Heavy, Light, Moderate};
use Severity::{Critical, High, Info, Low, Medium};

static CHECKS: &[CheckDef] = &[
    def(
        "host.context",
        "Host context (OS, account, culture)",
        ALL,
        Info,
        Light,
        "host.context",
        PLAIN,
        "Run the scan with an account that is a local administrator with a full (elevated) token over WinRM, such as a domain account in the local Administrators group.",
    ),
    def(
        "os.supported_sku",
        "Operating system supports MARS System State backup",
        BASIC,
        Critical,
        Light,
        "host.context",
        PLAIN,
        "Protect System State with MARS only on a 64-bit Windows Server edition with the Desktop Experience; choose another protection method for Server Core and client editions.",
    ),
    def(
        "mars.installed",
        "MARS agent installed",
        BASIC,
        Critical,
        Light,
        "mars.installed",
        PLAIN,
        "Install the Microsoft Azure Recovery Services agent from the Recovery Services vault; if registry and files disagree, reinstall it over the existing copy.",
    ),
    def(
        "mars.version",
        "MARS agent is up to date",
        BASIC,
        High,
        Light,
        "mars.installed",
        MARS,
        "Download the current agent from the vault and run it over the existing installation: it upgrades in place and keeps the registration.",
    ),
    def(
        "mars.service_running",
        "MARS agent service (obengine) running",
        BASIC,
        High,
        Light,
        "mars.service_running",
        MARS,
        "Set the Microsoft Azure Recovery Services Agent service back to automatic start and start it; if it keeps stopping, repair the agent or check its cache folder.",
    ),
    def(
        "net.mars_endpoints",
        "Network path from the server to Azure",
        BASIC,
        Critical,
        Moderate,
        "net.mars_endpoints",
        PLAIN,
        "Allow outbound HTTPS (443) from the server, or from the proxy it uses, to the Azure AD, Azure Storage and Azure Backup name spaces, and define that proxy for the SYSTEM account.",
    ),
    def(
        "net.tls12",
        "TLS 1.2 enabled for the agent",
        BASIC,
        High,
        Light,
        "net.tls12",
        PLAIN,
        "Keep TLS 1.2 enabled in the SChannel client settings and let .NET 4.x use the operating system's strong protocols (SystemDefaultTlsVersions and SchUseStrongCrypto set to 1), then restart the agent.",
    ),
    def(
        "mars.scratch_config",
        "MARS scratch (cache) folder configured on a supported volume",
        BASIC,
        High,
        Light,
        "mars.scratch_config",
        MARS,
        "Point both ScratchLocation registry values at the same existing folder on a local, fixed NTFS volume that is neither compressed, encrypted, sparse nor a reparse point, following Microsoft's cache-move procedure.",
    ),
    def(
        "mars.scratch_free_space",
        "Free space on the scratch volume",
        BASIC,
        High,
        Light,
        "mars.scratch_config",
        MARS,
        "Free space on the cache volume, or move the cache to a local volume with room for the System State image (tens of GB) plus a margin of the protected data.",
    ),
    def(
        "av.exclusions_and_conflicts",
        "Antivirus exclusions and other backup software",
        BASIC,
        Medium,
        Moderate,
        "av.exclusions_and_conflicts",
        ADMIN,
        "Exclude the agent's Scratch and Bin folders and cbengine.exe from real-time scanning in every endpoint product, and keep other backup software out of the System State backup window.",
    ),
    def(
        "sched.mars_tasks",
        "MARS scheduled backup tasks",
        BASIC,
        High,
        Light,
        "sched.mars_tasks",
        ADMIN_MARS,
        "Enable the Online Backup tasks and their triggers, run them as SYSTEM, and set them not to start a new instance while one runs; re-save the schedule in the agent console if a task is missing.",
    ),
    def(
        "sched.powershell_env",
        "PowerShell environment for scheduled backups",
        BASIC,
        High,
        Light,
        "sched.powershell_env",
        MARS,
        "Put the agent's Modules folder back on the machine-wide PSModulePath, repair missing MSOnlineBackup files by reinstalling the agent, and use RemoteSigned or a less strict machine execution policy.",
    ),
    def(
        "os.updates_recent",
        "Operating system updates are recent",
        BASIC,
        Medium,
        Moderate,
        "os.updates_recent",
        PLAIN,
        "Install the latest cumulative update (and servicing stack update) through the usual patch process, then scan again.",
    ),
    def(
        "vol.unsupported_sources",
        "Backup sources are supported volumes",
        BASIC,
        High,
        Moderate,
        "vol.unsupported_sources",
        ADMIN,
        "Keep the boot and system volumes on local, online, writable, unlocked NTFS; take removable, network, locked or non-NTFS volumes out of the backup scope.",
    ),
    def(
        "time.clock_timezone",
        "System clock and time zone",
        BASIC,
        Medium,
        Light,
        "time.clock_timezone",
        PLAIN,
        "Set the right time zone and synchronise the clock with the domain hierarchy or a reliable NTP source; review backup times after daylight-saving changes.",
    ),
    def(
        "dotnet.version",
        ".NET Framework 4.6.2 or later",
        BASIC,
        High,
        Light,
        "dotnet.version",
        PLAIN,
        "Install a current .NET Framework 4.8 or 4.8.1 runtime and restart the server before testing again.",
    ),
    def(
        "mars.registration",
        "MARS agent registered to a vault",
        BASIC,
        Medium,
        Light,
        "mars.registration",
        MARS,
        "Register the server with the intended vault. To move it to another vault, remove the agent and the server's entry in the portal first, then register again with the original passphrase.",
    ),
    def(
        "offline.azure_powershell",
        "Azure PowerShell 3.7.0 for offline backup",
        BASIC,
        Low,
        Moderate,
        "offline.azure_powershell",
        PLAIN,
        "Only for offline seeding of files and folders: install the Azure PowerShell 3.7.0 release on the source and on the disk-preparation computer first.",
    ),
    def(
        "azure.vm_detect",
        "Azure virtual machine detection",
        BASIC,
        Info,
        Light,
        "azure.vm_detect",
        PLAIN,
        "On an Azure VM, protect the machine with Azure VM backup (the VM extension) rather than the MARS agent's System State backup.",
    ),
    def(
        "limit.azure_vm_system_state",
        "System State backup is not available on Azure VMs",
        LIMITATION,
        Critical,
        Light,
        "azure.vm_detect",
        PLAIN,
        "Use Azure VM backup for Azure virtual machines; keep MARS System State backup for on-premises servers.",
    ),
    def(
        "limit.restore_hardware",
        "System State restore to the same hardware",
        LIMITATION,
        Info,
        Light,
        "azure.vm_detect",
        PLAIN,
        "Plan System State restores onto the same or equivalent hardware; use bare-metal recovery when the hardware differs.",
    ),
    def(
        "wsb.feature_installed",
        "Windows Server Backup feature installed",
        WSB_INSTALLED,
        Critical,
        Moderate,
        "wsb.feature_installed",
        PLAIN,
        "Add the Windows Server Backup feature in a change window (Server Manager or the ServerManager cmdlets); the scanner never installs anything.",
    ),
    def(
        "acl.svi_system_full_control",
        "SYSTEM has full control of System Volume Information",
        SVI,
        Critical,
        Light,
        "acl.svi_system_full_control",
        ADMIN,
        "Give NT AUTHORITY\\SYSTEM full control of the system drive's System Volume Information folder again and remove any deny entry, ideally by restoring that folder's default ACL.",
    ),
    def(
        "svc.rpcss_startup",
        "Remote Procedure Call (RpcSs) automatic and running",
        DEP_SERVICES,
        Critical,
        Light,
        "svc.rpcss_startup",
        PLAIN,
        "Set Remote Procedure Call (RpcSs) back to automatic start and undo the baseline that changed it.",
    ),
    def(
        "svc.eventsystem_startup",
        "COM+ Event System automatic and running",
        DEP_SERVICES,
        Critical,
        Light,
        "svc.rpcss_startup",
        PLAIN,
        "Set COM+ Event System (EventSystem) back to automatic start, start it, and undo the baseline that changed it.",
    ),
    def(
        "svc.sens_startup",
        "System Event Notification Service automatic and running",
        DEP_SERVICES,
        Critical,
        Light,
        "svc.rpcss_startup",
        PLAIN,
        "Set System Event Notification Service (SENS) back to automatic start, start it, and undo the baseline that changed it.",
    ),
    def(
        "svc.vss_startup",
        "Volume Shadow Copy service startup type Manual",
        DEP_SERVICES,
        Critical,
        Light,
        "svc.rpcss_startup",
        PLAIN,
        "Set Volume Shadow Copy (VSS) back to manual (demand) start; it starts itself when a backup needs it.",
    ),
    def(
        "svc.swprv_startup",
        "Microsoft Software Shadow Copy Provider startup type Manual",
        DEP_SERVICES,
        Critical,
        Light,
        "svc.rpcss_startup",
        PLAIN,
        "Set Microsoft Software Shadow Copy Provider (swprv) back to manual (demand) start.",
    ),
    def(
        "wsb.cmdlets_available",
        "Windows Server Backup PowerShell works",
        WSB_STATUS,
        Critical,
        Light,
        "wsb.cmdlets_available",
        ADMIN,
        "Add or repair the Windows Server Backup feature so that its PowerShell module (Get-WBJob) is present, then scan again.",
    ),
    def(
        "wsb.last_job",
        "Last Windows Server Backup job succeeded",
        WSB_STATUS,
        High,
        Moderate,
        "wsb.last_job",
        ADMIN,
        "Fix the cause named by the last WSB error (VSS writer, shadow storage, EFI lock or a bad service path), then prove WSB works with a one-off System State backup to a spare volume.",
    ),
    def(
        "wsb.summary",
        "Windows Server Backup summary healthy",
        WSB_STATUS,
        High,
        Moderate,
        "wsb.summary",
        ADMIN,
        "Clear the error shown in the WSB summary and confirm with a fresh successful System State backup.",
    ),
    def(
        "wsb.event_history",
        "Windows Server Backup event history",
        WSB_STATUS,
        High,
        Moderate,
        "wsb.event_history",
        ADMIN,
        "Use the error code of the failing WSB event to pick the fix (EFI lock, VSS writer or shadow storage, service image path), then confirm with a successful run.",
    ),
    def(
        "sysstate.service_imagepaths",
        "Service image paths are valid (System State enumeration)",
        WSB_STATUS,
        High,
        Moderate,
        "sysstate.service_imagepaths",
        PLAIN,
        "Correct each flagged service's executable path so it names a real file, or remove the broken software with its vendor's help, then rerun the System State backup.",
    ),
    def(
        "vss.writer_timeout_events",
        "No recent VSS writer timeouts (0x800423f2)",
        VSS_TIMEOUT,
        High,
        Moderate,
        "vss.writer_timeout_events",
        PLAIN,
        "Run System State backups when the server is quiet and no other product is taking snapshots; investigate the named writer's application if timeouts recur.",
    ),
    def(
        "vss.resource_pressure",
        "CPU, memory and concurrent backups",
        VSS_TIMEOUT,
        Medium,
        Moderate,
        "vss.resource_pressure",
        PLAIN,
        "Move the backup to a quiet window away from other backup products and batch jobs, and add memory or CPU if the server is routinely saturated.",
    ),
    def(
        "vss.shadow_storage",
        "Shadow copy storage has room to grow",
        SHADOW_SPACE,
        High,
        Moderate,
        "vss.shadow_storage",
        ADMIN,
        "Free space on the affected volume or move the shadow storage to a larger volume; if a limit is the problem, raise it deliberately (vssadmin resize shadowstorage) as an operator action.",
    ),
    def(
        "vss.volsnap_events",
        "No recent shadow storage growth failures",
        SHADOW_SPACE,
        High,
        Moderate,
        "vss.volsnap_events",
        PLAIN,
        "Give the named volume enough free space for the shadow storage to grow during the backup, or move or resize the storage area, then retry.",
    ),
    def(
        "efi.esp_lock",
        "EFI system partition not locked by other software",
        EFI,
        Critical,
        Moderate,
        "efi.esp_lock",
        ADMIN,
        "Ask the security vendor to stop holding the EFI system partition during the backup window (or to exclude the agent), and keep other backup software from overlapping the System State job.",
    ),
    def(
        "mars.cloudbackup_events",
        "MARS agent error events",
        COMMON,
        Medium,
        Moderate,
        "mars.cloudbackup_events",
        MARS,
        "Read the agent's error events around the failed job and fix the cause they name.",
    ),
    def(
        "wsb.backup_sets",
        "Windows Server Backup versions on record",
        WSB_STATUS,
        Low,
        Heavy,
        "wsb.backup_sets",
        ADMIN,
        "If no successful WSB System State backup is on record, run one to a spare volume in a maintenance window to prove the WSB layer works.",
    ),
    def(
        "vss.writers",
        "VSS writers stable (System Writer present)",
        VSS_TIMEOUT,
        Critical,
        Heavy,
        "vss.writers",
        ADMIN,
        "Let running backups finish, then clear failed writers by restarting the service that owns each one (or the server) in a quiet period, and retry when CPU and memory are free.",
    ),
    def(
        "mars.policy_and_jobs",
        "MARS System State policy and last job",
        COMMON,
        High,
        Heavy,
        "mars.policy_and_jobs",
        ADMIN_MARS,
        "Create or resume the System State policy in the agent, and fix the failure named by the last job before relying on the schedule.",
    ),
];
