//! The merged inventory model every parser writes into, and its resolution into
//! [`Target`]s with Ansible's variable precedence.
//!
//! Several `-i` files feed one builder, so a group named in two files is one group
//! and a host named twice is one host (variables merge, later wins; groups union).
//! Precedence when resolving a host: `all` < parent group < child group < host;
//! groups of equal depth apply in name order, as Ansible does.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::Target;
use super::error::{InventoryError, Location, Owner};
use super::vars::{self, Key, Var};

/// The most hosts an inventory may hold.
pub(crate) const MAX_HOSTS: usize = 1_000_000;

const ALL: usize = 0;
const UNGROUPED: usize = 1;

#[derive(Debug)]
struct Host {
    name: String,
    vars: BTreeMap<Key, Var>,
    groups: Vec<usize>,
}

#[derive(Debug)]
struct Group {
    name: String,
    at: Option<Location>,
    vars: BTreeMap<Key, Var>,
    parents: Vec<usize>,
    children: Vec<usize>,
}

/// Hosts and groups as read so far, in first-seen order.
#[derive(Debug)]
pub(crate) struct Builder {
    hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
}

/// The resolved inventory: targets in inventory order, and every group name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub(crate) targets: Vec<Target>,
    pub(crate) groups: Vec<String>,
}

impl Builder {
    pub(crate) fn new() -> Self {
        let mut b = Self {
            hosts: Vec::new(),
            host_index: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
        };
        b.group("all", None);
        b.group("ungrouped", None);
        b
    }

    /// The group named `name`, created if new.
    pub(crate) fn group(&mut self, name: &str, at: Option<&Location>) -> usize {
        if let Some(&g) = self.group_index.get(name) {
            if let Some(group) = self.groups.get_mut(g)
                && group.at.is_none()
            {
                group.at = at.cloned();
            }
            return g;
        }
        let g = self.groups.len();
        self.groups.push(Group {
            name: name.to_owned(),
            at: at.cloned(),
            vars: BTreeMap::new(),
            parents: Vec::new(),
            children: Vec::new(),
        });
        self.group_index.insert(name.to_owned(), g);
        g
    }

    /// The group named `name`, created if new, from a reference that does not
    /// declare it (`[g:vars]`, a `[p:children]` entry).
    pub(crate) fn group_undeclared(&mut self, name: &str, at: &Location) -> usize {
        self.group(name, Some(at))
    }

    /// Whether a group of that name exists already.
    pub(crate) fn has_group(&self, name: &str) -> bool {
        self.group_index.contains_key(name)
    }

    /// The host named `name`, created if new.
    pub(crate) fn host(&mut self, name: &str) -> Result<usize, InventoryError> {
        if let Some(&h) = self.host_index.get(name) {
            return Ok(h);
        }
        if self.hosts.len() >= MAX_HOSTS {
            return Err(InventoryError::TooManyHosts { limit: MAX_HOSTS });
        }
        let h = self.hosts.len();
        self.hosts.push(Host {
            name: name.to_owned(),
            vars: BTreeMap::new(),
            groups: Vec::new(),
        });
        self.host_index.insert(name.to_owned(), h);
        Ok(h)
    }

    /// Puts host `h` into group `g` (once).
    pub(crate) fn add_to_group(&mut self, h: usize, g: usize) {
        if let Some(host) = self.hosts.get_mut(h)
            && g != ALL
            && !host.groups.contains(&g)
        {
            host.groups.push(g);
        }
    }

    /// Makes `child` a child of `parent`; loops are found in [`Builder::resolve`].
    pub(crate) fn add_child(&mut self, parent: usize, child: usize) {
        // A self-loop or `all` as a child is kept: resolve() reports it as a loop.
        if let Some(p) = self.groups.get_mut(parent)
            && !p.children.contains(&child)
        {
            p.children.push(child);
        }
        if let Some(c) = self.groups.get_mut(child)
            && !c.parents.contains(&parent)
        {
            c.parents.push(parent);
        }
    }

    /// Sets a host variable (checked here, so errors point at its line).
    pub(crate) fn set_host_var(&mut self, h: usize, var: Var) -> Result<(), InventoryError> {
        let Some(host) = self.hosts.get_mut(h) else {
            return Ok(());
        };
        let owner = Owner::Host(host.name.clone());
        if let Some(key) = vars::check(&owner, &var)? {
            host.vars.insert(key, var);
        }
        Ok(())
    }

    /// Sets a host's connection setting from a source whose names are not variable
    /// names (CSV columns).
    pub(crate) fn set_host_known(
        &mut self,
        h: usize,
        known: vars::Known,
        var: Var,
    ) -> Result<(), InventoryError> {
        let Some(host) = self.hosts.get_mut(h) else {
            return Ok(());
        };
        let owner = Owner::Host(host.name.clone());
        let key = vars::check_known(&owner, known, &var)?;
        host.vars.insert(key, var);
        Ok(())
    }

    /// Sets a group variable (checked here).
    pub(crate) fn set_group_var(&mut self, g: usize, var: Var) -> Result<(), InventoryError> {
        let Some(group) = self.groups.get_mut(g) else {
            return Ok(());
        };
        let owner = Owner::Group(group.name.clone());
        if let Some(key) = vars::check(&owner, &var)? {
            group.vars.insert(key, var);
        }
        Ok(())
    }

    /// Depth of each group below `all` (top-level groups are 1), or the loop found.
    fn depths(&self) -> Result<Vec<usize>, InventoryError> {
        // Kahn's algorithm over parent → child edges: iterative, so a long chain of
        // groups cannot overflow the stack, and what remains unvisited is a loop.
        let n = self.groups.len();
        let mut indegree: Vec<usize> = self.groups.iter().map(|g| g.parents.len()).collect();
        let mut depth = vec![0usize; n];
        let mut queue: VecDeque<usize> = (0..n).filter(|&g| indegree[g] == 0).collect();
        let mut seen = 0;
        while let Some(g) = queue.pop_front() {
            seen += 1;
            let base = if g == ALL { 0 } else { depth[g].max(1) };
            depth[g] = base;
            for &c in &self.groups[g].children {
                depth[c] = depth[c].max(base + 1);
                indegree[c] -= 1;
                if indegree[c] == 0 {
                    queue.push_back(c);
                }
            }
        }
        if seen < n {
            let looped = (0..n).find(|&g| indegree[g] > 0).unwrap_or(ALL);
            let group = &self.groups[looped];
            return Err(InventoryError::GroupCycle {
                at: group.at.clone().unwrap_or_else(|| Location {
                    file: "inventory".into(),
                    line: 0,
                    column: None,
                }),
                group: group.name.clone(),
            });
        }
        Ok(depth)
    }

    /// Resolves every host into a [`Target`], applying variable precedence.
    pub(crate) fn resolve(&self) -> Result<Resolved, InventoryError> {
        let depth = self.depths()?;
        let mut targets = Vec::with_capacity(self.hosts.len());
        let mut member = vec![false; self.groups.len()];
        for host in &self.hosts {
            // Every group the host is in, directly or through [g:children].
            let mut mine = vec![ALL];
            member[ALL] = true;
            let mut queue: VecDeque<usize> = host.groups.iter().copied().collect();
            while let Some(g) = queue.pop_front() {
                if std::mem::replace(&mut member[g], true) {
                    continue;
                }
                mine.push(g);
                queue.extend(self.groups[g].parents.iter().copied());
            }
            for &g in &mine {
                member[g] = false;
            }
            let mut target = Target::named(host.name.clone());
            // Report groups in the order the inventory declared them.
            let mut listed: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&g| g != ALL && g != UNGROUPED)
                .collect();
            listed.sort_unstable();
            target.groups = listed
                .iter()
                .map(|&g| self.groups[g].name.clone())
                .collect();
            let mut order = mine;
            order.sort_by(|&a, &b| {
                depth[a]
                    .cmp(&depth[b])
                    .then_with(|| self.groups[a].name.cmp(&self.groups[b].name))
            });
            let mut effective: BTreeMap<&Key, (&Var, Owner)> = BTreeMap::new();
            for g in order {
                let owner = Owner::Group(self.groups[g].name.clone());
                for (k, v) in &self.groups[g].vars {
                    effective.insert(k, (v, owner.clone()));
                }
            }
            for (k, v) in &host.vars {
                effective.insert(k, (v, Owner::Host(host.name.clone())));
            }
            for (k, (v, owner)) in effective {
                vars::store(&mut target, &owner, k, v)?;
            }
            targets.push(target);
        }
        let groups = self
            .groups
            .iter()
            .enumerate()
            .filter(|(g, _)| *g != ALL)
            .map(|(_, g)| g.name.clone())
            .collect();
        Ok(Resolved { targets, groups })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::inventory::vars::Value;

    fn at(line: usize) -> Location {
        Location::new(&Arc::from("t.ini"), line)
    }

    fn var(name: &str, value: &str, line: usize) -> Var {
        Var {
            name: name.into(),
            value: Value::text(value),
            at: at(line),
        }
    }

    #[test]
    fn child_group_beats_parent_and_host_beats_both() {
        let mut b = Builder::new();
        let prod = b.group("prod", Some(&at(1)));
        let web = b.group("web", Some(&at(2)));
        b.add_child(prod, web);
        let h = b.host("web01").unwrap();
        let h2 = b.host("web02").unwrap();
        b.add_to_group(h, web);
        b.add_to_group(h2, web);
        b.set_group_var(ALL, var("ansible_port", "1", 5)).unwrap();
        b.set_group_var(prod, var("ansible_port", "2", 6)).unwrap();
        b.set_group_var(prod, var("site", "ams", 6)).unwrap();
        b.set_group_var(web, var("fleetscan_port", "3", 7)).unwrap();
        b.set_host_var(h, var("ansible_port", "4", 8)).unwrap();
        let r = b.resolve().unwrap();
        assert_eq!(r.targets[0].port, Some(4));
        assert_eq!(r.targets[1].port, Some(3));
        assert_eq!(
            r.targets[1].vars.get("site").map(String::as_str),
            Some("ams")
        );
        assert_eq!(r.targets[1].groups, ["prod", "web"]);
    }

    #[test]
    fn group_loop_is_an_error_naming_a_group() {
        let mut b = Builder::new();
        let a = b.group("a", Some(&at(1)));
        let c = b.group("c", Some(&at(2)));
        b.add_child(a, c);
        b.add_child(c, a);
        let err = b.resolve().unwrap_err();
        assert!(matches!(err, InventoryError::GroupCycle { .. }), "{err}");
    }

    #[test]
    fn a_long_chain_of_groups_does_not_overflow() {
        let mut b = Builder::new();
        let mut prev = b.group("g0", None);
        for i in 1..50_000 {
            let g = b.group(&format!("g{i}"), None);
            b.add_child(prev, g);
            prev = g;
        }
        let h = b.host("h").unwrap();
        b.add_to_group(h, prev);
        assert_eq!(b.resolve().unwrap().targets[0].groups.len(), 50_000);
    }
}
