//! `fleetscan emulate`: serve an emulated Windows fleet on loopback until
//! SIGINT/SIGTERM, with its inventory (and CA with `--tls`) written for scans.

use std::io::Write as _;
use std::net::Ipv4Addr;

use anyhow::{Context as _, bail};
use fleetscan::cli::{EmulateArgs, EmulateAuth};
use fleetscan::emulator::scenario::Scenario;
use fleetscan::emulator::{Addressing, EmuAuth, FleetSpec, RunningFleet};
use secrecy::SecretString;

/// The variable holding the emulated account's password (CLI.md).
const PASSWORD_ENV: &str = "FLEETSCAN_PASSWORD";

/// Runs `fleetscan emulate` and returns the process exit code.
pub(crate) fn run(args: EmulateArgs) -> anyhow::Result<u8> {
    let spec = spec_from_args(&args)?;
    let runtime = super::common::runtime()?;
    runtime.block_on(serve(args, spec))
}

async fn serve(args: EmulateArgs, spec: FleetSpec) -> anyhow::Result<u8> {
    let scenario_label = args.scenario.clone();
    let fleet = RunningFleet::start(spec).await?;
    if let Some(path) = &args.inventory_out {
        std::fs::write(path, fleet.inventory_ini())
            .with_context(|| format!("cannot write the inventory to {}", path.display()))?;
    }
    if let Some(path) = &args.ca_out {
        match &fleet.ca_pem {
            Some(pem) => std::fs::write(path, pem).with_context(|| {
                format!("cannot write the CA certificate to {}", path.display())
            })?,
            None => eprintln!(
                "fleetscan: --ca-out {} ignored: the fleet serves plain HTTP (add --tls)",
                path.display()
            ),
        }
    }
    // Watch the signals before saying "ready": a supervisor may stop us the moment it
    // reads that line, and an unwatched SIGTERM would kill the process instead.
    let signals = Signals::watch()?;
    let line = ready_line(&fleet, &scenario_label);
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head -1`) must not stop the fleet.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);

    signals.wait().await;
    fleet.shutdown().await;
    Ok(0)
}

/// `ready: N hosts on 127.1.0.1-127.1.0.10 port 5985 (http, ntlm, scenario healthy)`.
fn ready_line(fleet: &RunningFleet, scenario: &str) -> String {
    let n = fleet.hosts.len();
    let place = match (fleet.hosts.first(), fleet.hosts.last()) {
        (Some(first), Some(last)) if first.addr.ip() == last.addr.ip() => {
            let consecutive = usize::from(last.addr.port())
                .checked_sub(usize::from(first.addr.port()))
                == Some(n - 1);
            if n == 1 {
                format!("{}", first.addr)
            } else if consecutive {
                format!(
                    "{} ports {}-{}",
                    first.addr.ip(),
                    first.addr.port(),
                    last.addr.port()
                )
            } else {
                format!("{} ephemeral ports (see the inventory)", first.addr.ip())
            }
        }
        (Some(first), Some(last)) if first.addr.port() == last.addr.port() => format!(
            "{}-{} port {}",
            first.addr.ip(),
            last.addr.ip(),
            first.addr.port()
        ),
        (Some(first), Some(last)) => format!("{}-{}", first.addr, last.addr),
        _ => "nothing".to_owned(),
    };
    let auth = match fleet.auth {
        EmuAuth::Basic => "basic",
        EmuAuth::Ntlm => "ntlm",
    };
    format!(
        "ready: {n} hosts on {place} ({}, {auth}, scenario {scenario})",
        fleet.scheme()
    )
}

fn spec_from_args(args: &EmulateArgs) -> anyhow::Result<FleetSpec> {
    if args.hosts == 0 {
        bail!("--hosts must be at least 1");
    }
    let mut spec = if args.scenario.eq_ignore_ascii_case("mixed") {
        FleetSpec::mixed(args.hosts, args.seed)
    } else {
        let scenario = Scenario::from_name(&args.scenario).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut s = FleetSpec::uniform(args.hosts, scenario);
        s.seed = args.seed;
        s
    };
    spec.auth = match args.auth {
        EmulateAuth::Basic => EmuAuth::Basic,
        EmulateAuth::Ntlm => EmuAuth::Ntlm,
    };
    spec.tls = args.tls;
    spec.latency = args.latency;
    spec.ps_runtime = args.ps_runtime;
    let default_port = if args.tls { 5986 } else { 5985 };
    spec.addressing = match (&args.bind, args.base_port) {
        (_, Some(base_port)) => Addressing::Ports {
            ip: Ipv4Addr::LOCALHOST,
            base_port,
        },
        (Some(cidr), None) => Addressing::Loopback {
            first: first_address(cidr, args.hosts)?,
            port: default_port,
        },
        (None, None) => Addressing::Loopback {
            first: Ipv4Addr::new(127, 1, 0, 1),
            port: default_port,
        },
    };
    if let Ok(pw) = std::env::var(PASSWORD_ENV) {
        spec.password = SecretString::from(pw);
    }
    Ok(spec)
}

/// The first host address of `127.1.0.0/16` (127.1.0.1), or the address itself
/// when no prefix is given; checks that `hosts` addresses fit in the range.
fn first_address(cidr: &str, hosts: usize) -> anyhow::Result<Ipv4Addr> {
    let (ip, prefix) = match cidr.split_once('/') {
        Some((ip, p)) => (
            ip,
            p.parse::<u8>()
                .ok()
                .filter(|p| *p <= 32)
                .with_context(|| format!("--bind {cidr}: '{p}' is not a prefix length 0-32"))?,
        ),
        None => (cidr, 32),
    };
    let ip: Ipv4Addr = ip
        .trim()
        .parse()
        .with_context(|| format!("--bind {cidr}: '{ip}' is not an IPv4 address"))?;
    if ip.octets()[0] != 127 || prefix < 8 {
        bail!("--bind {cidr}: the emulator only listens inside 127.0.0.0/8 (e.g. 127.1.0.0/16)");
    }
    if prefix == 32 {
        return Ok(ip);
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    let network = u32::from(ip) & mask;
    let size = 1u64 << (32 - u32::from(prefix));
    // Skip the network address, as a host range would.
    let first = if u32::from(ip) == network {
        network + 1
    } else {
        u32::from(ip)
    };
    let used = u64::from(first - network) + hosts as u64;
    if used > size {
        bail!(
            "--bind {cidr} holds {} host addresses from {}; {hosts} hosts need a larger range (e.g. /16)",
            size.saturating_sub(u64::from(first - network)),
            Ipv4Addr::from(first)
        );
    }
    Ok(Ipv4Addr::from(first))
}

/// Waits for SIGINT or SIGTERM.
/// SIGINT and SIGTERM, watched from the moment [`Signals::watch`] returns.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn watch() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            // Both recv() futures are cancel safe: a signal not taken stays queued.
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_cidr_starts_after_the_network_address() {
        assert_eq!(
            first_address("127.1.0.0/16", 10).expect("fits"),
            Ipv4Addr::new(127, 1, 0, 1)
        );
        assert_eq!(
            first_address("127.2.3.4", 10).expect("fits"),
            Ipv4Addr::new(127, 2, 3, 4)
        );
        assert!(first_address("127.1.0.0/24", 300).is_err());
        assert!(first_address("10.0.0.0/16", 1).is_err());
        assert!(first_address("127.1.0.0/x", 1).is_err());
    }
}
