//! Ansible YAML inventories:
//!
//! ```yaml
//! all:
//!   vars:
//!     ansible_winrm_transport: ntlm
//!   hosts:
//!     dc01.corp.example:            # a host with no variables is null
//!   children:
//!     web:
//!       hosts:
//!         web[01:20].corp.example:
//!           ansible_port: 5986
//! ```
//!
//! Top-level keys are groups (normally just `all`); each group may hold `hosts`,
//! `vars` and `children`, nested to any depth, and any of them may be null. Host
//! keys use the INI syntax (`web[01:20]`, `host:5986`). An unexpected key in a
//! group (`host:` for `hosts:`) is an error rather than a silently empty group.
//! Values tagged `!vault` or holding `$ANSIBLE_VAULT` are recognised as Vault values.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::builder::Builder;
use super::error::{InventoryError, Location, Owner};
use super::ini::expand_host_pattern;
use super::vars::{Value, Var};

/// A YAML node kept generic, with the position of every child.
#[derive(Debug)]
enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Scalar(_) => "a single value",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// The node as plain JSON, for variables that are lists or mappings.
    fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Scalar(s) => serde_json::Value::String(s.clone()),
            Node::Seq(items) => {
                serde_json::Value::Array(items.iter().map(|i| i.value.to_json()).collect())
            }
            Node::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.key_text(), v.value.to_json()))
                    .collect(),
            ),
        }
    }

    fn key_text(&self) -> String {
        match self {
            Node::Scalar(s) => s.clone(),
            Node::Null => String::new(),
            other => other.to_json().to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Spanned<Node>, Spanned<Node>>()? {
            entries.push((k, v));
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A tagged node (`!vault |`, `!unsafe 'x'`) arrives as an enum: the tag is
        // the variant name. Keep `!vault` recognisable; take other tags' values.
        let (tag, variant): (String, _) = data.variant()?;
        let inner: Node = de::VariantAccess::newtype_variant(variant)?;
        if tag.trim_start_matches('!') == "vault" {
            return Ok(Node::Scalar(format!(
                "$ANSIBLE_VAULT;tagged;{}",
                inner.key_text()
            )));
        }
        Ok(inner)
    }
}

/// Adds the groups, hosts and variables of a YAML inventory to `b`.
pub(crate) fn parse(text: &str, file: &Arc<str>, b: &mut Builder) -> Result<(), InventoryError> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // Keep `0755`, `1_000` as text: inventories hold names, not numbers.
    options.leading_zero_numbers_as_strings = true;
    options.underscored_numbers_as_strings = true;
    let root: Option<Spanned<Node>> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let (line, col) = e
                .location()
                .map_or((1, 0), |l| (l.line() as usize, l.column() as usize));
            let mut at = Location::new(file, line.max(1));
            if col > 0 {
                at = at.with_column(col);
            }
            InventoryError::malformed(at, yaml_message(&e.to_string()))
        })?;
    let Some(root) = root else {
        return Ok(());
    };
    let at = |s: &Spanned<Node>| loc(file, s);
    match &root.value {
        Node::Null => Ok(()),
        Node::Map(groups) => {
            for (name, body) in groups {
                if name.value.key_text() == "plugin" {
                    return Err(InventoryError::malformed(
                        at(name),
                        "this is an Ansible inventory plugin configuration; fleetscan reads static inventories: export one with ansible-inventory -i FILE --list --yaml > static.yml",
                    ));
                }
                let name_text = group_name(name, file)?;
                let g = b.group(&name_text, Some(&at(name)));
                group(g, &name_text, body, file, b, 0)?;
            }
            Ok(())
        }
        other => Err(InventoryError::malformed(
            at(&root),
            format!(
                "the top level is {}; an Ansible YAML inventory starts with a group, e.g. 'all:' then 'hosts:'",
                other.kind()
            ),
        )),
    }
}

/// The parser's message in inventory terms: no library advice, no repeated position.
fn yaml_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("invalid YAML").trim();
    let first = match first.rfind(" at line ") {
        Some(i) => first.get(..i).unwrap_or(first),
        None => first,
    };
    if let Some(rest) = first.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set ").next().unwrap_or(rest);
        return format!(
            "'{key}' appears twice in the same mapping; list each host, group or variable once"
        );
    }
    if first.starts_with("multiple YAML documents") {
        return "more than one YAML document ('---'); an inventory is a single document".to_owned();
    }
    format!("not valid YAML: {first}")
}

fn loc(file: &Arc<str>, s: &Spanned<Node>) -> Location {
    let line = s.referenced.line() as usize;
    let col = s.referenced.column() as usize;
    let at = Location::new(file, line.max(1));
    if col > 0 { at.with_column(col) } else { at }
}

fn group_name(name: &Spanned<Node>, file: &Arc<str>) -> Result<String, InventoryError> {
    match &name.value {
        Node::Scalar(s)
            if !s.is_empty()
                && !s.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, ':' | '[' | ']' | ',')
                }) =>
        {
            Ok(s.clone())
        }
        other => Err(InventoryError::malformed(
            loc(file, name),
            format!(
                "'{}' is not a valid group name (no spaces, ':', ',' or brackets)",
                other.key_text()
            ),
        )),
    }
}

/// The most nested `children:` levels followed (the YAML parser's own depth cap
/// is tighter; this guards the recursion regardless).
const MAX_GROUP_DEPTH: usize = 64;

fn group(
    g: usize,
    name: &str,
    body: &Spanned<Node>,
    file: &Arc<str>,
    b: &mut Builder,
    depth: usize,
) -> Result<(), InventoryError> {
    if depth > MAX_GROUP_DEPTH {
        return Err(InventoryError::malformed(
            loc(file, body),
            format!("groups nested more than {MAX_GROUP_DEPTH} levels deep"),
        ));
    }
    let entries = match &body.value {
        Node::Null => return Ok(()),
        Node::Map(entries) => entries,
        other => {
            return Err(InventoryError::malformed(
                loc(file, body),
                format!(
                    "group '{name}' holds {}; expected hosts:, children: or vars:",
                    other.kind()
                ),
            ));
        }
    };
    for (key, value) in entries {
        match key.value.key_text().as_str() {
            "hosts" => hosts(g, name, value, file, b)?,
            "vars" => {
                for var in vars(value, file, &Owner::Group(name.to_owned()))? {
                    b.set_group_var(g, var)?;
                }
            }
            "children" => match &value.value {
                Node::Null => {}
                Node::Map(children) => {
                    for (child_name, child_body) in children {
                        let child_text = group_name(child_name, file)?;
                        if child_text == "all" {
                            return Err(InventoryError::malformed(
                                loc(file, child_name),
                                "'all' holds every host and cannot be a child group",
                            ));
                        }
                        let c = b.group(&child_text, Some(&loc(file, child_name)));
                        b.add_child(g, c);
                        group(c, &child_text, child_body, file, b, depth + 1)?;
                    }
                }
                other => {
                    return Err(InventoryError::malformed(
                        loc(file, value),
                        format!(
                            "children of group '{name}' is {}; expected a mapping of group names",
                            other.kind()
                        ),
                    ));
                }
            },
            other => {
                let hint = match other {
                    "host" | "hostname" | "servers" => " (did you mean 'hosts'?)",
                    "child" | "groups" | "subgroups" => " (did you mean 'children'?)",
                    "var" | "variables" | "group_vars" => " (did you mean 'vars'?)",
                    _ => "",
                };
                return Err(InventoryError::malformed(
                    loc(file, key),
                    format!(
                        "unexpected key '{other}' in group '{name}'{hint}; a group holds hosts:, children: and vars:"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn hosts(
    g: usize,
    group_name: &str,
    value: &Spanned<Node>,
    file: &Arc<str>,
    b: &mut Builder,
) -> Result<(), InventoryError> {
    let entries = match &value.value {
        Node::Null => return Ok(()),
        Node::Map(entries) => entries,
        other => {
            return Err(InventoryError::malformed(
                loc(file, value),
                format!(
                    "hosts of group '{group_name}' is {}; write each host as a key ending in ':' (a host without variables may be left empty)",
                    other.kind()
                ),
            ));
        }
    };
    for (key, host_vars) in entries {
        let at = loc(file, key);
        let Node::Scalar(pattern) = &key.value else {
            return Err(InventoryError::malformed(
                at,
                "a host name must be a single value",
            ));
        };
        let ids = expand_host_pattern(pattern, &at, b)?;
        let first_name = pattern.clone();
        let parsed = match &host_vars.value {
            Node::Null => Vec::new(),
            Node::Map(_) => vars(host_vars, file, &Owner::Host(first_name))?,
            other => {
                return Err(InventoryError::malformed(
                    loc(file, host_vars),
                    format!(
                        "host '{pattern}' holds {}; expected its variables as a mapping, or nothing",
                        other.kind()
                    ),
                ));
            }
        };
        for h in ids {
            b.add_to_group(h, g);
            for var in &parsed {
                b.set_host_var(h, var.clone())?;
            }
        }
    }
    Ok(())
}

fn vars(value: &Spanned<Node>, file: &Arc<str>, owner: &Owner) -> Result<Vec<Var>, InventoryError> {
    let entries = match &value.value {
        Node::Null => return Ok(Vec::new()),
        Node::Map(entries) => entries,
        other => {
            return Err(InventoryError::malformed(
                loc(file, value),
                format!(
                    "vars of {owner} is {}; expected a mapping of name: value",
                    other.kind()
                ),
            ));
        }
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Node::Scalar(name) = &k.value else {
            return Err(InventoryError::malformed(
                loc(file, k),
                "a variable name must be a single value",
            ));
        };
        let value = match &v.value {
            Node::Null => Value::Text(String::new()),
            Node::Scalar(s) => Value::text(s.clone()),
            Node::Seq(items) if items.iter().all(|i| matches!(i.value, Node::Scalar(_))) => {
                let texts: Vec<String> = items.iter().map(|i| i.value.key_text()).collect();
                if texts
                    .iter()
                    .any(|t| t.trim_start().starts_with("$ANSIBLE_VAULT"))
                {
                    Value::Vault
                } else {
                    Value::List(texts)
                }
            }
            other => Value::Json(other.to_json().to_string()),
        };
        out.push(Var {
            name: name.clone(),
            value,
            at: loc(file, k),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Scheme, Target, Transport};

    fn load(text: &str) -> Result<Vec<Target>, InventoryError> {
        let mut b = Builder::new();
        parse(text, &Arc::from("prod.yml"), &mut b)?;
        Ok(b.resolve()?.targets)
    }

    fn find<'a>(t: &'a [Target], name: &str) -> &'a Target {
        t.iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    const SAMPLE: &str = "\
all:
  vars:
    ansible_winrm_transport: ntlm
    ansible_port: 5985
  hosts:
    dc01:
  children:
    prod:
      vars:
        ansible_port: 5986
        ansible_winrm_scheme: https
      children:
        web:
          hosts:
            web[01:02]:
              ansible_host: 10.0.1.1
            web03:
          vars:
            ansible_winrm_transport: [kerberos, basic]
        db:
          hosts:
            db01:
              owner: {team: dba, pager: 42}
";

    #[test]
    fn nested_children_vars_and_null_hosts() {
        let t = load(SAMPLE).unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["dc01", "web01", "web02", "web03", "db01"]);
        assert_eq!(find(&t, "dc01").port, Some(5985));
        assert_eq!(find(&t, "dc01").transport, Some(Transport::Ntlm));
        assert_eq!(find(&t, "web03").port, Some(5986));
        assert_eq!(find(&t, "web03").scheme, Some(Scheme::Https));
        assert_eq!(find(&t, "web03").transport, Some(Transport::Basic));
        assert_eq!(find(&t, "web02").address, "10.0.1.1");
        assert_eq!(find(&t, "web02").groups, ["prod", "web"]);
        assert_eq!(find(&t, "db01").transport, Some(Transport::Ntlm));
        assert_eq!(
            find(&t, "db01").vars.get("owner").map(String::as_str),
            Some(r#"{"pager":"42","team":"dba"}"#)
        );
    }

    #[test]
    fn vault_tagged_password_names_host_and_file() {
        let text = "all:\n  hosts:\n    web01:\n      ansible_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162636465\n";
        let err = load(text).unwrap_err().to_string();
        assert!(err.starts_with("prod.yml:4"), "{err}");
        assert!(err.contains("host 'web01'"), "{err}");
        assert!(
            err.contains(
                "Ansible Vault values cannot be read; set fleetscan_password_env=VAR instead"
            ),
            "{err}"
        );
    }

    #[test]
    fn misspelt_hosts_key_is_an_error_with_hint() {
        let err = load("all:\n  host:\n    web01:\n").unwrap_err().to_string();
        assert!(
            err.starts_with("prod.yml:2:3: unexpected key 'host'"),
            "{err}"
        );
        assert!(err.contains("did you mean 'hosts'?"), "{err}");
    }

    #[test]
    fn invalid_port_names_the_line() {
        let err = load("all:\n  hosts:\n    web01:\n      ansible_port: 70000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("prod.yml:4:7: host 'web01': invalid ansible_port '70000'"),
            "{err}"
        );
    }

    #[test]
    fn broken_yaml_reports_a_line() {
        let err = load("all:\n  hosts:\n    web01: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("prod.yml:"), "{err}");
        assert!(err.contains("not valid YAML"), "{err}");
    }

    #[test]
    fn duplicate_host_key_is_explained_without_library_advice() {
        let err = load("all:\n  hosts:\n    w1:\n    w1:\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "prod.yml:4:5: 'w1' appears twice in the same mapping; list each host, group or variable once"
        );
    }

    #[test]
    fn anchors_and_merge_keys_apply() {
        let t = load(
            "all:\n  vars: &d\n    ansible_port: 5986\n  children:\n    web:\n      vars:\n        <<: *d\n        site: a\n      hosts: {w1: null, w2: {ansible_port: 5985}}\n",
        )
        .unwrap();
        assert_eq!(find(&t, "w1").port, Some(5986));
        assert_eq!(find(&t, "w2").port, Some(5985));
    }

    #[test]
    fn numeric_looking_host_names_keep_their_spelling() {
        let t = load("all:\n  hosts:\n    0755:\n    10.0.0.1:\n").unwrap();
        assert_eq!(t[0].name, "0755");
        assert_eq!(t[1].name, "10.0.0.1");
    }

    #[test]
    fn hosts_as_a_list_is_explained() {
        let err = load("all:\n  hosts:\n    - web01\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("write each host as a key"), "{err}");
    }

    #[test]
    fn inventory_plugin_config_is_explained() {
        let err = load("plugin: azure.azcollection.azure_rm\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ansible-inventory -i FILE --list --yaml"),
            "{err}"
        );
    }

    #[test]
    fn all_as_a_child_is_an_error() {
        let err = load("all:\n  children:\n    web:\n      children:\n        all:\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("prod.yml:5:9: 'all' holds every host"),
            "{err}"
        );
    }

    #[test]
    fn empty_document_has_no_hosts() {
        assert!(load("").unwrap().is_empty());
        assert!(load("all:\n").unwrap().is_empty());
    }
}
