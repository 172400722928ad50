//! HTTP message sealing for WinRM over plain HTTP with NTLM: MS-WSMV 2.2.9.1
//! (`multipart/encrypted; protocol="application/HTTP-SPNEGO-session-encrypted"`).
//!
//! A sealed body is two MIME-like parts: a header part naming the original content
//! type and length, then `application/octet-stream` holding
//! `u32 LE signature length | signature | ciphertext`, closed by
//! `--Encrypted Boundary--\r\n` with no CRLF before it (pywinrm `encryption.py`,
//! pypsrp; verified against pyspnego in the team's research). The crypto itself is
//! sspi's `encrypt_message`/`decrypt_message`; nothing here is home-made crypto.

use bytes::{Bytes, BytesMut};
use sspi::{EncryptionFlags, SecurityBufferRef, Sspi};

/// The request/response `Content-Type` of a sealed body.
pub(crate) const SEALED_CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
const BOUNDARY: &str = "Encrypted Boundary";
/// NTLM signatures are 16 bytes (MS-NLMP 2.2.2.9.1).
const NTLM_SIGNATURE_LEN: usize = 16;

/// Why a body could not be sealed or unsealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SealError {
    /// The security context refused (bad signature, sequence number, state).
    Crypto(String),
    /// The multipart framing is broken; names the parse state and what was found.
    Framing(String),
    /// The declared or actual length is wrong or over the cap.
    Length(String),
}

/// A security context that can wrap and unwrap WinRM bodies in place, so a body
/// is not copied on our side around sspi's own copies.
pub(crate) trait SealingContext {
    /// Encrypts `data` in place and writes its signature into `signature`.
    fn wrap(&mut self, signature: &mut [u8], data: &mut [u8]) -> Result<(), SealError>;
    /// Verifies `signature` and decrypts `data` in place.
    fn unwrap(&mut self, signature: &mut [u8], data: &mut [u8]) -> Result<(), SealError>;
}

impl SealingContext for sspi::Ntlm {
    fn wrap(&mut self, signature: &mut [u8], data: &mut [u8]) -> Result<(), SealError> {
        let mut buffers = [
            SecurityBufferRef::token_buf(signature),
            SecurityBufferRef::data_buf(data),
        ];
        self.encrypt_message(EncryptionFlags::empty(), &mut buffers)
            .map_err(|e| SealError::Crypto(format!("{:?}: {}", e.error_type, e.description)))?;
        Ok(())
    }

    fn unwrap(&mut self, signature: &mut [u8], data: &mut [u8]) -> Result<(), SealError> {
        if signature.len() != NTLM_SIGNATURE_LEN {
            return Err(SealError::Framing(format!(
                "signature is {} bytes, NTLM uses {NTLM_SIGNATURE_LEN}",
                signature.len()
            )));
        }
        let mut buffers = [
            SecurityBufferRef::token_buf(signature),
            SecurityBufferRef::data_buf(data),
        ];
        self.decrypt_message(&mut buffers)
            .map_err(|e| SealError::Crypto(format!("{:?}: {}", e.error_type, e.description)))?;
        Ok(())
    }
}

/// Seals a SOAP body into the multipart form Windows expects. The body is copied
/// once, into the output, and encrypted there.
///
/// # Errors
/// [`SealError::Crypto`] when the context cannot encrypt (not authenticated yet).
pub(crate) fn seal(ctx: &mut dyn SealingContext, soap: &[u8]) -> Result<Vec<u8>, SealError> {
    let head = format!(
        "--{BOUNDARY}\r\n\tContent-Type: {PROTOCOL}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n",
        soap.len()
    );
    let closing = format!("--{BOUNDARY}--\r\n");
    let mut out =
        Vec::with_capacity(head.len() + 4 + NTLM_SIGNATURE_LEN + soap.len() + closing.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&(NTLM_SIGNATURE_LEN as u32).to_le_bytes());
    let signature_at = out.len();
    out.resize(signature_at + NTLM_SIGNATURE_LEN, 0);
    out.extend_from_slice(soap);
    let (signature, data) = out
        .get_mut(signature_at..)
        .and_then(|rest| rest.split_at_mut_checked(NTLM_SIGNATURE_LEN))
        .ok_or_else(|| SealError::Length("no room for the signature".to_owned()))?;
    ctx.wrap(signature, data)?;
    out.extend_from_slice(closing.as_bytes());
    Ok(out)
}

/// True when a response `Content-Type` announces a sealed body.
pub(crate) fn is_sealed(content_type: &str) -> bool {
    const MULTIPART: &str = "multipart/encrypted";
    let ct = content_type.as_bytes();
    ct.get(..MULTIPART.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(MULTIPART.as_bytes()))
        && ct
            .windows(PROTOCOL.len())
            .any(|w| w.eq_ignore_ascii_case(PROTOCOL.as_bytes()))
}

/// Where the unsealing parser is; errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Expecting the first `--boundary` line.
    Opening,
    /// Reading the headers of the first part (protocol, original length).
    DescriptorHeaders,
    /// Reading the headers of the second part (`application/octet-stream`).
    PayloadHeaders,
    /// Reading `u32 LE length | signature | ciphertext` up to the closing boundary.
    Payload,
}

fn framing(state: Part, what: &str) -> SealError {
    SealError::Framing(format!("{what} while reading {state:?}"))
}

/// Reads one CRLF-terminated line starting at `*at`.
fn line<'a>(body: &'a [u8], at: &mut usize, state: Part) -> Result<&'a [u8], SealError> {
    let rest = body.get(*at..).ok_or_else(|| framing(state, "body ends"))?;
    let end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| framing(state, "a line has no CRLF"))?;
    *at += end + 2;
    Ok(&rest[..end])
}

fn trimmed(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// Unseals a multipart/encrypted body and returns the SOAP bytes, decrypted in
/// place: no copy when `body` is the only handle to its buffer (one otherwise).
///
/// `max_plain` caps the declared and the decrypted length.
///
/// # Errors
/// [`SealError`] naming the parse state for broken framing, a length mismatch,
/// or the context's refusal (tampered, replayed or out-of-order message).
pub(crate) fn unseal(
    ctx: &mut dyn SealingContext,
    body: Bytes,
    max_plain: usize,
) -> Result<Bytes, SealError> {
    let (signature, cipher) = payload(&body, max_plain)?;
    let mut buf = BytesMut::from(body);
    let region = buf
        .get_mut(signature.start..cipher.end)
        .ok_or_else(|| framing(Part::Payload, "payload outside the body"))?;
    let (sig, data) = region.split_at_mut(signature.len());
    ctx.unwrap(sig, data)?;
    let mut plain = buf.split_to(cipher.end);
    Ok(plain.split_off(cipher.start).freeze())
}

/// Parses the framing of a sealed body: the byte ranges of the signature and of
/// the ciphertext.
fn payload(
    body: &[u8],
    max_plain: usize,
) -> Result<(std::ops::Range<usize>, std::ops::Range<usize>), SealError> {
    let boundary_line = format!("--{BOUNDARY}");
    let closing = format!("--{BOUNDARY}--");
    let mut at = 0usize;
    let mut state = Part::Opening;
    let mut declared: Option<usize> = None;
    let mut saw_protocol = false;
    loop {
        match state {
            Part::Opening => {
                let l = line(body, &mut at, state)?;
                if trimmed(l) != boundary_line.as_bytes() {
                    return Err(framing(state, "no opening boundary"));
                }
                state = Part::DescriptorHeaders;
            }
            Part::DescriptorHeaders => {
                let l = trimmed(line(body, &mut at, state)?);
                if l == boundary_line.as_bytes() {
                    if !saw_protocol {
                        return Err(framing(state, "no HTTP-SPNEGO-session-encrypted part"));
                    }
                    state = Part::PayloadHeaders;
                    continue;
                }
                let text = String::from_utf8_lossy(l).to_ascii_lowercase();
                if let Some(value) = text.strip_prefix("content-type:") {
                    saw_protocol = value.trim() == PROTOCOL.to_ascii_lowercase();
                } else if let Some(value) = text.strip_prefix("originalcontent:") {
                    let length = value
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("length="))
                        .ok_or_else(|| framing(state, "OriginalContent has no Length"))?;
                    let length: usize = length
                        .trim()
                        .parse()
                        .map_err(|_| framing(state, "Length is not a number"))?;
                    if length > max_plain {
                        return Err(SealError::Length(format!(
                            "declared length {length} is over the {max_plain}-byte cap"
                        )));
                    }
                    declared = Some(length);
                }
            }
            Part::PayloadHeaders => {
                let l = trimmed(line(body, &mut at, state)?);
                let text = String::from_utf8_lossy(l).to_ascii_lowercase();
                match text.strip_prefix("content-type:") {
                    Some(v) if v.trim() == "application/octet-stream" => state = Part::Payload,
                    _ => {
                        return Err(framing(
                            state,
                            "the second part is not application/octet-stream",
                        ));
                    }
                }
            }
            Part::Payload => {
                let rest = body.get(at..).ok_or_else(|| framing(state, "body ends"))?;
                // The ciphertext is binary and may contain anything, so the payload
                // ends at the *last* closing boundary.
                let end = rest
                    .windows(closing.len())
                    .rposition(|w| w == closing.as_bytes())
                    .ok_or_else(|| framing(state, "no closing boundary"))?;
                let payload = &rest[..end];
                let (len_bytes, after) = payload
                    .split_first_chunk::<4>()
                    .ok_or_else(|| framing(state, "payload shorter than its length field"))?;
                let sig_len = u32::from_le_bytes(*len_bytes) as usize;
                if sig_len > after.len() {
                    return Err(framing(state, "signature length beyond the payload"));
                }
                let cipher_len = after.len() - sig_len;
                let declared =
                    declared.ok_or_else(|| framing(state, "no OriginalContent length"))?;
                if cipher_len != declared {
                    return Err(SealError::Length(format!(
                        "ciphertext is {cipher_len} bytes, OriginalContent says {declared}"
                    )));
                }
                // `payload` starts at `at`; its first 4 bytes are the length field.
                let signature = at + 4..at + 4 + sig_len;
                let cipher = signature.end..signature.end + cipher_len;
                return Ok((signature, cipher));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Round trips with an in-memory sspi NTLM acceptor: the client seals, the
    //! acceptor unseals, and back; tampering, replay and a wrong password fail.
    use super::*;
    use sspi::ntlm::NtlmConfig;
    use sspi::{
        AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
        SecurityBuffer, SecurityStatus, ServerRequestFlags, SspiImpl, Username,
    };

    fn identity(user: &str, password: &str) -> AuthIdentity {
        AuthIdentity {
            username: Username::parse(user).expect("user"),
            password: password.to_owned().into(),
        }
    }

    /// Runs a full NTLM handshake in memory; returns (client, server) or the acceptor's error.
    pub(crate) fn handshake(client_password: &str) -> Result<(Ntlm, Ntlm), String> {
        let mut client = Ntlm::with_config(NtlmConfig::new("SCANNER".to_owned()));
        let mut server = Ntlm::with_config(NtlmConfig::new("WIN01".to_owned()));
        let client_id = identity("alice", client_password);
        let server_id = identity("alice", "right-password");
        let mut client_creds = client
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&client_id)
            .execute(&mut client)
            .map_err(|e| e.to_string())?;
        let mut server_creds = server
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .with_auth_data(&server_id)
            .execute(&mut server)
            .map_err(|e| e.to_string())?;
        let mut input: Vec<SecurityBuffer> = Vec::new();
        loop {
            let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
            let mut b = client
                .initialize_security_context()
                .with_credentials_handle(&mut client_creds.credentials_handle)
                .with_context_requirements(
                    ClientRequestFlags::CONFIDENTIALITY
                        | ClientRequestFlags::INTEGRITY
                        | ClientRequestFlags::ALLOCATE_MEMORY,
                )
                .with_target_data_representation(DataRepresentation::Native)
                .with_target_name("HTTP/win01")
                .with_output(&mut out);
            if !input.is_empty() {
                b = b.with_input(&mut input);
            }
            let status = client
                .initialize_security_context_impl(&mut b)
                .map_err(|e| e.to_string())?
                .resolve_to_result()
                .map_err(|e| e.to_string())?
                .status;
            let mut server_in = vec![SecurityBuffer::new(
                std::mem::take(&mut out[0].buffer),
                BufferType::Token,
            )];
            let mut server_out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
            let result = server
                .accept_security_context()
                .with_credentials_handle(&mut server_creds.credentials_handle)
                .with_context_requirements(ServerRequestFlags::empty())
                .with_target_data_representation(DataRepresentation::Native)
                .with_input(&mut server_in)
                .with_output(&mut server_out)
                .execute(&mut server)
                .map_err(|e| e.to_string())?
                .resolve_to_result()
                .map_err(|e| e.to_string())?;
            if result.status == SecurityStatus::CompleteNeeded {
                server
                    .complete_auth_token(&mut [])
                    .map_err(|e| e.to_string())?;
            }
            if status == SecurityStatus::Ok {
                return Ok((client, server));
            }
            input = vec![SecurityBuffer::new(
                std::mem::take(&mut server_out[0].buffer),
                BufferType::Token,
            )];
        }
    }

    #[test]
    fn sealed_bodies_round_trip_both_ways() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        for i in 0..3 {
            let soap = format!("<s:Envelope>request {i} ü</s:Envelope>");
            let sealed = seal(&mut client, soap.as_bytes()).expect("seal");
            assert!(!sealed.windows(soap.len()).any(|w| w == soap.as_bytes()));
            let plain = unseal(&mut server, Bytes::from(sealed.clone()), 1 << 20).expect("unseal");
            assert_eq!(plain, soap.as_bytes());
            let reply = format!("<s:Envelope>reply {i}</s:Envelope>");
            let sealed = seal(&mut server, reply.as_bytes()).expect("seal");
            assert_eq!(
                unseal(&mut client, Bytes::from(sealed.clone()), 1 << 20).expect("unseal"),
                reply.as_bytes()
            );
        }
    }

    #[test]
    fn unsealing_a_shared_body_leaves_the_other_handle_untouched() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let sealed = Bytes::from(seal(&mut client, b"<s:Envelope/>").expect("seal"));
        let kept = sealed.clone();
        let plain = unseal(&mut server, sealed, 1 << 20).expect("unseal");
        assert_eq!(plain, &b"<s:Envelope/>"[..]);
        // Decrypting in place must not write through a buffer someone else holds.
        assert!(!kept.windows(13).any(|w| w == b"<s:Envelope/>"));
    }

    #[test]
    fn sealed_content_types_are_recognised_in_any_case() {
        assert!(is_sealed(SEALED_CONTENT_TYPE));
        assert!(is_sealed(
            "Multipart/Encrypted;Protocol=\"Application/HTTP-SPNEGO-Session-Encrypted\";boundary=\"Encrypted Boundary\""
        ));
        assert!(!is_sealed("application/soap+xml;charset=UTF-8"));
        assert!(!is_sealed(
            "multipart/encrypted;protocol=\"application/HTTP-Kerberos-session-encrypted\""
        ));
        assert!(!is_sealed(""));
        assert!(!is_sealed("multipart/enc"));
    }

    #[test]
    fn wrong_password_is_rejected_by_the_acceptor() {
        assert!(handshake("wrong-password").is_err());
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let mut sealed = seal(&mut client, b"<a>hello world</a>").expect("seal");
        let closing = sealed.len() - "--Encrypted Boundary--\r\n".len();
        sealed[closing - 3] ^= 0x01;
        assert!(matches!(
            unseal(&mut server, Bytes::from(sealed.clone()), 1 << 20),
            Err(SealError::Crypto(_))
        ));
    }

    #[test]
    fn out_of_order_and_replayed_messages_are_rejected() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let first = seal(&mut client, b"<a>1</a>").expect("seal");
        let second = seal(&mut client, b"<a>2</a>").expect("seal");
        assert!(unseal(&mut server, Bytes::from(second.clone()), 1 << 20).is_err());
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let first_again = seal(&mut client, b"<a>1</a>").expect("seal");
        unseal(&mut server, Bytes::from(first_again.clone()), 1 << 20).expect("in order");
        assert!(unseal(&mut server, Bytes::from(first_again.clone()), 1 << 20).is_err());
        let _ = first;
    }

    #[test]
    fn broken_framing_is_a_typed_error_never_a_panic() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let good = seal(&mut client, b"<a>payload</a>").expect("seal");
        // Everything short of the closing boundary (its final CRLF is optional).
        for cut in 0..good.len() - 2 {
            let r = unseal(&mut server, Bytes::copy_from_slice(&good[..cut]), 1 << 20);
            assert!(r.is_err(), "cut at {cut}");
        }
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"garbage".to_vec(),
            b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=99999999999\r\n--Encrypted Boundary\r\n".to_vec(),
            b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=x;Length=4\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\xff\xff\xff\xffabcd--Encrypted Boundary--\r\n".to_vec(),
            b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=x;Length=4\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00abcd--Encrypted Boundary--\r\n".to_vec(),
        ];
        for s in samples {
            assert!(unseal(&mut server, Bytes::from(s.clone()), 1 << 20).is_err());
        }
    }

    #[test]
    fn declared_length_over_the_cap_is_refused() {
        let (mut client, mut server) = handshake("right-password").expect("handshake");
        let sealed = seal(&mut client, &[b'x'; 4096]).expect("seal");
        assert!(matches!(
            unseal(&mut server, Bytes::from(sealed.clone()), 1024),
            Err(SealError::Length(_))
        ));
    }
}
