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
//!   (same parser, same number conversion, same depth limit);
//! - a key that appears twice reads as its last value (a map keeps the last insert);
//! - [`Json::field`] tries the exact key, then the case-insensitive matches in byte
//!   order of the key (the order a `BTreeMap` iterates);
//! - serialising goes through `serde_json::to_value`, so objects come out with sorted,
//!   de-duplicated keys exactly as a `Value` prints them ([`Json::to_value`], `Display`).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};
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
    /// Parses `text`; errors exactly where `serde_json::from_str::<Value>` does.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Result<Doc, serde_json::Error> {
        Doc::parse_with(text, &mut Scratch::default())
    }

    /// [`Doc::parse`] with working space kept from line to line.
    pub(crate) fn parse_with(text: &str, scratch: &mut Scratch) -> Result<Doc, serde_json::Error> {
        scratch.clear();
        let mut de = serde_json::Deserializer::from_str(text);
        let root = Tree {
            base: text,
            s: &mut *scratch,
        }
        .deserialize(&mut de)?;
        de.end()?;
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

/// A range from `start` to `end` of the text or a table, if it fits the `u32`s.
fn span<E: de::Error>(start: usize, end: usize) -> Result<Span, E> {
    match (u32::try_from(start), u32::try_from(end)) {
        (Ok(start), Ok(end)) => Ok(Span { start, end }),
        _ => Err(E::custom("the JSON text is too large to index")),
    }
}

/// Where a text the parser returned will be in the `Doc`'s text: its range of the
/// line if it borrows from it, else a copy appended after the line.
fn text_span<E: de::Error>(base: &str, escaped: &mut String, v: &str) -> Result<Span, E> {
    let offset = (v.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    let end = offset.wrapping_add(v.len());
    // In range, `base[offset..end]` starts where `v` does and is as long: it is `v`
    // (so its ends are character boundaries too). Wrapped values fail the test.
    if offset <= end && end <= base.len() {
        return span(offset, end);
    }
    let start = base.len() + escaped.len();
    escaped.push_str(v);
    span(start, start + v.len())
}

/// Parses one value of `base` (the line) into the scratch tables.
struct Tree<'s, 'b> {
    base: &'b str,
    s: &'s mut Scratch,
}

impl Tree<'_, '_> {
    fn reborrow(&mut self) -> Tree<'_, '_> {
        Tree {
            base: self.base,
            s: &mut *self.s,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Tree<'_, '_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree<'_, '_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        // As `Number::from(i64)`: non-negative values are `PosInt`.
        Ok(u64::try_from(v).map_or(Node::NegInt(v), Node::PosInt))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::PosInt(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // What `Value` does (a float JSON can carry is always finite).
        Ok(if v.is_finite() {
            Node::Float(v)
        } else {
            Node::Null
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Node, E> {
        text_span(self.base, &mut self.s.escaped, v).map(Node::String)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        text_span(self.base, &mut self.s.escaped, v).map(Node::String)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Node, A::Error> {
        let open = self.s.open_items.len();
        while let Some(item) = seq.next_element_seed(self.reborrow())? {
            self.s.open_items.push(item);
        }
        let start = self.s.items.len();
        let s = &mut *self.s;
        s.items.extend(s.open_items.drain(open..));
        span(start, s.items.len()).map(Node::Array)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Node, A::Error> {
        let open = self.s.open_members.len();
        while let Some(key) = map.next_key_seed(Key {
            base: self.base,
            escaped: &mut self.s.escaped,
        })? {
            let value = map.next_value_seed(self.reborrow())?;
            self.s.open_members.push(Member { key, value });
        }
        let start = self.s.members.len();
        let s = &mut *self.s;
        s.members.extend(s.open_members.drain(open..));
        span(start, s.members.len()).map(Node::Object)
    }
}

/// An object key: where it will be in the `Doc`'s text.
struct Key<'s, 'b> {
    base: &'b str,
    escaped: &'s mut String,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = Span;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Span, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = Span;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Span, E> {
        text_span(self.base, self.escaped, v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
        text_span(self.base, self.escaped, v)
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
