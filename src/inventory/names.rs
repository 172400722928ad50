//! Host names as inventories write them: `HOST[:PORT]`, `[IPv6]:PORT`, and Ansible
//! ranges such as `web[01:50].corp.example`, `db-[a:f]` and `web[1:20:5]`.

use std::net::Ipv6Addr;

/// The most hosts one range pattern may expand to.
pub(crate) const MAX_RANGE_HOSTS: usize = 100_000;

/// `HOST[:PORT]` split into the host (brackets of an IPv6 address removed) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// Splits `token` into host and optional port. Colons inside range brackets do not
/// count; a bare IPv6 address has no port; `[fe80::1]:5986` has one.
pub(crate) fn split_host_port(token: &str) -> Result<HostPort, String> {
    if token.is_empty() {
        return Err("empty host name".to_owned());
    }
    if let Some(rest) = token.strip_prefix('[')
        && let Some((inner, after)) = rest.split_once(']')
        && inner.parse::<Ipv6Addr>().is_ok()
    {
        let port = match after {
            "" => None,
            p => Some(port_after_colon(p)?),
        };
        return Ok(HostPort {
            host: inner.to_owned(),
            port,
        });
    }
    if token.parse::<Ipv6Addr>().is_ok() {
        return Ok(HostPort {
            host: token.to_owned(),
            port: None,
        });
    }
    let mut depth = 0usize;
    let mut colons = Vec::new();
    for (i, c) in token.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    let host_port = match colons.as_slice() {
        [] => HostPort {
            host: token.to_owned(),
            port: None,
        },
        [i] => {
            let (host, port) = token.split_at(*i);
            HostPort {
                host: host.to_owned(),
                port: Some(port_after_colon(port)?),
            }
        }
        _ => {
            return Err(format!(
                "'{token}' has more than one ':'; write IPv6 addresses with a port as [fe80::1]:5986"
            ));
        }
    };
    check_name(&host_port.host)?;
    Ok(host_port)
}

fn port_after_colon(p: &str) -> Result<u16, String> {
    let digits = p
        .strip_prefix(':')
        .ok_or_else(|| format!("unexpected '{p}' after the address; expected :PORT"))?;
    super::vars::parse_port(digits)
        .ok_or_else(|| format!("invalid port '{digits}'; expected a number from 1 to 65535"))
}

/// Rejects names no host can have.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty host name".to_owned());
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '\'' | '=' | '/' | '\\')
    }) {
        return Err(format!(
            "host name '{name}' contains {c:?}, which no host name can hold"
        ));
    }
    Ok(())
}

/// Does `name` hold a range (`[..:..]`)?
pub(crate) fn has_range(name: &str) -> bool {
    name.contains('[')
}

enum Part {
    Lit(String),
    Seq(Vec<String>),
}

/// Expands every range in `pattern` (`web[01:03]` → web01, web02, web03). A name
/// without brackets is returned as is. Errors on malformed ranges and on more than
/// `limit` names (the count is returned so the caller can report it).
pub(crate) fn expand(pattern: &str, limit: usize) -> Result<Vec<String>, RangeError> {
    let mut parts = Vec::new();
    let mut rest = pattern;
    let mut total: u128 = 1;
    while let Some(open) = rest.find('[') {
        let (lit, tail) = rest.split_at(open);
        let close = tail
            .find(']')
            .ok_or_else(|| RangeError::Bad(format!("'{pattern}': '[' without a closing ']'")))?;
        let inner = tail.get(1..close).unwrap_or_default();
        let seq = range_items(inner, pattern, limit)?;
        total = total.saturating_mul(seq.len() as u128);
        if total > limit as u128 {
            // Keep counting for the message, without building anything.
            let mut count = total;
            let mut r = tail.get(close + 1..).unwrap_or_default();
            while let Some(o) = r.find('[') {
                let Some(c) = r[o..].find(']') else { break };
                count = count.saturating_mul(
                    range_len(r.get(o + 1..o + c).unwrap_or_default()).unwrap_or(1),
                );
                r = r.get(o + c + 1..).unwrap_or_default();
            }
            return Err(RangeError::TooLarge(count));
        }
        parts.push(Part::Lit(lit.to_owned()));
        parts.push(Part::Seq(seq));
        rest = tail.get(close + 1..).unwrap_or_default();
    }
    if rest.contains(']') {
        return Err(RangeError::Bad(format!(
            "'{pattern}': ']' without an opening '['"
        )));
    }
    parts.push(Part::Lit(rest.to_owned()));
    let mut names = vec![String::new()];
    for part in parts {
        match part {
            Part::Lit(l) => names.iter_mut().for_each(|n| n.push_str(&l)),
            Part::Seq(seq) => {
                names = names
                    .iter()
                    .flat_map(|n| seq.iter().map(move |s| format!("{n}{s}")))
                    .collect();
            }
        }
    }
    Ok(names)
}

/// Why a range could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeError {
    /// Malformed; the message says how.
    Bad(String),
    /// It would expand to this many names.
    TooLarge(u128),
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

struct Spec<'a> {
    beg: &'a str,
    end: &'a str,
    step: u64,
}

fn parse_spec<'a>(inner: &'a str, pattern: &str) -> Result<Spec<'a>, String> {
    let mut it = inner.split(':');
    let (Some(beg), Some(end), step, None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(format!(
            "'{pattern}': a range is [START:END] or [START:END:STEP], e.g. web[01:50] or db-[a:f]"
        ));
    };
    let (beg, end) = (beg.trim(), end.trim());
    let beg = if beg.is_empty() { "0" } else { beg };
    if end.is_empty() {
        return Err(format!("'{pattern}': the range [{inner}] has no end"));
    }
    let step = match step.map(str::trim) {
        None | Some("") => 1,
        Some(s) => s.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
            format!("'{pattern}': range step '{s}' must be a whole number above 0")
        })?,
    };
    Ok(Spec { beg, end, step })
}

/// How many names a range holds, when it parses.
fn range_len(inner: &str) -> Option<u128> {
    let spec = parse_spec(inner, "").ok()?;
    if let (Ok(b), Ok(e)) = (spec.beg.parse::<u64>(), spec.end.parse::<u64>()) {
        return e.checked_sub(b).map(|d| u128::from(d / spec.step) + 1);
    }
    Some(1)
}

fn range_items(inner: &str, pattern: &str, limit: usize) -> Result<Vec<String>, RangeError> {
    let spec = parse_spec(inner, pattern).map_err(RangeError::Bad)?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if numeric(spec.beg) && numeric(spec.end) {
        let width = if spec.beg.len() > 1 && spec.beg.starts_with('0') {
            if spec.beg.len() != spec.end.len() {
                return Err(RangeError::Bad(format!(
                    "'{pattern}': a zero-padded range needs START and END of equal width, e.g. [01:50]"
                )));
            }
            spec.beg.len()
        } else {
            0
        };
        let too_big = || RangeError::Bad(format!("'{pattern}': range bound too large"));
        let b: u64 = spec.beg.parse().map_err(|_| too_big())?;
        let e: u64 = spec.end.parse().map_err(|_| too_big())?;
        if b > e {
            return Err(RangeError::Bad(format!(
                "'{pattern}': range start {b} is after its end {e}"
            )));
        }
        let count = u128::from((e - b) / spec.step) + 1;
        if count > limit as u128 {
            return Err(RangeError::TooLarge(count));
        }
        let mut out = Vec::with_capacity(count as usize);
        let mut i = b;
        loop {
            out.push(format!("{i:0width$}"));
            match i.checked_add(spec.step) {
                Some(n) if n <= e => i = n,
                _ => break,
            }
        }
        return Ok(out);
    }
    let letter = |s: &str| {
        let mut c = s.chars();
        match (c.next(), c.next()) {
            (Some(ch), None) => LETTERS.find(ch),
            _ => None,
        }
    };
    match (letter(spec.beg), letter(spec.end)) {
        (Some(b), Some(e)) if b <= e => Ok(LETTERS
            .get(b..=e)
            .unwrap_or_default()
            .chars()
            .step_by(usize::try_from(spec.step).unwrap_or(usize::MAX))
            .map(String::from)
            .collect()),
        (Some(_), Some(_)) => Err(RangeError::Bad(format!(
            "'{pattern}': letter range [{inner}] runs backwards"
        ))),
        _ => Err(RangeError::Bad(format!(
            "'{pattern}': [{inner}] is neither a number range like [01:50] nor a letter range like [a:f]"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_padded_range_keeps_width() {
        let names = expand("web[01:03].corp.example", MAX_RANGE_HOSTS).unwrap();
        assert_eq!(
            names,
            [
                "web01.corp.example",
                "web02.corp.example",
                "web03.corp.example"
            ]
        );
    }

    #[test]
    fn range_with_step_skips() {
        assert_eq!(expand("w[1:10:4]", 100).unwrap(), ["w1", "w5", "w9"]);
        assert_eq!(expand("w[001:010:5]", 100).unwrap(), ["w001", "w006"]);
    }

    #[test]
    fn letter_range_and_two_ranges_multiply() {
        assert_eq!(expand("db-[a:c]", 100).unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(
            expand("r[1:2]n[a:b]", 100).unwrap(),
            ["r1na", "r1nb", "r2na", "r2nb"]
        );
    }

    #[test]
    fn empty_start_means_zero() {
        assert_eq!(expand("h[:2]", 100).unwrap(), ["h0", "h1", "h2"]);
    }

    #[test]
    fn huge_range_is_refused_before_expanding() {
        assert_eq!(
            expand("h[1:1000000]", MAX_RANGE_HOSTS),
            Err(RangeError::TooLarge(1_000_000))
        );
        assert_eq!(
            expand("h[1:1000]x[1:1000]", MAX_RANGE_HOSTS),
            Err(RangeError::TooLarge(1_000_000))
        );
        assert!(matches!(
            expand("h[0:18446744073709551615]", MAX_RANGE_HOSTS),
            Err(RangeError::TooLarge(_))
        ));
    }

    #[test]
    fn malformed_ranges_say_how_to_write_them() {
        for bad in [
            "w[1:]",
            "w[5:1]",
            "w[01:100]",
            "w[1:5:0]",
            "w[a:5]",
            "w[1:5",
            "w]1",
            "w[x]",
            "w[1:2:3:4]",
        ] {
            assert!(matches!(expand(bad, 100), Err(RangeError::Bad(_))), "{bad}");
        }
    }

    #[test]
    fn host_port_forms() {
        let hp = |s| split_host_port(s).unwrap();
        assert_eq!(
            hp("web01"),
            HostPort {
                host: "web01".into(),
                port: None
            }
        );
        assert_eq!(
            hp("web01:5986"),
            HostPort {
                host: "web01".into(),
                port: Some(5986)
            }
        );
        assert_eq!(
            hp("[fe80::1]:5985"),
            HostPort {
                host: "fe80::1".into(),
                port: Some(5985)
            }
        );
        assert_eq!(
            hp("[::1]"),
            HostPort {
                host: "::1".into(),
                port: None
            }
        );
        assert_eq!(
            hp("fe80::1"),
            HostPort {
                host: "fe80::1".into(),
                port: None
            }
        );
        assert_eq!(
            hp("web[01:10]:5986"),
            HostPort {
                host: "web[01:10]".into(),
                port: Some(5986)
            }
        );
        assert!(split_host_port("web01:99999").is_err());
        assert!(split_host_port("a:b:c").is_err());
        assert!(split_host_port("web 01").is_err());
    }
}
