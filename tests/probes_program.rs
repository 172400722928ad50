//! The assembled probe program: parses as PowerShell, stays read-only and ASCII, and
//! carries one marker per probe.

use fleetscan::probes::{PROBE_MARKER, Program, Selection, catalogue};

fn deep_program() -> Program {
    Program::assemble(&Selection::all(true)).expect("every check assembles")
}

fn syntax_errors(text: &str) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("grammar loads");
    let tree = parser.parse(text, None).expect("parser returns a tree");
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            out.push(format!(
                "{} at line {}: {}",
                node.kind(),
                p.row + 1,
                text.lines().nth(p.row).unwrap_or("")
            ));
        }
        stack.extend(node.children(&mut cursor));
    }
    out
}

#[test]
fn assembled_program_parses_without_error_or_missing_nodes() {
    for deep in [false, true] {
        let prog = Program::assemble(&Selection::all(deep)).expect("assembles");
        let errors = syntax_errors(prog.script());
        assert!(errors.is_empty(), "deep={deep}: {errors:#?}");
    }
}

#[test]
fn tree_sitter_check_catches_a_broken_script() {
    // Guards the guard: the walk above must see errors when there are some.
    assert!(!syntax_errors("try { $x = @( } catch {").is_empty());
}

/// Lower-cased words made of letters, digits, `-` and `_`.
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn forbidden_in(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    let verb_prefixes = [
        "set-",
        "install-",
        "enable-",
        "disable-",
        "stop-",
        "restart-",
        "remove-",
        "clear-",
        "uninstall-",
        "register-",
        "unregister-",
        "update-",
    ];
    for (n, line) in script.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        let ws = words(line);
        for w in &ws {
            let bad = verb_prefixes
                .iter()
                .any(|p| w.starts_with(p) && w.len() > p.len())
                || (w.starts_with("start-") && w != "start-sleep")
                || (w.starts_with("new-") && w != "new-object")
                || w == "add-type"
                || w == "win32_product"
                || w == "invoke-expression"
                || w == "iex";
            if bad {
                found.push(format!("line {}: {w}", n + 1));
            }
        }
        if lower.contains("wbadmin") && ws.iter().any(|w| w == "start" || w == "delete") {
            found.push(format!("line {}: wbadmin start/delete", n + 1));
        }
        if lower.contains("vssadmin")
            && ws
                .iter()
                .any(|w| ["create", "delete", "resize", "revert", "add"].contains(&w.as_str()))
        {
            found.push(format!("line {}: vssadmin write verb", n + 1));
        }
    }
    found
}

#[test]
fn assembled_program_is_read_only() {
    let found = forbidden_in(deep_program().script());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn read_only_check_catches_forbidden_verbs() {
    for bad in [
        "Set-Service -Name VSS -StartupType Manual",
        "start-service vss",
        "Restart-Service obengine",
        "Install-WindowsFeature Windows-Server-Backup",
        "& wbadmin.exe START systemstatebackup",
        "RunExe 'vssadmin.exe' 'Resize ShadowStorage /For=C:'",
        "Get-CimInstance Win32_Product",
        "Add-Type -TypeDefinition $x",
        "New-Item -Path C:\\x",
        "Enable-PSRemoting",
    ] {
        assert!(!forbidden_in(bad).is_empty(), "{bad}");
    }
    assert!(
        forbidden_in("New-Object System.Text.StringBuilder; Start-Sleep -Seconds 1; $e.Set()")
            .is_empty()
    );
}

#[test]
fn assembled_program_is_ascii() {
    let prog = deep_program();
    if let Some((i, c)) = prog.script().char_indices().find(|(_, c)| !c.is_ascii()) {
        panic!("non-ASCII {c:?} at byte {i}");
    }
}

#[test]
fn one_marker_per_probe_in_run_order() {
    let prog = deep_program();
    let markers: Vec<&str> = prog
        .script()
        .lines()
        .filter_map(|l| l.strip_prefix(PROBE_MARKER))
        .collect();
    assert_eq!(markers, prog.probe_ids());
    for c in catalogue() {
        assert!(markers.contains(&c.probe), "{} has its probe", c.id);
    }
}

#[test]
fn catalogue_has_every_check_of_the_issue() {
    let wanted = [
        "host.context",
        "os.supported_sku",
        "mars.installed",
        "mars.version",
        "mars.service_running",
        "net.mars_endpoints",
        "net.tls12",
        "mars.scratch_config",
        "mars.scratch_free_space",
        "av.exclusions_and_conflicts",
        "sched.mars_tasks",
        "sched.powershell_env",
        "os.updates_recent",
        "vol.unsupported_sources",
        "time.clock_timezone",
        "dotnet.version",
        "mars.registration",
        "offline.azure_powershell",
        "azure.vm_detect",
        "limit.azure_vm_system_state",
        "limit.restore_hardware",
        "wsb.feature_installed",
        "acl.svi_system_full_control",
        "svc.rpcss_startup",
        "svc.eventsystem_startup",
        "svc.sens_startup",
        "svc.vss_startup",
        "svc.swprv_startup",
        "wsb.cmdlets_available",
        "wsb.last_job",
        "wsb.summary",
        "wsb.backup_sets",
        "wsb.event_history",
        "sysstate.service_imagepaths",
        "vss.writers",
        "vss.writer_timeout_events",
        "vss.resource_pressure",
        "vss.shadow_storage",
        "vss.volsnap_events",
        "efi.esp_lock",
        "mars.policy_and_jobs",
        "mars.cloudbackup_events",
    ];
    let ids: Vec<&str> = catalogue().iter().map(|c| c.id).collect();
    for id in wanted {
        assert!(ids.contains(&id), "{id} missing");
    }
    let heavy: Vec<&str> = catalogue()
        .iter()
        .filter(|c| c.is_heavy())
        .map(|c| c.id)
        .collect();
    assert_eq!(
        heavy,
        ["wsb.backup_sets", "vss.writers", "mars.policy_and_jobs"]
    );
}

#[test]
fn program_size_stays_within_the_transport_budget() {
    // gzip+base64 env chunks of 8000 characters: keep the text well under 200 kB.
    let shallow = Program::assemble(&Selection::all(false)).expect("assembles");
    let deep = deep_program();
    println!(
        "program bytes: deep off {}, deep on {}",
        shallow.script().len(),
        deep.script().len()
    );
    assert!(shallow.script().len() < deep.script().len());
    assert!(deep.script().len() < 200_000, "{}", deep.script().len());
}

#[test]
fn program_writes_each_flush_as_one_gzip_base64_line_behind_the_batch_marker() {
    let script = deep_program().script().to_owned();
    // The marker the client looks for, written before the base64 of the gzip.
    assert!(
        script.contains(&format!(
            "'{}' + [Convert]::ToBase64String($ms.ToArray())",
            fleetscan::probes::BATCH_MARKER
        )),
        "batch line not written with the client's marker"
    );
    // Compressing, and closing the GZipStream before reading the MemoryStream:
    // otherwise the last block and the trailer are missing.
    let compress = script
        .find("New-Object System.IO.Compression.GZipStream -ArgumentList $ms, ([System.IO.Compression.CompressionMode]::Compress)")
        .expect("gzip stream");
    let close = script.find("$gz.Dispose()").expect("closed");
    let read = script.find("$ms.ToArray()").expect("read");
    assert!(compress < close && close < read);
    // Both the flusher runspace and the final drain write through the one writer.
    assert!(script.contains("$writeBatch = [scriptblock]::Create($WriteBatchText)"));
    assert!(script.contains("AddArgument($script:FsWriteBatchText)"));
    assert!(script.contains("function FsDrain { & $script:FsWriteBatch $script:FsQueue }"));
    // Output goes through [Console]::Out only: never wrapped to the host's width.
    let formatted: Vec<&str> = script
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter(|l| l.contains("Write-Output") || l.contains("Write-Host"))
        .collect();
    assert!(formatted.is_empty(), "{formatted:#?}");
}
