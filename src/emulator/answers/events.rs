//! The host's event logs, generated from its backup history and incidents, and
//! `Get-WinEvent -FilterHashtable` over them (newest first, `-MaxEvents`).

use time::{Duration, OffsetDateTime};

use super::Ctx;
use super::clock::{iso_utc, wsb_version_id};
use super::json::{J, obj};
use crate::emulator::host::{HostState, Incident, RunOutcome};

/// Log names used by the probes.
pub(crate) const LOG_WSB: &str = "Microsoft-Windows-Backup";
pub(crate) const LOG_APPLICATION: &str = "Application";
pub(crate) const LOG_SYSTEM: &str = "System";
pub(crate) const LOG_CLOUDBACKUP: &str = "CloudBackup/Operational";

/// What `Get-WinEvent` throws when the account may not read a log.
pub(crate) const UNAUTHORIZED: &str = "Attempted to perform an unauthorized operation.";

/// WSB HRESULT for "could not lock the EFI system partition".
pub(crate) const HR_ESP_LOCK: u32 = 0x8078_011E;
/// Detailed HRESULT of the ESP lock failure (E_ACCESSDENIED).
pub(crate) const HR_ACCESS_DENIED: u32 = 0x8007_0005;

/// One event record.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) log: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) id: u32,
    pub(crate) level: u8,
    pub(crate) time: OffsetDateTime,
    pub(crate) record_id: u64,
    /// `EventData` as (Name, text) — also the order of `Properties`.
    pub(crate) data: Vec<(&'static str, String)>,
}

impl Event {
    /// `EvOut` of the preamble: time, id, provider, level, record id, first ten
    /// property values cut to 400 characters.
    pub(crate) fn ev_out(&self) -> J {
        let props: Vec<J> = self
            .data
            .iter()
            .take(10)
            .map(|(_, v)| J::from(cut400(v)))
            .collect();
        obj! {
            "time_utc" => iso_utc(self.time),
            "id" => self.id,
            "provider" => self.provider,
            "level" => self.level,
            "record_id" => self.record_id,
            "props" => J::Arr(props),
        }
    }

    /// `WsbEvOut` of P24: `EvOut` plus the named `EventData` values.
    pub(crate) fn wsb_ev_out(&self) -> J {
        let mut o = self.ev_out();
        let data = J::Obj(
            self.data
                .iter()
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (std::borrow::Cow::Borrowed(*k), J::from(cut400(v))))
                .collect(),
        );
        o.set("data", data);
        o
    }

    /// The property values joined with spaces (`$o.props -join ' '`).
    pub(crate) fn props_text(&self) -> String {
        self.data
            .iter()
            .take(10)
            .map(|(_, v)| cut400(v))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn cut400(s: &str) -> String {
    if s.chars().count() > 400 {
        s.chars().take(400).collect()
    } else {
        s.to_owned()
    }
}

/// A `-FilterHashtable` query.
pub(crate) struct Filter<'a> {
    pub(crate) log: &'static str,
    pub(crate) provider: Option<&'static str>,
    pub(crate) ids: &'a [u32],
    pub(crate) levels: &'a [u8],
    pub(crate) since: OffsetDateTime,
    pub(crate) max: usize,
}

/// Whether the log exists on the host.
pub(crate) fn log_exists(host: &HostState, log: &str) -> bool {
    match log {
        LOG_WSB => host.wsb_installed,
        LOG_CLOUDBACKUP => host.mars.is_some(),
        _ => true,
    }
}

/// `Get-EventsSafe`: the matching events newest first, `Ok(empty)` when none
/// match, `Err(message)` when `Get-WinEvent` throws something else.
pub(crate) fn query<'c>(ctx: &'c Ctx<'_>, f: &Filter<'_>) -> Result<Vec<&'c Event>, String> {
    let host = ctx.host;
    if !log_exists(host, f.log) {
        return Err(format!(
            "There is not an event log on the localhost computer that matches \"{}\".",
            f.log
        ));
    }
    if !host.is_admin() {
        return Err(UNAUTHORIZED.to_owned());
    }
    let mut out: Vec<&Event> = ctx
        .events
        .get_or_init(|| all_events(host, ctx.now))
        .iter()
        .filter(|e| {
            e.log == f.log
                && f.provider
                    .is_none_or(|p| p.eq_ignore_ascii_case(e.provider))
                && (f.ids.is_empty() || f.ids.contains(&e.id))
                && (f.levels.is_empty() || f.levels.contains(&e.level))
                && e.time >= f.since
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse((e.time, e.record_id)));
    out.truncate(f.max);
    Ok(out)
}

/// When a run started and ended on the host clock.
pub(crate) fn run_times(
    now: OffsetDateTime,
    age: Duration,
    duration: Duration,
) -> (OffsetDateTime, OffsetDateTime) {
    let start = now - age;
    (start, start + duration)
}

/// Every event the model knows, in no particular order.
pub(crate) fn all_events(host: &HostState, now: OffsetDateTime) -> Vec<Event> {
    let mut out = Vec::new();
    let mut record: u64 = 4_000 + (host.host_seed % 5_000);
    let mut next = || {
        record += 1;
        record
    };
    let target = format!("\\\\?\\Volume{{{}}}", host.guid("cbssbvol"));
    // Oldest first so that record ids grow with time.
    let mut runs: Vec<_> = host.runs.iter().collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.age));
    for run in runs {
        let (start, end) = run_times(now, run.age, run.duration);
        if host.wsb_installed {
            out.push(Event {
                log: LOG_WSB,
                provider: "Microsoft-Windows-Backup",
                id: 1,
                level: 4,
                time: start,
                record_id: next(),
                data: vec![],
            });
        }
        let volumes_info = |name: &str, hr: i32, detailed: i32, state: u32| {
            format!(
                "<VolumeInfo><VolumeInfoItem Name=\"{name}\" OriginalAccessPath=\"\\\\?\\Volume{{{}}}\\\" State=\"{state}\" HResult=\"{hr}\" DetailedHResult=\"{detailed}\" IsCritical=\"1\" IsIncremental=\"0\" BlockLevel=\"1\" HasFiles=\"0\" HasSystemState=\"1\" IsCompacted=\"0\" IsPruned=\"0\" IsUnsupported=\"0\" Reserved1=\"0\"/></VolumeInfo>",
                host.guid("esp")
            )
        };
        match run.outcome {
            RunOutcome::Succeeded => {
                if host.wsb_installed {
                    out.push(Event {
                        log: LOG_WSB,
                        provider: "Microsoft-Windows-Backup",
                        id: 14,
                        level: 4,
                        time: end,
                        record_id: next(),
                        data: vec![],
                    });
                    out.push(Event {
                        log: LOG_WSB,
                        provider: "Microsoft-Windows-Backup",
                        id: 4,
                        level: 4,
                        time: end,
                        record_id: next(),
                        data: vec![
                            ("BackupTime", iso_utc(start)),
                            ("BackupTarget", target.clone()),
                            ("HRESULT", "0x0".to_owned()),
                            ("DetailedHRESULT", "0x0".to_owned()),
                            ("VersionId", wsb_version_id(start)),
                            ("BackupState", "1".to_owned()),
                        ],
                    });
                }
            }
            RunOutcome::EspLocked => {
                #[allow(clippy::cast_possible_wrap)]
                let (hr, detailed) = (HR_ESP_LOCK as i32, HR_ACCESS_DENIED as i32);
                if host.wsb_installed {
                    out.push(Event {
                        log: LOG_WSB,
                        provider: "Microsoft-Windows-Backup",
                        id: 5,
                        level: 2,
                        time: end,
                        record_id: next(),
                        data: vec![
                            ("BackupTime", iso_utc(start)),
                            ("BackupTarget", target.clone()),
                            ("HRESULT", format!("{HR_ESP_LOCK:#x}")),
                            ("DetailedHRESULT", format!("{HR_ACCESS_DENIED:#x}")),
                            ("ErrorMessage", "%%2155348254".to_owned()),
                            ("VolumesInfo", volumes_info("Esp", hr, detailed, 13)),
                            ("BackupState", "5".to_owned()),
                        ],
                    });
                    out.push(Event {
                        log: LOG_APPLICATION,
                        provider: "Microsoft-Windows-Backup",
                        id: 517,
                        level: 2,
                        time: end,
                        record_id: next(),
                        data: vec![
                            ("BackupTime", iso_utc(start)),
                            ("ErrorCode", "2155348254".to_owned()),
                            ("ErrorMessage", "%%2155348254".to_owned()),
                        ],
                    });
                }
                if host.mars.is_some() {
                    out.push(Event {
                        log: LOG_CLOUDBACKUP,
                        provider: "CloudBackup",
                        id: 11,
                        level: 2,
                        time: end + Duration::seconds(2),
                        record_id: next(),
                        data: vec![
                            (
                                "",
                                "System state backup failed as the EFI system partition is locked."
                                    .to_owned(),
                            ),
                            ("", "2155348254".to_owned()),
                        ],
                    });
                }
            }
        }
    }
    for incident in &host.incidents {
        match *incident {
            Incident::VssWriterTimeout { age } => out.push(Event {
                log: LOG_APPLICATION,
                provider: "VSS",
                id: 8229,
                level: 3,
                time: now - age,
                record_id: next(),
                data: vec![
                    ("", "0x800423f2, The writer's timeout expired between the Freeze and Thaw events.".to_owned()),
                    ("", format!(
                        "\n\nOperation:\n   Thaw Event\n\nContext:\n   Execution Context: Writer\n   Writer Class Id: {{a6ad56c2-b509-4e6c-bb19-49d8f43532f0}}\n   Writer Name: WMI Writer\n   Writer Instance ID: {{{}}}\n   Command Line: C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Winmgmt\n   Process ID: 2264",
                        host.guid("writer-WMI Writer")
                    )),
                    ("", "2D20436F64653A20575254575254494330303030303537312D2043616C6C3A20575254575254494330303030303534332D205049443A202030303030323236342D205449443A202030303030313536382D20434D443A2020433A5C57696E646F77735C73797374656D33325C737663686F73742E657865202D6B206E6574737663732D20".to_owned()),
                ],
            }),
            Incident::VolsnapCannotGrow { age } => out.push(Event {
                log: LOG_SYSTEM,
                provider: "volsnap",
                id: 24,
                level: 3,
                time: now - age,
                record_id: next(),
                data: vec![
                    ("", "\\Device\\HarddiskVolumeShadowCopy3".to_owned()),
                    ("", "C:".to_owned()),
                    ("", "C:".to_owned()),
                ],
            }),
        }
    }
    out
}
