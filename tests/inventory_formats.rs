//! The shipped sample inventories load, and every format and `--limit` form of
//! issue 6 behaves as documented.

use std::io::Write;
use std::path::{Path, PathBuf};

use fleetscan::inventory::{
    self, CertValidation, Format, Inventory, InventoryError, Scheme, Target, Transport,
};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("inventories")
        .join(name)
}

fn load_sample(name: &str) -> Inventory {
    inventory::load(&[sample(name)], &[]).unwrap_or_else(|e| panic!("{name} does not load: {e}"))
}

fn target<'a>(inv: &'a Inventory, name: &str) -> &'a Target {
    inv.targets()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not in the inventory"))
}

fn names(targets: &[Target]) -> Vec<&str> {
    targets.iter().map(|t| t.name.as_str()).collect()
}

fn limit(inv: &Inventory, pattern: &str) -> Vec<String> {
    inv.select(Some(pattern))
        .unwrap_or_else(|e| panic!("--limit {pattern}: {e}"))
        .into_iter()
        .map(|t| t.name)
        .collect()
}

fn temp_file(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn plain_sample_loads_hosts_ports_and_ipv6() {
    let inv = load_sample("plain.txt");
    assert_eq!(
        names(inv.targets()),
        [
            "dc01.corp.example",
            "dc02.corp.example",
            "fs01.corp.example",
            "fs02.corp.example",
            "fs03.corp.example",
            "10.20.30.41",
            "fd00:10::21"
        ]
    );
    assert_eq!(target(&inv, "fs03.corp.example").port, Some(5986));
    assert_eq!(target(&inv, "fd00:10::21").port, Some(5985));
    assert_eq!(target(&inv, "fd00:10::21").address, "fd00:10::21");
    assert!(inv.targets().iter().all(|t| t.groups.is_empty()));
}

#[test]
fn csv_sample_loads_columns_groups_and_extra_vars() {
    let inv = load_sample("hosts.csv");
    assert_eq!(
        names(inv.targets()),
        ["dc01", "dc02", "fs01", "sql01", "lab01"]
    );
    let dc01 = target(&inv, "dc01");
    assert_eq!(dc01.address, "10.20.1.10");
    assert_eq!(dc01.port, Some(5986));
    assert_eq!(dc01.scheme, Some(Scheme::Https));
    assert_eq!(dc01.transport, Some(Transport::Ntlm));
    assert_eq!(dc01.user.as_deref(), Some("CORP\\svc_fleetscan"));
    assert_eq!(dc01.groups, ["dc", "prod"]);
    assert_eq!(dc01.vars.get("site").map(String::as_str), Some("AMS"));
    assert_eq!(target(&inv, "fs01").groups, ["prod", "files"]);
    assert_eq!(target(&inv, "fs01").transport, Some(Transport::Negotiate));
    assert_eq!(
        target(&inv, "sql01").transport,
        Some(Transport::Unsupported("kerberos".into()))
    );
    assert_eq!(
        target(&inv, "lab01").password_env.as_deref(),
        Some("LAB_WINRM_PASSWORD")
    );
    assert_eq!(target(&inv, "lab01").transport, Some(Transport::Basic));
    assert_eq!(limit(&inv, "prod:!dc"), ["fs01", "sql01"]);
}

#[test]
fn ini_sample_resolves_groups_children_ranges_and_precedence() {
    let inv = load_sample("prod.ini");
    assert_eq!(inv.targets().len(), 1 + 2 + 4 + 4 + 3);
    let jump = target(&inv, "jump01.corp.example");
    assert_eq!(jump.address, "10.20.0.5");
    assert!(jump.groups.is_empty());
    assert_eq!(
        jump.transport,
        Some(Transport::Negotiate),
        "[all:vars] applies"
    );
    assert_eq!(jump.user.as_deref(), Some("CORP\\svc_fleetscan"));

    let fs03 = target(&inv, "fs03.corp.example");
    assert_eq!(fs03.groups, ["files", "windows", "prod"]);
    assert_eq!(
        fs03.scheme,
        Some(Scheme::Https),
        "grandparent prod's vars reach files"
    );
    assert_eq!(fs03.port, Some(5986));
    assert_eq!(fs03.cert_validation, Some(CertValidation::Validate));
    assert_eq!(
        fs03.ca_trust_path.as_deref(),
        Some(Path::new("/etc/pki/corp-root-ca.pem"))
    );

    let sql_b = target(&inv, "sql-b.corp.example");
    assert_eq!(
        sql_b.transport,
        Some(Transport::Ntlm),
        "child [sql:vars] beats [all:vars]"
    );
    let legacy = target(&inv, "sql-legacy.corp.example");
    assert_eq!(legacy.port, Some(5985), "host line beats [prod:vars]");
    assert_eq!(legacy.scheme, Some(Scheme::Http));

    let dc02 = target(&inv, "dc02.corp.example");
    assert_eq!(
        dc02.vars.get("site").map(String::as_str),
        Some("Frankfurt 2")
    );

    let lab2 = target(&inv, "lab2.corp.example");
    assert_eq!(lab2.user.as_deref(), Some(".\\Administrator"));
    assert_eq!(lab2.password_env.as_deref(), Some("LAB_WINRM_PASSWORD"));
    assert_eq!(lab2.scheme, Some(Scheme::Http));
    assert!(
        lab2.vars.is_empty(),
        "honoured vars are not repeated in vars: {:?}",
        lab2.vars
    );
}

#[test]
fn yaml_sample_resolves_nested_children_and_lists() {
    let inv = load_sample("prod.yml");
    assert_eq!(inv.targets().len(), 1 + 2 + 6 + 1 + 2);
    let web04 = target(&inv, "web04.corp.example");
    assert_eq!(web04.groups, ["prod", "web"]);
    assert_eq!(web04.transport, Some(Transport::Ntlm));
    assert_eq!(web04.port, Some(5986));
    let dc01 = target(&inv, "dc01.corp.example");
    assert_eq!(dc01.transport, Some(Transport::Negotiate));
    assert_eq!(dc01.user.as_deref(), Some("CORP\\svc_fleetscan"));
    let stg = target(&inv, "web-stgb.corp.example");
    assert_eq!(stg.cert_validation, Some(CertValidation::Ignore));
    assert_eq!(stg.password_env.as_deref(), Some("STAGING_WINRM_PASSWORD"));
    assert_eq!(stg.scheme, Some(Scheme::Https));
    let sql = target(&inv, "sql01.corp.example");
    assert_eq!(sql.address, "10.20.5.21");
    assert!(sql.vars.get("owner").is_some_and(|o| o.contains("dba")));
}

#[test]
fn every_limit_form_works_on_the_ini_sample() {
    let inv = load_sample("prod.ini");
    // a group, a host, a glob
    assert_eq!(
        limit(&inv, "dc"),
        ["dc01.corp.example", "dc02.corp.example"]
    );
    assert_eq!(limit(&inv, "fs02.corp.example"), ["fs02.corp.example"]);
    assert_eq!(
        limit(&inv, "lab*"),
        [
            "lab1.corp.example",
            "lab2.corp.example",
            "lab3.corp.example"
        ]
    );
    // union with ':' and ',' — inventory order, no duplicates
    assert_eq!(
        limit(&inv, "dc02.corp.example:dc"),
        ["dc01.corp.example", "dc02.corp.example"]
    );
    assert_eq!(
        limit(&inv, "lab1*,jump*"),
        ["jump01.corp.example", "lab1.corp.example"]
    );
    // intersection and exclusion
    assert_eq!(
        limit(&inv, "prod:&sql-[ab]*"),
        ["sql-a.corp.example", "sql-b.corp.example"]
    );
    assert_eq!(limit(&inv, "windows:!files:!sql").len(), 2);
    assert_eq!(limit(&inv, "all:!prod:!lab"), ["jump01.corp.example"]);
    // all, *, ungrouped
    assert_eq!(limit(&inv, "all").len(), inv.targets().len());
    assert_eq!(limit(&inv, "*").len(), inv.targets().len());
    assert_eq!(limit(&inv, "ungrouped"), ["jump01.corp.example"]);
    // a child group's hosts are in its parent
    assert_eq!(limit(&inv, "prod").len(), 2 + 4 + 4);
    assert_eq!(inv.select(None).unwrap().len(), inv.targets().len());
}

#[test]
fn limit_term_matching_nothing_is_named_in_the_error() {
    let inv = load_sample("prod.ini");
    let err = inv.select(Some("prod:&sqll")).unwrap_err();
    assert!(
        matches!(&err, InventoryError::LimitNoMatch { term, .. } if term == "sqll"),
        "{err}"
    );
    let err = inv.select(Some("dc:&files")).unwrap_err();
    assert!(
        matches!(err, InventoryError::LimitSelectsNothing { .. }),
        "{err}"
    );
}

#[test]
fn several_inventories_merge_vars_later_wins_and_groups_union() {
    let a = temp_file(".ini", "[web]\nweb01 ansible_port=5985 site=ams\nweb02\n");
    let b = temp_file(
        ".yml",
        "all:\n  children:\n    iis:\n      hosts:\n        web01:\n          ansible_port: 5986\n        web03:\n",
    );
    let inv = inventory::load(&[a.path().to_owned(), b.path().to_owned()], &[]).unwrap();
    assert_eq!(names(inv.targets()), ["web01", "web02", "web03"]);
    let web01 = target(&inv, "web01");
    assert_eq!(web01.port, Some(5986));
    assert_eq!(web01.vars.get("site").map(String::as_str), Some("ams"));
    assert_eq!(web01.groups, ["web", "iis"]);
}

#[test]
fn ad_hoc_targets_add_hosts_with_ports() {
    let inv = inventory::load(
        &[],
        &["web01".into(), "10.0.0.7:5986".into(), "[::1]:5985".into()],
    )
    .unwrap();
    assert_eq!(names(inv.targets()), ["web01", "10.0.0.7", "::1"]);
    assert_eq!(target(&inv, "10.0.0.7").port, Some(5986));
    let err = inventory::load(&[], &["web01:http".into()])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("-t 'web01:http': invalid port"), "{err}");
}

#[test]
fn format_comes_from_extension_else_from_content() {
    let ini = temp_file("", "[web]\nweb01 ansible_port=5986\n");
    let yaml = temp_file("", "all:\n  hosts:\n    web01:\n");
    let csv = temp_file(".inventory", "host,port\nweb01,5986\n");
    for f in [&ini, &yaml, &csv] {
        let inv = inventory::load(&[f.path().to_owned()], &[]).unwrap();
        assert_eq!(names(inv.targets()), ["web01"]);
    }
    assert_eq!(
        inventory::detect_format(Path::new("hosts"), "[web]\nweb01\n"),
        Format::Ini
    );
    assert_eq!(
        inventory::detect_format(Path::new("prod.yaml"), "web01\n"),
        Format::Yaml
    );
}

#[test]
fn malformed_file_fails_the_whole_load_with_file_and_line() {
    let f = temp_file(
        ".ini",
        "[web]\nweb01\nweb02 ansible_winrm_transprot=ntlm\nweb03\n",
    );
    let err = inventory::load(&[f.path().to_owned()], &[])
        .unwrap_err()
        .to_string();
    let file = f.path().display().to_string();
    assert_eq!(
        err,
        format!(
            "{file}:3: unknown host var 'ansible_winrm_transprot'; did you mean 'ansible_winrm_transport'?"
        )
    );
}

#[test]
fn unreadable_and_empty_inventories_are_errors() {
    let err = inventory::load(&[PathBuf::from("/nonexistent/prod.ini")], &[]).unwrap_err();
    assert!(matches!(err, InventoryError::Unreadable { .. }), "{err}");
    let empty = temp_file(".ini", "# nothing yet\n[web]\n");
    let err = inventory::load(&[empty.path().to_owned()], &[]).unwrap_err();
    assert!(matches!(err, InventoryError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("-t HOST[:PORT]"), "{err}");
    let err = inventory::load(&[], &[]).unwrap_err();
    assert!(matches!(err, InventoryError::Empty { .. }), "{err}");
}

#[test]
fn vault_password_in_ini_names_host_and_file() {
    let f = temp_file(
        ".ini",
        "[web]\nweb01 ansible_password='$ANSIBLE_VAULT;1.1;AES256'\n",
    );
    let err = inventory::load(&[f.path().to_owned()], &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains(&f.path().display().to_string()), "{err}");
    assert!(err.contains("host 'web01'"), "{err}");
    assert!(
        err.contains("Ansible Vault values cannot be read; set fleetscan_password_env=VAR instead"),
        "{err}"
    );
}

#[test]
fn unsupported_transport_is_kept_for_a_not_supported_yet_report() {
    let f = temp_file(".ini", "[sql]\nsql01 ansible_winrm_transport=credssp\n");
    let inv = inventory::load(&[f.path().to_owned()], &[]).unwrap();
    assert_eq!(
        inv.targets()[0].transport,
        Some(Transport::Unsupported("credssp".into()))
    );
}

#[test]
fn utf16_host_list_from_powershell_out_file_loads() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "web01\r\nweb02\r\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let mut f = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
    f.write_all(&bytes).unwrap();
    let inv = inventory::load(&[f.path().to_owned()], &[]).unwrap();
    assert_eq!(names(inv.targets()), ["web01", "web02"]);
}

#[test]
fn emulator_style_inventory_loads_with_scenarios_kept_as_vars() {
    // The shape `fleetscan emulate --inventory-out` writes (see CLI.md).
    let text = "# fleetscan emulated fleet: 2 hosts, https, ntlm.\n\
                [windows]\n\
                srv-0001 ansible_host=127.1.0.1 ansible_port=40001 ansible_winrm_scheme=https fleetscan_scenario=healthy fleetscan_fault=none\n\
                srv-0002 ansible_host=127.1.0.2 ansible_port=40002 ansible_winrm_scheme=https fleetscan_scenario=wsb_missing fleetscan_fault=hang\n\
                \n\
                [windows:vars]\n\
                ansible_connection=winrm\n\
                ansible_user=fleetscan\n\
                ansible_winrm_transport=ntlm\n\
                ansible_winrm_server_cert_validation=validate\n";
    let inv = inventory::parse_str(Format::Ini, text, "emulated.ini").unwrap();
    let t = target(&inv, "srv-0002");
    assert_eq!(t.address, "127.1.0.2");
    assert_eq!(t.port, Some(40002));
    assert_eq!(t.scheme, Some(Scheme::Https));
    assert_eq!(t.transport, Some(Transport::Ntlm));
    assert_eq!(t.user.as_deref(), Some("fleetscan"));
    assert_eq!(t.cert_validation, Some(CertValidation::Validate));
    assert_eq!(
        t.vars.get("fleetscan_scenario").map(String::as_str),
        Some("wsb_missing")
    );
    assert_eq!(
        t.vars.get("fleetscan_fault").map(String::as_str),
        Some("hang")
    );
    assert_eq!(
        t.vars.get("ansible_connection").map(String::as_str),
        Some("winrm")
    );
    assert_eq!(t.groups, ["windows"]);
}
