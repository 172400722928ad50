//! Named scenarios: each is one small, deliberate change from a healthy Windows
//! Server 2022 host, chosen so that it flips the verdict of the checks it is about
//! (and, where Windows itself ties them together, their close neighbours) and no
//! others.
//!
//! What each scenario changes in the verdicts (pinned by `tests/scenarios_verdicts.rs`):
//!
//! | scenario | checks it flips (besides healthy's pass) |
//! |---|---|
//! | `wsb_missing` | `wsb.feature_installed`, `wsb.cmdlets_available` fail; `wsb.last_job`, `wsb.summary`, `wsb.backup_sets`, `wsb.event_history` unknown |
//! | `vss_disabled` | `svc.vss_startup` fail; `vss.writers` unknown (vssadmin cannot start VSS) |
//! | `swprv_disabled` | `svc.swprv_startup` fail |
//! | `rpc_manual` | `svc.rpcss_startup` warn |
//! | `mars_missing` | `mars.installed` fail; every MARS-only check not_applicable |
//! | `mars_outdated` | `mars.version` fail (2.0.9197.0 < 2.0.9249.0) |
//! | `mars_stopped` | `mars.service_running` warn; `mars.policy_and_jobs` unknown (engine not running) |
//! | `low_scratch_space` | `mars.scratch_free_space` fail |
//! | `dotnet_old` | `dotnet.version` fail |
//! | `svi_acl_broken` | `acl.svi_system_full_control` fail |
//! | `vss_writer_timeout` | `vss.writer_timeout_events`, `vss.writers` fail |
//! | `shadow_storage_full` | `vss.shadow_storage`, `vss.volsnap_events` fail |
//! | `efi_locked` | `efi.esp_lock` fail; `wsb.event_history`, `mars.cloudbackup_events` warn (a later retry succeeded) |
//! | `azure_vm` | `limit.azure_vm_system_state` fail; `azure.vm_detect` reports the VM |
//! | `clock_skew` | `time.clock_timezone` fail |
//! | `server_core` | `os.supported_sku` fail |
//! | `not_admin` | `host.context` warn; admin-only checks unknown |
//! | `german_locale` | none (localized console text must not change a verdict) |

use std::fmt;
use std::str::FromStr;

/// A named host state the emulator can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// Windows Server 2022 Standard (Desktop Experience), domain member, elevated
    /// account, current MARS agent registered to a vault, every check passing.
    Healthy,
    /// The Windows-Server-Backup feature is not installed (InstallState Available).
    WsbMissing,
    /// The Volume Shadow Copy service (VSS) is disabled.
    VssDisabled,
    /// The Microsoft Software Shadow Copy Provider service (swprv) is disabled.
    SwprvDisabled,
    /// The RPC service (RpcSs) is set to Manual instead of Automatic.
    RpcManual,
    /// The MARS agent was never installed.
    MarsMissing,
    /// The MARS agent is installed but older than the registration-fix release.
    MarsOutdated,
    /// The MARS agent service (obengine) is stopped (it crashed; start mode Auto).
    MarsStopped,
    /// The volume that holds the MARS scratch (cache) folder is almost full.
    LowScratchSpace,
    /// .NET Framework 4.x is older than 4.5.2.
    DotnetOld,
    /// SYSTEM lost full control of `C:\System Volume Information`.
    SviAclBroken,
    /// A VSS writer timed out (VSS 8229 with 0x800423f2, writer last error "Timed out").
    VssWriterTimeout,
    /// The shadow copy storage of C: cannot grow (volume nearly full, volsnap 24).
    ShadowStorageFull,
    /// A WSB System State run failed to lock the EFI system partition (0x8078011E).
    EfiLocked,
    /// The server is an Azure VM (SMBIOS asset tag 7783-7084-3265-9085-8269-3286-77).
    AzureVm,
    /// The clock is several minutes off and not synchronised.
    ClockSkew,
    /// Server Core installation (no Desktop Experience).
    ServerCore,
    /// The account is not elevated (UAC-filtered local account or not an administrator).
    NotAdmin,
    /// A German (de-DE) installation: console tools and display names are localized,
    /// nothing is wrong. Text parsers must not misjudge it.
    GermanLocale,
}

impl Scenario {
    /// Every scenario, healthy first.
    pub const ALL: [Scenario; 19] = [
        Scenario::Healthy,
        Scenario::WsbMissing,
        Scenario::VssDisabled,
        Scenario::SwprvDisabled,
        Scenario::RpcManual,
        Scenario::MarsMissing,
        Scenario::MarsOutdated,
        Scenario::MarsStopped,
        Scenario::LowScratchSpace,
        Scenario::DotnetOld,
        Scenario::SviAclBroken,
        Scenario::VssWriterTimeout,
        Scenario::ShadowStorageFull,
        Scenario::EfiLocked,
        Scenario::AzureVm,
        Scenario::ClockSkew,
        Scenario::ServerCore,
        Scenario::NotAdmin,
        Scenario::GermanLocale,
    ];

    /// The snake_case name used on the command line and in inventories.
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::WsbMissing => "wsb_missing",
            Scenario::VssDisabled => "vss_disabled",
            Scenario::SwprvDisabled => "swprv_disabled",
            Scenario::RpcManual => "rpc_manual",
            Scenario::MarsMissing => "mars_missing",
            Scenario::MarsOutdated => "mars_outdated",
            Scenario::MarsStopped => "mars_stopped",
            Scenario::LowScratchSpace => "low_scratch_space",
            Scenario::DotnetOld => "dotnet_old",
            Scenario::SviAclBroken => "svi_acl_broken",
            Scenario::VssWriterTimeout => "vss_writer_timeout",
            Scenario::ShadowStorageFull => "shadow_storage_full",
            Scenario::EfiLocked => "efi_locked",
            Scenario::AzureVm => "azure_vm",
            Scenario::ClockSkew => "clock_skew",
            Scenario::ServerCore => "server_core",
            Scenario::NotAdmin => "not_admin",
            Scenario::GermanLocale => "german_locale",
        }
    }

    /// One line saying what differs from `healthy`.
    pub fn description(&self) -> &'static str {
        match self {
            Scenario::Healthy => "Windows Server 2022, current MARS agent, everything passing",
            Scenario::WsbMissing => "Windows Server Backup feature not installed",
            Scenario::VssDisabled => "Volume Shadow Copy service disabled",
            Scenario::SwprvDisabled => "Microsoft Software Shadow Copy Provider disabled",
            Scenario::RpcManual => "RPC service start type Manual instead of Automatic",
            Scenario::MarsMissing => "MARS agent not installed",
            Scenario::MarsOutdated => "MARS agent 2.0.9197.0 (older than 2.0.9249.0)",
            Scenario::MarsStopped => "MARS agent service stopped",
            Scenario::LowScratchSpace => "MARS scratch volume almost full",
            Scenario::DotnetOld => ".NET Framework 4.5.1 (Release 378758)",
            Scenario::SviAclBroken => "SYSTEM lacks full control on System Volume Information",
            Scenario::VssWriterTimeout => "VSS writer timeout 0x800423f2 in the last days",
            Scenario::ShadowStorageFull => "C: nearly full, shadow storage cannot grow",
            Scenario::EfiLocked => "WSB failed to lock the EFI system partition (0x8078011E)",
            Scenario::AzureVm => "runs as an Azure virtual machine",
            Scenario::ClockSkew => "clock several minutes off, no time source",
            Scenario::ServerCore => "Server Core installation",
            Scenario::NotAdmin => "scan account is not elevated",
            Scenario::GermanLocale => "German (de-DE) installation, everything passing",
        }
    }

    /// Looks a scenario up by its [`name`](Scenario::name).
    ///
    /// # Errors
    /// [`UnknownScenario`] (listing the valid names) when `name` is not one.
    pub fn from_name(name: &str) -> Result<Scenario, UnknownScenario> {
        let wanted = name.trim();
        Scenario::ALL
            .iter()
            .copied()
            .find(|s| s.name().eq_ignore_ascii_case(wanted) || s.name().replace('_', "-") == wanted)
            .ok_or_else(|| UnknownScenario {
                name: name.to_owned(),
            })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::from_name(s)
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario '{name}'; valid scenarios are: {}", valid_names())]
pub struct UnknownScenario {
    /// The name that was asked for.
    pub name: String,
}

fn valid_names() -> String {
    Scenario::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_round_trips_through_its_name() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Ok(s));
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
    }

    #[test]
    fn scenario_names_are_unique_snake_case() {
        let mut names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Scenario::ALL.len());
    }

    #[test]
    fn unknown_scenario_error_lists_valid_names() {
        let err = Scenario::from_name("healty").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'healty'"), "{text}");
        assert!(text.contains("healthy, wsb_missing"), "{text}");
        assert!(text.contains("not_admin"), "{text}");
    }

    #[test]
    fn kebab_case_and_upper_case_names_are_accepted() {
        assert_eq!(
            Scenario::from_name("mars-missing"),
            Ok(Scenario::MarsMissing)
        );
        assert_eq!(Scenario::from_name("EFI_LOCKED"), Ok(Scenario::EfiLocked));
    }
}
