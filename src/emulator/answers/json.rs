//! JSON as Windows PowerShell 5.1's `ConvertTo-Json -Compress` prints it: keys in
//! `[ordered]@{}` order, integral doubles without a fraction, and the
//! `JavaScriptSerializer` escapes of `'`, `<`, `>` and `&` as `\u0027` … .

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

thread_local! {
    /// The buffer the last line was serialised into, kept for the next: a line
    /// serialised into a fresh `String` grew it by doubling, ~70 reallocations and
    /// their copies a host; now each line costs one allocation of its exact size.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Larger buffers are not kept (a line is a few KB; a stress scenario's may not be).
const LINE_KEEP_BYTES: usize = 256 * 1024;

/// A JSON value whose objects keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// A .NET double (`[math]::Round(…)`): printed without `.0` when integral.
    Num(f64),
    /// Literals (most texts of an answer) are borrowed, not copied.
    Str(Cow<'static, str>),
    Arr(Vec<J>),
    /// Keys are almost always literals (`obj!`): borrowed, not one allocation each.
    Obj(Vec<(Cow<'static, str>, J)>),
}

impl J {
    /// Sets `key` (replacing an existing value, keeping its position), like
    /// `$d.key = …` on an ordered dictionary.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<J>) {
        if let J::Obj(fields) = self {
            let value = value.into();
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => fields.push((Cow::Owned(key.to_owned()), value)),
            }
        }
    }

    /// The compact line, with 5.1's escapes.
    pub(crate) fn to_line(&self) -> String {
        let text = LINE
            .with(|cell| match cell.try_borrow_mut() {
                Ok(mut buf) => {
                    buf.clear();
                    let text = serde_json::to_writer(&mut *buf, self)
                        .ok()
                        .and_then(|()| String::from_utf8(buf.to_vec()).ok());
                    if buf.capacity() > LINE_KEEP_BYTES {
                        *buf = Vec::new();
                    }
                    text
                }
                Err(_) => serde_json::to_string(self).ok(),
            })
            .unwrap_or_else(|| "null".to_owned());
        // Most lines (29 of a healthy host's 30) have none of the four: two SIMD
        // scans, and the line is kept as it is rather than copied by four replaces.
        let bytes = text.as_bytes();
        if memchr::memchr3(b'\'', b'<', b'>', bytes).is_none()
            && memchr::memchr(b'&', bytes).is_none()
        {
            return text;
        }
        // These characters only occur inside JSON strings, so a plain replace is exact.
        // (Measured: four memchr-driven replaces over the line cost less than a
        // serde_json Formatter escaping each string as it is written, whose strings
        // are mostly a few bytes long.)
        text.replace('\'', "\\u0027")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(i) => s.serialize_i64(*i),
            J::UInt(u) => s.serialize_u64(*u),
            J::Num(f) if !f.is_finite() => s.serialize_unit(),
            #[allow(clippy::cast_possible_truncation)]
            J::Num(f) if f.fract() == 0.0 && f.abs() < 1e15 => s.serialize_i64(*f as i64),
            J::Num(f) => s.serialize_f64(*f),
            J::Str(t) => s.serialize_str(t),
            J::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl From<bool> for J {
    fn from(v: bool) -> J {
        J::Bool(v)
    }
}
impl From<i64> for J {
    fn from(v: i64) -> J {
        J::Int(v)
    }
}
impl From<i32> for J {
    fn from(v: i32) -> J {
        J::Int(i64::from(v))
    }
}
impl From<u8> for J {
    fn from(v: u8) -> J {
        J::Int(i64::from(v))
    }
}
impl From<u16> for J {
    fn from(v: u16) -> J {
        J::Int(i64::from(v))
    }
}
impl From<u32> for J {
    fn from(v: u32) -> J {
        J::Int(i64::from(v))
    }
}
impl From<u64> for J {
    fn from(v: u64) -> J {
        J::UInt(v)
    }
}
impl From<usize> for J {
    fn from(v: usize) -> J {
        J::UInt(v as u64)
    }
}
impl From<f64> for J {
    fn from(v: f64) -> J {
        J::Num(v)
    }
}
impl From<&'static str> for J {
    fn from(v: &'static str) -> J {
        J::Str(Cow::Borrowed(v))
    }
}
impl From<String> for J {
    fn from(v: String) -> J {
        J::Str(Cow::Owned(v))
    }
}
impl From<&String> for J {
    fn from(v: &String) -> J {
        J::Str(Cow::Owned(v.clone()))
    }
}
impl<T: Into<J>> From<Option<T>> for J {
    fn from(v: Option<T>) -> J {
        v.map_or(J::Null, Into::into)
    }
}
impl<T: Into<J>> From<Vec<T>> for J {
    fn from(v: Vec<T>) -> J {
        J::Arr(v.into_iter().map(Into::into).collect())
    }
}

/// An ordered object: `obj! { "key" => value, … }`.
macro_rules! obj {
    ($($k:literal => $v:expr),* $(,)?) => {
        $crate::emulator::answers::json::J::Obj(vec![
            $((::std::borrow::Cow::Borrowed($k), $crate::emulator::answers::json::J::from($v))),*
        ])
    };
}
pub(crate) use obj;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_insertion_order() {
        let j = obj! { "z" => 1, "a" => "x", "m" => J::Null };
        assert_eq!(j.to_line(), r#"{"z":1,"a":"x","m":null}"#);
    }

    #[test]
    fn integral_doubles_print_without_fraction() {
        assert_eq!(J::Num(8192.0).to_line(), "8192");
        assert_eq!(J::Num(38.58).to_line(), "38.58");
    }

    #[test]
    fn javascript_serializer_escapes_are_applied() {
        let j = J::from("it's <Esp> & co");
        assert_eq!(j.to_line(), r#""it\u0027s \u003cEsp\u003e \u0026 co""#);
        let back: String = serde_json::from_str(&j.to_line()).unwrap();
        assert_eq!(back, "it's <Esp> & co");
    }

    #[test]
    fn escapes_apply_to_keys_and_next_to_serde_escapes() {
        let j = J::Obj(vec![(Cow::Borrowed("a&b"), J::from("\"'\\<\n>'"))]);
        assert_eq!(
            j.to_line(),
            r#"{"a\u0026b":"\"\u0027\\\u003c\n\u003e\u0027"}"#
        );
    }

    #[test]
    fn uint64_max_prints_as_a_bare_number() {
        assert_eq!(J::from(u64::MAX).to_line(), "18446744073709551615");
    }

    #[test]
    fn set_replaces_in_place() {
        let mut j = obj! { "a" => 1, "b" => 2 };
        j.set("a", 3);
        j.set("c", true);
        assert_eq!(j.to_line(), r#"{"a":3,"b":2,"c":true}"#);
    }
}
