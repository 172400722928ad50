//! Probe lines parsed once into a compact tree, read the way a `serde_json::Value` is.
//!
//! A healthy host sends ~30 KB of probe lines. Parsed into `serde_json::Value`, every
//! key and every text became its own allocation (~2,700 per host) and every object a
//! B-tree, all freed again once the host was judged: malloc and free were a third of
//! the judging CPU. A [`Doc`] is three allocations per line: the text (the line, then
//! copies of the texts that had escapes), every array element and every object member.
//! Strings are byte ranges of the text; containers are ranges of their element or
//! member table (a container's own entries are contiguous). Judges read a `Doc`
//! through [`Json`], a copyable view.
//!
//! It reads like the `Value` it replaces, so verdicts and evidence do not change:
//! - the line is accepted or refused exactly as `serde_json::from_str::<Value>` would
//!   (same grammar and depth limit, numbers read by serde_json; a differential test
//!   holds the two together);
//! - a key that appears twice reads as its last value (a map keeps the last insert);
//! - [`Json::field`] tries the exact key, then the case-insensitive matches in byte
//!   order of the key (the order a `BTreeMap` iterates);
//! - serialising goes through `serde_json::to_value`, so objects come out with sorted,
//!   de-duplicated keys exactly as a `Value` prints them ([`Json::to_value`], `Display`).

use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Number, Value};

/// One parsed JSON text (a probe line). Each table is allocated at its exact size.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    /// The line, followed by the unescaped copies of its texts that had escapes.
    text: String,
    /// Array elements; each array's are contiguous.
    items: Vec<Node>,
    /// Object members in the order received, duplicates kept; each object's contiguous.
    members: Vec<Member>,
    root: Node,
}

/// A range of a [`Doc`]'s text or of one of its tables. Lines are capped far below
/// `u32::MAX` bytes ([`super::MAX_LINE_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
}

/// A value inside a [`Doc`] (16 bytes, nothing to drop).
#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    /// A non-negative integer (what `Number` calls `PosInt`).
    PosInt(u64),
    /// A negative integer.
    NegInt(i64),
    /// A float (always finite: JSON cannot carry others).
    Float(f64),
    /// A range of the text.
    String(Span),
    /// A range of `items`.
    Array(Span),
    /// A range of `members`.
    Object(Span),
}

/// One object member.
#[derive(Debug, Clone, Copy)]
struct Member {
    key: Span,
    value: Node,
}

/// What [`Json::NULL`] views.
static NULL_DOC: Doc = Doc {
    text: String::new(),
    items: Vec::new(),
    members: Vec::new(),
    root: Node::Null,
};

impl Doc {
    /// Parses `text`; refuses exactly what `serde_json::from_str::<Value>` refuses.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Result<Doc, NotJson> {
        Doc::parse_with(text, &mut Scratch::default())
    }

    /// [`Doc::parse`] with working space kept from line to line.
    pub(crate) fn parse_with(text: &str, scratch: &mut Scratch) -> Result<Doc, NotJson> {
        scratch.clear();
        let root = Parser {
            text,
            pos: 0,
            s: &mut *scratch,
        }
        .document()?;
        let mut all = String::with_capacity(text.len() + scratch.escaped.len());
        all.push_str(text);
        all.push_str(&scratch.escaped);
        Ok(Doc {
            text: all,
            items: scratch.items.to_vec(),
            members: scratch.members.to_vec(),
            root,
        })
    }

    /// The whole value.
    pub(crate) fn root(&self) -> Json<'_> {
        Json {
            doc: self,
            node: self.root,
        }
    }

    /// A `Doc` holding a copy of `value` (tests build their data with `json!`).
    #[cfg(test)]
    pub(crate) fn from_value(value: &Value) -> Doc {
        Doc::parse(&value.to_string()).expect("a Value prints as valid JSON")
    }
}

/// A value of a [`Doc`], as judges read it. Copy it freely (24 bytes).
#[derive(Clone, Copy)]
pub(crate) struct Json<'a> {
    doc: &'a Doc,
    node: Node,
}

/// What kind of value a [`Json`] is, with its scalar content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number, as `serde_json` reads it (u64, i64 or f64).
    Number(Number),
    /// Text.
    String(&'a str),
    /// An array (see [`Json::items`]).
    Array,
    /// An object (see [`Json::get`], [`Json::field`]).
    Object,
}

impl<'a> Json<'a> {
    /// `null`, for a member that is missing.
    pub(crate) const NULL: Json<'static> = Json {
        doc: &NULL_DOC,
        node: Node::Null,
    };

    fn at(self, node: Node) -> Json<'a> {
        Json {
            doc: self.doc,
            node,
        }
    }

    fn str_at(self, span: Span) -> &'a str {
        self.doc.text.get(span.range()).unwrap_or_default()
    }

    /// True when the text at `span` is exactly `key` (compared as bytes, lengths first).
    fn str_is(self, span: Span, key: &str) -> bool {
        span.len() == key.len()
            && self.doc.text.as_bytes().get(span.range()) == Some(key.as_bytes())
    }

    fn members(self) -> &'a [Member] {
        match self.node {
            Node::Object(span) => self.doc.members.get(span.range()).unwrap_or_default(),
            _ => &[],
        }
    }

    /// What kind of value this is.
    pub(crate) fn kind(self) -> Kind<'a> {
        match self.node {
            Node::Null => Kind::Null,
            Node::Bool(b) => Kind::Bool(b),
            Node::PosInt(n) => Kind::Number(n.into()),
            Node::NegInt(n) => Kind::Number(n.into()),
            Node::Float(f) => Number::from_f64(f).map_or(Kind::Null, Kind::Number),
            Node::String(span) => Kind::String(self.str_at(span)),
            Node::Array(_) => Kind::Array,
            Node::Object(_) => Kind::Object,
        }
    }

    /// True for `null`.
    pub(crate) fn is_null(self) -> bool {
        matches!(self.node, Node::Null)
    }

    /// True for an object.
    pub(crate) fn is_object(self) -> bool {
        matches!(self.node, Node::Object(_))
    }

    /// The text, when the value is a string.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self.node {
            Node::String(span) => Some(self.str_at(span)),
            _ => None,
        }
    }

    /// An array's elements in order (nothing for other kinds).
    pub(crate) fn items(self) -> impl ExactSizeIterator<Item = Json<'a>> {
        let items: &'a [Node] = match self.node {
            Node::Array(span) => self.doc.items.get(span.range()).unwrap_or_default(),
            _ => &[],
        };
        items.iter().map(move |n| self.at(*n))
    }

    /// The value of exactly `key` in an object (the last one if the key repeats).
    pub(crate) fn get(self, key: &str) -> Option<Json<'a>> {
        self.members()
            .iter()
            .rev()
            .find(|m| self.str_is(m.key, key))
            .map(|m| self.at(m.value))
    }

    /// The value of `key` in an object: the exact key, else the case-insensitive match
    /// whose name sorts first (PowerShell property names are case-insensitive).
    pub(crate) fn field(self, key: &str) -> Option<Json<'a>> {
        if let Some(exact) = self.get(key) {
            return Some(exact);
        }
        let mut best: Option<(&str, Node)> = None;
        for m in self.members() {
            if m.key.len() != key.len() {
                continue;
            }
            let k = self.str_at(m.key);
            // `<=`: among equal names the later member wins, as in a map.
            if k.eq_ignore_ascii_case(key) && best.is_none_or(|(b, _)| k <= b) {
                best = Some((k, m.value));
            }
        }
        best.map(|(_, v)| self.at(v))
    }

    /// The same value as a `serde_json::Value` (sorted, de-duplicated object keys).
    pub(crate) fn to_value(self) -> Value {
        match self.kind() {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(b),
            Kind::Number(n) => Value::Number(n),
            Kind::String(s) => Value::String(s.to_owned()),
            Kind::Array => Value::Array(self.items().map(Json::to_value).collect()),
            Kind::Object => Value::Object(
                self.members()
                    .iter()
                    .map(|m| (self.str_at(m.key).to_owned(), self.at(m.value).to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Debug for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON exactly as the equivalent `Value` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_value(), f)
    }
}

impl PartialEq for Json<'_> {
    /// Equal when the equivalent `Value`s are (tests compare with `json!`).
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

impl Serialize for Json<'_> {
    /// Members in received order; serialised into a `Value` (which is what `json!`
    /// does with evidence) they end up sorted with the last duplicate kept.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.kind() {
            Kind::Null => serializer.serialize_unit(),
            Kind::Bool(b) => serializer.serialize_bool(b),
            Kind::Number(n) => n.serialize(serializer),
            Kind::String(s) => serializer.serialize_str(s),
            Kind::Array => {
                let items = self.items();
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            Kind::Object => {
                let members = self.members();
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for m in members {
                    map.serialize_entry(self.str_at(m.key), &self.at(m.value))?;
                }
                map.end()
            }
        }
    }
}

// ---- parsing -----------------------------------------------------------------------
//
// A parser for exactly the grammar `serde_json::from_str::<Value>` accepts (checked
// against it by the differential tests below): whitespace is space, tab, CR and LF;
// strings refuse control characters and unpaired surrogate escapes; containers nest at
// most 127 deep; nothing but whitespace may follow the value. Numbers other than plain
// unsigned integers are handed to serde_json itself, so their values (and refusals,
// such as `1e400`) are serde_json's own. It replaced serde's visitor machinery, which
// was most of the parse's cost.

/// Why a text is not JSON: the byte offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotJson {
    pub(crate) at: usize,
}

impl fmt::Display for NotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not JSON (at byte {})", self.at)
    }
}

/// serde_json's nesting budget: entering the 128th nested container is refused.
const DEPTH_BUDGET: u32 = 128;

/// Working space for parsing lines, kept from line to line so a line costs only its
/// [`Doc`]'s three allocations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    /// Unescaped copies of texts that had escapes (they follow the line in the text).
    escaped: String,
    /// The `Doc`'s tables being built.
    items: Vec<Node>,
    members: Vec<Member>,
    /// Entries of the containers still open (moved to the tables when one closes, so
    /// each container's entries end up contiguous).
    open_items: Vec<Node>,
    open_members: Vec<Member>,
}

impl Scratch {
    fn clear(&mut self) {
        self.escaped.clear();
        self.items.clear();
        self.members.clear();
        self.open_items.clear();
        self.open_members.clear();
    }
}

/// The first `"`, `\\` or control character in `bytes`, eight bytes at a time (strings
/// are most of a probe line; a byte-by-byte loop was most of the parse).
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let special = |b: &u8| *b == b'"' || *b == b'\\' || *b < 0x20;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // A byte is flagged when it is below 0x20 or zero after XOR with `"` or `\`;
        // the lowest flagged byte is always a true match (borrows only carry upward).
        let below = word.wrapping_sub(ONES * 0x20) & !word;
        let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES)
            & !(word ^ (ONES * u64::from(b'"')));
        let slash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES)
            & !(word ^ (ONES * u64::from(b'\\')));
        let found = (below | quote | slash) & HIGHS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(special)
        .map(|i| offset + i)
}

struct Parser<'t, 's> {
    text: &'t str,
    pos: usize,
    s: &'s mut Scratch,
}

impl Parser<'_, '_> {
    fn fail<T>(&self) -> Result<T, NotJson> {
        Err(NotJson { at: self.pos })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn span(&self, start: usize, end: usize) -> Result<Span, NotJson> {
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Ok(Span { start, end }),
            _ => self.fail(),
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The whole text: one value, then only whitespace.
    fn document(&mut self) -> Result<Node, NotJson> {
        let root = self.value(DEPTH_BUDGET)?;
        self.skip_whitespace();
        if self.pos == self.text.len() {
            Ok(root)
        } else {
            self.fail()
        }
    }

    fn value(&mut self, depth: u32) -> Result<Node, NotJson> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string().map(Node::String)
            }
            Some(b'{') => {
                let inner = depth.saturating_sub(1);
                if inner == 0 {
                    return self.fail();
                }
                self.pos += 1;
                self.object(inner)
            }
            Some(b'[') => {
                let inner = depth.saturating_sub(1);
                if inner == 0 {
                    return self.fail();
                }
                self.pos += 1;
                self.array(inner)
            }
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.fail(),
        }
    }

    fn literal(&mut self, word: &str, node: Node) -> Result<Node, NotJson> {
        let end = self.pos + word.len();
        if self.text.as_bytes().get(self.pos..end) == Some(word.as_bytes()) {
            self.pos = end;
            Ok(node)
        } else {
            self.fail()
        }
    }

    fn number(&mut self) -> Result<Node, NotJson> {
        let start = self.pos;
        let len = self
            .text
            .as_bytes()
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        let Some(token) = self.text.get(start..start + len) else {
            return self.fail();
        };
        // In accepted JSON a number is never followed by one of these bytes, so the run
        // is exactly the number serde_json reads (and a longer run is refused by both).
        let plain = token.bytes().all(|b| b.is_ascii_digit())
            && token.len() <= 19
            && (token.len() == 1 || !token.starts_with('0'));
        let node = if plain {
            // At most 19 digits always fits a u64 (what serde_json makes `PosInt`).
            token.parse::<u64>().ok().map(Node::PosInt)
        } else {
            serde_json::from_str::<Number>(token).ok().and_then(|n| {
                n.as_u64()
                    .map(Node::PosInt)
                    .or_else(|| n.as_i64().map(Node::NegInt))
                    .or_else(|| n.as_f64().map(Node::Float))
            })
        };
        match node {
            Some(node) => {
                self.pos = start + len;
                Ok(node)
            }
            None => self.fail(),
        }
    }

    /// A string's content, the opening quote already read.
    fn string(&mut self) -> Result<Span, NotJson> {
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..).unwrap_or_default();
        match string_stop(rest).and_then(|i| rest.get(i).map(|b| (i, *b))) {
            Some((i, b'"')) => {
                self.pos = start + i + 1;
                self.span(start, start + i)
            }
            Some((i, b'\\')) => {
                self.pos = start + i;
                self.escaped_string(start)
            }
            // A control character, or the end of the text.
            Some((i, _)) => {
                self.pos = start + i;
                self.fail()
            }
            None => {
                self.pos = self.text.len();
                self.fail()
            }
        }
    }

    /// The rest of a string that has escapes: its unescaped copy goes after the line.
    fn escaped_string(&mut self, start: usize) -> Result<Span, NotJson> {
        let copy_start = self.s.escaped.len();
        let mut run = start;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.push_run(run)?;
                    self.pos += 1;
                    let base = self.text.len();
                    return self.span(base + copy_start, base + self.s.escaped.len());
                }
                Some(b'\\') => {
                    self.push_run(run)?;
                    self.pos += 1;
                    self.escape()?;
                    run = self.pos;
                }
                Some(b) if b >= 0x20 => self.pos += 1,
                _ => return self.fail(),
            }
        }
    }

    /// Copies the text from `run` to here (both next to ASCII bytes, so on character
    /// boundaries) into the escaped texts.
    fn push_run(&mut self, run: usize) -> Result<(), NotJson> {
        match self.text.get(run..self.pos) {
            Some(s) => {
                self.s.escaped.push_str(s);
                Ok(())
            }
            None => self.fail(),
        }
    }

    /// One escape, the backslash already read.
    fn escape(&mut self) -> Result<(), NotJson> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => return self.fail(),
        };
        self.pos += 1;
        self.s.escaped.push(c);
        Ok(())
    }

    /// `\uXXXX`, the `\u` already read: a surrogate must be a leading one followed by
    /// `\u` and a trailing one, as serde_json requires for text.
    fn unicode_escape(&mut self) -> Result<(), NotJson> {
        let n = self.hex4()?;
        let code = match n {
            0xDC00..=0xDFFF => return self.fail(),
            0xD800..=0xDBFF => {
                if self.text.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return self.fail();
                }
                self.pos += 2;
                let n2 = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&n2) {
                    return self.fail();
                }
                (((u32::from(n) - 0xD800) << 10) | (u32::from(n2) - 0xDC00)) + 0x1_0000
            }
            n => u32::from(n),
        };
        match char::from_u32(code) {
            Some(c) => {
                self.s.escaped.push(c);
                Ok(())
            }
            None => self.fail(),
        }
    }

    fn hex4(&mut self) -> Result<u16, NotJson> {
        let Some(digits) = self.text.as_bytes().get(self.pos..self.pos + 4) else {
            return self.fail();
        };
        let mut n: u16 = 0;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.fail(),
            };
            n = (n << 4) | u16::from(v);
        }
        self.pos += 4;
        Ok(n)
    }

    fn array(&mut self, depth: u32) -> Result<Node, NotJson> {
        let open = self.s.open_items.len();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                let item = self.value(depth)?;
                self.s.open_items.push(item);
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.fail(),
                }
            }
        }
        let start = self.s.items.len();
        let s = &mut *self.s;
        s.items.extend(s.open_items.drain(open..));
        let end = s.items.len();
        self.span(start, end).map(Node::Array)
    }

    fn object(&mut self, depth: u32) -> Result<Node, NotJson> {
        let open = self.s.open_members.len();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                if self.peek() != Some(b'"') {
                    return self.fail();
                }
                self.pos += 1;
                let key = self.string()?;
                self.skip_whitespace();
                if self.peek() != Some(b':') {
                    return self.fail();
                }
                self.pos += 1;
                let value = self.value(depth)?;
                self.s.open_members.push(Member { key, value });
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.fail(),
                }
            }
        }
        let start = self.s.members.len();
        let s = &mut *self.s;
        s.members.extend(s.open_members.drain(open..));
        let end = s.members.len();
        self.span(start, end).map(Node::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parsed_tree_serialises_like_the_value_of_the_same_text() {
        for text in [
            r#"{"b":1,"a":[true,null,-3,2.5,"x\"y"],"c":{"z":{},"y":[]},"é":"\u00e9","k\"q":0}"#,
            r#"{"k":1,"k":2,"K":3}"#,
            r#"[18446744073709551615,-9223372036854775808,1e300,0.1]"#,
            r#""\/Date(1720919582928)\/""#,
            r#" {"padded": "by whitespace"} "#,
        ] {
            let value: Value = serde_json::from_str(text).expect("value");
            let doc = Doc::parse(text).expect("doc");
            assert_eq!(doc.root().to_value(), value, "{text}");
            assert_eq!(
                serde_json::to_value(doc.root()).expect("to_value"),
                value,
                "{text}"
            );
            assert_eq!(doc.root().to_string(), value.to_string(), "{text}");
        }
    }

    #[test]
    fn texts_are_ranges_of_the_line_and_escaped_ones_follow_it() {
        let line = r#"{"plain":"abc","esc\naped":"a\nb","list":[1,[2],{"k":"v"}]}"#;
        let doc = Doc::parse(line).expect("doc");
        assert_eq!(doc.text, format!("{line}esc\naped") + "a\nb");
        // `plain` is bytes 2..7 of the line (a container's members are stored when it closes).
        assert!(
            doc.members
                .iter()
                .any(|m| m.key == Span { start: 2, end: 7 })
        );
        assert_eq!(doc.root().get("plain").and_then(Json::as_str), Some("abc"));
        assert_eq!(
            doc.root().get("esc\naped").and_then(Json::as_str),
            Some("a\nb")
        );
        // One table entry per element and member: nothing is stored twice.
        assert_eq!(doc.items.len(), 4);
        assert_eq!(doc.members.len(), 4);
        let list: Vec<Value> = doc
            .root()
            .field("list")
            .map(|l| l.items().map(Json::to_value).collect())
            .unwrap_or_default();
        assert_eq!(list, [json!(1), json!([2]), json!({"k": "v"})]);
    }

    #[test]
    fn field_reads_duplicates_and_case_variants_as_a_map_would() {
        let cases = [
            (r#"{"id":1,"id":2}"#, "id"),
            (r#"{"Id":1,"ID":2,"iD":3}"#, "id"),
            (r#"{"ID":1,"ID":2,"Id":3}"#, "id"),
            (r#"{"Id":1,"id":2,"ID":3}"#, "id"),
            (r#"{"InstallState":0}"#, "installstate"),
            (r#"{"other":0}"#, "installstate"),
            (r#"[1]"#, "x"),
        ];
        for (text, key) in cases {
            let value: Value = serde_json::from_str(text).expect("value");
            let doc = Doc::parse(text).expect("doc");
            assert_eq!(
                doc.root().field(key).map(Json::to_value).as_ref(),
                crate::probes::value::field_of_value(&value, key),
                "{text} {key}"
            );
        }
        let doc = Doc::parse(r#"{"data":1,"id":"a","data":[2],"Data":3}"#).expect("doc");
        assert_eq!(doc.root().get("data").map(Json::to_value), Some(json!([2])));
        assert_eq!(doc.root().get("DATA").map(Json::to_value), None);
    }

    #[test]
    fn lines_are_accepted_and_refused_exactly_as_value_does() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for (line, accepted) in [
            (r#"{"id":"a","data":{"x":1e400}}"#, false),
            (r#"{"id":"a","data":{"x":1}"#, false),
            (r#"{"id":"a","data":{"x":1}} trailing"#, false),
            (r#"{"id":"a","ps":"\q"}"#, false),
            (r#"{"id":"a","data":[1,2,]}"#, false),
            (r#"{"id":"a","data":{"x":"\ud800"}}"#, false),
            (deep.as_str(), false),
            (r#"{"id":"a","data":[1,2],"data":"x"}"#, true),
            (
                r#"{"id":"a","extra":{"deep":[{"n":-0.0}]},"data":{"a\"b":1}}"#,
                true,
            ),
            (r#"{}"#, true),
        ] {
            assert_eq!(
                serde_json::from_str::<Value>(line).is_ok(),
                accepted,
                "{line}"
            );
            assert_eq!(Doc::parse(line).is_ok(), accepted, "{line}");
        }
    }

    /// Accepts or refuses as serde_json does; when both accept, reads the same value.
    fn agrees_with_serde_json(text: &str) -> bool {
        let want = serde_json::from_str::<Value>(text);
        let got = Doc::parse(text);
        assert_eq!(
            got.is_ok(),
            want.is_ok(),
            "accept/refuse differs on {text:?}"
        );
        if let (Ok(got), Ok(want)) = (got, want) {
            assert_eq!(got.root().to_value(), want, "value differs on {text:?}");
            assert_eq!(got.root().to_string(), want.to_string(), "{text:?}");
            true
        } else {
            false
        }
    }

    #[test]
    fn parser_agrees_with_serde_json_on_tricky_numbers_strings_and_nesting() {
        let numbers = [
            "0",
            "-0",
            "-0.0",
            "7",
            "-7",
            "1e5",
            "1E+5",
            "1e-5",
            "2.5e0",
            "01",
            "-01",
            "00",
            "1.",
            ".5",
            "1.5e",
            "1e+",
            "-",
            "+1",
            "1-2",
            "1.2.3",
            "0x10",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "1e308",
            "1e309",
            "-1e400",
            "1e-400",
            "2.2250738585072014e-308",
            "4.9e-324",
            "0.1",
            "3.141592653589793238462643383279",
        ];
        let strings = [
            r#""""#,
            r#""plain""#,
            r#""\u00e9""#,
            r#""\ud83d\ude00""#,
            r#""\uD83D\uDE00""#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\ud83d\n""#,
            r#""\udfff""#,
            r#""\udbff\udfff""#,
            r#""\ud800\udc00""#,
            r#""\ud7ff""#,
            r#""\ue000""#,
            r#""\udbff\ue000""#,
            r#""\u12""#,
            r#""\uZZZZ""#,
            r#""\x""#,
            r#""\/\b\f\n\r\t\"\\""#,
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "\"é€😀\"",
            r#""unterminated"#,
            r#""a\"#,
            r#""\u0000""#,
        ];
        let mut accepted = 0;
        let mut texts: Vec<String> = Vec::new();
        for token in numbers.iter().chain(&strings) {
            texts.push((*token).to_string());
            texts.push(format!("[{token}]"));
            texts.push(format!(" {{ \"k\" : {token} , \"n\":[ ]}} "));
            texts.push(format!("{{{token}:1}}"));
        }
        for depth in 125..=130 {
            texts.push(format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            texts.push(format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)));
        }
        for text in [
            "",
            " ",
            "true",
            "tru",
            "truex",
            "nul",
            "null null",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:1}",
            "[1 2]",
            "{}",
            "[]",
            "\u{feff}{}",
            "{}\n\t\r ",
            "{} x",
            "[true,false,null]",
            "{\"a\":{\"b\":[{}]}}",
            "\u{b}[]",
        ] {
            texts.push(text.to_string());
        }
        for text in &texts {
            accepted += usize::from(agrees_with_serde_json(text));
        }
        assert!(accepted > 50 && accepted < texts.len() - 50, "{accepted}");
    }

    #[test]
    fn parser_agrees_with_serde_json_on_probe_lines_and_random_mutations() {
        use crate::emulator::{answers, host::HostState, scenario::Scenario};
        let now = time::macros::datetime!(2026-11-24 20:00:00 UTC);
        let program =
            crate::probes::Program::assemble(&crate::probes::Selection::all(true)).expect("valid");
        let alphabet: Vec<char> = "\"\\{}[],:0123456789-+.eEtrufalsn \t\r\nuDdCcx\u{1}é😀"
            .chars()
            .collect();
        let mut rng = fastrand::Rng::with_seed(0x0f1e_e75c);
        let (mut accepted, mut refused) = (0, 0);
        for scenario in [
            Scenario::Healthy,
            Scenario::NotAdmin,
            Scenario::VssWriterTimeout,
        ] {
            let host = HostState::for_scenario(scenario, "srv-0007", 7);
            let out = answers::run_powershell_at(&host, program.script(), "fleetscan", now);
            for line in &out.stdout_lines {
                assert!(agrees_with_serde_json(line), "{line}");
                for _ in 0..12 {
                    let mut chars: Vec<char> = line.chars().collect();
                    for _ in 0..rng.usize(1..4) {
                        let at = rng.usize(0..chars.len().max(1));
                        let c = alphabet[rng.usize(0..alphabet.len())];
                        match rng.u8(0..3) {
                            0 => chars.insert(at.min(chars.len()), c),
                            1 if at < chars.len() => {
                                chars.remove(at);
                            }
                            _ if at < chars.len() => chars[at] = c,
                            _ => chars.push(c),
                        }
                    }
                    let text: String = chars.into_iter().collect();
                    if agrees_with_serde_json(&text) {
                        accepted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
        }
        assert!(
            accepted > 100 && refused > 100,
            "{accepted} accepted, {refused} refused"
        );
    }

    #[test]
    fn string_stop_finds_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut rng = fastrand::Rng::with_seed(31);
        let pool = [
            b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa0, 0xc3, 0xff,
        ];
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        if rng.u8(..) < 200 {
                            b'x'
                        } else {
                            pool[rng.usize(..pool.len())]
                        }
                    })
                    .collect();
                assert_eq!(string_stop(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
        for b in 0..=255u8 {
            let bytes = [b'a', b'b', b'c', b'd', b'e', b'f', b'g', b, b'h'];
            assert_eq!(string_stop(&bytes), naive(&bytes), "{b}");
        }
    }

    #[test]
    fn kinds_and_items_read_scalars_and_arrays() {
        let doc = Doc::parse(r#"[null,true,7,"t",[1,2],{"a":1}]"#).expect("doc");
        let kinds: Vec<Kind<'_>> = doc.root().items().map(Json::kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Null,
                Kind::Bool(true),
                Kind::Number(Number::from(7)),
                Kind::String("t"),
                Kind::Array,
                Kind::Object
            ]
        );
        assert_eq!(doc.root().items().nth(4).map(|a| a.items().len()), Some(2));
        assert_eq!(Json::NULL.items().len(), 0);
        assert!(Json::NULL.is_null() && Json::NULL.get("a").is_none());
    }
}
