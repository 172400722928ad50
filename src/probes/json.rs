//! A JSON tree borrowed from a probe line, read the way a `serde_json::Value` is.
//!
//! A healthy host sends ~30 KB of probe lines. Parsed into `serde_json::Value`, every
//! key and every text becomes its own allocation (~2,600 per host) and every object a
//! B-tree, all freed again once the host is judged: malloc and free were a third of
//! the judging CPU. [`Json`] borrows texts from the line (only texts with escapes are
//! copied) and keeps each array and object in one exactly sized `Vec`.
//!
//! It reads like the `Value` it replaces, so verdicts and evidence do not change:
//! - a key that appears twice reads as its last value (a map keeps the last insert);
//! - [`Json::field`] tries the exact key, then the case-insensitive matches in byte
//!   order of the key (the order a `BTreeMap` iterates);
//! - serialising goes through `serde_json::to_value`, so objects come out with sorted,
//!   de-duplicated keys exactly as a `Value` prints them ([`Json::to_value`], `Display`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

/// One JSON value whose texts borrow from the line it was read from.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Json<'a> {
    /// `null` (also what a missing `data` reads as).
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number, as `serde_json` reads it (u64, i64 or f64).
    Number(Number),
    /// Text; borrowed unless it had escapes.
    String(Cow<'a, str>),
    /// An array, in order.
    Array(Vec<Json<'a>>),
    /// An object's members in the order received, duplicates kept (see [`Json::get`]).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses one JSON text, borrowing from it (scans parse lines with [`Envelope`]
    /// and [`line_data`]).
    #[cfg(test)]
    pub(crate) fn parse(text: &'a str) -> Result<Json<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let value = Tree(&mut Scratch::default()).deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// True for `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// True for an object.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The text, when the value is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of exactly `key` in an object (the last one if the key repeats).
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key` in an object: the exact key, else the case-insensitive match
    /// whose name sorts first (PowerShell property names are case-insensitive).
    pub(crate) fn field(&self, key: &str) -> Option<&Json<'a>> {
        let Json::Object(members) = self else {
            return None;
        };
        if let Some(exact) = self.get(key) {
            return Some(exact);
        }
        let mut best: Option<&(Cow<'a, str>, Json<'a>)> = None;
        for member in members {
            // `<=`: among equal names the later member wins, as in a map.
            if member.0.eq_ignore_ascii_case(key) && best.is_none_or(|b| *member.0 <= *b.0) {
                best = Some(member);
            }
        }
        best.map(|(_, v)| v)
    }

    /// The same value as a `serde_json::Value` (sorted, de-duplicated object keys).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON exactly as the equivalent `Value` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_value(), f)
    }
}

impl Serialize for Json<'_> {
    /// Members in received order; serialised into a `Value` (which is what `json!`
    /// does with evidence) they end up sorted with the last duplicate kept.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
impl Json<'static> {
    /// An owned copy of a `Value` (tests build their data with `json!`).
    pub(crate) fn from_value(v: &Value) -> Json<'static> {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(Cow::Owned(s.clone())),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Owned(k.clone()), Json::from_value(v)))
                    .collect(),
            ),
        }
    }
}

// ---- parsing -----------------------------------------------------------------------

/// Elements and members of the containers being parsed: each finished container is
/// moved out in one exactly sized allocation instead of growing its own `Vec`.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    items: Vec<Json<'a>>,
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

/// Parses one value into a [`Json`] (a `DeserializeSeed` so it can share a [`Scratch`]).
pub(crate) struct Tree<'s, 'a>(pub(crate) &'s mut Scratch<'a>);

impl<'de> DeserializeSeed<'de> for Tree<'_, 'de> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree<'_, 'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        // What `Value` does: a float JSON can carry is always finite.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let start = self.0.items.len();
        while let Some(item) = seq.next_element_seed(Tree(self.0))? {
            self.0.items.push(item);
        }
        Ok(Json::Array(self.0.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let start = self.0.members.len();
        while let Some(key) = map.next_key_seed(Key)? {
            let value = map.next_value_seed(Tree(self.0))?;
            self.0.members.push((key, value));
        }
        Ok(Json::Object(self.0.members.drain(start..).collect()))
    }
}

/// An object key, borrowed unless it had escapes.
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// Checks a value without keeping it: accepts exactly the texts `Value` accepts
/// (unlike `IgnoredAny`, numbers are converted, so `1e400` is refused the same way),
/// and allocates nothing.
pub(crate) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Checked, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

// ---- the probe line's envelope ------------------------------------------------------

/// One envelope key as `field` would read it from a map of the whole line.
#[derive(Default)]
struct Slot<'a> {
    exact: Option<Json<'a>>,
    /// The case-insensitive match whose name sorts first, with its name.
    folded: Option<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Slot<'a> {
    fn offer_folded(&mut self, key: Cow<'a, str>, value: Json<'a>) {
        if self.folded.as_ref().is_none_or(|(k, _)| *key <= **k) {
            self.folded = Some((key, value));
        }
    }

    fn get(&self) -> Option<&Json<'a>> {
        self.exact.as_ref().or(self.folded.as_ref().map(|(_, v)| v))
    }
}

/// The members of a probe line other than `data`, read without building `data`
/// (which is checked, and parsed only when the host is judged: [`line_data`]).
#[derive(Default)]
pub(crate) struct Envelope<'a> {
    id: Slot<'a>,
    ok: Slot<'a>,
    error: Slot<'a>,
    collected_utc: Slot<'a>,
}

impl<'a> Envelope<'a> {
    /// Reads a line that must be one JSON object; errors where `Value` would.
    pub(crate) fn parse(line: &'a str) -> Result<Envelope<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(line);
        let envelope = de.deserialize_any(EnvelopeVisitor)?;
        de.end()?;
        Ok(envelope)
    }

    /// `id` (exact name first, then case-insensitively).
    pub(crate) fn id(&self) -> Option<&Json<'a>> {
        self.id.get()
    }

    /// `ok`.
    pub(crate) fn ok(&self) -> Option<&Json<'a>> {
        self.ok.get()
    }

    /// `error`.
    pub(crate) fn error(&self) -> Option<&Json<'a>> {
        self.error.get()
    }

    /// `collected_utc`.
    pub(crate) fn collected_utc(&self) -> Option<&Json<'a>> {
        self.collected_utc.get()
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a probe line (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope::default();
        let mut scratch = Scratch::default();
        while let Some(key) = map.next_key_seed(Key)? {
            let slot = match &*key {
                "data" => {
                    map.next_value::<Checked>()?;
                    continue;
                }
                "id" => Some((&mut envelope.id, true)),
                "ok" => Some((&mut envelope.ok, true)),
                "error" => Some((&mut envelope.error, true)),
                "collected_utc" => Some((&mut envelope.collected_utc, true)),
                k if k.eq_ignore_ascii_case("id") => Some((&mut envelope.id, false)),
                k if k.eq_ignore_ascii_case("ok") => Some((&mut envelope.ok, false)),
                k if k.eq_ignore_ascii_case("error") => Some((&mut envelope.error, false)),
                k if k.eq_ignore_ascii_case("collected_utc") => {
                    Some((&mut envelope.collected_utc, false))
                }
                _ => None,
            };
            match slot {
                Some((slot, true)) => slot.exact = Some(map.next_value_seed(Tree(&mut scratch))?),
                Some((slot, false)) => {
                    let value = map.next_value_seed(Tree(&mut scratch))?;
                    slot.offer_folded(key, value);
                }
                None => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(envelope)
    }

    // Any other JSON value is refused (the default): a probe line is an object.
}

/// The `data` member of a line that [`Envelope::parse`] accepted (exactly `data`,
/// the last one if repeated; `null` when missing).
pub(crate) fn line_data<'a>(
    line: &'a str,
    scratch: &mut Scratch<'a>,
) -> Result<Json<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(line);
    let data = de.deserialize_map(DataVisitor(scratch))?;
    de.end()?;
    Ok(data)
}

struct DataVisitor<'s, 'a>(&'s mut Scratch<'a>);

impl<'de> Visitor<'de> for DataVisitor<'_, 'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a probe line (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut data = Json::Null;
        while let Some(key) = map.next_key_seed(Key)? {
            if key == "data" {
                data = map.next_value_seed(Tree(self.0))?;
            } else {
                // Already checked when the line was accepted.
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parsed_tree_serialises_like_the_value_of_the_same_text() {
        for text in [
            r#"{"b":1,"a":[true,null,-3,2.5,"x\"y"],"c":{"z":{},"y":[]},"é":"\u00e9"}"#,
            r#"{"k":1,"k":2,"K":3}"#,
            r#"[18446744073709551615,-9223372036854775808,1e300,0.1]"#,
            r#""\/Date(1720919582928)\/""#,
        ] {
            let value: Value = serde_json::from_str(text).expect("value");
            let json = Json::parse(text).expect("json");
            assert_eq!(json.to_value(), value, "{text}");
            assert_eq!(
                serde_json::to_value(&json).expect("to_value"),
                value,
                "{text}"
            );
            assert_eq!(json.to_string(), value.to_string(), "{text}");
            assert_eq!(Json::from_value(&value).to_value(), value, "{text}");
        }
    }

    #[test]
    fn texts_without_escapes_are_borrowed_from_the_line() {
        let json = Json::parse(r#"{"plain":"abc","escaped":"a\nb"}"#).expect("json");
        let Json::Object(members) = &json else {
            panic!("object")
        };
        assert!(members.iter().all(|(k, _)| matches!(k, Cow::Borrowed(_))));
        assert!(matches!(
            json.get("plain"),
            Some(Json::String(Cow::Borrowed("abc")))
        ));
        assert!(matches!(json.get("escaped"), Some(Json::String(Cow::Owned(s))) if s == "a\nb"));
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
            let json = Json::parse(text).expect("json");
            assert_eq!(
                json.field(key).map(Json::to_value).as_ref(),
                crate::probes::value::field_of_value(&value, key),
                "{text} {key}"
            );
        }
    }

    #[test]
    fn envelope_accepts_and_refuses_exactly_what_value_does() {
        for (line, accepted) in [
            (r#"{"id":"a","data":{"x":1e400}}"#, false),
            (r#"{"id":"a","data":{"x":1}"#, false),
            (r#"{"id":"a","data":{"x":1}} trailing"#, false),
            (r#"{"id":"a","ps":"\q"}"#, false),
            (r#"{"id":"a","data":[1,2,]}"#, false),
            (r#"{"id":"a","data":{"x":"\ud800"}}"#, false),
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
            assert_eq!(Envelope::parse(line).is_ok(), accepted, "{line}");
        }
    }

    #[test]
    fn line_data_is_the_last_exact_data_member_or_null() {
        let mut scratch = Scratch::default();
        let data = |line: &str| {
            line_data(line, &mut Scratch::default())
                .expect("data")
                .to_value()
        };
        assert_eq!(data(r#"{"id":"a","data":{"x":1}}"#), json!({"x": 1}));
        assert_eq!(data(r#"{"data":1,"id":"a","data":[2]}"#), json!([2]));
        assert_eq!(data(r#"{"id":"a","Data":{"x":1}}"#), Value::Null);
        assert_eq!(data(r#"{"id":"a"}"#), Value::Null);
        assert_eq!(
            line_data(r#"{"data":"s"}"#, &mut scratch).expect("data"),
            Json::String(Cow::Borrowed("s"))
        );
    }
}
