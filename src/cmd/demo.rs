//! `fleetscan demo`: serve a small emulated fleet in-process, scan it exactly as
//! `fleetscan scan` would (inventory file, NTLM with sealing over HTTP, the full
//! check catalogue), write the reports to `fleetscan-demo/` and print the summary.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fleetscan::cli::DemoArgs;
use fleetscan::credentials::CredentialResolver;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{Fault, FleetSpec, RunningFleet};
use fleetscan::inventory;
use fleetscan::probes::{Program, Selection, Settings};
use fleetscan::report::OutputPaths;
use fleetscan::scan::{
    self, AuthChoice, Defaults, FanOutOptions, Journal, ProgressMode, ScanRequest, WinrmRemote,
};
use fleetscan::winrm::{self, PreparedCommand, PreparedScript};
use secrecy::SecretString;

use super::{common, targets};

/// The demo's per-host deadline: short, so the hanging host shows `timeout`
/// without making anyone wait.
const DEMO_TIMEOUT: Duration = Duration::from_secs(4);

/// Runs `fleetscan demo`.
pub(crate) fn run(args: DemoArgs) -> anyhow::Result<u8> {
    let out_dir = &args.out_dir;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}; pass --out-dir DIR", out_dir.display()))?;
    let rt = common::runtime()?;
    rt.block_on(async {
        let spec = demo_fleet(args.hosts.max(1));
        let password = SecretString::from("fleetscan".to_owned());
        let fleet = RunningFleet::start(FleetSpec { password: password.clone(), ..spec })
            .await
            .context("starting the emulated fleet")?;
        println!(
            "demo: {} emulated Windows servers on 127.0.0.1 (NTLM with message sealing over HTTP)",
            fleet.hosts.len()
        );

        // Scan it the way a user scans a real fleet: through an inventory file.
        let inventory_path = out_dir.join("inventory.ini");
        std::fs::write(&inventory_path, fleet.inventory_ini())
            .with_context(|| format!("cannot write {}", inventory_path.display()))?;
        let inventory = inventory::load(std::slice::from_ref(&inventory_path), &[])?;
        let mut resolver = CredentialResolver::new(Some(fleet.user.clone()), password);
        let defaults = Defaults {
            scheme: inventory::Scheme::Http,
            port: None,
            auth: AuthChoice::Negotiate,
            insecure: false,
            allow_unencrypted: false,
        };
        let hosts = scan::resolve(inventory.targets().to_vec(), &defaults, |t| {
            t.credentials(&mut resolver).map_err(|e| e.to_string())
        })?;

        let program = Program::assemble(&Selection::all(false))?;
        let command = PreparedCommand::PowerShell(Arc::new(PreparedScript::new(program.script())));
        let client = winrm::Client::new(winrm::ClientOptions {
            max_output_bytes: targets::MAX_OUTPUT_BYTES,
            ..winrm::ClientOptions::default()
        })?;
        let scan_id = uuid::Uuid::new_v4().to_string();
        let journal = Journal::create(&out_dir.join("journal.jsonl"), &scan_id)?;
        let request = ScanRequest {
            scan_id,
            hosts,
            program: Arc::new(program),
            settings: Arc::new(Settings::default()),
            fan_out: FanOutOptions {
                concurrency: 32,
                host_timeout: DEMO_TIMEOUT,
                retries: 0,
                cleanup: Duration::from_secs(1),
                ..FanOutOptions::default()
            },
            inventory_files: vec![inventory_path.display().to_string()],
            journal: Some(journal),
            progress: ProgressMode::detect(false),
        };
        let scanned = scan::scan_fleet(
            Arc::new(WinrmRemote::new(client, command)),
            request,
            common::cancel_on_signals(),
        )
        .await;
        fleet.shutdown().await;

        let outputs = OutputPaths {
            csv: Some(out_dir.join("report.csv")),
            json: Some(out_dir.join("report.json")),
            html: Some(out_dir.join("report.html")),
            junit: Some(out_dir.join("junit.xml")),
        };
        scanned.write_files(&outputs)?;
        common::print_stdout(&scanned.summary(std::io::stdout().is_terminal()));
        println!(
            "\nReports: {dir}/report.csv, report.json, report.html, junit.xml (inventory: {dir}/inventory.ini).\n\
             A real scan of this fleet would exit {code}. Try: fleetscan scan -i YOUR_INVENTORY --csv out.csv",
            dir = out_dir.display(),
            code = scanned.exit_status().code()
        );
        Ok(0)
    })
}

/// A fleet that shows every kind of result: each scenario once (healthy ones in
/// between), and three hosts that cannot be scanned (refused, wrong password,
/// hanging).
fn demo_fleet(n: usize) -> FleetSpec {
    let mut spec = FleetSpec::uniform(n, Scenario::Healthy);
    let others = Scenario::ALL
        .into_iter()
        .filter(|s| *s != Scenario::Healthy);
    for (host, scenario) in spec.hosts.iter_mut().skip(1).zip(others) {
        host.scenario = scenario;
    }
    let faults = [Fault::Refuse, Fault::AuthReject, Fault::Hang];
    for (host, fault) in spec.hosts.iter_mut().rev().zip(faults) {
        host.fault = Some(fault);
        host.scenario = Scenario::Healthy;
    }
    spec
}
