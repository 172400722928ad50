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

use wildmatch::WildMatch;

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
    let glob = bare.contains(['*', '?']);
    let wm = WildMatch::new_case_insensitive(bare);
    let name_matches = |name: &str| {
        if glob {
            wm.matches(name)
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
        assert!(names("empty").is_err());
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
