//! Host and group variables: which ones fleetscan honours, what values they take,
//! and the checks that keep passwords and typos out.
//!
//! Every variable is checked where it is defined (host line, `[g:vars]`, `vars:`),
//! so a bad value is reported with its own file and line even when no host uses it.

use std::path::PathBuf;

use super::error::{InventoryError, Location, Owner};
use super::{CertValidation, Scheme, Target, Transport};

/// A connection setting fleetscan reads from variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Known {
    Host,
    Port,
    User,
    Scheme,
    Transport,
    Path,
    CertValidation,
    CaTrustPath,
    PasswordEnv,
}

/// The spellings of each honoured variable (Ansible's first, then fleetscan's).
const HONOURED: &[(&str, Known)] = &[
    ("ansible_host", Known::Host),
    ("ansible_ssh_host", Known::Host),
    ("fleetscan_host", Known::Host),
    ("ansible_port", Known::Port),
    ("ansible_ssh_port", Known::Port),
    ("fleetscan_port", Known::Port),
    ("ansible_user", Known::User),
    ("ansible_ssh_user", Known::User),
    ("fleetscan_user", Known::User),
    ("ansible_winrm_scheme", Known::Scheme),
    ("fleetscan_scheme", Known::Scheme),
    ("fleetscan_winrm_scheme", Known::Scheme),
    ("ansible_winrm_transport", Known::Transport),
    ("fleetscan_transport", Known::Transport),
    ("fleetscan_winrm_transport", Known::Transport),
    ("fleetscan_auth", Known::Transport),
    ("ansible_winrm_path", Known::Path),
    ("fleetscan_path", Known::Path),
    ("fleetscan_winrm_path", Known::Path),
    (
        "ansible_winrm_server_cert_validation",
        Known::CertValidation,
    ),
    ("fleetscan_server_cert_validation", Known::CertValidation),
    (
        "fleetscan_winrm_server_cert_validation",
        Known::CertValidation,
    ),
    ("fleetscan_cert_validation", Known::CertValidation),
    ("ansible_winrm_ca_trust_path", Known::CaTrustPath),
    ("fleetscan_ca_trust_path", Known::CaTrustPath),
    ("fleetscan_winrm_ca_trust_path", Known::CaTrustPath),
    ("fleetscan_password_env", Known::PasswordEnv),
];

/// Variables that would carry a password; fleetscan refuses them.
const PASSWORD_VARS: &[&str] = &[
    "ansible_password",
    "ansible_pass",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_winrm_password",
    "ansible_winrm_pass",
    "ansible_become_password",
    "ansible_become_pass",
    "fleetscan_password",
    "fleetscan_winrm_password",
];

/// Variables Ansible (or the emulator) knows that fleetscan keeps but does not act
/// on. Listed so that they are not mistaken for typos of honoured ones.
const OTHER_KNOWN: &[&str] = &[
    "ansible_connection",
    "ansible_shell_type",
    "ansible_shell_executable",
    "ansible_python_interpreter",
    "ansible_become",
    "ansible_become_method",
    "ansible_become_user",
    "ansible_become_flags",
    "ansible_timeout",
    "ansible_winrm_operation_timeout_sec",
    "ansible_winrm_read_timeout_sec",
    "ansible_winrm_connection_timeout",
    "ansible_winrm_message_encryption",
    "ansible_winrm_send_cbt",
    "ansible_winrm_kinit_mode",
    "ansible_winrm_kinit_cmd",
    "ansible_winrm_kinit_args",
    "ansible_winrm_kerberos_delegation",
    "ansible_winrm_kerberos_hostname_override",
    "ansible_winrm_service",
    "ansible_winrm_realm",
    "ansible_winrm_cert_pem",
    "ansible_winrm_cert_key_pem",
    "ansible_winrm_credssp_disable_tlsv1_2",
    "ansible_winrm_credssp_auth_mechanism",
    "ansible_winrm_credssp_minimum_version",
    "ansible_winrm_proxy",
    "ansible_winrm_kerberos_service",
    "ansible_psrp_protocol",
    "ansible_psrp_cert_validation",
    "ansible_psrp_auth",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_network_os",
    "ansible_os_family",
    "fleetscan_scenario",
    "fleetscan_fault",
];

/// What a variable name means to fleetscan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    /// A connection setting.
    Honoured(Known),
    /// A password variable: refused.
    Password,
    /// Kept in `Target::vars`.
    Other,
}

/// Classifies `name`; a name that looks like a typo of a known one is an error.
pub(crate) fn classify(name: &str) -> Result<Class, String> {
    if let Some((_, k)) = HONOURED.iter().find(|(n, _)| *n == name) {
        return Ok(Class::Honoured(*k));
    }
    if PASSWORD_VARS.contains(&name) {
        return Ok(Class::Password);
    }
    if OTHER_KNOWN.contains(&name) || name.starts_with("ansible_psrp_") {
        return Ok(Class::Other);
    }
    if let Some(suggestion) = suggest(name) {
        return Err(suggestion);
    }
    Ok(Class::Other)
}

/// The known name `name` is probably a misspelling of.
fn suggest(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let looks_ours = lower.starts_with("ansible")
        || lower.starts_with("fleetscan")
        || lower.starts_with("ansbile")
        || lower.starts_with("fleetcsan");
    // Short names far from every known prefix are users' own variables.
    let budget = if looks_ours { 2 } else { 1 };
    if lower.len() < 8 && !looks_ours {
        return None;
    }
    HONOURED
        .iter()
        .map(|(n, _)| *n)
        .chain(PASSWORD_VARS.iter().copied())
        .chain(OTHER_KNOWN.iter().copied())
        .map(|known| (edit_distance(&lower, known), known))
        .filter(|(d, known)| *d <= budget && (*d > 0 || *known != name))
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known.to_owned())
}

/// Optimal string alignment distance (a transposition counts as one edit), capped.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 3 || a.len() > 128 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// A variable value as the inventory gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A scalar, as text (YAML numbers and booleans as written).
    Text(String),
    /// A YAML sequence of scalars (e.g. `ansible_winrm_transport: [kerberos, ntlm]`).
    List(Vec<String>),
    /// A YAML mapping or nested list, kept as JSON text.
    Json(String),
    /// An Ansible Vault value (`!vault` or `$ANSIBLE_VAULT;…`).
    Vault,
}

impl Value {
    /// A scalar, recognised as a Vault value when it is one.
    pub(crate) fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        if s.trim_start().starts_with("$ANSIBLE_VAULT") {
            Value::Vault
        } else {
            Value::Text(s)
        }
    }

    /// The value as `Target::vars` keeps it.
    fn display(&self) -> String {
        match self {
            Value::Text(s) | Value::Json(s) => s.clone(),
            Value::List(items) => serde_json::to_string(items).unwrap_or_default(),
            Value::Vault => String::new(),
        }
    }
}

/// One variable as defined: name as written, value and where.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub(crate) name: String,
    pub(crate) value: Value,
    pub(crate) at: Location,
}

/// The key a variable is merged under: honoured spellings share one key, so a host's
/// `ansible_port` beats its group's `fleetscan_port`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Key {
    Known(Known),
    Other(String),
}

/// Checks one definition and returns the key to merge it under, or `None` when the
/// variable is dropped (a Vault value fleetscan does not need).
pub(crate) fn check(owner: &Owner, var: &Var) -> Result<Option<Key>, InventoryError> {
    let kind = match owner {
        Owner::Host(_) => "host",
        Owner::Group(_) => "group",
    };
    let class = classify(&var.name).map_err(|suggestion| InventoryError::UnknownVar {
        at: var.at.clone(),
        kind,
        name: var.name.clone(),
        suggestion,
    })?;
    match class {
        Class::Password => match &var.value {
            Value::Vault => Err(InventoryError::VaultValue {
                at: var.at.clone(),
                owner: owner.clone(),
                var: var.name.clone(),
            }),
            Value::Text(t) if env_lookup(t).is_some() => Ok(Some(Key::Known(Known::PasswordEnv))),
            _ => Err(InventoryError::PasswordInInventory {
                at: var.at.clone(),
                owner: owner.clone(),
                var: var.name.clone(),
            }),
        },
        Class::Honoured(known) => check_known(owner, known, var).map(Some),
        Class::Other => {
            if var.value == Value::Vault {
                return Ok(None);
            }
            Ok(Some(Key::Other(var.name.clone())))
        }
    }
}

/// Checks a value for a known setting whatever the variable is called (CSV columns
/// such as `port` or `address`).
pub(crate) fn check_known(owner: &Owner, known: Known, var: &Var) -> Result<Key, InventoryError> {
    let mut scratch = Target::named("check");
    apply(&mut scratch, owner, known, var)?;
    Ok(Key::Known(known))
}

/// `{{ lookup('env', 'NAME') }}`: the one template fleetscan understands, naming the
/// environment variable that holds the password.
fn env_lookup(text: &str) -> Option<String> {
    let inner = text
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim()
        .strip_prefix("lookup")?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let mut parts = inner.split(',').map(|p| p.trim().trim_matches(['\'', '"']));
    let (Some("env"), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    valid_env_name(name).then(|| name.to_owned())
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Stores a checked variable into `target`.
pub(crate) fn store(
    target: &mut Target,
    owner: &Owner,
    key: &Key,
    var: &Var,
) -> Result<(), InventoryError> {
    match key {
        Key::Known(known) => apply(target, owner, *known, var),
        Key::Other(name) => {
            target.vars.insert(name.clone(), var.value.display());
            Ok(())
        }
    }
}

fn apply(
    target: &mut Target,
    owner: &Owner,
    known: Known,
    var: &Var,
) -> Result<(), InventoryError> {
    let bad = |value: &str, expected: &str| InventoryError::BadValue {
        at: var.at.clone(),
        owner: owner.clone(),
        var: var.name.clone(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let text = match &var.value {
        Value::Text(t) => t.trim().to_owned(),
        Value::List(items) if known == Known::Transport => items.join(","),
        Value::List(_) | Value::Json(_) => {
            return Err(bad(
                &var.value.display(),
                "expected a single value, not a list or mapping",
            ));
        }
        Value::Vault => {
            return Err(InventoryError::VaultValue {
                at: var.at.clone(),
                owner: owner.clone(),
                var: var.name.clone(),
            });
        }
    };
    if text.contains("{{") && !(known == Known::PasswordEnv && env_lookup(&text).is_some()) {
        return Err(bad(
            &text,
            "Jinja templates are not evaluated by fleetscan; write the value itself",
        ));
    }
    match known {
        Known::Host => {
            if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(
                    &text,
                    "expected a host name or IP address without spaces",
                ));
            }
            let addr = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .filter(|t| t.parse::<std::net::Ipv6Addr>().is_ok())
                .unwrap_or(&text);
            target.address = addr.to_owned();
        }
        Known::Port => {
            target.port = Some(
                parse_port(&text)
                    .ok_or_else(|| bad(&text, "expected a port number from 1 to 65535"))?,
            );
        }
        Known::User => {
            if text.is_empty() {
                return Err(bad(
                    &text,
                    "expected a user name (user, DOMAIN\\user or user@domain)",
                ));
            }
            target.user = Some(text);
        }
        Known::Scheme => {
            target.scheme = Some(match text.to_ascii_lowercase().as_str() {
                "http" => Scheme::Http,
                "https" => Scheme::Https,
                _ => return Err(bad(&text, "expected http or https")),
            });
        }
        Known::Transport => {
            target.transport = Some(parse_transport(&text).map_err(|e| bad(&text, &e))?);
        }
        Known::Path => {
            if !text.starts_with('/') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(
                    &text,
                    "expected a URL path starting with '/', e.g. /wsman",
                ));
            }
            target.path = Some(text);
        }
        Known::CertValidation => {
            target.cert_validation = Some(match text.to_ascii_lowercase().as_str() {
                "validate" => CertValidation::Validate,
                "ignore" => CertValidation::Ignore,
                _ => return Err(bad(&text, "expected validate or ignore")),
            });
        }
        Known::CaTrustPath => {
            if text.is_empty() {
                return Err(bad(&text, "expected the path of a PEM CA bundle"));
            }
            target.ca_trust_path = Some(PathBuf::from(text));
        }
        Known::PasswordEnv => {
            let name = env_lookup(&text).unwrap_or(text);
            if !valid_env_name(&name) {
                return Err(bad(
                    &name,
                    "expected the name of an environment variable (letters, digits, _), e.g. PROD_WINRM_PASSWORD",
                ));
            }
            target.password_env = Some(name);
        }
    }
    Ok(())
}

/// A TCP port 1–65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

/// `ansible_winrm_transport`: a name or a comma list; the first one fleetscan
/// supports wins, else the first one as `Unsupported`.
fn parse_transport(text: &str) -> Result<Transport, String> {
    let mut first_unsupported = None;
    let mut any = false;
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        any = true;
        match entry.to_ascii_lowercase().as_str() {
            "basic" | "plaintext" | "ssl" => return Ok(Transport::Basic),
            "ntlm" => return Ok(Transport::Ntlm),
            "negotiate" => return Ok(Transport::Negotiate),
            "kerberos" | "credssp" | "certificate" => {
                first_unsupported.get_or_insert_with(|| entry.to_ascii_lowercase());
            }
            other => {
                let known = [
                    "basic",
                    "ntlm",
                    "negotiate",
                    "kerberos",
                    "credssp",
                    "certificate",
                ];
                let hint = known
                    .iter()
                    .find(|k| edit_distance(other, k) <= 2)
                    .map(|k| format!(" (did you mean '{k}'?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown transport '{entry}'{hint}; expected basic, ntlm or negotiate (kerberos, credssp and certificate are recognised but not supported yet)"
                ));
            }
        }
    }
    match first_unsupported {
        Some(name) => Ok(Transport::Unsupported(name)),
        None if !any => Err("expected basic, ntlm or negotiate".to_owned()),
        None => Err("expected basic, ntlm or negotiate".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn var(name: &str, value: &str) -> Var {
        Var {
            name: name.to_owned(),
            value: Value::text(value),
            at: Location::new(&Arc::from("prod.ini"), 14),
        }
    }

    fn host() -> Owner {
        Owner::Host("web01".to_owned())
    }

    #[test]
    fn transport_typo_gets_did_you_mean_with_file_and_line() {
        let err = check(&host(), &var("ansible_winrm_transprot", "ntlm")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prod.ini:14: unknown host var 'ansible_winrm_transprot'; did you mean 'ansible_winrm_transport'?"
        );
    }

    #[test]
    fn users_own_vars_are_kept_not_flagged() {
        for name in [
            "site",
            "rack",
            "owner_team",
            "fleetscan_scenario",
            "backup_window",
            "ansible_connection",
        ] {
            assert!(
                matches!(check(&host(), &var(name, "x")), Ok(Some(Key::Other(_)))),
                "{name}"
            );
        }
    }

    #[test]
    fn literal_password_is_refused_and_points_to_password_env() {
        let err = check(&host(), &var("ansible_password", "hunter2")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("fleetscan_password_env"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn vault_password_names_host_and_file() {
        let err = check(
            &host(),
            &var("ansible_password", "$ANSIBLE_VAULT;1.1;AES256\n6134"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("prod.ini:14: host 'web01'"), "{msg}");
        assert!(
            msg.contains(
                "Ansible Vault values cannot be read; set fleetscan_password_env=VAR instead"
            ),
            "{msg}"
        );
    }

    #[test]
    fn env_lookup_template_becomes_password_env() {
        let v = var("ansible_password", "{{ lookup('env', 'PROD_PW') }}");
        let key = check(&host(), &v).unwrap().unwrap();
        let mut t = Target::named("web01");
        store(&mut t, &host(), &key, &v).unwrap();
        assert_eq!(t.password_env.as_deref(), Some("PROD_PW"));
    }

    #[test]
    fn transport_list_takes_first_supported_entry() {
        assert_eq!(parse_transport("kerberos, ntlm"), Ok(Transport::Ntlm));
        assert_eq!(
            parse_transport("credssp"),
            Ok(Transport::Unsupported("credssp".into()))
        );
        assert_eq!(parse_transport("NEGOTIATE"), Ok(Transport::Negotiate));
        assert!(
            parse_transport("ntml")
                .unwrap_err()
                .contains("did you mean 'ntlm'")
        );
    }

    #[test]
    fn port_out_of_range_is_rejected() {
        for bad in ["0", "65536", "-1", "59 85", "http", ""] {
            assert!(check(&host(), &var("ansible_port", bad)).is_err(), "{bad}");
        }
        assert!(check(&host(), &var("fleetscan_port", "5986")).is_ok());
    }

    #[test]
    fn scheme_and_cert_validation_values_are_checked() {
        assert!(check(&host(), &var("ansible_winrm_scheme", "HTTPS")).is_ok());
        let err = check(&host(), &var("ansible_winrm_scheme", "htps")).unwrap_err();
        assert!(err.to_string().contains("expected http or https"), "{err}");
        assert!(
            check(
                &host(),
                &var("ansible_winrm_server_cert_validation", "ignore")
            )
            .is_ok()
        );
        assert!(check(&host(), &var("ansible_winrm_server_cert_validation", "no")).is_err());
    }

    #[test]
    fn vault_in_an_unrelated_var_is_dropped() {
        assert!(matches!(
            check(&host(), &var("app_secret", "$ANSIBLE_VAULT;1.1;AES256")),
            Ok(None)
        ));
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("transprot", "transport"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
