//! Inventories: plain host lists, CSV, and the Ansible INI and YAML inventories ops
//! teams already keep; `--limit` patterns; per-host connection variables.
//!
//! Produces [`Target`]s, the owned description of who to scan and how to reach
//! them. Knows nothing of WinRM, scanning or reports; a malformed file is an error
//! naming the file and line, raised before any connection is made.

//!
//! ```no_run
//! # fn main() -> Result<(), fleetscan::inventory::InventoryError> {
//! use std::path::PathBuf;
//! let inventory = fleetscan::inventory::load(&[PathBuf::from("inventories/prod.ini")], &[])?;
//! for target in inventory.select(Some("web:&prod:!web07"))? {
//!     println!("{} -> {}:{:?}", target.name, target.address, target.port);
//! }
//! # Ok(()) }
//! ```
//!
//! Formats (picked from the extension, else sniffed from the content):
//! plain lists (`.txt`, `.list`), CSV (`.csv`), Ansible INI (`.ini`, `.cfg`, or no
//! extension) and Ansible YAML (`.yml`, `.yaml`). Connection settings come from
//! Ansible's variables (`ansible_host`, `ansible_port`, `ansible_user`,
//! `ansible_winrm_scheme`, `ansible_winrm_transport`, `ansible_winrm_path`,
//! `ansible_winrm_server_cert_validation`, `ansible_winrm_ca_trust_path`) or their
//! `fleetscan_*` spellings; `fleetscan_password_env` names the environment variable
//! holding a host's password. Passwords themselves are never read from an inventory.

// InventoryError carries file, line, owner, variable and value so messages can say
// what to do; it is built once per failed load, never on a hot path.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod builder;
mod csv_file;
mod error;
mod ini;
mod names;
mod pattern;
mod plain;
mod source;
mod vars;
mod yaml;

pub use error::{InventoryError, Location, Owner};
pub use source::Format;

use builder::Builder;

/// The WinRM listener scheme of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (default port 5985); NTLM bodies are sealed.
    Http,
    /// HTTPS (default port 5986).
    Https,
}

impl Scheme {
    /// The WinRM default port for this scheme.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 5985,
            Scheme::Https => 5986,
        }
    }
}

/// The authentication a target asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP Basic.
    Basic,
    /// Raw NTLM tokens under the `Negotiate` scheme.
    Ntlm,
    /// SPNEGO (NTLM inside).
    Negotiate,
    /// A transport Ansible knows that fleetscan does not support yet (kerberos,
    /// credssp, certificate); the host is reported, not scanned.
    Unsupported(String),
}

/// Whether to verify the server's TLS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertValidation {
    /// Verify against the platform roots and any configured CA.
    Validate,
    /// Do not verify (`ansible_winrm_server_cert_validation: ignore`).
    Ignore,
}

/// One host to scan and how to reach it. Fields left `None` fall back to the
/// command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Inventory name (what the report calls the host).
    pub name: String,
    /// Host name or address to connect to (`ansible_host`, else the name).
    pub address: String,
    /// Port (`ansible_port`), else the scheme's default.
    pub port: Option<u16>,
    /// Scheme (`ansible_winrm_scheme`).
    pub scheme: Option<Scheme>,
    /// Auth (`ansible_winrm_transport`).
    pub transport: Option<Transport>,
    /// WS-Man path (`ansible_winrm_path`), default `/wsman`.
    pub path: Option<String>,
    /// User (`ansible_user`).
    pub user: Option<String>,
    /// Name of the environment variable holding this host's password
    /// (`fleetscan_password_env`).
    pub password_env: Option<String>,
    /// TLS verification (`ansible_winrm_server_cert_validation`).
    pub cert_validation: Option<CertValidation>,
    /// Extra CA bundle (`ansible_winrm_ca_trust_path`).
    pub ca_trust_path: Option<PathBuf>,
    /// Groups the host belongs to, directly or through `[g:children]`, in the order
    /// the inventory declares them; `all` and `ungrouped` excluded (so an empty list
    /// means "ungrouped").
    pub groups: Vec<String>,
    /// Every other variable, e.g. `fleetscan_scenario` written by the emulator, after
    /// precedence (host > child group > parent group > `all`). YAML lists and
    /// mappings are kept as JSON text; Vault-encrypted values are dropped.
    pub vars: BTreeMap<String, String>,
}

impl Target {
    /// A target with only a name (and the same address); everything else default.
    pub fn named(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            address: name.clone(),
            name,
            port: None,
            scheme: None,
            transport: None,
            path: None,
            user: None,
            password_env: None,
            cert_validation: None,
            ca_trust_path: None,
            groups: Vec::new(),
            vars: BTreeMap::new(),
        }
    }
}

impl Target {
    /// The port to connect to: the inventory's, else the scheme's default.
    pub fn port_or_default(&self, scheme: Scheme) -> u16 {
        self.port.unwrap_or(scheme.default_port())
    }

    /// This host's credentials: its own user and password variable where the
    /// inventory sets them, else the defaults held by `resolver`.
    ///
    /// # Errors
    ///
    /// No user for the host, or its password variable unset or empty.
    pub fn credentials(
        &self,
        resolver: &mut crate::credentials::CredentialResolver,
    ) -> Result<crate::credentials::Credentials, crate::credentials::CredentialsError> {
        resolver.resolve(
            &self.name,
            self.user.as_deref(),
            self.password_env.as_deref(),
        )
    }
}

/// A loaded inventory: every host in inventory order, and the group names.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    targets: Vec<Target>,
    groups: Vec<String>,
}

impl Inventory {
    /// Every host, in inventory order (first file first, then `-t` targets), each once.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Every group name (`ungrouped` included, `all` not), in declaration order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The targets a `--limit` pattern selects (all of them for `None`), in
    /// inventory order, each once.
    ///
    /// # Errors
    ///
    /// A malformed pattern, a term that matches no host or group, or a pattern that
    /// selects nothing.
    pub fn select(&self, limit: Option<&str>) -> Result<Vec<Target>, InventoryError> {
        match limit {
            None => Ok(self.targets.clone()),
            Some(p) => pattern::select(&self.targets, &self.groups, p),
        }
    }
}

/// Reads every inventory file in `paths` (in order) and the ad-hoc `-t HOST[:PORT]`
/// targets into one inventory. A host named twice is one target: its variables
/// merge (later wins) and its groups add up.
///
/// # Errors
///
/// An unreadable or malformed file (the error names file, line and what to do), a
/// password or Vault value in the inventory, a bad `-t` value, or no hosts at all.
/// Nothing is returned from a partly readable inventory.
pub fn load(paths: &[PathBuf], ad_hoc: &[String]) -> Result<Inventory, InventoryError> {
    let mut b = Builder::new();
    for path in paths {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let text = source::read_text(path, &name)?;
        let format = source::format_from_extension(path).unwrap_or_else(|| source::sniff(&text));
        parse_into(format, &text, &name, &mut b)?;
    }
    let adhoc_name: Arc<str> = Arc::from("-t");
    for value in ad_hoc {
        let at = Location::new(&adhoc_name, 0);
        plain::add_host_token(value.trim(), &at, &mut b).map_err(|e| {
            InventoryError::BadAdHocTarget {
                value: value.clone(),
                what: match e {
                    InventoryError::Malformed { what, .. } => what,
                    other => other.to_string(),
                },
            }
        })?;
    }
    let resolved = b.resolve()?;
    if resolved.targets.is_empty() {
        let sources = if paths.is_empty() && ad_hoc.is_empty() {
            "no -i or -t given".to_owned()
        } else {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(InventoryError::Empty { sources });
    }
    Ok(Inventory {
        targets: resolved.targets,
        groups: resolved.groups,
    })
}

/// Parses inventory text of a known format (what [`load`] does per file), e.g.
/// for an inventory produced in memory such as the emulator's.
///
/// # Errors
///
/// As [`load`].
pub fn parse_str(format: Format, text: &str, name: &str) -> Result<Inventory, InventoryError> {
    let mut b = Builder::new();
    let name: Arc<str> = Arc::from(name);
    parse_into(format, text, &name, &mut b)?;
    let resolved = b.resolve()?;
    if resolved.targets.is_empty() {
        return Err(InventoryError::Empty {
            sources: name.to_string(),
        });
    }
    Ok(Inventory {
        targets: resolved.targets,
        groups: resolved.groups,
    })
}

fn parse_into(
    format: Format,
    text: &str,
    name: &Arc<str>,
    b: &mut Builder,
) -> Result<(), InventoryError> {
    match format {
        Format::Plain => plain::parse(text, name, b),
        Format::Csv => csv_file::parse(text, name, b),
        Format::Ini => ini::parse(text, name, b),
        Format::Yaml => yaml::parse(text, name, b),
    }
}

/// The format [`load`] would pick for `path` with content `text`.
pub fn detect_format(path: &Path, text: &str) -> Format {
    source::format_from_extension(path).unwrap_or_else(|| source::sniff(text))
}

/// Entry points for fuzzing and the no-panic tests: each parser on raw bytes.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Decodes `bytes` and parses them as `format`; the result is discarded.
    pub fn parse_bytes(format: Format, bytes: &[u8]) -> Result<usize, InventoryError> {
        let name: Arc<str> = Arc::from("fuzz");
        let text = source::decode(bytes, &name)?;
        let inv = parse_str(format, &text, "fuzz")?;
        Ok(inv.targets().len())
    }

    /// Sniffs the format of `bytes` and parses them.
    pub fn sniff_and_parse(bytes: &[u8]) -> Result<usize, InventoryError> {
        let name: Arc<str> = Arc::from("fuzz");
        let text = source::decode(bytes, &name)?;
        parse_bytes(source::sniff(&text), bytes)
    }

    /// Applies a `--limit` pattern to the inventory in `inventory` (INI).
    pub fn select(inventory: &str, limit: &str) -> Result<usize, InventoryError> {
        let inv = parse_str(Format::Ini, inventory, "fuzz")?;
        Ok(inv.select(Some(limit))?.len())
    }
}
