//! Authentication and message sealing as a default Windows WinRM listener does
//! them: Basic (when enabled), NTLM under the `Negotiate` scheme through sspi's
//! acceptors (raw NTLMSSP tokens, or NTLM inside SPNEGO; one context per TCP
//! connection), channel binding checked strictly over HTTPS (missing or wrong:
//! refused), and MS-WSMV `multipart/encrypted` bodies sealed with the session.
//!
//! sspi's NTLM acceptor checks the password through the MIC only (sspi-rs#172): a
//! client that sends no MIC would pass. Fine for an emulator, not a security
//! boundary.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret as _, SecretString};
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, CredentialUse, Credentials, CredentialsBuffers,
    DataRepresentation, EncryptionFlags, Negotiate, NegotiateConfig, Ntlm, SecurityBuffer,
    SecurityBufferRef, SecurityStatus, ServerRequestFlags, Sspi as _, Username,
};

/// `Content-Type` of a sealed body.
pub(crate) const SEALED_CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
const BOUNDARY: &[u8] = b"--Encrypted Boundary\r\n";
const END_BOUNDARY: &[u8] = b"--Encrypted Boundary--\r\n";
const NTLM_SIGNATURE: &[u8] = b"NTLMSSP\0";
/// MsvAvChannelBindings (MS-NLMP 2.2.2.1).
const AV_CHANNEL_BINDINGS: u16 = 0x000A;

/// Why a request could not be authenticated or unsealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("bad credentials")]
    Denied,
    #[error("the NTLM token is malformed or out of sequence: {0}")]
    Token(String),
    #[error("channel binding missing or wrong")]
    ChannelBinding,
    #[error("the sealed body is malformed or fails its signature: {0}")]
    Seal(String),
}

/// Checks an `Authorization: Basic …` value against the account.
pub(crate) fn basic_ok(value: &str, user: &str, password: &SecretString) -> bool {
    let Some(b64) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(raw) = B64.decode(b64.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(raw) else {
        return false;
    };
    let Some((u, p)) = text.split_once(':') else {
        return false;
    };
    user_matches(u, user) && p == password.expose_secret()
}

/// `fleetscan`, `HOST\fleetscan`, `.\fleetscan` and `fleetscan@domain` all name the
/// local account `fleetscan` (case-insensitive, as Windows compares names).
pub(crate) fn user_matches(given: &str, user: &str) -> bool {
    let bare = given.rsplit('\\').next().unwrap_or(given);
    let bare = bare.split('@').next().unwrap_or(bare);
    bare.eq_ignore_ascii_case(user)
}

/// The token of an `Authorization: Negotiate <b64>` (or `NTLM <b64>`) value.
pub(crate) fn negotiate_token(value: &str) -> Option<Vec<u8>> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Negotiate") && !scheme.eq_ignore_ascii_case("NTLM") {
        return None;
    }
    B64.decode(rest.trim()).ok()
}

/// The NTLM message type of a raw NTLMSSP token (1, 2 or 3).
pub(crate) fn ntlm_message_type(token: &[u8]) -> Option<u32> {
    if token.len() < 12 || !token.starts_with(NTLM_SIGNATURE) {
        return None;
    }
    Some(u32::from_le_bytes([
        token[8], token[9], token[10], token[11],
    ]))
}

/// What one leg of the handshake produced.
#[derive(Debug)]
pub(crate) enum Leg {
    /// Send this CHALLENGE back with 401.
    Challenge(Vec<u8>),
    /// The AUTHENTICATE message checked out: the connection is authenticated.
    /// SPNEGO sends a last token (accept-completed, mechListMIC) with the 200.
    Authenticated(Option<Vec<u8>>),
}

/// The security context: raw NTLMSSP, or NTLM inside SPNEGO.
enum Ctx {
    Ntlm(Box<Ntlm>, Option<AuthIdentityBuffers>),
    Spnego(Box<Negotiate>, Option<CredentialsBuffers>),
}

/// Whether a Negotiate token is SPNEGO (GSS InitialContextToken or NegTokenResp)
/// rather than raw NTLMSSP.
pub(crate) fn is_spnego(token: &[u8]) -> bool {
    matches!(token.first(), Some(0x60 | 0xa1))
}

/// The raw NTLM message inside a token: the token itself, or the NTLMSSP message
/// wrapped in SPNEGO (its offsets are relative to its own start, so the bytes
/// after it do no harm).
fn inner_ntlm(token: &[u8]) -> Option<&[u8]> {
    if token.starts_with(NTLM_SIGNATURE) {
        return Some(token);
    }
    find(token, NTLM_SIGNATURE).and_then(|at| token.get(at..))
}

/// One NTLM acceptor context: per TCP connection, as Windows binds NTLM to it.
pub(crate) struct NtlmAcceptor {
    ctx: Ctx,
    /// `tls-server-end-point:` + certificate hash, over HTTPS.
    channel_binding: Option<Vec<u8>>,
    done: bool,
    /// The user name the client authenticated as.
    user: Option<String>,
}

impl std::fmt::Debug for NtlmAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmAcceptor")
            .field("done", &self.done)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl NtlmAcceptor {
    /// A fresh context accepting `user` with `password`; `channel_binding` is the
    /// application data of the expected `tls-server-end-point` binding over HTTPS.
    /// `spnego` chooses NTLM inside SPNEGO (pyspnego, Windows clients) over raw
    /// NTLMSSP tokens under the `Negotiate` scheme.
    pub(crate) fn new(
        user: &str,
        password: &SecretString,
        channel_binding: Option<Vec<u8>>,
        spnego: bool,
    ) -> Result<NtlmAcceptor, AuthError> {
        let token_err = |e: sspi::Error| AuthError::Token(e.to_string());
        let identity = AuthIdentity {
            username: Username::new(user, None).map_err(|e| AuthError::Token(e.to_string()))?,
            password: password.expose_secret().to_owned().into(),
        };
        let ctx = if spnego {
            let config = NegotiateConfig::new(
                Box::new(NtlmConfig::default()),
                Some("ntlm,!kerberos,!pku2u".to_owned()),
                "EMULATED".to_owned(),
            );
            let mut neg =
                Negotiate::new_server(config, vec![identity.clone()]).map_err(token_err)?;
            let auth = Credentials::AuthIdentity(identity);
            let acquired = neg
                .acquire_credentials_handle()
                .with_credential_use(CredentialUse::Inbound)
                .with_auth_data(&auth)
                .execute(&mut neg)
                .map_err(token_err)?;
            Ctx::Spnego(Box::new(neg), acquired.credentials_handle)
        } else {
            let mut ntlm = Ntlm::new();
            let acquired = ntlm
                .acquire_credentials_handle()
                .with_credential_use(CredentialUse::Inbound)
                .with_auth_data(&identity)
                .execute(&mut ntlm)
                .map_err(token_err)?;
            Ctx::Ntlm(Box::new(ntlm), acquired.credentials_handle)
        };
        Ok(NtlmAcceptor {
            ctx,
            channel_binding,
            done: false,
            user: None,
        })
    }

    /// Whether the handshake completed.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.done
    }

    /// Feeds one client token (NEGOTIATE or AUTHENTICATE).
    pub(crate) fn step(&mut self, token: &[u8]) -> Result<Leg, AuthError> {
        let ntlm_msg = inner_ntlm(token);
        let kind = ntlm_msg.and_then(ntlm_message_type);
        if kind.is_none() && matches!(self.ctx, Ctx::Ntlm(..)) {
            return Err(AuthError::Token("not an NTLMSSP message".into()));
        }
        let mut input = vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)];
        if let (Some(3), Some(msg)) = (kind, ntlm_msg) {
            if let Some(cb) = &self.channel_binding {
                // Strict channel binding: a client that sends none is refused too
                // (sspi only compares a binding that is present).
                match type3_channel_binding_hash(msg) {
                    Some(hash) if hash != [0u8; 16] => {}
                    _ => return Err(AuthError::ChannelBinding),
                }
                input.push(SecurityBuffer::new(
                    sec_channel_bindings(cb),
                    BufferType::ChannelBindings,
                ));
            }
            self.user = type3_user(msg);
        }
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let map = |e: sspi::Error| match e.error_type {
            sspi::ErrorKind::BadBindings => AuthError::ChannelBinding,
            sspi::ErrorKind::LogonDenied | sspi::ErrorKind::MessageAltered => AuthError::Denied,
            _ => AuthError::Token(e.to_string()),
        };
        let status = match &mut self.ctx {
            Ctx::Ntlm(ntlm, creds) => {
                let ntlm = ntlm.as_mut();
                ntlm.accept_security_context()
                    .with_credentials_handle(creds)
                    .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
                    .with_target_data_representation(DataRepresentation::Native)
                    .with_input(&mut input)
                    .with_output(&mut output)
                    .execute(ntlm)
                    .and_then(|mut g| g.resolve_to_result())
                    .map_err(map)?
                    .status
            }
            Ctx::Spnego(neg, creds) => {
                let neg = neg.as_mut();
                neg.accept_security_context()
                    .with_credentials_handle(creds)
                    .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
                    .with_target_data_representation(DataRepresentation::Native)
                    .with_input(&mut input)
                    .with_output(&mut output)
                    .execute(neg)
                    .and_then(|mut g| g.resolve_to_result())
                    .map_err(map)?
                    .status
            }
        };
        let out = output
            .into_iter()
            .next()
            .map(|b| b.buffer)
            .unwrap_or_default();
        match status {
            SecurityStatus::ContinueNeeded if !(kind == Some(3) && out.is_empty()) => {
                Ok(Leg::Challenge(out))
            }
            SecurityStatus::CompleteNeeded
            | SecurityStatus::CompleteAndContinue
            | SecurityStatus::Ok => {
                let completed = match &mut self.ctx {
                    Ctx::Ntlm(ntlm, _) => ntlm.complete_auth_token(&mut []),
                    Ctx::Spnego(neg, _) => neg.complete_auth_token(&mut []),
                };
                completed.map_err(|e| match e.error_type {
                    sspi::ErrorKind::BadBindings => AuthError::ChannelBinding,
                    _ => AuthError::Denied,
                })?;
                self.done = true;
                Ok(Leg::Authenticated((!out.is_empty()).then_some(out)))
            }
            other => Err(AuthError::Token(format!("unexpected status {other:?}"))),
        }
    }

    fn decrypt(&mut self, bufs: &mut [SecurityBufferRef<'_>]) -> Result<(), AuthError> {
        let r = match &mut self.ctx {
            Ctx::Ntlm(ntlm, _) => ntlm.decrypt_message(bufs).map(|_| ()),
            Ctx::Spnego(neg, _) => neg.decrypt_message(bufs).map(|_| ()),
        };
        r.map_err(|e| AuthError::Seal(e.to_string()))
    }

    fn encrypt(&mut self, bufs: &mut [SecurityBufferRef<'_>]) -> Result<(), AuthError> {
        let r = match &mut self.ctx {
            Ctx::Ntlm(ntlm, _) => ntlm.encrypt_message(EncryptionFlags::empty(), bufs),
            Ctx::Spnego(neg, _) => neg.encrypt_message(EncryptionFlags::empty(), bufs),
        };
        r.map(|_| ()).map_err(|e| AuthError::Seal(e.to_string()))
    }

    /// Unseals an MS-WSMV `multipart/encrypted` body into the SOAP text.
    pub(crate) fn unseal(&mut self, body: &[u8]) -> Result<Vec<u8>, AuthError> {
        if !self.done {
            return Err(AuthError::Seal("no NTLM session on this connection".into()));
        }
        let (length, payload) = split_multipart(body)?;
        if payload.len() < 4 {
            return Err(AuthError::Seal("payload too short".into()));
        }
        let sig_len = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]) as usize;
        let rest = &payload[4..];
        if sig_len != 16 || rest.len() < sig_len + length {
            return Err(AuthError::Seal(format!(
                "signature length {sig_len}, {} bytes for Length={length}",
                rest.len().saturating_sub(sig_len)
            )));
        }
        let mut sig = rest[..sig_len].to_vec();
        let mut data = rest[sig_len..sig_len + length].to_vec();
        let mut bufs = [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.decrypt(&mut bufs)?;
        Ok(data)
    }

    /// Seals `plain` (a SOAP envelope) into a `multipart/encrypted` body.
    pub(crate) fn seal(&mut self, plain: &[u8]) -> Result<Vec<u8>, AuthError> {
        let mut sig = vec![0u8; 16];
        let mut data = plain.to_vec();
        let mut bufs = [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.encrypt(&mut bufs)?;
        let mut out = Vec::with_capacity(plain.len() + 256);
        out.extend_from_slice(BOUNDARY);
        out.extend_from_slice(b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n");
        out.extend_from_slice(
            format!(
                "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n",
                plain.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(BOUNDARY);
        out.extend_from_slice(b"\tContent-Type: application/octet-stream\r\n");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&sig);
        out.extend_from_slice(&data);
        out.extend_from_slice(END_BOUNDARY);
        Ok(out)
    }
}

/// Finds `Length=` and the octet-stream payload of a sealed body.
fn split_multipart(body: &[u8]) -> Result<(usize, &[u8]), AuthError> {
    let bad = |what: &str| AuthError::Seal(what.to_owned());
    let rest = body
        .strip_prefix(BOUNDARY)
        .ok_or_else(|| bad("no opening boundary"))?;
    let second = find(rest, BOUNDARY).ok_or_else(|| bad("no second boundary"))?;
    let headers = String::from_utf8_lossy(&rest[..second]);
    let length: usize = headers
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Length="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad("no OriginalContent Length"))?;
    let part = &rest[second + BOUNDARY.len()..];
    let marker = b"application/octet-stream\r\n";
    let at = find(part, marker).ok_or_else(|| bad("no octet-stream part"))?;
    Ok((length, &part[at + marker.len()..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A SEC_CHANNEL_BINDINGS structure with only application data.
fn sec_channel_bindings(app_data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let len = u32::try_from(app_data.len()).unwrap_or(0);
    out[24..28].copy_from_slice(&len.to_le_bytes());
    out[28..32].copy_from_slice(&32u32.to_le_bytes());
    out.extend_from_slice(app_data);
    out
}

/// Reads a security buffer field (len u16, maxlen u16, offset u32) at `at`.
fn field(msg: &[u8], at: usize) -> Option<&[u8]> {
    let f = msg.get(at..at + 8)?;
    let len = u16::from_le_bytes([f[0], f[1]]) as usize;
    let off = u32::from_le_bytes([f[4], f[5], f[6], f[7]]) as usize;
    msg.get(off..off.checked_add(len)?)
}

/// The MsvAvChannelBindings hash in an AUTHENTICATE message's NTLMv2 response.
fn type3_channel_binding_hash(msg: &[u8]) -> Option<[u8; 16]> {
    let nt = field(msg, 20)?;
    // NTProofStr (16) + RespType, HiRespType, Reserved1 (2), Reserved2 (4),
    // TimeStamp (8), ChallengeFromClient (8), Reserved3 (4) = 44 bytes.
    let mut pairs = nt.get(44..)?;
    while pairs.len() >= 4 {
        let id = u16::from_le_bytes([pairs[0], pairs[1]]);
        let len = u16::from_le_bytes([pairs[2], pairs[3]]) as usize;
        let value = pairs.get(4..4 + len)?;
        if id == 0 {
            return None;
        }
        if id == AV_CHANNEL_BINDINGS {
            return value.try_into().ok();
        }
        pairs = &pairs[4 + len..];
    }
    None
}

/// The user name of an AUTHENTICATE message (UTF-16LE).
fn type3_user(msg: &[u8]) -> Option<String> {
    let raw = field(msg, 36)?;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sspi::{ClientRequestFlags, SspiImpl as _};

    /// An sspi NTLM client, as a test peer.
    pub(crate) struct Client {
        ntlm: Ntlm,
        creds: Option<AuthIdentityBuffers>,
    }

    impl Client {
        pub(crate) fn new(user: &str, password: &str, cbt: Option<&[u8]>) -> Client {
            let mut ntlm = Ntlm::with_config(NtlmConfig::new("TESTCLIENT".into()));
            if let Some(cb) = cbt {
                ntlm.set_channel_bindings(cb);
            }
            let identity = AuthIdentity {
                username: Username::new(user, None).expect("user"),
                password: password.to_owned().into(),
            };
            let acquired = ntlm
                .acquire_credentials_handle()
                .with_credential_use(CredentialUse::Outbound)
                .with_auth_data(&identity)
                .execute(&mut ntlm)
                .expect("creds");
            Client {
                ntlm,
                creds: acquired.credentials_handle,
            }
        }

        pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Vec<u8> {
            let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
            let mut inbuf = input
                .map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)])
                .unwrap_or_default();
            let mut builder = self
                .ntlm
                .initialize_security_context()
                .with_credentials_handle(&mut self.creds)
                .with_context_requirements(
                    ClientRequestFlags::CONFIDENTIALITY
                        | ClientRequestFlags::INTEGRITY
                        | ClientRequestFlags::ALLOCATE_MEMORY,
                )
                .with_target_data_representation(DataRepresentation::Native)
                .with_target_name("HTTP/127.0.0.1")
                .with_output(&mut output);
            if input.is_some() {
                builder = builder.with_input(&mut inbuf);
            }
            self.ntlm
                .initialize_security_context_impl(&mut builder)
                .expect("isc")
                .resolve_to_result()
                .expect("isc result");
            output.remove(0).buffer
        }
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn ntlm_handshake_then_sealed_bodies_round_trip() {
        let mut server =
            NtlmAcceptor::new("fleetscan", &secret("pw"), None, false).expect("acceptor");
        let mut client = Client::new("fleetscan", "pw", None);
        let t1 = client.step(None);
        let Leg::Challenge(t2) = server.step(&t1).expect("type1") else {
            panic!("challenge expected");
        };
        let t3 = client.step(Some(&t2));
        assert!(matches!(server.step(&t3), Ok(Leg::Authenticated(None))));
        assert_eq!(server.user.as_deref(), Some("fleetscan"));
        // The server's own sealing is readable by a peer with the server's keys
        // in reverse: check the framing round trip on the server side.
        let sealed = server.seal(b"<s:Envelope/>").expect("seal");
        assert!(sealed.starts_with(BOUNDARY) && sealed.ends_with(END_BOUNDARY));
        let (len, payload) = split_multipart(&sealed).expect("framing");
        assert_eq!(len, 13);
        assert_eq!(&payload[..4], &16u32.to_le_bytes());
    }

    fn spnego_client(password: &str) -> (Negotiate, Option<CredentialsBuffers>) {
        let config = NegotiateConfig::new(
            Box::new(NtlmConfig::new("TESTCLIENT".into())),
            Some("ntlm,!kerberos".to_owned()),
            "TESTCLIENT".to_owned(),
        );
        let mut neg = Negotiate::new_client(config).expect("client");
        let identity = Credentials::AuthIdentity(AuthIdentity {
            username: Username::new("fleetscan", None).expect("user"),
            password: password.to_owned().into(),
        });
        let acquired = neg
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut neg)
            .expect("creds");
        (neg, acquired.credentials_handle)
    }

    fn spnego_step(
        neg: &mut Negotiate,
        creds: &mut Option<CredentialsBuffers>,
        input: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut inbuf = input
            .map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)])
            .unwrap_or_default();
        let mut builder = neg
            .initialize_security_context()
            .with_credentials_handle(creds)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("HTTP/127.0.0.1")
            .with_output(&mut output);
        if input.is_some() {
            builder = builder.with_input(&mut inbuf);
        }
        neg.initialize_security_context_impl(&mut builder)
            .expect("isc")
            .resolve_to_result()
            .expect("isc result");
        output.remove(0).buffer
    }

    #[test]
    fn spnego_wrapped_ntlm_authenticates_and_seals() {
        for (password, ok) in [("pw", true), ("wrong", false)] {
            let mut server =
                NtlmAcceptor::new("fleetscan", &secret("pw"), None, true).expect("acceptor");
            let (mut client, mut creds) = spnego_client(password);
            let t1 = spnego_step(&mut client, &mut creds, None);
            assert!(is_spnego(&t1));
            let Leg::Challenge(t2) = server.step(&t1).expect("init") else {
                panic!("challenge expected");
            };
            assert!(is_spnego(&t2));
            let t3 = spnego_step(&mut client, &mut creds, Some(&t2));
            let result = server.step(&t3);
            assert_eq!(result.is_ok(), ok, "password {password}: {result:?}");
            if !ok {
                continue;
            }
            if let Ok(Leg::Authenticated(Some(last))) = result {
                spnego_step(&mut client, &mut creds, Some(&last));
            }
            let mut sig = vec![0u8; 16];
            let mut data = b"<s:Envelope/>".to_vec();
            let mut bufs = [
                SecurityBufferRef::token_buf(&mut sig),
                SecurityBufferRef::data_buf(&mut data),
            ];
            client
                .encrypt_message(EncryptionFlags::empty(), &mut bufs)
                .expect("client seals");
            let mut body =                 "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=13\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
                .as_bytes()
                .to_vec();
            body.extend_from_slice(&16u32.to_le_bytes());
            body.extend_from_slice(&sig);
            body.extend_from_slice(&data);
            body.extend_from_slice(END_BOUNDARY);
            assert_eq!(server.unseal(&body).expect("unseals"), b"<s:Envelope/>");
        }
    }

    #[test]
    fn wrong_password_is_denied() {
        let mut server =
            NtlmAcceptor::new("fleetscan", &secret("pw"), None, false).expect("acceptor");
        let mut client = Client::new("fleetscan", "nope", None);
        let t1 = client.step(None);
        let Leg::Challenge(t2) = server.step(&t1).expect("type1") else {
            panic!("challenge expected");
        };
        let t3 = client.step(Some(&t2));
        assert!(server.step(&t3).is_err());
        assert!(!server.is_authenticated());
    }

    #[test]
    fn channel_binding_is_required_and_checked() {
        let good = b"tls-server-end-point:0123456789abcdef0123456789abcdef".to_vec();
        for (client_cb, ok) in [
            (Some(good.clone()), true),
            (None, false),
            (Some(b"tls-server-end-point:wrong".to_vec()), false),
        ] {
            let mut server =
                NtlmAcceptor::new("fleetscan", &secret("pw"), Some(good.clone()), false)
                    .expect("acceptor");
            let mut client = Client::new("fleetscan", "pw", client_cb.as_deref());
            let t1 = client.step(None);
            let Leg::Challenge(t2) = server.step(&t1).expect("type1") else {
                panic!("challenge expected");
            };
            let t3 = client.step(Some(&t2));
            assert_eq!(server.step(&t3).is_ok(), ok, "client binding {client_cb:?}");
        }
    }

    #[test]
    fn basic_header_checks_user_and_password() {
        let pw = secret("s3cret");
        let h = |s: &str| format!("Basic {}", B64.encode(s));
        assert!(basic_ok(&h("fleetscan:s3cret"), "fleetscan", &pw));
        assert!(basic_ok(&h("HOST\\FleetScan:s3cret"), "fleetscan", &pw));
        assert!(!basic_ok(&h("fleetscan:wrong"), "fleetscan", &pw));
        assert!(!basic_ok(&h("other:s3cret"), "fleetscan", &pw));
        assert!(!basic_ok("Basic !!!", "fleetscan", &pw));
    }
}
