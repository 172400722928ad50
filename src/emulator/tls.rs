//! The fleet's TLS identity, made at start: one CA, and one server certificate
//! per group of up to [`HOSTS_PER_CERT`] hosts naming each of them (IP and DNS
//! SANs; one certificate for thousands of names is more than webpki will parse),
//! served by rustls with the ring provider. Clients verify with the CA
//! (`emulate --ca-out`, `scan --ca-cert`).

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest as _, Sha256};

use super::EmulatorError;

/// Hosts named by one server certificate.
pub(crate) const HOSTS_PER_CERT: usize = 256;

/// One server certificate's listeners' side: the acceptor and the channel
/// binding a client must present.
pub(crate) struct Identity {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    /// `tls-server-end-point:` followed by the SHA-256 of the server certificate
    /// (RFC 5929; SHA-256 because the certificate is signed with ECDSA-SHA256).
    pub(crate) channel_binding: Vec<u8>,
}

/// The CA (for clients) and the identity of each host group.
pub(crate) struct FleetTls {
    pub(crate) ca_pem: String,
    /// Identity `i` serves hosts `i * HOSTS_PER_CERT ..`.
    pub(crate) identities: Vec<Arc<Identity>>,
}

fn tls_err(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Tls(e.to_string())
}

/// Makes the CA and the server certificates for hosts named `names` at `ips`
/// (same order, same length).
pub(crate) fn make(names: &[String], ips: &[IpAddr]) -> Result<FleetTls, EmulatorError> {
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "fleetscan emulator CA");
    ca_params.distinguished_name = dn;
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut identities = Vec::new();
    for (names, ips) in names.chunks(HOSTS_PER_CERT).zip(ips.chunks(HOSTS_PER_CERT)) {
        identities.push(Arc::new(identity(names, ips, &issuer)?));
    }
    Ok(FleetTls {
        ca_pem: ca_cert.pem(),
        identities,
    })
}

fn identity(
    names: &[String],
    ips: &[IpAddr],
    issuer: &Issuer<'_, KeyPair>,
) -> Result<Identity, EmulatorError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "fleetscan emulated fleet");
    params.distinguished_name = dn;
    let mut seen = std::collections::HashSet::new();
    for ip in ips {
        if seen.insert(ip.to_string()) {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
    }
    for name in names.iter().chain(std::iter::once(&"localhost".to_owned())) {
        if seen.insert(name.to_ascii_lowercase()) {
            let dns = name.clone().try_into().map_err(tls_err)?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
    }
    let key = KeyPair::generate().map_err(tls_err)?;
    let cert = params.signed_by(&key, issuer).map_err(tls_err)?;

    let mut channel_binding = b"tls-server-end-point:".to_vec();
    channel_binding.extend_from_slice(&Sha256::digest(cert.der()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(tls_err)?;
    Ok(Identity {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        channel_binding,
    })
}
