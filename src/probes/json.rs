//! Probe lines parsed once into a compact tree, read the way a `serde_json::Value` is.
//!
//! A healthy host sends ~30 KB of probe lines. Parsed into `serde_json::Value`, every
//! key and every text became its own allocation (~2,700 per host) and every object a
//! B-tree, all freed again once the host was judged: malloc and free were a third of
//! the judging CPU. A [`Doc`] keeps the line's text and a tree whose texts are byte
//! ranges of it (only texts with escapes are copied), each array and object in one
//! exactly sized allocation. Judges read it through [`Json`], a copyable view.
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

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

/// One parsed JSON text (a probe line): the text and its tree.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    text: Box<str>,
    root: Node,
}

/// A text inside a [`Doc`]: a byte range of its text, or a copy when it had escapes.
#[derive(Debug, Clone)]
enum Text {
    Span { start: u32, end: u32 },
    Owned(Box<str>),
}

impl Text {
    /// Length in bytes.
    fn len(&self) -> usize {
        match self {
            Text::Span { start, end } => end.saturating_sub(*start) as usize,
            Text::Owned(s) => s.len(),
        }
    }
}

/// A value inside a [`Doc`].
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(Text),
    Array(Box<[Node]>),
    /// Members in the order received, duplicates kept.
    Object(Box<[(Text, Node)]>),
}

/// What `null` views point at.
static NULL: Node = Node::Null;

impl Doc {
    /// Parses `text` (which must be at most `u32::MAX` bytes; probe lines are capped far
    /// below). Errors exactly where `serde_json::from_str::<Value>` does.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Result<Doc, serde_json::Error> {
        Doc::parse_with(text, &mut Scratch::default())
    }

    /// [`Doc::parse`] with a scratch space kept from line to line (it is left empty).
    pub(crate) fn parse_with(text: &str, scratch: &mut Scratch) -> Result<Doc, serde_json::Error> {
        scratch.items.clear();
        scratch.members.clear();
        let mut de = serde_json::Deserializer::from_str(text);
        let root = Tree {
            base: text,
            scratch,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(Doc {
            text: text.into(),
            root,
        })
    }

    /// The whole value.
    pub(crate) fn root(&self) -> Json<'_> {
        Json {
            text: &self.text,
            node: &self.root,
        }
    }

    /// A `Doc` holding a copy of `value` (tests build their data with `json!`).
    #[cfg(test)]
    pub(crate) fn from_value(value: &Value) -> Doc {
        Doc::parse(&value.to_string()).expect("a Value prints as valid JSON")
    }
}

/// A value of a [`Doc`], as judges read it. Copy it freely: it is two references.
#[derive(Clone, Copy)]
pub(crate) struct Json<'a> {
    text: &'a str,
    node: &'a Node,
}

/// What kind of value a [`Json`] is, with its scalar content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number, as `serde_json` reads it (u64, i64 or f64).
    Number(&'a Number),
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
        text: "",
        node: &NULL,
    };

    /// True when the text `t` is exactly `key` (compares bytes: a range need not be
    /// sliced as `str` to be compared).
    fn text_is(self, t: &Text, key: &str) -> bool {
        match t {
            Text::Span { start, end } => {
                t.len() == key.len()
                    && self.text.as_bytes().get(*start as usize..*end as usize)
                        == Some(key.as_bytes())
            }
            Text::Owned(s) => **s == *key,
        }
    }

    fn text_of(self, t: &'a Text) -> &'a str {
        match t {
            Text::Span { start, end } => self
                .text
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Text::Owned(s) => s,
        }
    }

    fn at(self, node: &'a Node) -> Json<'a> {
        Json {
            text: self.text,
            node,
        }
    }

    /// What kind of value this is.
    pub(crate) fn kind(self) -> Kind<'a> {
        match self.node {
            Node::Null => Kind::Null,
            Node::Bool(b) => Kind::Bool(*b),
            Node::Number(n) => Kind::Number(n),
            Node::String(t) => Kind::String(self.text_of(t)),
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
            Node::String(t) => Some(self.text_of(t)),
            _ => None,
        }
    }

    /// An array's elements in order (nothing for other kinds).
    pub(crate) fn items(self) -> impl ExactSizeIterator<Item = Json<'a>> {
        let items: &'a [Node] = match self.node {
            Node::Array(items) => items,
            _ => &[],
        };
        items.iter().map(move |n| self.at(n))
    }

    /// An object's members in the order received, duplicates included.
    fn members(self) -> impl DoubleEndedIterator<Item = (&'a str, Json<'a>)> {
        let members: &'a [(Text, Node)] = match self.node {
            Node::Object(members) => members,
            _ => &[],
        };
        members
            .iter()
            .map(move |(k, v)| (self.text_of(k), self.at(v)))
    }

    /// The value of exactly `key` in an object (the last one if the key repeats).
    pub(crate) fn get(self, key: &str) -> Option<Json<'a>> {
        let Node::Object(members) = self.node else {
            return None;
        };
        members
            .iter()
            .rev()
            .find(|(k, _)| self.text_is(k, key))
            .map(|(_, v)| self.at(v))
    }

    /// The value of `key` in an object: the exact key, else the case-insensitive match
    /// whose name sorts first (PowerShell property names are case-insensitive).
    pub(crate) fn field(self, key: &str) -> Option<Json<'a>> {
        if let Some(exact) = self.get(key) {
            return Some(exact);
        }
        let Node::Object(members) = self.node else {
            return None;
        };
        let mut best: Option<(&str, &Node)> = None;
        for (k, v) in members.iter() {
            if k.len() != key.len() {
                continue;
            }
            let k = self.text_of(k);
            // `<=`: among equal names the later member wins, as in a map.
            if k.eq_ignore_ascii_case(key) && best.is_none_or(|(b, _)| k <= b) {
                best = Some((k, v));
            }
        }
        best.map(|(_, v)| self.at(v))
    }

    /// The same value as a `serde_json::Value` (sorted, de-duplicated object keys).
    pub(crate) fn to_value(self) -> Value {
        match self.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(t) => Value::String(self.text_of(t).to_owned()),
            Node::Array(_) => Value::Array(self.items().map(Json::to_value).collect()),
            Node::Object(_) => Value::Object(
                self.members()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
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
        match self.node {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(t) => serializer.serialize_str(self.text_of(t)),
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in self.items() {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            Node::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in self.members() {
                    map.serialize_entry(k, &v)?;
                }
                map.end()
            }
        }
    }
}

// ---- parsing -----------------------------------------------------------------------

/// Elements and members of the containers being parsed: each finished container is
/// moved out in one exactly sized allocation instead of growing its own `Vec`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    items: Vec<Node>,
    members: Vec<(Text, Node)>,
}

/// Parses one value of `base` (the text being parsed) into a [`Node`].
struct Tree<'s, 'b> {
    base: &'b str,
    scratch: &'s mut Scratch,
}

impl Tree<'_, '_> {
    fn reborrow(&mut self) -> Tree<'_, '_> {
        Tree {
            base: self.base,
            scratch: self.scratch,
        }
    }
}

/// A text the parser borrowed from `base`, as a range of it (a copy if it somehow is
/// not inside it). In range, `base[start..end]` starts at `v` (same address) and has
/// its length, so it is `v`.
fn span(base: &str, v: &str) -> Text {
    let start = (v.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    let end = start.wrapping_add(v.len());
    match (u32::try_from(start), u32::try_from(end)) {
        (Ok(s), Ok(e)) if start <= end && base.get(start..end).is_some() => {
            Text::Span { start: s, end: e }
        }
        _ => Text::Owned(v.into()),
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
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // What `Value` does (a float JSON can carry is always finite).
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node, E> {
        Ok(Node::String(span(self.base, v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(Text::Owned(v.into())))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Node, A::Error> {
        let start = self.scratch.items.len();
        while let Some(item) = seq.next_element_seed(self.reborrow())? {
            self.scratch.items.push(item);
        }
        Ok(Node::Array(self.scratch.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Node, A::Error> {
        let start = self.scratch.members.len();
        while let Some(key) = map.next_key_seed(Key { base: self.base })? {
            let value = map.next_value_seed(self.reborrow())?;
            self.scratch.members.push((key, value));
        }
        Ok(Node::Object(self.scratch.members.drain(start..).collect()))
    }
}

/// An object key, as a range of the input unless it had escapes.
struct Key<'b> {
    base: &'b str,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Text;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text, E> {
        Ok(span(self.base, v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Owned(v.into()))
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
    fn texts_without_escapes_are_ranges_of_the_line() {
        let doc = Doc::parse(r#"{"plain":"abc","esc\naped":"a\nb"}"#).expect("doc");
        let Node::Object(members) = &doc.root else {
            panic!("object")
        };
        assert!(matches!(members[0].0, Text::Span { .. }));
        assert!(matches!(members[0].1, Node::String(Text::Span { .. })));
        assert!(matches!(members[1].0, Text::Owned(_)));
        assert!(matches!(members[1].1, Node::String(Text::Owned(_))));
        assert_eq!(doc.root().get("plain").and_then(Json::as_str), Some("abc"));
        assert_eq!(
            doc.root().get("esc\naped").and_then(Json::as_str),
            Some("a\nb")
        );
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
                Kind::Number(&Number::from(7)),
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
