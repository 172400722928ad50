//! The one error type of the inventory layer: every variant says where (file, line,
//! column where useful) and what to do about it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A place in an inventory source: `prod.ini:14` or `prod.yml:3:7`.
///
/// `file` is the path as the user gave it (or `-t` for ad-hoc targets); `line` and
/// `column` count from 1; a `line` of 0 means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The inventory file as given on the command line, or `-t`.
    pub file: Arc<str>,
    /// 1-based line; 0 when the problem concerns the whole source.
    pub line: usize,
    /// 1-based column, where it helps.
    pub column: Option<usize>,
}

impl Location {
    /// A location in `file` at `line`.
    pub fn new(file: &Arc<str>, line: usize) -> Self {
        Self {
            file: Arc::clone(file),
            line,
            column: None,
        }
    }

    /// The same location with a column.
    pub fn with_column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.file),
            (line, None) => write!(f, "{}:{line}", self.file),
            (line, Some(col)) => write!(f, "{}:{line}:{col}", self.file),
        }
    }
}

/// Who a variable belongs to, for messages ("host 'web01'", "group 'prod'").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A host's own variable.
    Host(String),
    /// A group's variable (`[g:vars]`, `vars:` in YAML).
    Group(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Host(h) => write!(f, "host '{h}'"),
            Owner::Group(g) => write!(f, "group '{g}'"),
        }
    }
}

/// Why an inventory could not be loaded or a `--limit` pattern not applied.
///
/// Every message starts with the place (`prod.ini:14:`) and ends with what to do.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be opened or read.
    #[error("{}: cannot read the inventory: {source}; check the path and its permissions", path.display())]
    Unreadable {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The path is a directory.
    #[error(
        "{}: is a directory; pass each inventory file with its own -i (group_vars/ and host_vars/ directories are not read)",
        path.display()
    )]
    IsDirectory {
        /// The path as given.
        path: PathBuf,
    },
    /// The file is larger than any inventory should be.
    #[error("{}: {size} bytes is more than the {limit}-byte cap for an inventory file; split it", path.display())]
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The file is not text in a known encoding.
    #[error("{at}: not UTF-8 (or UTF-16 with a byte-order mark) text; save the inventory as UTF-8")]
    NotText {
        /// Where the first bad byte is.
        at: Location,
    },
    /// A syntax error: what was expected and what to do.
    #[error("{at}: {what}")]
    Malformed {
        /// Where.
        at: Location,
        /// What is wrong, phrased for the user.
        what: String,
    },
    /// A variable name that looks like a typo of one fleetscan reads.
    #[error("{at}: unknown {kind} var '{name}'; did you mean '{suggestion}'?")]
    UnknownVar {
        /// Where it is set.
        at: Location,
        /// `host` or `group`.
        kind: &'static str,
        /// The name as written.
        name: String,
        /// The known name it resembles.
        suggestion: String,
    },
    /// A connection variable with a value fleetscan cannot use.
    #[error("{at}: {owner}: invalid {var} '{value}': {expected}")]
    BadValue {
        /// Where it is set.
        at: Location,
        /// Host or group that sets it.
        owner: Owner,
        /// The variable name as written.
        var: String,
        /// The value as written.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// A clear-text password in the inventory.
    #[error(
        "{at}: {owner} sets {var} in the inventory; fleetscan never reads passwords from an inventory: set fleetscan_password_env=VAR and export the password in VAR"
    )]
    PasswordInInventory {
        /// Where.
        at: Location,
        /// Host or group that sets it.
        owner: Owner,
        /// The variable name as written.
        var: String,
    },
    /// An Ansible Vault value where fleetscan needs the clear value.
    #[error(
        "{at}: {owner}: {var} is encrypted; Ansible Vault values cannot be read; set fleetscan_password_env=VAR instead"
    )]
    VaultValue {
        /// Where.
        at: Location,
        /// Host or group that sets it.
        owner: Owner,
        /// The variable name as written.
        var: String,
    },
    /// A host range that expands to too many hosts.
    #[error(
        "{at}: host range '{pattern}' expands to {count} hosts, more than the {limit} allowed; split it"
    )]
    RangeTooLarge {
        /// Where.
        at: Location,
        /// The pattern as written.
        pattern: String,
        /// How many it would expand to (saturating).
        count: u128,
        /// The cap.
        limit: usize,
    },
    /// A group that is (indirectly) its own child.
    #[error(
        "{at}: group '{group}' is its own ancestor through [..:children]; remove one link of the loop"
    )]
    GroupCycle {
        /// Where the group is declared.
        at: Location,
        /// A group on the loop.
        group: String,
    },
    /// More hosts than fleetscan will hold.
    #[error("the inventory holds more than {limit} hosts; split it into several runs")]
    TooManyHosts {
        /// The cap.
        limit: usize,
    },
    /// Nothing to scan.
    #[error(
        "{sources}: no hosts found; add hosts to the inventory or name them with -t HOST[:PORT]"
    )]
    Empty {
        /// The sources read, comma-separated (or "no -i or -t given").
        sources: String,
    },
    /// A `-t` value that is not `HOST[:PORT]`.
    #[error("-t '{value}': {what}")]
    BadAdHocTarget {
        /// The value as given.
        value: String,
        /// What is wrong.
        what: String,
    },
    /// A `--limit` pattern that cannot be parsed.
    #[error("--limit '{pattern}': {what}")]
    LimitSyntax {
        /// The whole pattern.
        pattern: String,
        /// What is wrong.
        what: String,
    },
    /// One term of a `--limit` pattern matches no host and no group.
    #[error(
        "--limit '{pattern}': '{term}' matches no host or group in the inventory; check the spelling (globs like 'web*' and group names work)"
    )]
    LimitNoMatch {
        /// The whole pattern.
        pattern: String,
        /// The term that matched nothing.
        term: String,
    },
    /// A term names a group that exists but holds no hosts.
    #[error(
        "--limit '{pattern}': group '{group}' has no hosts in the inventory; add hosts to it or drop it from the pattern"
    )]
    LimitEmptyGroup {
        /// The whole pattern.
        pattern: String,
        /// The empty group.
        group: String,
    },
    /// The pattern as a whole selects nothing (e.g. an empty intersection).
    #[error(
        "--limit '{pattern}' selects no hosts; loosen the intersection (:&) or exclusion (:!) terms"
    )]
    LimitSelectsNothing {
        /// The whole pattern.
        pattern: String,
    },
}

impl InventoryError {
    /// A syntax error at `at`.
    pub(crate) fn malformed(at: Location, what: impl Into<String>) -> Self {
        InventoryError::Malformed {
            at,
            what: what.into(),
        }
    }
}
