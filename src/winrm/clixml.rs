//! Decodes PowerShell's stderr, which a non-interactive `powershell.exe` writes as
//! CLIXML (`#< CLIXML\r\n<Objs …>…</Objs>`), into readable text. The records arrive
//! split across Receive responses, so the decoder keeps state between pushes.
//!
//! Error/warning/verbose/debug strings (`<S S="Error">…</S>`) become text with
//! `_xHHHH_` escapes (UTF-16 code units) decoded; progress records are dropped;
//! an `Obj` error record contributes its `ToString`. Plain stderr (cmd.exe, or a
//! process that is not PowerShell) passes through unchanged.

use super::xml::{XmlLimits, parse};

const HEADER: &str = "#< CLIXML";
/// A single record larger than this is passed through raw instead of buffered.
const MAX_RECORD: usize = 1 << 20;

/// The decoder's position in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing decided yet: waiting to see whether the stream starts with `#< CLIXML`.
    Detect,
    /// Ordinary text.
    Plain,
    /// Between CLIXML documents (after the header or a `</Objs>`).
    Between,
    /// Inside `<Objs>`: reading records.
    InObjs,
}

/// The stateful stderr decoder.
#[derive(Debug)]
pub(crate) struct ClixmlDecoder {
    state: State,
    /// Undecoded text (complete UTF-8 only).
    buf: String,
    /// A UTF-8 sequence cut at the end of the last push.
    pending: Vec<u8>,
}

impl Default for ClixmlDecoder {
    fn default() -> Self {
        Self {
            state: State::Detect,
            buf: String::new(),
            pending: Vec::new(),
        }
    }
}

impl ClixmlDecoder {
    /// Adds stderr bytes; returns the text they complete (possibly empty).
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let chunk: Vec<u8> = self.pending.drain(..valid).collect();
        self.buf.push_str(&String::from_utf8_lossy(&chunk));
        self.drain(false)
    }

    /// Ends the stream: returns whatever is left, raw if it never completed.
    pub(crate) fn finish(&mut self) -> String {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.buf.push_str(&String::from_utf8_lossy(&rest));
        }
        self.drain(true)
    }

    fn drain(&mut self, at_end: bool) -> String {
        let mut out = String::new();
        loop {
            match self.state {
                State::Detect => {
                    let probe = self.buf.trim_start();
                    if probe.len() >= HEADER.len() || at_end {
                        self.state = if probe.starts_with(HEADER) {
                            State::Between
                        } else {
                            State::Plain
                        };
                    } else if !HEADER.starts_with(probe) {
                        self.state = State::Plain;
                    } else {
                        return out;
                    }
                }
                State::Plain => {
                    out.push_str(&self.buf);
                    self.buf.clear();
                    return out;
                }
                State::Between => {
                    let trimmed = self.buf.trim_start();
                    let skipped = self.buf.len() - trimmed.len();
                    self.buf.drain(..skipped);
                    if self.buf.is_empty() {
                        return out;
                    }
                    if let Some(rest) = self.buf.strip_prefix(HEADER) {
                        let n = self.buf.len() - rest.len();
                        self.buf.drain(..n);
                        continue;
                    }
                    if self.buf.starts_with("<Objs") {
                        match self.buf.find('>') {
                            Some(end) => {
                                self.buf.drain(..=end);
                                self.state = State::InObjs;
                                continue;
                            }
                            None if at_end => {
                                out.push_str(&std::mem::take(&mut self.buf));
                                return out;
                            }
                            None => return out,
                        }
                    }
                    if (HEADER.starts_with(self.buf.as_str())
                        || "<Objs".starts_with(self.buf.as_str()))
                        && !at_end
                    {
                        return out;
                    }
                    // Text between documents: pass it through up to the next header.
                    let first = self.buf.chars().next().map_or(0, char::len_utf8);
                    let end = self.buf[first..]
                        .find(HEADER)
                        .map_or(self.buf.len(), |i| i + first);
                    out.push_str(&self.buf[..end]);
                    self.buf.drain(..end);
                }
                State::InObjs => {
                    let trimmed = self.buf.trim_start();
                    let skipped = self.buf.len() - trimmed.len();
                    self.buf.drain(..skipped);
                    if self.buf.is_empty() {
                        return out;
                    }
                    if let Some(rest) = self.buf.strip_prefix("</Objs>") {
                        let n = self.buf.len() - rest.len();
                        self.buf.drain(..n);
                        self.state = State::Between;
                        continue;
                    }
                    if "</Objs>".starts_with(self.buf.as_str()) && !at_end {
                        return out;
                    }
                    match record_end(&self.buf) {
                        Some(end) => {
                            let record: String = self.buf.drain(..end).collect();
                            out.push_str(&record_text(&record));
                        }
                        None if at_end || self.buf.len() > MAX_RECORD => {
                            // A record that never completes: show it rather than lose it.
                            out.push_str(&std::mem::take(&mut self.buf));
                            self.state = State::Plain;
                            return out;
                        }
                        None => return out,
                    }
                }
            }
        }
    }
}

/// The byte length of the first complete record (`<S …>…</S>`, `<Obj …>…</Obj>` with
/// nesting, or any self-closed element) at the start of `buf`; `None` if incomplete.
fn record_end(buf: &str) -> Option<usize> {
    if !buf.starts_with('<') {
        // Not a tag: pass text up to the next tag as its own "record".
        return Some(buf.find('<').unwrap_or(buf.len()));
    }
    // `<` is one byte, so index 1 is a char boundary.
    let name_end = buf[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map(|i| i + 1)?;
    let name = &buf[1..name_end];
    if name.is_empty() {
        // A stray end tag or `<>`: skip the whole tag once it is complete.
        return buf.find('>').map(|i| i + 1);
    }
    let open_end = buf.find('>')?;
    if buf[..open_end].ends_with('/') {
        return Some(open_end + 1);
    }
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut depth = 1usize;
    let mut at = open_end + 1;
    while depth > 0 {
        let next_close = buf[at..].find(&close)? + at;
        // Count same-name opens (not self-closed) before that close.
        let mut scan = at;
        while let Some(i) = buf[scan..next_close].find(&open) {
            let start = scan + i;
            let after = buf[start + open.len()..].chars().next();
            let tag_end = buf[start..].find('>').map(|e| start + e);
            if matches!(after, Some(c) if c.is_whitespace() || c == '>')
                && tag_end.is_some_and(|e| !buf[..e].ends_with('/'))
            {
                depth += 1;
            }
            scan = start + open.len();
        }
        depth -= 1;
        at = next_close + close.len();
    }
    Some(at)
}

/// Readable text of one record.
fn record_text(record: &str) -> String {
    if !record.starts_with('<') {
        return record.to_owned();
    }
    let Ok(root) = parse(record.as_bytes(), XmlLimits::default()) else {
        return String::new();
    };
    match (root.local.as_str(), root.attr("S")) {
        ("S", Some(stream)) => {
            let text = decode_escapes(&root.text);
            match stream.to_ascii_lowercase().as_str() {
                "error" => text,
                "warning" => format!("WARNING: {text}"),
                "verbose" => format!("VERBOSE: {text}"),
                "debug" => format!("DEBUG: {text}"),
                _ => text,
            }
        }
        ("Obj", Some(stream)) if stream.eq_ignore_ascii_case("error") => root
            .children
            .iter()
            .find(|c| c.local == "ToString")
            .map(|t| format!("{}\r\n", decode_escapes(&t.text)))
            .unwrap_or_default(),
        // Progress, information and anything else: not stderr text.
        _ => String::new(),
    }
}

/// Decodes `_xHHHH_` escapes (UTF-16 code units; surrogate pairs come as two).
fn decode_escapes(s: &str) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_'
            && i + 7 <= bytes.len()
            && bytes[i + 1] == b'x'
            && bytes[i + 6] == b'_'
            && let Ok(u) = u16::from_str_radix(&s[i + 2..i + 6], 16)
        {
            units.push(u);
            i += 7;
            continue;
        }
        let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
        units.extend(s[i..i + ch_len].encode_utf16());
        i += ch_len;
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj><S S=\"Error\">Get-Item : Cannot find path 'C:\\nope' because it does not exist._x000D__x000A_</S><S S=\"warning\">careful</S></Objs>";

    fn decode_in_pieces(input: &str, piece: usize) -> String {
        let mut d = ClixmlDecoder::default();
        let mut out = String::new();
        for chunk in input.as_bytes().chunks(piece) {
            out.push_str(&d.push(chunk));
        }
        out.push_str(&d.finish());
        out
    }

    #[test]
    fn clixml_errors_become_text_and_progress_is_dropped() {
        assert_eq!(
            decode_in_pieces(SAMPLE, SAMPLE.len()),
            "Get-Item : Cannot find path 'C:\\nope' because it does not exist.\r\nWARNING: careful"
        );
    }

    #[test]
    fn clixml_split_at_every_size_decodes_the_same() {
        let whole = decode_in_pieces(SAMPLE, SAMPLE.len());
        for piece in [1, 2, 3, 7, 13, 64, 100] {
            assert_eq!(decode_in_pieces(SAMPLE, piece), whole, "piece {piece}");
        }
    }

    #[test]
    fn plain_stderr_passes_through() {
        assert_eq!(
            decode_in_pieces("'foo' is not recognized\r\n", 4),
            "'foo' is not recognized\r\n"
        );
        assert_eq!(decode_in_pieces("#<", 1), "#<");
    }

    #[test]
    fn two_documents_and_an_obj_error_record_decode() {
        let doc = format!(
            "{SAMPLE}\r\n#< CLIXML\r\n<Objs Version=\"1.1.0.1\"><Obj S=\"Error\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.ErrorRecord</T></TN><ToString>boom</ToString><MS><Obj N=\"Exception\" RefId=\"1\"><ToString>inner</ToString></Obj></MS></Obj></Objs>"
        );
        let text = decode_in_pieces(&doc, 5);
        assert!(text.ends_with("WARNING: carefulboom\r\n"), "{text:?}");
    }

    #[test]
    fn unterminated_or_garbage_clixml_is_shown_raw_not_lost() {
        let text = decode_in_pieces("#< CLIXML\r\n<Objs><S S=\"Error\">half", 3);
        assert!(text.contains("half"));
        for garbage in [
            "#< CLIXML\r\n<Objs><<<>>>",
            "#< CLIXML\r\n<Objs><S S=\"Error\">a</S",
            "#< CLIXML\r\n\u{0}\u{1}<",
        ] {
            let _ = decode_in_pieces(garbage, 2);
        }
    }

    #[test]
    fn escapes_decode_including_surrogate_pairs() {
        assert_eq!(decode_escapes("a_x000D__x000A_b_xD83D__xDE00_"), "a\r\nb😀");
        assert_eq!(decode_escapes("_x00zz_ and _x"), "_x00zz_ and _x");
    }
}
