//! The binary's command-line contract (CLI.md): help, version, every subcommand.

use std::process::Command;

fn fleetscan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .args(args)
        .output()
        .expect("run fleetscan")
}

#[test]
fn help_lists_every_subcommand_of_cli_md() {
    let out = fleetscan(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["scan", "run", "checks", "report", "diff", "emulate", "demo"] {
        assert!(text.contains(sub), "--help does not list {sub}:\n{text}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let out = fleetscan(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_flag_is_a_usage_error_with_exit_2() {
    let out = fleetscan(&["scan", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_tokio_worker_threads_is_a_usage_error_naming_it_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().to_string_lossy().into_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetscan"))
        .args(["demo", "--out-dir", &out_dir])
        .env("TOKIO_WORKER_THREADS", "abc")
        .output()
        .expect("run fleetscan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TOKIO_WORKER_THREADS=\"abc\""), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
