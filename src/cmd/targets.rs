//! Turning the shared target, connection and fan-out flags into what the library
//! needs: the selected hosts with credentials, the WinRM client, fan-out limits.
//! Everything here runs before the first connection, so a bad inventory, limit,
//! password source or CA file stops the run with exit code 2.

use anyhow::Context;
use fleetscan::cli::{AuthArg, ConnectArgs, FanOutArgs, SchemeArg, TargetArgs};
use fleetscan::credentials::{CredentialResolver, PasswordSource};
use fleetscan::inventory::{self, Scheme};
use fleetscan::scan::{AuthChoice, Defaults, FanOutOptions, HostPlan};
use fleetscan::winrm;

/// The hosts to scan, resolved, and where they came from.
pub(crate) struct Selected {
    /// One plan per host, in inventory order.
    pub(crate) hosts: Vec<HostPlan>,
    /// Inventory files and `-t` targets, for the report's metadata.
    pub(crate) sources: Vec<String>,
}

/// Reads the inventories and `-t` targets, applies `--limit`, and resolves every
/// host's connection settings and credentials.
pub(crate) fn select(targets: &TargetArgs, connect: &ConnectArgs) -> anyhow::Result<Selected> {
    if targets.inventories.is_empty() && targets.targets.is_empty() {
        anyhow::bail!(
            "no hosts given; name an inventory with -i FILE or a host with -t HOST[:PORT]"
        );
    }
    let inventory = inventory::load(&targets.inventories, &targets.targets)?;
    let chosen = inventory.select(targets.limit.as_deref())?;
    let mut sources: Vec<String> = targets
        .inventories
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    sources.extend(targets.targets.iter().map(|t| format!("target:{t}")));

    let source = PasswordSource::choose(&connect.password_env, connect.password_file.as_deref());
    // Lazy: an inventory whose every host names its own password variable needs no
    // default password; every host is resolved here, before any connection.
    let mut resolver = CredentialResolver::lazy(connect.user.clone(), source);
    let defaults = Defaults {
        scheme: match connect.scheme {
            SchemeArg::Http => Scheme::Http,
            SchemeArg::Https => Scheme::Https,
        },
        port: connect.port,
        auth: match connect.auth {
            AuthArg::Basic => AuthChoice::Basic,
            AuthArg::Ntlm => AuthChoice::Ntlm,
            AuthArg::Negotiate => AuthChoice::Negotiate,
        },
        insecure: connect.insecure,
        allow_unencrypted: connect.allow_unencrypted,
    };
    let hosts = fleetscan::scan::resolve(chosen, &defaults, |t| {
        t.credentials(&mut resolver).map_err(|e| e.to_string())
    })?;
    Ok(Selected { hosts, sources })
}

/// Output one host may send before it is cut off as a protocol error. The probe
/// program prints about 50 KB; 16 MiB leaves room for `run` and stops a host that
/// floods the jump host.
pub(crate) const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// The WinRM client shared by every host (one TLS configuration).
pub(crate) fn client(connect: &ConnectArgs, fan_out: &FanOutArgs) -> anyhow::Result<winrm::Client> {
    let opts = winrm::ClientOptions {
        connect_timeout: fan_out.connect_timeout,
        extra_ca_pem: connect.ca_cert.clone(),
        insecure: connect.insecure,
        allow_unencrypted: connect.allow_unencrypted,
        max_output_bytes: MAX_OUTPUT_BYTES,
        ..winrm::ClientOptions::default()
    };
    winrm::Client::new(opts).context("setting up the WinRM client")
}

/// The fan-out limits from the flags.
pub(crate) fn fan_out(args: &FanOutArgs) -> FanOutOptions {
    FanOutOptions {
        concurrency: usize::try_from(args.concurrency).unwrap_or(usize::MAX),
        host_timeout: args.timeout,
        retries: args.retries,
        ..FanOutOptions::default()
    }
}
