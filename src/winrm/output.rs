//! Where command output goes: the caller's [`OutputSink`], fed line by line for
//! stdout as Receive responses arrive, and the line splitter that carries a
//! partial line (and a UTF-8 sequence cut in two) from one response to the next.

/// Receives a command's output while it runs.
///
/// `Send` because a host's run is a spawned task that holds the sink across awaits.
pub trait OutputSink: Send {
    /// One complete stdout line, without its `\r\n` or `\n`.
    fn stdout_line(&mut self, line: &str);
    /// Decoded stderr text (CLIXML turned into readable text), in arrival order.
    fn stderr_text(&mut self, text: &str);
}

/// A sink that keeps everything, for `fleetscan run` and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CollectedOutput {
    /// stdout lines in order.
    pub stdout_lines: Vec<String>,
    /// All stderr text, concatenated.
    pub stderr: String,
}

impl OutputSink for CollectedOutput {
    fn stdout_line(&mut self, line: &str) {
        self.stdout_lines.push(line.to_owned());
    }
    fn stderr_text(&mut self, text: &str) {
        self.stderr.push_str(text);
    }
}

/// Splits a byte stream into lines across chunk boundaries.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Adds bytes; calls `emit` for every line they complete.
    pub(crate) fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) {
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            if self.partial.is_empty() {
                // The usual case: the whole line is in this chunk; no copy.
                emit_line(head, emit);
            } else {
                self.partial.extend_from_slice(head);
                emit_line(&self.partial, emit);
                self.partial.clear();
            }
            rest = tail.get(1..).unwrap_or_default();
        }
        self.partial.extend_from_slice(rest);
    }

    /// Emits what is left as a last line (the command ended without a newline).
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.partial.is_empty() {
            emit_line(&self.partial, emit);
            self.partial.clear();
        }
    }
}

fn emit_line(raw: &[u8], emit: &mut dyn FnMut(&str)) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    // from_utf8's ASCII fast path first (probe lines are ASCII base64 batches);
    // the lossy scan, several times slower, only for a line that is not UTF-8.
    match std::str::from_utf8(raw) {
        Ok(text) => emit(text),
        Err(_) => emit(&String::from_utf8_lossy(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut |l| out.push(l.to_owned()));
        }
        s.finish(&mut |l| out.push(l.to_owned()));
        out
    }

    #[test]
    fn lines_split_across_responses_are_joined_and_cr_is_stripped() {
        assert_eq!(
            split(&[b"{\"id\":1}\r\n{\"id\"", b":2}\r", b"\n\r\nlast"]),
            vec!["{\"id\":1}", "{\"id\":2}", "", "last"]
        );
    }

    #[test]
    fn utf8_sequence_cut_between_responses_survives() {
        let text = "größe\n".as_bytes();
        assert_eq!(split(&[&text[..3], &text[3..]]), vec!["größe"]);
    }

    #[test]
    fn a_line_that_is_not_utf8_arrives_with_replacement_characters() {
        // A hostile or broken host: the line is kept, the bad bytes replaced.
        assert_eq!(
            split(&[b"ok\r\nbad \xff\xfe end\r\n"]),
            vec!["ok", "bad \u{fffd}\u{fffd} end"]
        );
    }
}
