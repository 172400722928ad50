//! Command-line definitions (clap derive) for every subcommand of CLI.md.
//!
//! This module only says what can be typed and validates its shape; turning the
//! arguments into ready objects (inventory read, password obtained, patterns
//! compiled) happens in `main.rs` before the library runs. The library never sees
//! clap types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Scan a fleet of Windows servers over WinRM for System State backup readiness.
///
/// fleetscan reads an inventory, runs one read-only PowerShell program on every
/// server at once, judges the evidence, and writes one fleet report (CSV, JSON,
/// HTML, JUnit) of which servers are ready for System State backup with Windows
/// Server Backup and the Azure Backup (MARS) agent, which are not, and why.
#[derive(Debug, Parser)]
#[command(
    name = "fleetscan",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan the fleet and write the readiness report.
    Scan(ScanArgs),
    /// Run one ad-hoc command on every target and print each host's output.
    Run(RunArgs),
    /// Print the check catalogue.
    Checks(ChecksArgs),
    /// Re-render a saved JSON report in other formats.
    Report(ReportArgs),
    /// Compare two JSON reports: what got worse, what got fixed.
    Diff(DiffArgs),
    /// Serve an emulated fleet of Windows servers on loopback.
    Emulate(EmulateArgs),
    /// Scan a built-in emulated fleet and write reports to fleetscan-demo/.
    Demo(DemoArgs),
}

/// How to authenticate to WinRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// HTTP Basic (local accounts; HTTPS only unless --allow-unencrypted).
    Basic,
    /// Raw NTLM tokens in the Negotiate scheme.
    Ntlm,
    /// SPNEGO (NTLM inside; Kerberos is not supported yet).
    Negotiate,
}

/// Which WinRM listener to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// Port 5985; NTLM bodies are sealed (message encryption).
    Http,
    /// Port 5986; TLS verified against the platform roots and --ca-cert.
    Https,
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Who to scan: inventories, ad-hoc targets and a limit pattern.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Inventory file: plain list, CSV, Ansible INI or YAML (repeatable).
    ///
    /// The format follows the extension (.txt .csv .ini .yml .yaml), else the
    /// content.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventories: Vec<PathBuf>,
    /// Ad-hoc target HOST[:PORT] (repeatable); the port defaults by scheme.
    #[arg(short = 't', long = "target", value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,
    /// Only hosts matching an Ansible pattern (`web*`, `a:b`, `a:&b`, `a:!b`).
    #[arg(long, value_name = "PATTERN")]
    pub limit: Option<String>,
}

/// How to connect and authenticate.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// User name (`user`, `DOMAIN\user`, `user@domain`); inventory vars win per host.
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Environment variable that holds the password.
    #[arg(long, value_name = "VAR", default_value = "FLEETSCAN_PASSWORD")]
    pub password_env: String,
    /// File whose first line is the password (keep it mode 0600); wins over
    /// --password-env.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Authentication method.
    ///
    /// Basic is refused over plain HTTP unless --allow-unencrypted is given.
    #[arg(long, value_enum, default_value = "negotiate")]
    pub auth: AuthArg,
    /// WinRM listener scheme (inventory vars win per host).
    #[arg(long, value_enum, default_value = "http")]
    pub scheme: SchemeArg,
    /// WinRM port [default: 5985 for http, 5986 for https].
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// PEM file of CA certificates to trust besides the platform roots.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify server certificates (test labs only).
    #[arg(long)]
    pub insecure: bool,
    /// Allow Basic auth over plain HTTP (sends the password unencrypted).
    #[arg(long)]
    pub allow_unencrypted: bool,
}

/// How many hosts at once and how long each may take.
#[derive(Debug, Clone, Args)]
pub struct FanOutArgs {
    /// Hosts scanned at the same time.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Wall-clock deadline per host (e.g. 120s, 5m); always holds.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Deadline for the TCP connect (and TLS handshake) to one host.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Retries for transient failures (connect timeout, reset, HTTP 503, shell quota).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub retries: u32,
}

/// Logging and progress.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `fleetscan scan`.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    /// Only checks whose id matches one of these globs (comma-separated).
    #[arg(long, value_name = "GLOB,…", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Leave out checks whose id matches one of these globs (comma-separated).
    #[arg(long, value_name = "GLOB,…", value_delimiter = ',')]
    pub skip_checks: Vec<String>,
    /// Also run the heavy checks (backup sets, VSS writers, MARS jobs).
    #[arg(long)]
    pub deep: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub fan_out: FanOutArgs,
    /// Write the compliance CSV (one row per host and check).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the whole report as JSON (input of `report` and `diff`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a one-file HTML dashboard.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write JUnit XML (one testsuite per host).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Journal: one JSON line per finished host, flushed as it finishes.
    ///
    /// Default: `fleetscan-journal.jsonl` next to the first report file, or in the
    /// current directory.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Waiver file (YAML or CSV): host pattern, check id, justification, expiry.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Override a threshold, e.g. `--set clock_skew_warn_seconds=60` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputArgs,
}

/// Output format of `fleetscan run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// Each output line prefixed by the host name.
    Text,
    /// One JSON object per host.
    Json,
    /// One CSV record per host.
    Csv,
}

/// `fleetscan run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub fan_out: FanOutArgs,
    /// Run the command as a PowerShell script instead of a cmd command line.
    #[arg(long)]
    pub powershell: bool,
    /// How to print the results.
    #[arg(long, value_enum, default_value = "text")]
    pub format: RunFormat,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputArgs,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Output format of `fleetscan checks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksFormat {
    /// An aligned text table.
    Table,
    /// A JSON array.
    Json,
}

/// `fleetscan checks`.
#[derive(Debug, Clone, Args)]
pub struct ChecksArgs {
    /// How to print the catalogue.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ChecksFormat,
    /// Include the heavy checks that run only with `scan --deep`.
    #[arg(long)]
    pub deep: bool,
}

/// `fleetscan report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A JSON report written by `scan --json`.
    #[arg(long, value_name = "SCAN.json")]
    pub from: PathBuf,
    /// Write the compliance CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the HTML dashboard.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Output format of `fleetscan diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Readable text.
    Text,
    /// One JSON object.
    Json,
}

/// `fleetscan diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The older JSON report.
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    /// The newer JSON report.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// How to print the differences.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
}

/// Auth the emulated hosts offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmulateAuth {
    /// Basic (and Negotiate, as a Windows host with AllowBasic=true offers).
    Basic,
    /// Negotiate/NTLM only, as a default Windows host.
    Ntlm,
}

/// `fleetscan emulate`.
#[derive(Debug, Clone, Args)]
pub struct EmulateArgs {
    /// Number of emulated hosts.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub hosts: usize,
    /// Scenario for every host, or `mixed` to draw scenarios and faults.
    #[arg(long, value_name = "NAME|mixed", default_value = "healthy")]
    pub scenario: String,
    /// Seed for `mixed`: the same seed draws the same fleet.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Auth the hosts offer.
    #[arg(long, value_enum, default_value = "ntlm")]
    pub auth: EmulateAuth,
    /// Serve HTTPS (port 5986) with a certificate made at start.
    #[arg(long)]
    pub tls: bool,
    /// Give each host its own loopback address from this range, e.g. 127.1.0.0/16.
    #[arg(long, value_name = "CIDR", conflicts_with = "base_port")]
    pub bind: Option<String>,
    /// Serve every host on 127.0.0.1, one port each from P upward.
    #[arg(long, value_name = "P")]
    pub base_port: Option<u16>,
    /// Delay added to every HTTP exchange (e.g. 10ms).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub latency: Duration,
    /// Time from Command to Done for the probe program (e.g. 1s).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub ps_runtime: Duration,
    /// Write the fleet's Ansible INI inventory here.
    #[arg(long, value_name = "FILE")]
    pub inventory_out: Option<PathBuf>,
    /// With --tls: write the CA certificate (PEM) here, for `scan --ca-cert`.
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
}

/// `fleetscan demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Where to write the reports.
    #[arg(long, value_name = "DIR", default_value = "fleetscan-demo")]
    pub out_dir: PathBuf,
    /// Number of emulated hosts.
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub hosts: usize,
}

/// Parses `120s`, `5m`, `1h 30m`, `250ms`, or a bare number of seconds.
///
/// # Errors
/// Returns a message naming the text and the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("'{text}' is not a duration ({e}); use e.g. 90s, 2m, 500ms"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_cli_md_subcommand_is_declared() {
        let cmd = Cli::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for want in ["scan", "run", "checks", "report", "diff", "emulate", "demo"] {
            assert!(names.contains(&want), "missing subcommand {want}");
        }
    }

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn scan_defaults_follow_cli_md() {
        let cli = Cli::try_parse_from(["fleetscan", "scan", "-t", "web01"]).unwrap();
        let Command::Scan(scan) = cli.command else {
            panic!("not scan")
        };
        assert_eq!(scan.fan_out.concurrency, 64);
        assert_eq!(scan.fan_out.timeout, Duration::from_secs(120));
        assert_eq!(scan.fan_out.retries, 1);
        assert_eq!(scan.connect.auth, AuthArg::Negotiate);
        assert_eq!(scan.connect.password_env, "FLEETSCAN_PASSWORD");
    }

    #[test]
    fn run_takes_the_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "fleetscan",
            "run",
            "-t",
            "h",
            "--",
            "cmd",
            "/c",
            "echo",
            "hi",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.command, ["cmd", "/c", "echo", "hi"]);
    }
}
