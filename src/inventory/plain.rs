//! Plain host lists: one host a line, optional `:port`, `#` comments and blank lines.
//!
//! ```text
//! # domain controllers first
//! dc01.corp.example
//! fs01.corp.example:5986     # HTTPS listener
//! 10.0.4.17
//! [fe80::17]:5985
//! ```

use std::sync::Arc;

use super::builder::Builder;
use super::error::{InventoryError, Location};
use super::names;
use super::vars::{Value, Var};

/// Adds every host of a plain list to `b`.
pub(crate) fn parse(text: &str, file: &Arc<str>, b: &mut Builder) -> Result<(), InventoryError> {
    for (i, raw) in text.lines().enumerate() {
        let at = Location::new(file, i + 1);
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let mut tokens = line.split_whitespace();
        let (Some(token), None) = (tokens.next(), tokens.next()) else {
            return Err(InventoryError::malformed(
                at,
                format!(
                    "'{line}': one host per line, as HOST or HOST:PORT (Ansible host vars need an .ini inventory)"
                ),
            ));
        };
        add_host_token(token, &at, b)?;
    }
    Ok(())
}

/// Adds `HOST[:PORT]` to `b` (no ranges: brackets mean IPv6 here).
pub(crate) fn add_host_token(
    token: &str,
    at: &Location,
    b: &mut Builder,
) -> Result<usize, InventoryError> {
    let hp = names::split_host_port(token)
        .map_err(|what| InventoryError::malformed(at.clone(), what))?;
    if names::has_range(&hp.host) {
        return Err(InventoryError::malformed(
            at.clone(),
            format!(
                "'{token}': write IPv6 addresses as [fe80::1] or [fe80::1]:5986; host ranges need an .ini or .yml inventory"
            ),
        ));
    }
    let h = b.host(&hp.host)?;
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
    Ok(h)
}

/// Drops a `#` comment: a whole-line one, or one after whitespace.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => line.get(..i).unwrap_or(line),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<crate::inventory::Target>, InventoryError> {
        let mut b = Builder::new();
        parse(text, &Arc::from("hosts.txt"), &mut b)?;
        Ok(b.resolve()?.targets)
    }

    #[test]
    fn comments_blank_lines_and_ports() {
        let t =
            load("# fleet\n\nweb01\r\nweb02:5986   # https\n  [fe80::1]:5985\n10.0.0.4\n").unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["web01", "web02", "fe80::1", "10.0.0.4"]);
        assert_eq!(t[1].port, Some(5986));
        assert_eq!(t[2].port, Some(5985));
        assert_eq!(t[0].port, None);
    }

    #[test]
    fn duplicate_line_is_one_host_later_port_wins() {
        let t = load("web01\nweb01:5986\n").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].port, Some(5986));
    }

    #[test]
    fn two_hosts_on_a_line_is_an_error_with_line_number() {
        let err = load("web01\nweb02 web03\n").unwrap_err().to_string();
        assert!(err.starts_with("hosts.txt:2: "), "{err}");
    }

    #[test]
    fn bad_port_is_an_error_with_line_number() {
        let err = load("web01:http\n").unwrap_err().to_string();
        assert!(
            err.starts_with("hosts.txt:1: ") && err.contains("invalid port"),
            "{err}"
        );
    }
}
