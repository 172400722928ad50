//! Entry points for fuzzers and the randomised robustness tests below: each feeds
//! untrusted bytes to one parser and must return (an error is fine), never panic.
//! Hidden from the docs; not part of the client's API.

use super::clixml::ClixmlDecoder;
use super::output::LineSplitter;
use super::response;
use super::seal::{self, SealError, SealingContext};
use super::xml::XmlLimits;

/// Every response parser on the same bytes.
pub fn responses(bytes: &[u8]) {
    let limits = XmlLimits::default();
    let _ = response::shell_id(bytes, limits);
    let _ = response::command_id(bytes, limits);
    let _ = response::receive(bytes, limits, "C-1");
    let _ = response::empty_ok(bytes, limits);
}

/// A context that "decrypts" by copying, so the multipart framing is what is tested.
struct Transparent;

impl SealingContext for Transparent {
    fn wrap(&mut self, _signature: &mut [u8], _data: &mut [u8]) -> Result<(), SealError> {
        Ok(())
    }
    fn unwrap(&mut self, signature: &mut [u8], _data: &mut [u8]) -> Result<(), SealError> {
        if signature.len() == 16 {
            Ok(())
        } else {
            Err(SealError::Crypto("bad signature length".to_owned()))
        }
    }
}

/// The sealed-body framing parser. Returns the unsealed bytes when the framing holds.
pub fn unseal_framing(body: &[u8]) -> Option<Vec<u8>> {
    seal::unseal(
        &mut Transparent,
        bytes::Bytes::copy_from_slice(body),
        1 << 20,
    )
    .ok()
    .map(|plain| plain.to_vec())
}

/// A well-formed sealed body around `plain` (with the transparent context).
pub fn seal_framing(plain: &[u8]) -> Vec<u8> {
    seal::seal(&mut Transparent, plain).unwrap_or_default()
}

/// The CLIXML stderr decoder over chunks.
pub fn clixml(chunks: &[&[u8]]) -> String {
    let mut d = ClixmlDecoder::default();
    let mut out = String::new();
    for c in chunks {
        out.push_str(&d.push(c));
    }
    out.push_str(&d.finish());
    out
}

/// The stdout line splitter over chunks.
pub fn lines(chunks: &[&[u8]]) -> Vec<String> {
    let mut s = LineSplitter::default();
    let mut out = Vec::new();
    for c in chunks {
        s.push(c, &mut |l| out.push(l.to_owned()));
    }
    s.finish(&mut |l| out.push(l.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    //! Deterministic random mutations (proptest is not available): bit flips,
    //! truncations, duplications and random splits of real Windows responses.
    use super::*;

    const STANDARD: &str =
        include_str!("../../tests/fixtures/winrb/get_command_output_response.xml.erb");
    const FAULT: &str = include_str!("../../tests/fixtures/winrb/soap_fault_v2.xml");
    const SHELL: &str = include_str!("../../tests/fixtures/winrb/open_shell_v2.xml");

    fn mutate(rng: &mut fastrand::Rng, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..rng.usize(1..6) {
            if v.is_empty() {
                break;
            }
            let at = rng.usize(..v.len());
            match rng.u8(..5) {
                0 => v[at] ^= 1 << rng.u8(..8),
                1 => v.truncate(at),
                2 => {
                    let end = rng.usize(at..=v.len());
                    let piece = v[at..end].to_vec();
                    v.splice(at..at, piece);
                }
                3 => v.insert(at, rng.u8(..)),
                _ => {
                    let end = rng.usize(at..=v.len());
                    v.drain(at..end);
                }
            }
        }
        v
    }

    #[test]
    fn mutated_responses_never_panic_the_parsers() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for seed in [STANDARD, FAULT, SHELL] {
            for _ in 0..2000 {
                responses(&mutate(&mut rng, seed.as_bytes()));
            }
        }
    }

    #[test]
    fn mutated_sealed_bodies_never_panic_and_intact_ones_unseal() {
        let mut rng = fastrand::Rng::with_seed(42);
        let plain = SHELL.as_bytes();
        let sealed = seal_framing(plain);
        assert_eq!(unseal_framing(&sealed).as_deref(), Some(plain));
        for _ in 0..3000 {
            let _ = unseal_framing(&mutate(&mut rng, &sealed));
        }
        for _ in 0..500 {
            let garbage: Vec<u8> = (0..rng.usize(..400)).map(|_| rng.u8(..)).collect();
            assert!(unseal_framing(&garbage).is_none());
        }
    }

    #[test]
    fn clixml_and_lines_survive_random_bytes_and_splits() {
        let mut rng = fastrand::Rng::with_seed(7);
        let sample = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\"><S S=\"Error\">a_x000D__x000A_</S><Obj S=\"progress\" RefId=\"0\"><MS><I64 N=\"SourceId\">1</I64></MS></Obj></Objs>";
        for _ in 0..2000 {
            let bytes = mutate(&mut rng, sample.as_bytes());
            let cut = rng.usize(..=bytes.len());
            let (a, b) = bytes.split_at(cut);
            let _ = clixml(&[a, b]);
            let _ = lines(&[a, b]);
        }
        for _ in 0..300 {
            let garbage: Vec<u8> = (0..rng.usize(..300)).map(|_| rng.u8(..)).collect();
            let _ = clixml(&[&garbage]);
        }
    }
}
