//! Small text helpers shared by the writers.

use std::fmt;

/// Replaces control characters (C0, DEL, C1) with `?` so that text from the
/// remote side cannot move the cursor, change colours or rewrite a terminal line.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The first line of `text`, cut to `max` characters with an ellipsis.
pub(crate) fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > max {
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        line.to_owned()
    }
}

/// Escapes text for HTML element content (`&`, `<`, `>`; control characters
/// become U+FFFD). Not for attribute values: the writers put no remote text in
/// attributes (ids and links are made from indexes).
pub(crate) struct Html<'a>(pub(crate) &'a str);

/// What [`Html`] does with a byte: keep it, replace it, or look at the next byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HtmlByte {
    Keep,
    Replace,
    /// 0xC2: the lead byte of U+0080–U+00BF, of which U+0080–U+009F are C1 controls.
    C2,
}

/// [`HtmlByte`] for every byte value, so plain text is skipped with one table
/// lookup a byte (evidence cells are the bulk of the HTML report).
const HTML_BYTES: [HtmlByte; 256] = {
    let mut table = [HtmlByte::Keep; 256];
    let mut b = 0;
    while b < 0x20 {
        // Control characters other than tab/newline are not allowed in HTML text.
        if b != b'\t' as usize && b != b'\n' as usize {
            table[b] = HtmlByte::Replace;
        }
        b += 1;
    }
    table[0x7f] = HtmlByte::Replace;
    table[b'&' as usize] = HtmlByte::Replace;
    table[b'<' as usize] = HtmlByte::Replace;
    table[b'>' as usize] = HtmlByte::Replace;
    table[0xc2] = HtmlByte::C2;
    table
};

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Byte by byte, without decoding characters: everything replaced is ASCII
        // or a C1 control (U+0080–U+009F, in UTF-8 0xC2 then 0x80–0x9F), and a
        // 0xC2 lead byte cannot occur inside another character.
        let s = self.0;
        let bytes = s.as_bytes();
        let mut last = 0;
        let mut i = 0;
        while let Some(skip) = bytes.get(i..).and_then(|rest| {
            rest.iter()
                .position(|&b| HTML_BYTES[usize::from(b)] != HtmlByte::Keep)
        }) {
            i += skip;
            let (rep, len) = match bytes.get(i) {
                Some(b'&') => ("&amp;", 1),
                Some(b'<') => ("&lt;", 1),
                Some(b'>') => ("&gt;", 1),
                Some(0xc2) if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => ("\u{FFFD}", 2),
                Some(0xc2) => {
                    i += 1;
                    continue;
                }
                _ => ("\u{FFFD}", 1),
            };
            f.write_str(s.get(last..i).unwrap_or_default())?;
            f.write_str(rep)?;
            i += len;
            last = i;
        }
        f.write_str(s.get(last..).unwrap_or_default())
    }
}

/// True for characters XML 1.0 allows (§2.2 Char); Rust strings hold no surrogates.
pub(crate) fn xml_char_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for XML element content or a double-quoted attribute value,
/// dropping characters XML 1.0 forbids. In attributes, tab, newline and CR are
/// written as character references so that parsers do not normalise them away.
pub(crate) struct Xml<'a> {
    pub(crate) text: &'a str,
    pub(crate) attribute: bool,
}

impl fmt::Display for Xml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.text;
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' if self.attribute => "&quot;",
                '\t' if self.attribute => "&#9;",
                '\n' if self.attribute => "&#10;",
                '\r' => "&#13;",
                c if !xml_char_allowed(c) => "",
                _ => continue,
            };
            f.write_str(&s[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&s[last..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_covers_markup_and_controls() {
        assert_eq!(
            Html("<a href=\"x\" b='y'>&\u{1b}</a>").to_string(),
            "&lt;a href=\"x\" b='y'&gt;&amp;\u{FFFD}&lt;/a&gt;"
        );
    }

    #[test]
    fn html_escape_replaces_exactly_the_control_characters_of_every_plane() {
        // The character-by-character definition the byte-wise escape must match.
        let reference = |s: &str| -> String {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
                    c => out.push(c),
                }
            }
            out
        };
        let mut all: String = (0u32..0x800).filter_map(char::from_u32).collect();
        all.push_str("é\u{80}x\u{9f}\u{a0}\u{c2}\u{100}€😀<&>\t\n\r\u{7f}");
        for text in [all.as_str(), "", "plain", "\u{85}", "a\u{9f}", "é<"] {
            assert_eq!(Html(text).to_string(), reference(text), "{text:?}");
        }
    }

    #[test]
    fn xml_escape_drops_characters_illegal_in_xml_1_0() {
        let text = "a\u{0}b\u{8}c\u{FFFE}d<&>\"\t";
        assert_eq!(
            Xml {
                text,
                attribute: false
            }
            .to_string(),
            "abcd&lt;&amp;&gt;\"\t"
        );
        assert_eq!(
            Xml {
                text,
                attribute: true
            }
            .to_string(),
            "abcd&lt;&amp;&gt;&quot;&#9;"
        );
    }

    #[test]
    fn printable_replaces_terminal_escape_sequences() {
        assert_eq!(printable("ok\u{1b}[2Jx\u{9b}y"), "ok?[2Jx?y");
    }
}
