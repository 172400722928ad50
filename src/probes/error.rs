//! Errors of the probes layer: bad selections and bad settings, both caused by what
//! the user typed, so each message names the offending value and the valid ones.

/// What went wrong while selecting checks or changing a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// `--set KEY=…` named a key that does not exist.
    #[error("unknown setting '{key}'; valid settings: {valid}")]
    UnknownSetting {
        /// The key as typed.
        key: String,
        /// Every valid key, comma separated.
        valid: String,
    },
    /// `--set KEY=VALUE` with a value of the wrong kind or out of range.
    #[error("setting '{key}': '{value}' is not valid; expected {expected}")]
    InvalidSettingValue {
        /// The key.
        key: String,
        /// The value as typed.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// An include glob of `--checks` matched no check id.
    #[error("--checks '{glob}' matches no check; run `fleetscan checks --deep` for the ids")]
    GlobMatchesNothing {
        /// The glob as typed.
        glob: String,
    },
    /// An include glob matched only heavy checks while `--deep` was off.
    #[error("--checks '{glob}' matches only heavy checks ({ids}); add --deep to run them")]
    GlobNeedsDeep {
        /// The glob as typed.
        glob: String,
        /// The heavy check ids it matched.
        ids: String,
    },
    /// After `--checks` and `--skip-checks` nothing is left to run.
    #[error("no check is left after --checks/--skip-checks; nothing to scan")]
    NothingSelected,
}
