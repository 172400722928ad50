//! Resolving inventory targets into what the fan-out needs: one [`HostPlan`] per
//! host, with every default applied and credentials in hand, before any
//! connection is made.

use std::path::PathBuf;

use crate::credentials::Credentials;
use crate::inventory::{CertValidation, Scheme, Target, Transport};

/// How a host's TLS certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsChoice {
    /// Platform roots plus the run's `--ca-cert`.
    Verify,
    /// Platform roots, the run's CA and this host's own CA bundle.
    ExtraCa(PathBuf),
    /// No verification (`--insecure` or `ansible_winrm_server_cert_validation=ignore`).
    Ignore,
}

/// Auth a host will be scanned with (only the ones fleetscan supports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    /// HTTP Basic.
    Basic,
    /// Raw NTLM under `Negotiate`.
    Ntlm,
    /// SPNEGO with NTLM inside.
    Negotiate,
}

/// One host, ready to scan.
#[derive(Debug, Clone)]
pub struct HostPlan {
    /// Inventory name.
    pub name: String,
    /// Inventory groups.
    pub groups: Vec<String>,
    /// Host name or address to connect to.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub scheme: Scheme,
    /// WS-Management path, e.g. `/wsman`.
    pub path: String,
    /// Auth method, or why this host cannot be scanned by this version.
    pub auth: Result<AuthChoice, String>,
    /// Certificate checking.
    pub tls: TlsChoice,
    /// Who to log on as.
    pub credentials: Credentials,
}

impl HostPlan {
    /// `address:port` as shown in reports (IPv6 in brackets).
    pub fn display_address(&self) -> String {
        if self.address.contains(':') && !self.address.starts_with('[') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// Run-wide defaults that inventory variables override per host.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// `--scheme`.
    pub scheme: Scheme,
    /// `--port`; else the scheme's default.
    pub port: Option<u16>,
    /// `--auth`.
    pub auth: AuthChoice,
    /// `--insecure`.
    pub insecure: bool,
    /// `--allow-unencrypted`: Basic over plain HTTP.
    pub allow_unencrypted: bool,
}

/// A host whose settings cannot be used; reported before anything is scanned.
#[derive(Debug, thiserror::Error)]
#[error("host {host}: {reason}")]
pub struct PlanError {
    /// The inventory name.
    pub host: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// Resolves every target. `credentials_for` supplies each host's credentials
/// (default user and password, or the host's own `fleetscan_password_env`).
///
/// # Errors
/// A [`PlanError`] for the first host whose settings cannot be used, e.g. Basic
/// over plain HTTP without `--allow-unencrypted`, or missing credentials.
pub fn resolve<F>(
    targets: Vec<Target>,
    defaults: &Defaults,
    mut credentials_for: F,
) -> Result<Vec<HostPlan>, PlanError>
where
    F: FnMut(&Target) -> Result<Credentials, String>,
{
    targets
        .into_iter()
        .map(|target| {
            let scheme = target.scheme.unwrap_or(defaults.scheme);
            let port = target
                .port
                .or(defaults.port)
                .unwrap_or_else(|| scheme.default_port());
            let auth = match &target.transport {
                None => Ok(defaults.auth),
                Some(Transport::Basic) => Ok(AuthChoice::Basic),
                Some(Transport::Ntlm) => Ok(AuthChoice::Ntlm),
                Some(Transport::Negotiate) => Ok(AuthChoice::Negotiate),
                Some(Transport::Unsupported(name)) => Err(format!(
                    "WinRM transport '{name}' is not supported yet; use basic, ntlm or negotiate"
                )),
            };
            if auth == Ok(AuthChoice::Basic)
                && scheme == Scheme::Http
                && !defaults.allow_unencrypted
            {
                return Err(PlanError {
                    host: target.name.clone(),
                    reason: "Basic auth over plain HTTP would send the password unencrypted; \
                             use --scheme https, NTLM (--auth negotiate), or pass \
                             --allow-unencrypted if you accept that risk"
                        .into(),
                });
            }
            let tls = if defaults.insecure || target.cert_validation == Some(CertValidation::Ignore)
            {
                TlsChoice::Ignore
            } else if let Some(ca) = &target.ca_trust_path {
                TlsChoice::ExtraCa(ca.clone())
            } else {
                TlsChoice::Verify
            };
            let credentials = credentials_for(&target).map_err(|reason| PlanError {
                host: target.name.clone(),
                reason,
            })?;
            Ok(HostPlan {
                path: target.path.clone().unwrap_or_else(|| "/wsman".to_owned()),
                name: target.name,
                groups: target.groups,
                address: target.address,
                port,
                scheme,
                auth,
                tls,
                credentials,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn defaults() -> Defaults {
        Defaults {
            scheme: Scheme::Http,
            port: None,
            auth: AuthChoice::Negotiate,
            insecure: false,
            allow_unencrypted: false,
        }
    }

    fn creds(_: &Target) -> Result<Credentials, String> {
        Ok(Credentials::new("u", SecretString::from("p".to_owned())))
    }

    #[test]
    fn port_follows_the_scheme_unless_set() {
        let mut https = Target::named("a");
        https.scheme = Some(Scheme::Https);
        let mut fixed = Target::named("b");
        fixed.port = Some(15985);
        let plans = resolve(vec![https, fixed, Target::named("c")], &defaults(), creds).unwrap();
        let ports: Vec<u16> = plans.iter().map(|p| p.port).collect();
        assert_eq!(ports, [5986, 15985, 5985]);
    }

    #[test]
    fn basic_over_http_is_refused_without_allow_unencrypted() {
        let mut t = Target::named("web01");
        t.transport = Some(Transport::Basic);
        let err = resolve(vec![t.clone()], &defaults(), creds).unwrap_err();
        assert!(err.to_string().contains("web01"), "{err}");
        assert!(err.to_string().contains("--allow-unencrypted"), "{err}");
        let mut d = defaults();
        d.allow_unencrypted = true;
        assert!(resolve(vec![t], &d, creds).is_ok());
    }

    #[test]
    fn unsupported_transport_is_kept_as_a_per_host_reason() {
        let mut t = Target::named("dc01");
        t.transport = Some(Transport::Unsupported("kerberos".into()));
        let plans = resolve(vec![t], &defaults(), creds).unwrap();
        assert!(plans[0].auth.as_ref().unwrap_err().contains("kerberos"));
    }

    #[test]
    fn cert_validation_ignore_or_insecure_skips_verification() {
        let mut t = Target::named("a");
        t.cert_validation = Some(CertValidation::Ignore);
        let plans = resolve(vec![t, Target::named("b")], &defaults(), creds).unwrap();
        assert_eq!(plans[0].tls, TlsChoice::Ignore);
        assert_eq!(plans[1].tls, TlsChoice::Verify);
    }

    #[test]
    fn ipv6_addresses_are_bracketed_in_reports() {
        let plans = resolve(vec![Target::named("::1")], &defaults(), creds).unwrap();
        assert_eq!(plans[0].display_address(), "[::1]:5985");
    }
}
