//! Reading values the way Windows PowerShell 5.1's `ConvertTo-Json` writes them:
//! arrays that collapse to one object, `null`s, `\/Date(ms)\/` dates (or ISO-8601 from
//! the probes' `IsoUtc`), enums as integers, UInt64 values as bare numbers or strings,
//! HRESULTs as `0x…` text, signed or unsigned decimals.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::json::{Json, Kind};

/// A key of a JSON object; exact name first, then case-insensitively (PowerShell
/// property names are case-insensitive). See [`Json::field`].
pub(crate) fn field<'a>(obj: Json<'a>, key: &str) -> Option<Json<'a>> {
    obj.field(key)
}

/// What [`field`] did on a `serde_json::Value` before probe data became [`Json`]:
/// the reference its replacement is tested against.
#[cfg(test)]
pub(crate) fn field_of_value<'a>(
    obj: &'a serde_json::Value,
    key: &str,
) -> Option<&'a serde_json::Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A value that may be a list: `null` is empty, an array is its items, anything else
/// is a one-element list (5.1 collapses one-element pipelines to the element).
pub(crate) fn list(v: Json<'_>) -> Vec<Json<'_>> {
    match v.kind() {
        Kind::Null => Vec::new(),
        Kind::Array => v.items().collect(),
        _ => vec![v],
    }
}

/// A boolean: JSON `true`/`false`, `0`/`1`, or the text PowerShell gives `[string]$bool`.
pub(crate) fn as_bool(v: Json<'_>) -> Option<bool> {
    match v.kind() {
        Kind::Bool(b) => Some(b),
        Kind::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Kind::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// An unsigned integer: a JSON number (up to UInt64 max), an integral float, or decimal text.
pub(crate) fn as_u64(v: Json<'_>) -> Option<u64> {
    match v.kind() {
        Kind::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        }),
        Kind::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// A signed integer: a JSON number, an integral float, or decimal text.
pub(crate) fn as_i64(v: Json<'_>) -> Option<i64> {
    match v.kind() {
        Kind::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Kind::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A number (integer or float), or the same as text with `.` as decimal separator.
pub(crate) fn as_f64(v: Json<'_>) -> Option<f64> {
    match v.kind() {
        Kind::Number(n) => n.as_f64(),
        Kind::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Text, only when the value is a string.
pub(crate) fn as_str(v: Json<'_>) -> Option<&str> {
    v.as_str()
}

/// A date: `\/Date(ms)\/` (serde sees `/Date(ms)/`, optionally `+hhmm`), the 5.1
/// object form `{"value":"\/Date(ms)\/","DisplayHint":2,…}`, or ISO-8601 (an ISO
/// string without an offset is taken as UTC, which is what `IsoUtc` writes).
pub(crate) fn as_date(v: Json<'_>) -> Option<OffsetDateTime> {
    match v.kind() {
        Kind::String(s) => parse_date_text(s),
        Kind::Object => v.field("value").and_then(as_date),
        _ => None,
    }
}

fn parse_date_text(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(rest) = s
        .strip_prefix("/Date(")
        .or_else(|| s.strip_prefix("\\/Date("))
    {
        let inner = rest.split(')').next()?;
        // The offset (`+0200`) only says which zone the writer was in: the ms are UTC.
        let digits_end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i)
            .unwrap_or(inner.len());
        let ms: i64 = inner.get(..digits_end)?.parse().ok()?;
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // `ToString('o')` of an Unspecified-kind DateTime has no offset: treat it as UTC.
    let with_z = format!("{s}Z");
    OffsetDateTime::parse(&with_z, &Rfc3339).ok()
}

/// An HRESULT or Win32 code: `0x8078011E` text, decimal text or number, signed
/// (Int32 negatives such as -2147467259) or unsigned.
pub(crate) fn as_hresult(v: Json<'_>) -> Option<u32> {
    match v.kind() {
        Kind::String(s) => hresult_text(s),
        Kind::Number(_) => as_i64(v).and_then(hresult_from_i64),
        _ => None,
    }
}

/// An HRESULT written as text: `0x8078011E`, or signed or unsigned decimal.
pub(crate) fn hresult_text(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        s.parse::<i64>().ok().and_then(hresult_from_i64)
    }
}

fn hresult_from_i64(n: i64) -> Option<u32> {
    if (i64::from(i32::MIN)..0).contains(&n) {
        Some(n as i32 as u32)
    } else {
        u32::try_from(n).ok()
    }
}

/// A four-part version such as `2.0.9262.0` (missing parts are 0; needs at least three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version4(pub [u64; 4]);

impl Version4 {
    /// Parses `a.b.c[.d]`; text after a space (e.g. a file version's build tag) is ignored.
    pub fn parse(s: &str) -> Option<Version4> {
        let head = s.split_whitespace().next()?;
        let parts: Vec<&str> = head.split('.').collect();
        if parts.len() < 3 || parts.len() > 4 {
            return None;
        }
        let mut out = [0u64; 4];
        for (slot, part) in out.iter_mut().zip(&parts) {
            *slot = part.parse().ok()?;
        }
        Some(Version4(out))
    }
}

impl fmt::Display for Version4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::json::Doc;
    use serde_json::json;

    /// Tests write values with `json!`; the readers take a parsed document's view.
    macro_rules! j {
        ($($t:tt)+) => {
            Doc::from_value(&json!($($t)+))
        };
    }

    #[test]
    fn date_reads_ps51_slash_date_and_object_form_and_iso() {
        let a = as_date(j!("/Date(1720919582928)/").root()).expect("slash date");
        assert_eq!(a.unix_timestamp(), 1_720_919_582);
        let parsed = Doc::parse(r#""\/Date(1720919582928)\/""#).expect("json");
        assert_eq!(as_date(parsed.root()), Some(a));
        let obj = j!({"value": "/Date(1720919582928)/", "DisplayHint": 2, "DateTime": "Sunday"});
        assert_eq!(as_date(obj.root()), Some(a));
        let off = as_date(j!("/Date(1720919582928+0200)/").root()).expect("offset");
        assert_eq!(off, a);
        let iso = as_date(j!("2025-05-01T21:00:03.0000000Z").root()).expect("iso");
        assert_eq!(iso.unix_timestamp(), 1_746_133_203);
        let unspecified = as_date(j!("2025-05-01T21:00:03.0000000").root()).expect("no offset");
        assert_eq!(unspecified, iso);
        assert_eq!(as_date(j!("yesterday").root()), None);
        assert_eq!(as_date(j!(5).root()), None);
    }

    #[test]
    fn u64_reads_uint64_max_as_number_and_text() {
        let max = Doc::parse("18446744073709551615").expect("json");
        assert_eq!(as_u64(max.root()), Some(u64::MAX));
        assert_eq!(as_u64(j!("18446744073709551615").root()), Some(u64::MAX));
        assert_eq!(as_u64(j!(-1).root()), None);
        assert_eq!(as_u64(j!("many").root()), None);
    }

    #[test]
    fn bool_reads_json_numbers_and_text_in_any_case() {
        assert_eq!(as_bool(j!(true).root()), Some(true));
        assert_eq!(as_bool(j!(0).root()), Some(false));
        assert_eq!(as_bool(j!(" TRUE ").root()), Some(true));
        assert_eq!(as_bool(j!("False").root()), Some(false));
        assert_eq!(as_bool(j!("yes").root()), None);
        assert_eq!(as_bool(j!(2).root()), None);
    }

    #[test]
    fn hresult_accepts_hex_signed_and_unsigned_decimals() {
        assert_eq!(as_hresult(j!("0x8078011E").root()), Some(0x8078_011E));
        assert_eq!(as_hresult(j!(2_155_348_254u64).root()), Some(0x8078_011E));
        assert_eq!(as_hresult(j!(-2_147_467_259).root()), Some(0x8000_4005));
        assert_eq!(as_hresult(j!("0").root()), Some(0));
        assert_eq!(as_hresult(j!("bad").root()), None);
    }

    #[test]
    fn list_treats_a_collapsed_object_as_one_element() {
        assert_eq!(list(j!({"a": 1}).root()).len(), 1);
        assert_eq!(list(j!([1, 2]).root()).len(), 2);
        assert!(list(Json::NULL).is_empty());
    }

    #[test]
    fn version_compares_numerically() {
        let a = Version4::parse("2.0.9083.0").expect("v");
        let b = Version4::parse("2.0.10000.0").expect("v");
        assert!(a < b);
        assert_eq!(Version4::parse("2.0.9262"), Some(Version4([2, 0, 9262, 0])));
        assert_eq!(Version4::parse("two"), None);
    }

    #[test]
    fn field_falls_back_to_case_insensitive_names() {
        let v = j!({"InstallState": 0});
        assert_eq!(field(v.root(), "installstate"), Some(j!(0).root()));
        assert_eq!(field(v.root(), "missing"), None);
    }
}
