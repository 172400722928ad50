//! The probe program's output batches, read back.
//!
//! Each time the program flushes its queued JSON lines it writes them as ONE stdout
//! line: [`BATCH_MARKER`], then standard padded base64 of the gzip of the lines' UTF-8
//! text, each line ended by `\n` (see `snippets/preamble.ps1`, `FsWriteBatch`). A
//! healthy host's ~30 KB of JSON travels as ~8 KB, which is what WinRS base64-encodes
//! again and NTLM seals: the client unseals and XML-parses a quarter of the bytes.
//!
//! The batch is hostile input like every other line: [`decode`] refuses bad base64,
//! a corrupt or truncated gzip stream (its CRC and length are checked), bytes after
//! it, and a stream that inflates past the caller's cap (a gzip bomb), each with a
//! [`BatchError`] that says so; the collector turns it into the missing probes'
//! reason. Nothing of a failed batch is used, since its CRC never vouched for it.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::evidence::MAX_LINE_BYTES;

/// The prefix of a batch line. Not `{`, so an older collector skips batches as noise,
/// and nothing PowerShell itself prints (warnings, CLIXML) starts with it.
pub const BATCH_MARKER: &str = "fleetscan-gz:";

/// The most text one batch may inflate to, in bytes.
///
/// Without batching the same lines arrive one by one, each under the
/// [`MAX_LINE_BYTES`] cap; a batch is one line on the wire, so its text gets that same
/// cap. A flush holds at most the lines of a couple of seconds of probes, a few
/// hundred kB on the busiest host (30 KB when healthy), so a real batch never comes
/// near it; and memory per host stays what one plain line may already take.
pub const MAX_BATCH_INFLATED_BYTES: usize = MAX_LINE_BYTES;

/// The most text all of one host's batches may inflate to together, in bytes.
///
/// The WinRM client caps a host's decoded output at 64 MiB (`max_output_bytes`); a
/// host that batches may not make us inflate and parse more than a host that does not
/// could send. This also bounds the CPU a stream of small bombs can cost.
pub const MAX_INFLATED_PER_HOST: usize = 64 << 20;

/// Why a batch line could not be read. The message completes "the output batch …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The text after the marker is not standard padded base64.
    #[error("is not valid base64 ({0})")]
    Base64(String),
    /// The bytes are not one whole gzip stream (bad header, corrupt deflate data,
    /// CRC or length mismatch, cut short, or followed by other bytes).
    #[error("is not a whole gzip stream ({0})")]
    Gzip(String),
    /// The stream inflates past the cap given to [`decode`].
    #[error("inflates past the {cap}-byte cap (a gzip bomb?)")]
    TooLarge {
        /// The cap, in bytes.
        cap: usize,
    },
}

/// Decodes one batch's payload (the line after [`BATCH_MARKER`]) into the text of its
/// lines, inflating at most `cap` bytes. Invalid UTF-8 is replaced, as for plain lines.
///
/// # Errors
///
/// [`BatchError`] when the payload is not base64 of one whole gzip stream of at most
/// `cap` bytes.
pub fn decode(payload: &str, cap: usize) -> Result<String, BatchError> {
    decode_counted(payload, cap).0
}

/// [`decode`], also returning how many bytes were inflated, failure or not (the
/// collector charges them to the host's [`MAX_INFLATED_PER_HOST`]).
pub(crate) fn decode_counted(payload: &str, cap: usize) -> (Result<String, BatchError>, usize) {
    let gz = match B64.decode(payload.trim_end()) {
        Ok(gz) => gz,
        Err(e) => return (Err(BatchError::Base64(e.to_string())), 0),
    };
    // The gzip trailer ends with the text's length mod 2^32: a good first capacity,
    // never more than the cap whatever it claims.
    let hint = gz
        .len()
        .checked_sub(4)
        .and_then(|at| gz.get(at..))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let mut text = Vec::with_capacity(hint.min(cap));
    let mut inflater = flate2::bufread::GzDecoder::new(gz.as_slice());
    // One byte past the cap tells "exactly cap" from "more".
    let cap_plus_one = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let read = (&mut inflater).take(cap_plus_one).read_to_end(&mut text);
    let inflated = text.len();
    let result = match read {
        Err(e) => Err(BatchError::Gzip(e.to_string())),
        Ok(_) if inflated > cap => Err(BatchError::TooLarge { cap }),
        Ok(_) if inflater.header().is_none() => Err(BatchError::Gzip("no gzip header".to_string())),
        Ok(_) if !inflater.into_inner().is_empty() => Err(BatchError::Gzip(
            "other bytes follow the gzip stream".to_string(),
        )),
        Ok(_) => Ok(String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
    };
    (result, inflated)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use serde_json::json;

    use super::*;
    use crate::probes::{Program, ProgramEnd, Selection, Settings};
    use crate::report::model::Status;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text).expect("in memory");
        enc.finish().expect("in memory")
    }

    #[test]
    fn whole_batch_decodes_to_its_lines() {
        let text = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n";
        let payload = B64.encode(gzip(text.as_bytes()));
        assert_eq!(decode(&payload, 1024), Ok(text.to_string()));
    }

    #[test]
    fn batch_of_exactly_the_cap_is_accepted_and_one_byte_more_is_not() {
        let payload = B64.encode(gzip(&[b'x'; 100]));
        assert!(decode(&payload, 100).is_ok());
        assert_eq!(decode(&payload, 99), Err(BatchError::TooLarge { cap: 99 }));
    }

    #[test]
    fn bomb_stops_at_the_cap_and_says_how_much_was_inflated() {
        let payload = B64.encode(gzip(&vec![0u8; 50 << 20]));
        assert!(payload.len() < 100_000, "{}", payload.len());
        let (result, inflated) = decode_counted(&payload, 1 << 20);
        assert_eq!(result, Err(BatchError::TooLarge { cap: 1 << 20 }));
        assert_eq!(inflated, (1 << 20) + 1);
    }

    #[test]
    fn bad_base64_truncation_corruption_and_trailing_bytes_are_refused() {
        let gz = gzip(b"{\"id\":\"a\"}\n");
        assert!(matches!(
            decode("not base64!", 1024),
            Err(BatchError::Base64(_))
        ));
        let cut = B64.encode(gz.get(..gz.len() - 3).expect("long enough"));
        assert!(matches!(decode(&cut, 1024), Err(BatchError::Gzip(_))));
        let mut flipped = gz.clone();
        let last = flipped.len() - 5; // inside the CRC
        flipped[last] ^= 0x55;
        assert!(matches!(
            decode(&B64.encode(&flipped), 1024),
            Err(BatchError::Gzip(_))
        ));
        let mut extra = gz.clone();
        extra.extend_from_slice(b"junk");
        assert!(matches!(
            decode(&B64.encode(&extra), 1024),
            Err(BatchError::Gzip(_))
        ));
        assert!(matches!(decode("", 1024), Err(BatchError::Gzip(_))));
    }

    #[test]
    fn invalid_utf8_is_replaced_like_plain_lines() {
        let payload = B64.encode(gzip(b"{\"id\":\"\xff\"}\n"));
        assert_eq!(
            decode(&payload, 1024).expect("decodes"),
            "{\"id\":\"\u{fffd}\"}\n"
        );
    }

    /// A batch line as the program writes it: marker, base64 of the gzip of the lines.
    fn batch_line(lines: &[String]) -> String {
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        format!("{BATCH_MARKER}{}", B64.encode(gzip(text.as_bytes())))
    }

    fn program() -> Program {
        Program::assemble(&Selection {
            include: vec!["dotnet.version".into(), "offline.azure_powershell".into()],
            ..Selection::default()
        })
        .expect("valid selection")
    }

    /// A successful line for each probe of the program.
    fn probe_lines(prog: &Program) -> Vec<String> {
        prog.probe_ids()
            .iter()
            .map(|id| {
                json!({"id": id, "ok": false, "error": format!("sentinel {id}"),
                       "collected_utc": "2025-06-01T12:00:00Z", "ps": "5.1", "data": null})
                .to_string()
            })
            .collect()
    }

    fn summaries(ev: crate::probes::Evidence, end: ProgramEnd) -> Vec<(Status, String)> {
        ev.judge(&Settings::default(), end)
            .into_iter()
            .map(|r| (r.status, r.summary))
            .collect()
    }

    #[test]
    fn batched_and_plain_lines_are_collected_alike() {
        let prog = program();
        let lines = probe_lines(&prog);
        assert_eq!(lines.len(), 3, "{:?}", prog.probe_ids());
        let mut ev = prog.collector();
        ev.accept_line(&batch_line(&lines[..1]));
        ev.accept_line("WARNING: plain noise between batches");
        ev.accept_line(&lines[1]);
        ev.accept_line(&format!("{}\r", batch_line(&lines[2..])));
        assert!(ev.is_complete());
        assert_eq!(ev.received(), 3);
        for (_, summary) in summaries(ev, ProgramEnd::Completed) {
            assert!(summary.contains("sentinel"), "{summary}");
        }
    }

    #[test]
    fn first_line_per_probe_wins_across_batches() {
        let prog = program();
        let lines = probe_lines(&prog);
        let later = lines
            .iter()
            .map(|l| l.replace("sentinel", "later"))
            .collect::<Vec<_>>();
        let mut ev = prog.collector();
        ev.accept_line(&batch_line(&lines));
        ev.accept_line(&batch_line(&later));
        ev.accept_line(&later[0]);
        assert_eq!(ev.received(), 3);
        assert_eq!(ev.ignored(), 4);
        for (_, summary) in summaries(ev, ProgramEnd::Completed) {
            assert!(summary.contains("sentinel"), "{summary}");
        }
    }

    #[test]
    fn corrupt_batch_makes_its_probes_unknown_saying_the_batch_was_corrupt() {
        let prog = program();
        let lines = probe_lines(&prog);
        // host.context and dotnet.version arrive; offline.azure_powershell is lost.
        let good = batch_line(&lines[..2]);
        let bad = batch_line(&lines[2..]);
        for broken in [
            format!("{}!!", bad.get(..40).expect("long")),
            bad.get(..bad.len() - 8).expect("long").to_string(),
        ] {
            let mut ev = prog.collector();
            ev.accept_line(&good);
            ev.accept_line(&broken);
            assert_eq!(ev.received(), 2);
            let results = summaries(ev, ProgramEnd::Completed);
            assert!(results[0].1.contains("sentinel"), "{results:?}");
            for (status, summary) in &results[1..] {
                assert_eq!(*status, Status::Unknown);
                assert!(
                    summary.starts_with("no evidence: an output batch from the host was corrupt"),
                    "{summary}"
                );
            }
        }
    }

    #[test]
    fn gzip_bomb_is_refused_at_the_cap_and_recorded() {
        let prog = program();
        let mut bomb = b"{\"id\":\"dotnet.version\",\"ok\":true,\"data\":{\"pad\":\"".to_vec();
        bomb.resize(MAX_BATCH_INFLATED_BYTES + 10, b'x');
        let line = format!("{BATCH_MARKER}{}", B64.encode(gzip(&bomb)));
        assert!(
            line.len() < MAX_BATCH_INFLATED_BYTES / 100,
            "{}",
            line.len()
        );
        let mut ev = prog.collector();
        ev.accept_line(&line);
        assert_eq!(ev.received(), 0);
        let results = summaries(ev, ProgramEnd::TimedOut);
        for (status, summary) in results {
            assert_eq!(status, Status::Unknown);
            assert!(
                summary.contains(&format!(
                    "inflates past the {MAX_BATCH_INFLATED_BYTES}-byte cap"
                )) && summary.contains("the host timed out"),
                "{summary}"
            );
        }
    }

    #[test]
    fn a_host_cannot_inflate_more_than_the_per_host_cap() {
        let prog = program();
        // Each batch inflates to just under the batch cap: a few of them fill the host's.
        let filler = vec![b'x'; MAX_BATCH_INFLATED_BYTES - 1];
        let big = format!("{BATCH_MARKER}{}", B64.encode(gzip(&filler)));
        let mut ev = prog.collector();
        for _ in 0..MAX_INFLATED_PER_HOST / MAX_BATCH_INFLATED_BYTES {
            ev.accept_line(&big);
        }
        // A small good batch no longer fits what is left.
        ev.accept_line(&batch_line(&probe_lines(&prog)));
        assert_eq!(ev.received(), 0);
        let results = summaries(ev, ProgramEnd::Completed);
        assert!(results[0].1.contains("per host"), "{:?}", results.first());
    }

    #[test]
    fn batch_inside_a_batch_is_noise() {
        let prog = program();
        let lines = probe_lines(&prog);
        let inner = batch_line(&lines);
        let mut ev = prog.collector();
        ev.accept_line(&batch_line(&[inner]));
        assert_eq!(ev.received(), 0);
        assert_eq!(ev.ignored(), 1);
    }
}
