//! rustls client configurations, built on first HTTPS use and shared by every host:
//! platform roots plus an optional CA bundle, or (only when asked for) no
//! verification. Only the ring provider is used (`builder_with_provider`), so a
//! second provider elsewhere in the tree cannot make config building fail.
//!
//! Session resumption is off: each host has one connection, and a full handshake
//! keeps the peer certificate (for NTLM channel binding) always at hand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::WinrmError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The platform's trust anchors, read once per process (reading them parses
/// every file under /etc/ssl/certs).
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, WinrmError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| WinrmError::Config {
            detail: format!("cannot read CA bundle {}: {e}", path.display()),
        })?
        .collect();
    let certs = certs.map_err(|e| WinrmError::Config {
        detail: format!("CA bundle {} is not PEM: {e}", path.display()),
    })?;
    if certs.is_empty() {
        return Err(WinrmError::Config {
            detail: format!("CA bundle {} holds no certificate", path.display()),
        });
    }
    Ok(certs)
}

fn verified(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, WinrmError> {
    let mut roots = RootCertStore::empty();
    // Unparseable platform roots are skipped, as browsers do.
    let _ = roots.add_parsable_certificates(platform_roots().iter().cloned());
    if let Some(path) = extra_ca {
        for cert in read_pem(path)? {
            roots.add(cert).map_err(|e| WinrmError::Config {
                detail: format!("CA bundle {}: {e}", path.display()),
            })?;
        }
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WinrmError::Config {
            detail: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Accepts any certificate but still checks the handshake signatures, so the peer
/// must hold the key of the certificate it shows (which NTLM channel binding hashes).
#[derive(Debug)]
struct NoCertificateCheck(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn insecure() -> Result<Arc<ClientConfig>, WinrmError> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WinrmError::Config {
            detail: format!("TLS setup: {e}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(algorithms)))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Which TLS verification one host wants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum TlsOverride {
    /// The client's configuration (platform roots + `extra_ca_pem`, or insecure if set).
    #[default]
    Default,
    /// Do not verify this host's certificate.
    Insecure,
    /// Verify against the platform roots plus this CA bundle.
    ExtraCa(PathBuf),
}

/// The shared TLS configurations of one client.
#[derive(Debug)]
pub(crate) struct TlsConfigs {
    /// The client's own CA bundle (`extra_ca_pem`), already checked.
    extra_ca: Option<PathBuf>,
    insecure_default: bool,
    /// Built on the first HTTPS host: loading and parsing the platform roots
    /// costs milliseconds that an HTTP-only fleet should not pay.
    default: Mutex<Option<Arc<ClientConfig>>>,
    insecure: Mutex<Option<Arc<ClientConfig>>>,
    extra: Mutex<HashMap<PathBuf, Arc<ClientConfig>>>,
}

/// Reads a CA bundle and adds it to an empty store, so a missing, non-PEM or
/// unusable bundle fails before any host (without loading the platform roots).
fn check_ca_bundle(path: &Path) -> Result<(), WinrmError> {
    let mut roots = RootCertStore::empty();
    for cert in read_pem(path)? {
        roots.add(cert).map_err(|e| WinrmError::Config {
            detail: format!("CA bundle {}: {e}", path.display()),
        })?;
    }
    Ok(())
}

impl TlsConfigs {
    /// Checks the CA bundle now, so a bad CA file fails before any host; the
    /// default configuration itself is built on first HTTPS use.
    pub(crate) fn new(extra_ca: Option<&Path>, insecure_default: bool) -> Result<Self, WinrmError> {
        if !insecure_default && let Some(path) = extra_ca {
            check_ca_bundle(path)?;
        }
        Ok(Self {
            extra_ca: extra_ca.map(Path::to_path_buf),
            insecure_default,
            default: Mutex::new(None),
            insecure: Mutex::new(None),
            extra: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the default configuration has been built (tests only).
    #[cfg(test)]
    fn default_built(&self) -> bool {
        self.default
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// The configuration for one host, built on first use and cached.
    pub(crate) fn for_override(&self, o: &TlsOverride) -> Result<Arc<ClientConfig>, WinrmError> {
        match o {
            TlsOverride::Default => {
                let mut slot = self
                    .default
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(c) = slot.as_ref() {
                    return Ok(c.clone());
                }
                let c = if self.insecure_default {
                    insecure()?
                } else {
                    verified(self.extra_ca.as_deref())?
                };
                *slot = Some(c.clone());
                Ok(c)
            }
            TlsOverride::Insecure => {
                // Tiny critical sections, no await inside: a std Mutex is enough.
                let mut slot = self
                    .insecure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(c) = slot.as_ref() {
                    return Ok(c.clone());
                }
                let c = insecure()?;
                *slot = Some(c.clone());
                Ok(c)
            }
            TlsOverride::ExtraCa(path) => {
                let mut map = self
                    .extra
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(c) = map.get(path) {
                    return Ok(c.clone());
                }
                let c = verified(Some(path))?;
                map.insert(path.clone(), c.clone());
                Ok(c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        rcgen::CertificateParams::new(vec!["ca.test".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("self-signed")
            .pem()
    }

    #[test]
    fn default_config_is_built_on_first_https_use_not_at_client_creation() {
        let configs = TlsConfigs::new(None, false).expect("configs");
        assert!(!configs.default_built());
        let first = configs.for_override(&TlsOverride::Default).expect("first");
        assert!(configs.default_built());
        let second = configs.for_override(&TlsOverride::Default).expect("second");
        assert!(Arc::ptr_eq(&first, &second), "built once, then shared");
    }

    #[test]
    fn missing_ca_bundle_fails_at_client_creation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = TlsConfigs::new(Some(&dir.path().join("absent.pem")), false)
            .expect_err("a missing bundle must fail before any host");
        assert!(err.to_string().contains("cannot read CA bundle"), "{err}");
    }

    #[test]
    fn ca_bundle_without_certificates_fails_at_client_creation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").expect("write");
        let err = TlsConfigs::new(Some(&path), false).expect_err("must fail");
        assert!(err.to_string().contains("holds no certificate"), "{err}");
    }

    #[test]
    fn valid_ca_bundle_is_accepted_and_used_lazily() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca_pem()).expect("write");
        let configs = TlsConfigs::new(Some(&path), false).expect("configs");
        assert!(!configs.default_built());
        configs
            .for_override(&TlsOverride::Default)
            .expect("default config with the extra CA");
        assert!(configs.default_built());
    }
}
