//! Ansible INI inventories, read the way Ansible's `ini` inventory plugin reads them:
//!
//! ```text
//! dc01.corp.example                      # before any section: group "ungrouped"
//!
//! [web]
//! web[01:20].corp.example ansible_port=5986 site="Amsterdam 2"
//!
//! [db]
//! db-[a:c].corp.example
//!
//! [prod:children]
//! web
//! db
//!
//! [prod:vars]
//! ansible_winrm_transport=ntlm
//! ```
//!
//! Host lines are split like a POSIX shell (Python's `shlex` with comments, as
//! Ansible does): quotes group words, `#` outside quotes starts a comment. `[g:vars]`
//! lines are `key = value`, with one pair of surrounding quotes removed. A
//! `[g:vars]` or `[g:children]` entry naming a group that this file never declares
//! is an error, as in Ansible, because it is nearly always a typo.

use std::collections::HashMap;
use std::sync::Arc;

use super::builder::Builder;
use super::error::{InventoryError, Location};
use super::names::{self, MAX_RANGE_HOSTS, RangeError};
use super::vars::{Value, Var};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// Adds the hosts, groups and variables of an INI inventory to `b`.
pub(crate) fn parse(text: &str, file: &Arc<str>, b: &mut Builder) -> Result<(), InventoryError> {
    let mut state = State::Hosts;
    let mut group = b.group("ungrouped", None);
    let mut group_name = "ungrouped".to_owned();
    // Groups referenced by [g:vars] or [g:children] but not (yet) declared here.
    let mut pending: HashMap<String, (Location, State, String)> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let at = Location::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[')
            && let Some((name, kind)) = section(line, &at)?
        {
            state = match kind.as_deref() {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(InventoryError::malformed(
                        at,
                        format!(
                            "section [{name}:{other}] has an unknown type; use [{name}], [{name}:children] or [{name}:vars]"
                        ),
                    ));
                }
            };
            if state == State::Vars {
                if !b.has_group(&name) {
                    pending
                        .entry(name.clone())
                        .or_insert_with(|| (at.clone(), State::Vars, name.clone()));
                }
                group = b.group_undeclared(&name, &at);
            } else {
                pending.remove(&name);
                group = b.group(&name, Some(&at));
            }
            group_name = name;
            continue;
        }
        match state {
            State::Hosts => host_line(line, &at, group, b)?,
            State::Children => {
                let tokens =
                    shlex(line).map_err(|what| InventoryError::malformed(at.clone(), what))?;
                let child_name = match tokens.as_slice() {
                    [] => continue,
                    [name] => name.clone(),
                    _ => {
                        return Err(InventoryError::malformed(
                            at,
                            format!("'{line}': a [{group_name}:children] line names one group"),
                        ));
                    }
                };
                check_group_name(&child_name, &at)?;
                if child_name == "all" {
                    return Err(InventoryError::malformed(
                        at,
                        "'all' holds every host and cannot be a child group",
                    ));
                }
                if !b.has_group(&child_name) {
                    pending
                        .entry(child_name.clone())
                        .or_insert_with(|| (at.clone(), State::Children, group_name.clone()));
                }
                let child = b.group_undeclared(&child_name, &at);
                b.add_child(group, child);
            }
            State::Vars => {
                let var = vars_line(line, &at)?;
                b.set_group_var(group, var)?;
            }
        }
    }
    if let Some((name, (at, state, parent))) =
        pending.into_iter().min_by_key(|(_, (at, _, _))| at.line)
    {
        let what = match state {
            State::Vars => format!(
                "section [{name}:vars] is for a group this file never declares; add a [{name}] section or fix the name"
            ),
            _ => format!(
                "section [{parent}:children] names group '{name}', which this file never declares; add a [{name}] section or fix the name"
            ),
        };
        return Err(InventoryError::malformed(at, what));
    }
    Ok(())
}

/// `[name]` or `[name:kind]` (a trailing `#`/`;` comment allowed); `None` for a host
/// line that starts with an IPv6 address in brackets.
fn section(line: &str, at: &Location) -> Result<Option<(String, Option<String>)>, InventoryError> {
    let bad = || {
        InventoryError::malformed(
            at.clone(),
            format!(
                "'{line}' is not a valid section header; write [group], [group:children] or [group:vars]"
            ),
        )
    };
    let Some(close) = line.find(']') else {
        return Err(bad());
    };
    let inner = line.get(1..close).unwrap_or_default();
    let after = line.get(close + 1..).unwrap_or_default().trim();
    if inner.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(None);
    }
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return Err(bad());
    }
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k.to_owned())),
        None => (inner, None),
    };
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == ':' || c == '[')
    {
        return Err(bad());
    }
    if kind
        .as_deref()
        .is_some_and(|k| k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        return Err(bad());
    }
    Ok(Some((name.to_owned(), kind)))
}

fn check_group_name(name: &str, at: &Location) -> Result<(), InventoryError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '[' | ']' | ','))
    {
        return Err(InventoryError::malformed(
            at.clone(),
            format!("'{name}' is not a valid group name (no spaces, ':', ',' or brackets)"),
        ));
    }
    Ok(())
}

fn host_line(
    line: &str,
    at: &Location,
    group: usize,
    b: &mut Builder,
) -> Result<(), InventoryError> {
    let tokens = shlex(line).map_err(|what| InventoryError::malformed(at.clone(), what))?;
    if let Some(example) = swallowed_backslash(line) {
        // Ansible reads `user=CORP\svc` as `CORPsvc` (shlex); so do we, to load the
        // same files the same way, but a Windows account name is the likely intent.
        tracing::warn!(
            "{at}: '{example}' outside quotes reads as '{}' (shell quoting, as in Ansible); write \\\\ or quote the value if a backslash was meant",
            example.trim_start_matches('\\')
        );
    }
    let Some((pattern, var_tokens)) = tokens.split_first() else {
        return Ok(());
    };
    let mut vars = Vec::with_capacity(var_tokens.len());
    for tok in var_tokens {
        let Some((key, value)) = tok.split_once('=') else {
            return Err(InventoryError::malformed(
                at.clone(),
                format!(
                    "expected key=value after the host name, got '{tok}' (quote values that contain spaces)"
                ),
            ));
        };
        if key.is_empty() {
            return Err(InventoryError::malformed(
                at.clone(),
                format!("'{tok}': variable name missing before '='"),
            ));
        }
        vars.push(Var {
            name: key.to_owned(),
            value: Value::text(value),
            at: at.clone(),
        });
    }
    for h in expand_host_pattern(pattern, at, b)? {
        b.add_to_group(h, group);
        for var in &vars {
            b.set_host_var(h, var.clone())?;
        }
    }
    Ok(())
}

/// Expands `web[01:03]:5986` into hosts in `b`, setting the port if one is given.
/// Shared with the YAML reader, whose host keys use the same syntax.
pub(crate) fn expand_host_pattern(
    pattern: &str,
    at: &Location,
    b: &mut Builder,
) -> Result<Vec<usize>, InventoryError> {
    let hp = names::split_host_port(pattern)
        .map_err(|what| InventoryError::malformed(at.clone(), what))?;
    let hosts = names::expand(&hp.host, MAX_RANGE_HOSTS).map_err(|e| match e {
        RangeError::Bad(what) => InventoryError::malformed(at.clone(), what),
        RangeError::TooLarge(count) => InventoryError::RangeTooLarge {
            at: at.clone(),
            pattern: pattern.to_owned(),
            count,
            limit: MAX_RANGE_HOSTS,
        },
    })?;
    let mut ids = Vec::with_capacity(hosts.len());
    for name in hosts {
        names::check_name(&name).map_err(|what| InventoryError::malformed(at.clone(), what))?;
        let h = b.host(&name)?;
        if let Some(port) = hp.port {
            b.set_host_var(
                h,
                Var {
                    name: "ansible_port".to_owned(),
                    value: Value::Text(port.to_string()),
                    at: at.clone(),
                },
            )?;
        }
        ids.push(h);
    }
    Ok(ids)
}

/// A `[g:vars]` line: `key = value`, surrounding quotes removed, a ` #` comment
/// outside quotes dropped.
fn vars_line(line: &str, at: &Location) -> Result<Var, InventoryError> {
    let Some((key, value)) = line.split_once('=') else {
        return Err(InventoryError::malformed(
            at.clone(),
            format!("'{line}': [..:vars] lines are key=value"),
        ));
    };
    let key = key.trim();
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return Err(InventoryError::malformed(
            at.clone(),
            format!("'{key}' is not a variable name"),
        ));
    }
    let value = unquote(strip_trailing_comment(value.trim()));
    Ok(Var {
        name: key.to_owned(),
        value: Value::text(value),
        at: at.clone(),
    })
}

fn strip_trailing_comment(value: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') if prev_space || i == 0 => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return value.get(..i).unwrap_or(value).trim_end(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    value
}

fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2
            && let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q))
        {
            return if q == '"' {
                inner.replace("\\\"", "\"").replace("\\\\", "\\")
            } else {
                inner.to_owned()
            };
        }
    }
    value.to_owned()
}

/// The first `\x` (x alphanumeric) outside quotes and comments: shlex drops that
/// backslash, which surprises anyone writing `DOMAIN\user`.
fn swallowed_backslash(line: &str) -> Option<String> {
    let mut quote = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '#') => return None,
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                let next = chars.next()?;
                if quote.is_none() && next.is_alphanumeric() {
                    return Some(format!("\\{next}"));
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a line as Python's `shlex.split(line, comments=True)` does: whitespace
/// separates words, single quotes are literal, double quotes allow `\"` and `\\`,
/// a backslash outside quotes escapes the next character, `#` outside quotes
/// starts a comment.
pub(crate) fn shlex(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("'{line}': no closing ' quote")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                word.push(n);
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("'{line}': no closing \" quote")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => word.push(n),
                    None => return Err(format!("'{line}': a backslash ends the line")),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Target, Transport};

    fn load(text: &str) -> Result<Vec<Target>, InventoryError> {
        let mut b = Builder::new();
        parse(text, &Arc::from("prod.ini"), &mut b)?;
        Ok(b.resolve()?.targets)
    }

    fn find<'a>(t: &'a [Target], name: &str) -> &'a Target {
        t.iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn shlex_quotes_escapes_and_comments() {
        assert_eq!(
            shlex(r#"web01 a=1 b="two words" c='x y' d=\"q # comment"#).unwrap(),
            ["web01", "a=1", "b=two words", "c=x y", "d=\"q"]
        );
        assert_eq!(
            shlex(r#"h a="say \"hi\"""#).unwrap(),
            ["h", r#"a=say "hi""#]
        );
        assert!(shlex("h a=\"open").is_err());
    }

    #[test]
    fn backslash_outside_quotes_is_dropped_as_in_ansible_and_detected() {
        assert_eq!(
            shlex(r"h ansible_user=CORP\svc").unwrap(),
            ["h", "ansible_user=CORPsvc"]
        );
        assert_eq!(
            shlex(r"h ansible_user=CORP\\svc").unwrap(),
            ["h", r"ansible_user=CORP\svc"]
        );
        assert_eq!(
            shlex(r"h ansible_user='CORP\svc'").unwrap(),
            ["h", r"ansible_user=CORP\svc"]
        );
        assert_eq!(
            swallowed_backslash(r"h ansible_user=CORP\svc").as_deref(),
            Some(r"\s")
        );
        assert_eq!(swallowed_backslash(r"h ansible_user=CORP\\svc"), None);
        assert_eq!(swallowed_backslash(r"h ansible_user='CORP\svc'"), None);
        assert_eq!(swallowed_backslash(r#"h ansible_user="CORP\svc""#), None);
    }

    #[test]
    fn groups_children_vars_and_ranges() {
        let t = load(
            "dc01 ansible_host=10.0.0.1\n\
             [web]\n\
             web[01:03] site=\"Amsterdam 2\"\n\
             [db]\n\
             db-[a:b]:5986\n\
             [prod:children]\n\
             web\n\
             db\n\
             [prod:vars]\n\
             ansible_winrm_transport = ntlm   # sealed over http\n\
             [all:vars]\n\
             ansible_user='CORP\\svc'\n",
        )
        .unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["dc01", "web01", "web02", "web03", "db-a", "db-b"]);
        assert_eq!(find(&t, "dc01").address, "10.0.0.1");
        assert!(find(&t, "dc01").groups.is_empty());
        assert_eq!(
            find(&t, "web02").vars.get("site").map(String::as_str),
            Some("Amsterdam 2")
        );
        assert_eq!(find(&t, "web02").groups, ["web", "prod"]);
        assert_eq!(find(&t, "db-b").port, Some(5986));
        assert_eq!(find(&t, "db-b").transport, Some(Transport::Ntlm));
        assert_eq!(find(&t, "dc01").transport, None);
        assert_eq!(find(&t, "dc01").user.as_deref(), Some("CORP\\svc"));
    }

    #[test]
    fn host_in_two_groups_is_one_target_with_both() {
        let t = load("[web]\nweb01 a=1\n[iis]\nweb01 a=2 b=3\n").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].groups, ["web", "iis"]);
        assert_eq!(t[0].vars.get("a").map(String::as_str), Some("2"));
    }

    #[test]
    fn vars_for_an_undeclared_group_is_an_error() {
        let err = load("[web]\nweb01\n[webs:vars]\nansible_port=5986\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("prod.ini:3: section [webs:vars]"), "{err}");
    }

    #[test]
    fn children_naming_an_undeclared_group_is_an_error() {
        let err = load("[prod:children]\nwebb\n[web]\nweb01\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("prod.ini:2: ") && err.contains("'webb'"),
            "{err}"
        );
    }

    #[test]
    fn typo_in_a_host_var_names_line_and_suggestion() {
        let err = load("[web]\nweb01\nweb02 ansible_winrm_transprot=ntlm\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "prod.ini:3: unknown host var 'ansible_winrm_transprot'; did you mean 'ansible_winrm_transport'?"
        );
    }

    #[test]
    fn unknown_section_type_is_an_error() {
        let err = load("[web:child]\nweb01\n").unwrap_err().to_string();
        assert!(err.contains("unknown type"), "{err}");
    }

    #[test]
    fn bare_token_after_host_is_an_error() {
        let err = load("[web]\nweb01 5986\n").unwrap_err().to_string();
        assert!(err.starts_with("prod.ini:2: expected key=value"), "{err}");
    }

    #[test]
    fn huge_range_is_refused() {
        let err = load("[web]\nweb[1:200000]\n").unwrap_err();
        assert!(
            matches!(err, InventoryError::RangeTooLarge { count: 200_000, .. }),
            "{err}"
        );
    }

    #[test]
    fn ipv6_host_line_in_brackets_is_a_host_not_a_section() {
        let t = load("[web]\n[fe80::1]:5986\n[::1]\n").unwrap();
        assert_eq!(t[0].name, "fe80::1");
        assert_eq!(t[0].port, Some(5986));
        assert_eq!(t[1].name, "::1");
    }

    #[test]
    fn inline_password_is_refused() {
        let err = load("[web]\nweb01 ansible_password=Secret1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fleetscan_password_env") && !err.contains("Secret1"),
            "{err}"
        );
    }
}
