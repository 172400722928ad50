//! Thresholds Microsoft does not publish, as settings with documented defaults
//! (`--set key=value`). Each key's doc says its unit and why the default was chosen.

use std::collections::BTreeMap;

use super::error::ProbeError;
use super::value::Version4;

/// The thresholds and options the judges use. `Settings::default()` holds the
/// documented defaults; [`Settings::set`] changes one by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `scratch_free_pct_warn` (percent, default 10): the scratch volume warns below
    /// this share of free space (Microsoft: "5-10% free volume space").
    pub scratch_free_pct_warn: f64,
    /// `scratch_free_pct_fail` (percent, default 5): fails below this share.
    pub scratch_free_pct_fail: f64,
    /// `scratch_system_state_gb` (GB, default 35): free GB the System State copy needs
    /// on the scratch volume (FAQ: "an additional 30-35 GB").
    pub scratch_system_state_gb: f64,
    /// `scratch_system_state_gb_min` (GB, default 30): below this the check fails.
    pub scratch_system_state_gb_min: f64,
    /// `protected_data_gb` (GB, default 0): size of the other data MARS protects; adds
    /// 10 % (pass) / 5 % (warn floor) of it to the scratch requirement.
    pub protected_data_gb: f64,
    /// `clock_skew_warn_seconds` (seconds, default 60).
    pub clock_skew_warn_seconds: u64,
    /// `clock_skew_fail_seconds` (seconds, default 300, the usual Kerberos tolerance).
    pub clock_skew_fail_seconds: u64,
    /// `expected_time_zone` (Windows time zone id, default empty = any).
    pub expected_time_zone: String,
    /// `update_age_warn_days` (days, default 45): newest update older than this warns.
    pub update_age_warn_days: u64,
    /// `update_age_fail_days` (days, default 90): older than this fails.
    pub update_age_fail_days: u64,
    /// `mars_latest_known` (version, default 2.0.9262.0, the newest number in the
    /// sources consulted): older agents warn.
    pub mars_latest_known: Version4,
    /// `event_recent_days` (days, default 7): a failure event this recent fails a check;
    /// older ones (within the probes' 30-day window) only warn.
    pub event_recent_days: u64,
    /// `wsb_max_age_days` (days, default 30): last successful WSB backup older than this warns.
    pub wsb_max_age_days: u64,
    /// `shadow_free_pct_warn` (percent, default 10): diff-area volume free share that warns.
    pub shadow_free_pct_warn: f64,
    /// `shadow_free_pct_fail` (percent, default 5): free share that fails.
    pub shadow_free_pct_fail: f64,
    /// `shadow_min_free_gib` (GiB, default 2): absolute free space below which a diff-area volume fails.
    pub shadow_min_free_gib: f64,
    /// `mem_free_pct_warn` (percent, default 10).
    pub mem_free_pct_warn: f64,
    /// `mem_free_pct_fail` (percent, default 5; also below 100 MB).
    pub mem_free_pct_fail: f64,
    /// `cpu_pct_warn` (percent, default 61, Azure Backup slow-backup article).
    pub cpu_pct_warn: f64,
    /// `cpu_pct_high` (percent, default 91): "critical" CPU; still only a warning for a snapshot.
    pub cpu_pct_high: f64,
    /// `disk_idle_pct_warn` (percent, default 20).
    pub disk_idle_pct_warn: f64,
    /// `expect_system_state_policy` (bool, default true): a MARS host without a System State policy fails.
    pub expect_system_state_policy: bool,
    /// `offline_seeding` (bool, default false): hosts are offline-seeding machines, so
    /// Azure PowerShell 3.7.0 is required.
    pub offline_seeding: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scratch_free_pct_warn: 10.0,
            scratch_free_pct_fail: 5.0,
            scratch_system_state_gb: 35.0,
            scratch_system_state_gb_min: 30.0,
            protected_data_gb: 0.0,
            clock_skew_warn_seconds: 60,
            clock_skew_fail_seconds: 300,
            expected_time_zone: String::new(),
            update_age_warn_days: 45,
            update_age_fail_days: 90,
            mars_latest_known: Version4([2, 0, 9262, 0]),
            event_recent_days: 7,
            wsb_max_age_days: 30,
            shadow_free_pct_warn: 10.0,
            shadow_free_pct_fail: 5.0,
            shadow_min_free_gib: 2.0,
            mem_free_pct_warn: 10.0,
            mem_free_pct_fail: 5.0,
            cpu_pct_warn: 61.0,
            cpu_pct_high: 91.0,
            disk_idle_pct_warn: 20.0,
            expect_system_state_policy: true,
            offline_seeding: false,
        }
    }
}

/// Every key, in the order `to_map` and error messages list them.
pub(crate) const KEYS: &[&str] = &[
    "clock_skew_fail_seconds",
    "clock_skew_warn_seconds",
    "cpu_pct_high",
    "cpu_pct_warn",
    "disk_idle_pct_warn",
    "event_recent_days",
    "expect_system_state_policy",
    "expected_time_zone",
    "mars_latest_known",
    "mem_free_pct_fail",
    "mem_free_pct_warn",
    "offline_seeding",
    "protected_data_gb",
    "scratch_free_pct_fail",
    "scratch_free_pct_warn",
    "scratch_system_state_gb",
    "scratch_system_state_gb_min",
    "shadow_free_pct_fail",
    "shadow_free_pct_warn",
    "shadow_min_free_gib",
    "update_age_fail_days",
    "update_age_warn_days",
    "wsb_max_age_days",
];

fn invalid(key: &str, value: &str, expected: &str) -> ProbeError {
    ProbeError::InvalidSettingValue {
        key: key.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

fn parse_u64(key: &str, value: &str) -> Result<u64, ProbeError> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| invalid(key, value, "a whole number >= 0"))
}

fn parse_pct(key: &str, value: &str) -> Result<f64, ProbeError> {
    match value.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(invalid(key, value, "a percentage between 0 and 100")),
    }
}

fn parse_amount(key: &str, value: &str) -> Result<f64, ProbeError> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(invalid(key, value, "a number >= 0")),
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ProbeError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(invalid(key, value, "true or false")),
    }
}

impl Settings {
    /// Changes one setting from its text form, e.g. `set("clock_skew_warn_seconds", "90")`.
    ///
    /// # Errors
    ///
    /// [`ProbeError::UnknownSetting`] (listing the valid keys) or
    /// [`ProbeError::InvalidSettingValue`] (saying what the key accepts).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ProbeError> {
        match key.trim() {
            "scratch_free_pct_warn" => self.scratch_free_pct_warn = parse_pct(key, value)?,
            "scratch_free_pct_fail" => self.scratch_free_pct_fail = parse_pct(key, value)?,
            "scratch_system_state_gb" => self.scratch_system_state_gb = parse_amount(key, value)?,
            "scratch_system_state_gb_min" => {
                self.scratch_system_state_gb_min = parse_amount(key, value)?
            }
            "protected_data_gb" => self.protected_data_gb = parse_amount(key, value)?,
            "clock_skew_warn_seconds" => self.clock_skew_warn_seconds = parse_u64(key, value)?,
            "clock_skew_fail_seconds" => self.clock_skew_fail_seconds = parse_u64(key, value)?,
            "expected_time_zone" => self.expected_time_zone = value.trim().to_string(),
            "update_age_warn_days" => self.update_age_warn_days = parse_u64(key, value)?,
            "update_age_fail_days" => self.update_age_fail_days = parse_u64(key, value)?,
            "mars_latest_known" => {
                self.mars_latest_known = Version4::parse(value)
                    .ok_or_else(|| invalid(key, value, "a version like 2.0.9262.0"))?
            }
            "event_recent_days" => self.event_recent_days = parse_u64(key, value)?,
            "wsb_max_age_days" => self.wsb_max_age_days = parse_u64(key, value)?,
            "shadow_free_pct_warn" => self.shadow_free_pct_warn = parse_pct(key, value)?,
            "shadow_free_pct_fail" => self.shadow_free_pct_fail = parse_pct(key, value)?,
            "shadow_min_free_gib" => self.shadow_min_free_gib = parse_amount(key, value)?,
            "mem_free_pct_warn" => self.mem_free_pct_warn = parse_pct(key, value)?,
            "mem_free_pct_fail" => self.mem_free_pct_fail = parse_pct(key, value)?,
            "cpu_pct_warn" => self.cpu_pct_warn = parse_pct(key, value)?,
            "cpu_pct_high" => self.cpu_pct_high = parse_pct(key, value)?,
            "disk_idle_pct_warn" => self.disk_idle_pct_warn = parse_pct(key, value)?,
            "expect_system_state_policy" => {
                self.expect_system_state_policy = parse_bool(key, value)?
            }
            "offline_seeding" => self.offline_seeding = parse_bool(key, value)?,
            _ => {
                return Err(ProbeError::UnknownSetting {
                    key: key.to_string(),
                    valid: KEYS.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Every setting as text, for the report's metadata.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let entries: [(&str, String); 23] = [
            (
                "clock_skew_fail_seconds",
                self.clock_skew_fail_seconds.to_string(),
            ),
            (
                "clock_skew_warn_seconds",
                self.clock_skew_warn_seconds.to_string(),
            ),
            ("cpu_pct_high", self.cpu_pct_high.to_string()),
            ("cpu_pct_warn", self.cpu_pct_warn.to_string()),
            ("disk_idle_pct_warn", self.disk_idle_pct_warn.to_string()),
            ("event_recent_days", self.event_recent_days.to_string()),
            (
                "expect_system_state_policy",
                self.expect_system_state_policy.to_string(),
            ),
            ("expected_time_zone", self.expected_time_zone.clone()),
            ("mars_latest_known", self.mars_latest_known.to_string()),
            ("mem_free_pct_fail", self.mem_free_pct_fail.to_string()),
            ("mem_free_pct_warn", self.mem_free_pct_warn.to_string()),
            ("offline_seeding", self.offline_seeding.to_string()),
            ("protected_data_gb", self.protected_data_gb.to_string()),
            (
                "scratch_free_pct_fail",
                self.scratch_free_pct_fail.to_string(),
            ),
            (
                "scratch_free_pct_warn",
                self.scratch_free_pct_warn.to_string(),
            ),
            (
                "scratch_system_state_gb",
                self.scratch_system_state_gb.to_string(),
            ),
            (
                "scratch_system_state_gb_min",
                self.scratch_system_state_gb_min.to_string(),
            ),
            (
                "shadow_free_pct_fail",
                self.shadow_free_pct_fail.to_string(),
            ),
            (
                "shadow_free_pct_warn",
                self.shadow_free_pct_warn.to_string(),
            ),
            ("shadow_min_free_gib", self.shadow_min_free_gib.to_string()),
            (
                "update_age_fail_days",
                self.update_age_fail_days.to_string(),
            ),
            (
                "update_age_warn_days",
                self.update_age_warn_days.to_string(),
            ),
            ("wsb_max_age_days", self.wsb_max_age_days.to_string()),
        ];
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_changes_a_threshold_and_to_map_shows_it() {
        let mut s = Settings::default();
        s.set("clock_skew_warn_seconds", "90").expect("valid");
        assert_eq!(s.clock_skew_warn_seconds, 90);
        assert_eq!(s.to_map()["clock_skew_warn_seconds"], "90");
    }

    #[test]
    fn unknown_setting_error_names_the_valid_keys() {
        let err = Settings::default().set("clock_skew", "1").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("clock_skew"), "{text}");
        assert!(text.contains("clock_skew_warn_seconds"), "{text}");
        assert!(text.contains("mars_latest_known"), "{text}");
    }

    #[test]
    fn invalid_value_is_a_typed_error_saying_what_is_expected() {
        let mut s = Settings::default();
        let err = s.set("scratch_free_pct_warn", "lots").unwrap_err();
        assert!(matches!(err, ProbeError::InvalidSettingValue { .. }));
        assert!(s.set("scratch_free_pct_warn", "150").is_err());
        assert!(s.set("mars_latest_known", "2.0").is_err());
        s.set("mars_latest_known", "2.0.9300.0").expect("valid");
        assert_eq!(s.to_map()["mars_latest_known"], "2.0.9300.0");
    }

    #[test]
    fn to_map_lists_every_key() {
        let map = Settings::default().to_map();
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, KEYS);
        for key in KEYS {
            let mut s = Settings::default();
            let v = map[*key].clone();
            s.set(key, &v).unwrap_or_else(|e| panic!("{key}={v}: {e}"));
            assert_eq!(s, Settings::default(), "{key} round-trips");
        }
    }
}
