//! Inventories: plain host lists, CSV, and the Ansible INI and YAML inventories ops
//! teams already keep; `--limit` patterns; per-host connection variables.
//!
//! Produces [`Target`]s, the owned description of who to scan and how to reach
//! them. Knows nothing of WinRM, scanning or reports; a malformed file is an error
//! naming the file and line, raised before any connection is made.

use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Groups the host belongs to, in inventory order, `all` excluded.
    pub groups: Vec<String>,
    /// Every other variable, e.g. `fleetscan_scenario` written by the emulator.
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
