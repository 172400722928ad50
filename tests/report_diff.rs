//! `report::diff` on two reports of the same fleet built in code, where one
//! host's scenario changed between the scans (an end-to-end diff on emulated
//! scans lives with the scan tests).

use fleetscan::report::diff::{Diff, diff};
use fleetscan::report::model::{FleetReport, Outcome, Status};
use fleetscan::report::sample::{self, check};
use serde_json::json;

/// A fleet of `names`, every host healthy (all checks pass).
fn healthy_fleet(names: &[&str], scan_id: &str) -> FleetReport {
    let mut report = sample::synthetic(names.len(), 6, 1);
    report.meta.scan_id = scan_id.to_owned();
    for (host, name) in report.hosts.iter_mut().zip(names) {
        host.name = (*name).to_owned();
        host.outcome = Outcome::Scanned;
        host.error = None;
        host.checks = sample::CHECK_IDS[..6]
            .iter()
            .map(|id| check(id, Status::Pass, "fine", json!({})))
            .collect();
    }
    report
}

fn set_status(report: &mut FleetReport, host: &str, check_id: &str, status: Status) {
    let h = report
        .hosts
        .iter_mut()
        .find(|h| h.name == host)
        .expect("host");
    let c = h
        .checks
        .iter_mut()
        .find(|c| c.id == check_id)
        .expect("check");
    c.status = status;
}

fn unreachable(report: &mut FleetReport, host: &str) {
    let h = report
        .hosts
        .iter_mut()
        .find(|h| h.name == host)
        .expect("host");
    h.outcome = Outcome::Unreachable;
    h.checks.clear();
    h.error = Some("connection refused".to_owned());
}

#[test]
fn one_host_changing_scenario_is_the_only_new_failure() {
    let old = healthy_fleet(&["web01", "web02", "db01"], "old");
    let mut new = healthy_fleet(&["web01", "web02", "db01"], "new");
    // web02 went from healthy to "vss disabled".
    set_status(&mut new, "web02", "mars.installed", Status::Fail);
    let d = diff(&old, &new);
    assert!(d.got_worse());
    assert_eq!(d.new_failures.len(), 1);
    let f = &d.new_failures[0];
    assert_eq!(
        (
            f.host.as_str(),
            f.check.as_str(),
            f.old_status,
            f.new_status
        ),
        ("web02", "mars.installed", Some(Status::Pass), Status::Fail)
    );
    assert!(d.fixed.is_empty() && d.newly_unreachable.is_empty() && d.recovered.is_empty());
    assert!(d.hosts_added.is_empty() && d.hosts_removed.is_empty());
    let back: Diff = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}

#[test]
fn diff_sorts_every_kind_of_change() {
    let mut old = healthy_fleet(&["a", "b", "c", "d"], "old");
    set_status(&mut old, "b", "mars.version", Status::Fail);
    unreachable(&mut old, "c");
    let mut new = healthy_fleet(&["a", "b", "c", "e"], "new");
    set_status(&mut new, "a", "host.context", Status::Fail);
    unreachable(&mut new, "e");
    let d = diff(&old, &new);
    assert_eq!(d.hosts_added, ["e"]);
    assert_eq!(d.hosts_removed, ["d"]);
    assert_eq!(d.recovered.len(), 1);
    assert_eq!(d.recovered[0].host, "c");
    assert_eq!(d.newly_unreachable.len(), 1);
    assert_eq!(
        d.newly_unreachable[0].old_outcome, None,
        "a new host that cannot be scanned"
    );
    let new_failures: Vec<(&str, &str)> = d
        .new_failures
        .iter()
        .map(|c| (c.host.as_str(), c.check.as_str()))
        .collect();
    assert_eq!(new_failures, [("a", "host.context")]);
    let fixed: Vec<(&str, &str)> = d
        .fixed
        .iter()
        .map(|c| (c.host.as_str(), c.check.as_str()))
        .collect();
    assert_eq!(fixed, [("b", "mars.version")]);
    assert!(d.got_worse());
    let text = d.render_text();
    for want in [
        "got worse",
        "New failures (1):",
        "Hosts newly not scanned (1):",
        "  e  absent -> unreachable: connection refused",
        "Fixed (1):",
        "Recovered hosts (1):",
        "Hosts added (1):",
        "Hosts removed (1):",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
}

#[test]
fn fixes_alone_are_not_worse() {
    let mut old = healthy_fleet(&["a", "b"], "old");
    set_status(&mut old, "a", "host.context", Status::Fail);
    unreachable(&mut old, "b");
    let new = healthy_fleet(&["a", "b"], "new");
    let d = diff(&old, &new);
    assert!(!d.got_worse());
    assert_eq!(d.fixed.len(), 1);
    assert_eq!(d.recovered.len(), 1);
    assert!(d.render_text().contains("nothing got worse"));
}

#[test]
fn a_failure_that_became_unknown_or_waived_is_not_fixed_and_not_new() {
    let mut old = healthy_fleet(&["a"], "old");
    set_status(&mut old, "a", "host.context", Status::Fail);
    set_status(&mut old, "a", "mars.installed", Status::Fail);
    let mut new = old.clone();
    new.meta.scan_id = "new".into();
    set_status(&mut new, "a", "host.context", Status::Unknown);
    new.hosts[0].checks[2].waived = Some(fleetscan::report::AppliedWaiver {
        reason: "accepted".into(),
        expires: None,
    });
    let d = diff(&old, &new);
    assert!(d.fixed.is_empty() && d.new_failures.is_empty(), "{d:?}");
    // ... and back: unknown → fail and a waiver that lapsed both count as new failures.
    let d = diff(&new, &old);
    assert_eq!(d.new_failures.len(), 2);
}

#[test]
fn a_host_failing_to_connect_differently_is_not_newly_unreachable() {
    let mut old = healthy_fleet(&["a"], "old");
    unreachable(&mut old, "a");
    let mut new = old.clone();
    new.hosts[0].outcome = Outcome::AuthFailed;
    assert!(!diff(&old, &new).got_worse());
}
