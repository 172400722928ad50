//! `--limit` patterns, as Ansible's host patterns:
//!
//! - a host or group name: `web01`, `prod`; `all` or `*` for every host;
//!   `ungrouped` for hosts in no group;
//! - globs over host and group names: `web*`, `db-?`, `*.corp.example`;
//! - `a:b` or `a,b` union, `a:&b` intersection, `a:!b` exclusion (terms apply in
//!   Ansible's order: unions, then intersections, then exclusions);
//! - `group[0]`, `group[1:3]`, `group[-1]`: hosts of a group by position;
//! - `@file`: the patterns listed in a file, one a line (Ansible's retry files).
//!
//! Names match case-insensitively: Windows host names are. A term that matches
//! nothing is an error naming it, so a typo never silently narrows a scan.

use std::collections::HashSet;
use std::path::Path;

use super::Target;
use super::error::InventoryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Intersect,
    Exclude,
}

/// The targets a pattern selects, in inventory order.
pub(crate) fn select(
    targets: &[Target],
    groups: &[String],
    pattern: &str,
) -> Result<Vec<Target>, InventoryError> {
    let terms = terms(pattern)?;
    let syntax = |what: String| InventoryError::LimitSyntax {
        pattern: pattern.to_owned(),
        what,
    };
    if terms.is_empty() {
        return Err(syntax(
            "the pattern is empty; give host or group names, e.g. web:&prod".to_owned(),
        ));
    }
    let mut ordered: Vec<(Op, String)> = Vec::with_capacity(terms.len() + 1);
    if terms.iter().all(|(op, _)| *op != Op::Union) {
        ordered.push((Op::Union, "all".to_owned()));
    }
    for op in [Op::Union, Op::Intersect, Op::Exclude] {
        ordered.extend(terms.iter().filter(|(o, _)| *o == op).cloned());
    }
    let mut selected: HashSet<usize> = HashSet::new();
    for (op, term) in &ordered {
        let hits = matches(targets, groups, term, pattern)?;
        if hits.is_empty() {
            if let Some(group) = groups.iter().find(|g| g.eq_ignore_ascii_case(term)) {
                return Err(InventoryError::LimitEmptyGroup {
                    pattern: pattern.to_owned(),
                    group: group.clone(),
                });
            }
            return Err(InventoryError::LimitNoMatch {
                pattern: pattern.to_owned(),
                term: term.clone(),
            });
        }
        match op {
            Op::Union => selected.extend(hits),
            Op::Intersect => selected.retain(|i| hits.contains(i)),
            Op::Exclude => selected.retain(|i| !hits.contains(i)),
        }
    }
    if selected.is_empty() {
        return Err(InventoryError::LimitSelectsNothing {
            pattern: pattern.to_owned(),
        });
    }
    Ok(targets
        .iter()
        .enumerate()
        .filter(|(i, _)| selected.contains(i))
        .map(|(_, t)| t.clone())
        .collect())
}

/// Splits a pattern into terms: on `,` when it has one, else on `:` outside
/// brackets (so `[fe80::1]` and `web[0:2]` stay whole). `@file` terms are read.
fn terms(pattern: &str) -> Result<Vec<(Op, String)>, InventoryError> {
    let raw: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_owned).collect()
    } else if pattern.trim().parse::<std::net::Ipv6Addr>().is_ok() {
        vec![pattern.to_owned()]
    } else {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut depth = 0usize;
        for c in pattern.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        out.push(cur);
        out
    };
    let mut terms = Vec::new();
    for t in raw {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        let (op, name) = if let Some(n) = t.strip_prefix('&') {
            (Op::Intersect, n.trim())
        } else if let Some(n) = t.strip_prefix('!') {
            (Op::Exclude, n.trim())
        } else {
            (Op::Union, t)
        };
        if name.is_empty() {
            return Err(InventoryError::LimitSyntax {
                pattern: pattern.to_owned(),
                what: format!("'{t}' has no name after the operator"),
            });
        }
        if let Some(file) = name.strip_prefix('@') {
            for line in read_limit_file(Path::new(file), pattern)? {
                terms.push((op, line));
            }
            continue;
        }
        if name.starts_with('~') {
            return Err(InventoryError::LimitSyntax {
                pattern: pattern.to_owned(),
                what: format!(
                    "'{name}': regular expressions are not supported; use globs such as web*"
                ),
            });
        }
        terms.push((op, name.to_owned()));
    }
    Ok(terms)
}

fn read_limit_file(path: &Path, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| InventoryError::LimitSyntax {
        pattern: pattern.to_owned(),
        what: format!("cannot read {}: {e}", path.display()),
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// Indexes of the targets one term matches.
fn matches(
    targets: &[Target],
    groups: &[String],
    term: &str,
    pattern: &str,
) -> Result<HashSet<usize>, InventoryError> {
    if term == "all" || term == "*" {
        return Ok((0..targets.len()).collect());
    }
    if term.eq_ignore_ascii_case("ungrouped") {
        return Ok(targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.groups.is_empty())
            .map(|(i, _)| i)
            .collect());
    }
    // `group[1:3]`: a slice of a group's (or glob's) hosts; not an IPv6 address.
    if let Some(open) = term.find('[')
        && term.ends_with(']')
        && open > 0
        && term.parse::<std::net::Ipv6Addr>().is_err()
        && term.get(open + 1..term.len() - 1).is_some_and(|spec| {
            spec.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | ' '))
        })
    {
        let base = term.get(..open).unwrap_or_default();
        let spec = term.get(open + 1..term.len() - 1).unwrap_or_default();
        let mut hits: Vec<usize> = matches(targets, groups, base, pattern)?
            .into_iter()
            .collect();
        hits.sort_unstable();
        return slice(&hits, spec).ok_or_else(|| InventoryError::LimitSyntax {
            pattern: pattern.to_owned(),
            what: format!("'{term}': a subscript is [N], [N:M] or [-N], e.g. web[0:2]"),
        });
    }
    let bare = term
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(term);
    let glob = bare.contains(['*', '?']) || (bare.contains('[') && bare.contains(']'));
    let pat: Vec<char> = bare.chars().flat_map(char::to_lowercase).collect();
    let name_matches = |name: &str| {
        if glob {
            let name: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
            glob_match(&pat, &name)
        } else {
            name.eq_ignore_ascii_case(bare)
        }
    };
    let group_hit: Vec<&String> = groups.iter().filter(|g| name_matches(g)).collect();
    Ok(targets
        .iter()
        .enumerate()
        .filter(|(_, t)| name_matches(&t.name) || t.groups.iter().any(|g| group_hit.contains(&g)))
        .map(|(i, _)| i)
        .collect())
}

/// Shell-style glob as Python's `fnmatch` (Ansible's): `*`, `?`, `[abc]`, `[a-z]`,
/// `[!a]`. Iterative: a `*` backtracks to the last star only, so matching is
/// O(pattern × name) at worst.
fn glob_match(pat: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => match class(pat, p, name[n]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // An unclosed '[' is a literal, as in fnmatch.
                None => (name[n] == '[').then_some(p + 1),
            },
            Some(&c) => (c == name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// Matches `c` against the class starting at `pat[open] == '['`: whether it
/// matched and the index after `]`, or `None` when the class is not closed.
fn class(pat: &[char], open: usize, c: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negate = matches!(pat.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pat.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = *pat.get(i + 2)?;
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

fn slice(hits: &[usize], spec: &str) -> Option<HashSet<usize>> {
    let index = |s: &str| -> Option<usize> {
        let s = s.trim();
        if let Some(neg) = s.strip_prefix('-') {
            hits.len().checked_sub(neg.parse::<usize>().ok()?)
        } else {
            s.parse::<usize>().ok()
        }
    };
    let range = match spec.split_once(':') {
        None => {
            let i = index(spec)?;
            i..i.checked_add(1)?
        }
        Some((a, b)) => {
            let a = if a.trim().is_empty() { 0 } else { index(a)? };
            let b = if b.trim().is_empty() {
                hits.len().saturating_sub(1)
            } else {
                index(b)?
            };
            a..b.checked_add(1)?
        }
    };
    Some(
        hits.get(range.start.min(hits.len())..range.end.min(hits.len()))?
            .iter()
            .copied()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> (Vec<Target>, Vec<String>) {
        let mk = |name: &str, groups: &[&str]| {
            let mut t = Target::named(name);
            t.groups = groups.iter().map(|g| (*g).to_owned()).collect();
            t
        };
        let targets = vec![
            mk("web01", &["web", "prod"]),
            mk("web02", &["web", "prod"]),
            mk("web03", &["web", "staging"]),
            mk("db01", &["db", "prod"]),
            mk("dc01", &[]),
        ];
        let groups = ["ungrouped", "web", "prod", "staging", "db", "empty"]
            .map(String::from)
            .to_vec();
        (targets, groups)
    }

    fn names(pattern: &str) -> Result<Vec<String>, InventoryError> {
        let (t, g) = fleet();
        Ok(select(&t, &g, pattern)?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }

    #[test]
    fn group_host_glob_all() {
        assert_eq!(names("web").unwrap(), ["web01", "web02", "web03"]);
        assert_eq!(names("DB01").unwrap(), ["db01"]);
        assert_eq!(names("d*").unwrap(), ["db01", "dc01"]);
        assert_eq!(names("all").unwrap().len(), 5);
        assert_eq!(names("*").unwrap().len(), 5);
        assert_eq!(names("ungrouped").unwrap(), ["dc01"]);
    }

    #[test]
    fn union_intersection_exclusion_keep_inventory_order() {
        assert_eq!(names("dc01:web01").unwrap(), ["web01", "dc01"]);
        assert_eq!(names("dc01,web01").unwrap(), ["web01", "dc01"]);
        assert_eq!(names("web:&prod").unwrap(), ["web01", "web02"]);
        assert_eq!(names("prod:!web").unwrap(), ["db01"]);
        assert_eq!(names("!web").unwrap(), ["db01", "dc01"]);
        assert_eq!(names("web:db:&prod:!web02").unwrap(), ["web01", "db01"]);
        assert_eq!(names("web,web01").unwrap(), ["web01", "web02", "web03"]);
    }

    #[test]
    fn subscripts_pick_by_position() {
        assert_eq!(names("web[0]").unwrap(), ["web01"]);
        assert_eq!(names("web[1:2]").unwrap(), ["web02", "web03"]);
        assert_eq!(names("web[-1]").unwrap(), ["web03"]);
    }

    #[test]
    fn term_matching_nothing_is_named() {
        let err = names("web:webz").unwrap_err().to_string();
        assert!(err.contains("'webz' matches no host or group"), "{err}");
        let err = names("web:&empty").unwrap_err();
        assert!(
            matches!(&err, InventoryError::LimitEmptyGroup { group, .. } if group == "empty"),
            "{err}"
        );
        assert!(names("prod:!nosuch").is_err());
    }

    #[test]
    fn empty_intersection_is_an_error() {
        let err = names("staging:&db").unwrap_err();
        assert!(
            matches!(err, InventoryError::LimitSelectsNothing { .. }),
            "{err}"
        );
    }

    #[test]
    fn globs_follow_fnmatch() {
        let m = |p: &str, n: &str| {
            let p: Vec<char> = p.chars().collect();
            let n: Vec<char> = n.chars().collect();
            glob_match(&p, &n)
        };
        assert!(m("web*", "web01"));
        assert!(m("*.corp", "a.b.corp"));
        assert!(m("w?b0[1-3]", "web02"));
        assert!(!m("w?b0[1-3]", "web04"));
        assert!(m("db-[!a]", "db-b"));
        assert!(!m("db-[!a]", "db-a"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("x[", "x["));
        assert!(m("**", ""));
        assert_eq!(names("WEB0[12]*").unwrap(), ["web01", "web02"]);
    }

    #[test]
    fn syntax_errors() {
        assert!(matches!(names(""), Err(InventoryError::LimitSyntax { .. })));
        assert!(matches!(
            names("web:&"),
            Err(InventoryError::LimitSyntax { .. })
        ));
        assert!(matches!(
            names("~web.*"),
            Err(InventoryError::LimitSyntax { .. })
        ));
    }
}
