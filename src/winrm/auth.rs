//! HTTP authentication for WinRM: Basic (a header on every request) and NTLM
//! through sspi, with tokens carried raw under the `Negotiate` scheme as Windows
//! accepts them (pywinrm, WinRb), or under `NTLM` when that is all a server offers.
//!
//! The password leaves its [`SecretString`] only here: into the Basic header value
//! (itself a `SecretString`) and into sspi's `AuthIdentity`. `Debug` prints
//! `[redacted]` for everything that holds key material.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, Ntlm, SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};

use crate::credentials::Credentials;

/// The `Authorization` value for Basic: `Basic base64(user:password)`.
pub(crate) fn basic_header(creds: &Credentials) -> SecretString {
    let raw = format!("{}:{}", creds.user, creds.password.expose_secret());
    SecretString::from(format!("Basic {}", STANDARD.encode(raw.as_bytes())))
}

/// The HTTP scheme an NTLM token travels under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NtlmScheme {
    /// `Negotiate` (what Windows WinRM advertises; raw NTLMSSP is accepted).
    Negotiate,
    /// `NTLM`.
    Ntlm,
}

impl NtlmScheme {
    pub(crate) fn name(self) -> &'static str {
        match self {
            NtlmScheme::Negotiate => "Negotiate",
            NtlmScheme::Ntlm => "NTLM",
        }
    }
}

/// Where the NTLM client handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// Nothing sent yet.
    Start,
    /// NEGOTIATE (type 1) sent; waiting for the CHALLENGE.
    SentNegotiate,
    /// AUTHENTICATE (type 3) produced; sealing keys exist.
    Authenticated,
}

/// An NTLM client context for one connection.
pub(crate) struct NtlmAuth {
    ntlm: Ntlm,
    handle: Option<AuthIdentityBuffers>,
    target: String,
    leg: Leg,
}

impl fmt::Debug for NtlmAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmAuth")
            .field("target", &self.target)
            .field("leg", &self.leg)
            .field("keys", &"[redacted]")
            .finish()
    }
}

/// `tls-server-end-point` channel binding data (RFC 5929 §4.1): the prefix and the
/// hash of the server's leaf certificate, with the certificate's own signature hash
/// when that is SHA-384 or SHA-512, else SHA-256 (MD5 and SHA-1 are upgraded to
/// SHA-256 by the RFC; RSASSA-PSS and unknown algorithms fall back to SHA-256).
pub(crate) fn tls_server_end_point(leaf_der: &[u8]) -> Vec<u8> {
    let mut out = b"tls-server-end-point:".to_vec();
    match signature_hash(leaf_der) {
        CertHash::Sha384 => out.extend_from_slice(&sha2::Sha384::digest(leaf_der)),
        CertHash::Sha512 => out.extend_from_slice(&sha2::Sha512::digest(leaf_der)),
        CertHash::Sha256 => out.extend_from_slice(&Sha256::digest(leaf_der)),
    }
    out
}

/// The hash RFC 5929 asks for, from the certificate's signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CertHash {
    Sha256,
    Sha384,
    Sha512,
}

// DER of the signature algorithm OIDs that call for a stronger hash (RFC 4055, RFC 5758).
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];

/// Reads one DER TLV at the start of `der`: (tag, contents, rest).
fn der_tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, … }, … }
fn signature_hash(cert: &[u8]) -> CertHash {
    let oid = (|| {
        let (0x30, certificate, _) = der_tlv(cert)? else {
            return None;
        };
        let (_, _tbs, rest) = der_tlv(certificate)?;
        let (0x30, algorithm, _) = der_tlv(rest)? else {
            return None;
        };
        let (0x06, oid, _) = der_tlv(algorithm)? else {
            return None;
        };
        Some(oid)
    })();
    match oid {
        Some(OID_SHA384_RSA | OID_ECDSA_SHA384) => CertHash::Sha384,
        Some(OID_SHA512_RSA | OID_ECDSA_SHA512) => CertHash::Sha512,
        _ => CertHash::Sha256,
    }
}

fn sspi_err(e: &sspi::Error) -> String {
    format!("{:?}: {}", e.error_type, e.description)
}

impl NtlmAuth {
    /// A fresh context for `creds` talking to `host` (`HTTP/host` is the target name).
    ///
    /// # Errors
    /// A description when the user name cannot be parsed or sspi refuses the identity.
    pub(crate) fn new(creds: &Credentials, host: &str) -> Result<Self, String> {
        let username =
            Username::parse(&creds.user).map_err(|e| format!("user name '{}': {e}", creds.user))?;
        let identity = AuthIdentity {
            username,
            password: creds.password.expose_secret().to_owned().into(),
        };
        let mut ntlm = Ntlm::with_config(NtlmConfig::new(workstation()));
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(|e| sspi_err(&e))?;
        Ok(Self {
            ntlm,
            handle: acquired.credentials_handle,
            target: format!("HTTP/{host}"),
            leg: Leg::Start,
        })
    }

    fn step(&mut self, input: Option<Vec<u8>>) -> Result<(SecurityStatus, Vec<u8>), String> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input_buffers = input
            .map(|t| vec![SecurityBuffer::new(t, BufferType::Token)])
            .unwrap_or_default();
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.handle)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_output(&mut output);
        if !input_buffers.is_empty() {
            builder = builder.with_input(&mut input_buffers);
        }
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(|e| sspi_err(&e))?
            .resolve_to_result()
            .map_err(|e| sspi_err(&e))?;
        let token = output
            .into_iter()
            .next()
            .map(|b| b.buffer)
            .unwrap_or_default();
        Ok((result.status, token))
    }

    /// The NEGOTIATE (type 1) message.
    ///
    /// # Errors
    /// When called twice or sspi fails.
    pub(crate) fn negotiate(&mut self) -> Result<Vec<u8>, String> {
        if self.leg != Leg::Start {
            return Err(format!("NEGOTIATE requested in state {:?}", self.leg));
        }
        let (status, token) = self.step(None)?;
        if status != SecurityStatus::ContinueNeeded || token.is_empty() {
            return Err(format!("unexpected status {status:?} after NEGOTIATE"));
        }
        self.leg = Leg::SentNegotiate;
        Ok(token)
    }

    /// The AUTHENTICATE (type 3) message answering `challenge`, bound to the TLS
    /// channel when `channel_binding` is given.
    ///
    /// # Errors
    /// When the challenge is invalid or out of order.
    pub(crate) fn authenticate(
        &mut self,
        challenge: &[u8],
        channel_binding: Option<&[u8]>,
    ) -> Result<Vec<u8>, String> {
        if self.leg != Leg::SentNegotiate {
            return Err(format!("CHALLENGE received in state {:?}", self.leg));
        }
        if let Some(cbt) = channel_binding {
            self.ntlm.set_channel_bindings(cbt);
        }
        let (status, token) = self.step(Some(challenge.to_vec()))?;
        if !matches!(status, SecurityStatus::Ok | SecurityStatus::CompleteNeeded)
            || token.is_empty()
        {
            return Err(format!("unexpected status {status:?} after AUTHENTICATE"));
        }
        if status == SecurityStatus::CompleteNeeded {
            self.ntlm
                .complete_auth_token(&mut [])
                .map_err(|e| sspi_err(&e))?;
        }
        self.leg = Leg::Authenticated;
        Ok(token)
    }

    /// The sealing context, once authenticated.
    pub(crate) fn sealing(&mut self) -> Option<&mut Ntlm> {
        (self.leg == Leg::Authenticated).then_some(&mut self.ntlm)
    }
}

/// The NTLM workstation name we announce (not secret; appears in the server's logon events).
fn workstation() -> String {
    "FLEETSCAN".to_owned()
}

/// One challenge from a `WWW-Authenticate` header: scheme and optional token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) token: Option<String>,
}

/// Splits `WWW-Authenticate` values into challenges. Windows sends one header per
/// scheme (`Negotiate`, `Kerberos`, `Basic realm="WSMAN"`), but a comma-joined list is
/// also handled for the token-style schemes.
pub(crate) fn challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        for piece in value.split(',') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let (scheme, rest) = match piece.split_once(' ') {
                Some((s, r)) => (s, r.trim()),
                None => (piece, ""),
            };
            // `realm="x"` after Basic is a parameter, not a new scheme.
            if scheme.contains('=') {
                continue;
            }
            let token = (!rest.is_empty() && !rest.contains('=') || rest.ends_with('='))
                .then(|| rest.to_owned())
                .filter(|t| !t.contains(' '));
            out.push(Challenge {
                scheme: scheme.to_owned(),
                token,
            });
        }
    }
    out
}

/// The schemes offered, for error messages (names only, never tokens).
pub(crate) fn offered(challenges: &[Challenge]) -> String {
    if challenges.is_empty() {
        return "nothing".to_owned();
    }
    challenges
        .iter()
        .map(|c| c.scheme.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(password: &str) -> Credentials {
        Credentials::new("CONTOSO\\alice", SecretString::from(password.to_owned()))
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        let h = basic_header(&Credentials::new(
            "Aladdin",
            SecretString::from("open sesame".to_owned()),
        ));
        assert_eq!(h.expose_secret(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn debug_of_ntlm_context_hides_keys_and_password() {
        let auth = NtlmAuth::new(&creds("canary-Pa55"), "win01").expect("context");
        let shown = format!("{auth:?}");
        assert!(!shown.contains("canary-Pa55"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn negotiate_token_is_ntlmssp_type_one() {
        let mut auth = NtlmAuth::new(&creds("pw"), "win01").expect("context");
        let t1 = auth.negotiate().expect("type 1");
        assert_eq!(&t1[..8], b"NTLMSSP\0");
        assert_eq!(t1[8], 1);
        assert!(auth.negotiate().is_err());
        assert!(auth.sealing().is_none());
    }

    #[test]
    fn garbage_challenge_is_an_error_not_a_panic() {
        for garbage in [
            &b""[..],
            b"NTLMSSP\0\x02\0\0\0",
            b"\xff\xff\xff",
            &[0u8; 300],
        ] {
            let mut auth = NtlmAuth::new(&creds("pw"), "win01").expect("context");
            auth.negotiate().expect("type 1");
            assert!(auth.authenticate(garbage, None).is_err());
        }
    }

    #[test]
    fn www_authenticate_values_split_into_schemes_and_tokens() {
        let c = challenges([
            "Negotiate TlRMTVNTUAACAAAA==",
            "Kerberos",
            "Basic realm=\"WSMAN\"",
        ]);
        assert_eq!(c[0].scheme, "Negotiate");
        assert_eq!(c[0].token.as_deref(), Some("TlRMTVNTUAACAAAA=="));
        assert_eq!(c[1].token, None);
        assert_eq!(c[2].scheme, "Basic");
        assert_eq!(c[2].token, None);
        assert_eq!(offered(&c), "Negotiate, Kerberos, Basic");
    }

    #[test]
    fn channel_binding_data_is_prefixed_sha256_for_unparseable_input() {
        let cb = tls_server_end_point(b"cert");
        assert!(cb.starts_with(b"tls-server-end-point:"));
        assert_eq!(cb.len(), 21 + 32);
    }

    fn cert_with(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).expect("key");
        rcgen::CertificateParams::new(vec!["win01".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .der()
            .to_vec()
    }

    #[test]
    fn channel_binding_hash_follows_the_certificate_signature() {
        assert_eq!(
            signature_hash(&cert_with(&rcgen::PKCS_ECDSA_P256_SHA256)),
            CertHash::Sha256
        );
        assert_eq!(
            signature_hash(&cert_with(&rcgen::PKCS_ECDSA_P384_SHA384)),
            CertHash::Sha384
        );
        assert_eq!(
            tls_server_end_point(&cert_with(&rcgen::PKCS_ECDSA_P384_SHA384)).len(),
            21 + 48
        );
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01",
        ] {
            assert_eq!(signature_hash(garbage), CertHash::Sha256);
        }
    }
}
