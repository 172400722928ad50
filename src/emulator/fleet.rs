//! The fleet: what to emulate ([`FleetSpec`]), starting one listener per host,
//! the inventory of what runs ([`RunningFleet::inventory_ini`]), and shutdown.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::EmulatorError;
use super::faults::Fault;
use super::scenario::Scenario;
use super::server::{FleetShared, HostServer, serve};
use super::tls;

/// One host to emulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// Host name (as `hostname` prints it and the inventory lists it).
    pub name: String,
    /// The modelled Windows state.
    pub scenario: Scenario,
    /// A misbehaviour on the wire or in the program, if any.
    pub fault: Option<Fault>,
}

/// The authentication the hosts offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmuAuth {
    /// Basic and Negotiate (a host with `Auth/Basic=true`; over HTTP it also
    /// models `AllowUnencrypted=true`, the usual lab set-up that Basic needs).
    Basic,
    /// Negotiate/NTLM only, `AllowUnencrypted=false`: a default Windows host.
    Ntlm,
}

/// Where the hosts listen. Only 127.0.0.0/8 is ever used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// Host `i` listens on `first + i` (127.1.0.1, 127.1.0.2, …), all on `port`
    /// (`0`: an ephemeral port per host).
    Loopback {
        /// Address of the first host.
        first: Ipv4Addr,
        /// Port of every host; `0` picks one per host.
        port: u16,
    },
    /// Every host on `ip`, host `i` on port `base_port + i` (`0`: ephemeral ports).
    Ports {
        /// The shared address.
        ip: Ipv4Addr,
        /// Port of the first host; `0` picks one per host.
        base_port: u16,
    },
}

/// What to emulate.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// The hosts, in order.
    pub hosts: Vec<HostSpec>,
    /// Authentication offered.
    pub auth: EmuAuth,
    /// HTTPS with a certificate made at start (else HTTP with message sealing).
    pub tls: bool,
    /// Where hosts listen.
    pub addressing: Addressing,
    /// Delay added to every HTTP exchange.
    pub latency: Duration,
    /// Time from Command to Done for PowerShell programs.
    pub ps_runtime: Duration,
    /// The account the hosts accept.
    pub user: String,
    /// Its password.
    pub password: SecretString,
    /// Seed of the per-host variation of the modelled state.
    pub seed: u64,
}

/// Host names: `win0001`, `win0002`, …
fn host_name(i: usize, n: usize) -> String {
    let width = n.to_string().len().max(4);
    format!("win{:0width$}", i + 1)
}

impl FleetSpec {
    fn with_hosts(hosts: Vec<HostSpec>, seed: u64) -> FleetSpec {
        FleetSpec {
            hosts,
            auth: EmuAuth::Ntlm,
            tls: false,
            addressing: Addressing::Ports {
                ip: Ipv4Addr::LOCALHOST,
                base_port: 0,
            },
            latency: Duration::ZERO,
            ps_runtime: Duration::ZERO,
            user: "fleetscan".to_owned(),
            password: SecretString::from("fleetscan".to_owned()),
            seed,
        }
    }

    /// `n` fault-free hosts of one scenario: NTLM over HTTP, ephemeral ports on
    /// 127.0.0.1, user and password `fleetscan`, no latency, seed 1.
    pub fn uniform(n: usize, scenario: Scenario) -> FleetSpec {
        let hosts = (0..n)
            .map(|i| HostSpec {
                name: host_name(i, n),
                scenario,
                fault: None,
            })
            .collect();
        FleetSpec::with_hosts(hosts, 1)
    }

    /// `n` hosts with scenarios and faults drawn from `seed` (same seed, same
    /// fleet). Most hosts are healthy and fault-free; from 50 hosts on every fault
    /// kind is present at least once. Other settings as in [`FleetSpec::uniform`].
    pub fn mixed(n: usize, seed: u64) -> FleetSpec {
        let mut rng = fastrand::Rng::with_seed(seed);
        let others: Vec<Scenario> = Scenario::ALL
            .into_iter()
            .filter(|s| *s != Scenario::Healthy)
            .collect();
        let mut hosts: Vec<HostSpec> = (0..n)
            .map(|i| {
                let scenario = if rng.f32() < 0.4 || others.is_empty() {
                    Scenario::Healthy
                } else {
                    others[rng.usize(..others.len())]
                };
                HostSpec {
                    name: host_name(i, n),
                    scenario,
                    fault: None,
                }
            })
            .collect();
        let every_fault = n >= Fault::ALL.len() * 5;
        let rate = if every_fault { 0.03 } else { 0.1 };
        for h in hosts.iter_mut() {
            if rng.f32() < rate {
                h.fault = Some(Fault::ALL[rng.usize(..Fault::ALL.len())]);
            }
        }
        if every_fault {
            let mut slots: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut slots);
            for (fault, slot) in Fault::ALL.into_iter().zip(slots) {
                if let Some(h) = hosts.get_mut(slot) {
                    h.fault = Some(fault);
                }
            }
        }
        FleetSpec::with_hosts(hosts, seed)
    }
}

/// One host as it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningHost {
    /// Host name.
    pub name: String,
    /// Where it listens (for `refuse`, where nothing listens).
    pub addr: SocketAddr,
    /// Its scenario.
    pub scenario: Scenario,
    /// Its fault.
    pub fault: Option<Fault>,
}

/// A started fleet. Dropping it stops the hosts too; [`RunningFleet::shutdown`]
/// also waits for them.
#[derive(Debug)]
pub struct RunningFleet {
    /// The hosts, in the order of the spec.
    pub hosts: Vec<RunningHost>,
    /// The CA certificate (PEM) that signed the hosts' certificate, with TLS.
    pub ca_pem: Option<String>,
    /// Whether the hosts speak HTTPS.
    pub tls: bool,
    /// Authentication offered.
    pub auth: EmuAuth,
    /// The account the hosts accept.
    pub user: String,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// File descriptors kept free besides one listener per host.
const SPARE_FILES: u64 = 256;

impl RunningFleet {
    /// Binds every host's listener and starts serving. Returns once every host
    /// listens. Raises the soft `RLIMIT_NOFILE` towards the hard limit when the
    /// fleet needs more descriptors.
    ///
    /// # Errors
    /// [`EmulatorError`]: an address outside 127.0.0.0/8 or past its end, a port in
    /// use, too few file descriptors, or the certificate could not be made.
    pub async fn start(spec: FleetSpec) -> Result<RunningFleet, EmulatorError> {
        let n = spec.hosts.len();
        let needed = n as u64 + SPARE_FILES;
        let limit = rlimit::increase_nofile_limit(needed).unwrap_or(needed);
        if limit < n as u64 + 16 {
            return Err(EmulatorError::TooFewFiles {
                hosts: n,
                needed,
                limit,
            });
        }
        let addrs = plan_addresses(&spec)?;
        let tls = if spec.tls {
            let names: Vec<String> = spec.hosts.iter().map(|h| h.name.clone()).collect();
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            Some(tls::make(&names, &ips)?)
        } else {
            None
        };
        let shared = Arc::new(FleetShared {
            auth: spec.auth,
            user: spec.user.clone(),
            password: spec.password.clone(),
            latency: spec.latency,
            ps_runtime: spec.ps_runtime,
            seed: spec.seed,
        });
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut hosts = Vec::with_capacity(n);
        let mut listeners = Vec::with_capacity(n);
        for (h, addr) in spec.hosts.iter().zip(addrs) {
            let (listener, addr) = if h.fault == Some(Fault::Refuse) {
                if addr.port() == 0 {
                    // Take a free port and let it go: nothing listens there.
                    let l = bind(addr)?;
                    let a = l
                        .local_addr()
                        .map_err(|source| EmulatorError::Bind { addr, source })?;
                    drop(l);
                    (None, a)
                } else {
                    (None, addr)
                }
            } else {
                let l = bind(addr)?;
                let a = l
                    .local_addr()
                    .map_err(|source| EmulatorError::Bind { addr, source })?;
                (Some(l), a)
            };
            hosts.push(RunningHost {
                name: h.name.clone(),
                addr,
                scenario: h.scenario,
                fault: h.fault,
            });
            listeners.push(listener);
        }
        for (i, (h, listener)) in hosts.iter().zip(listeners).enumerate() {
            let Some(listener) = listener else { continue };
            let identity = tls
                .as_ref()
                .and_then(|t| t.identities.get(i / tls::HOSTS_PER_CERT).cloned());
            let server = Arc::new(HostServer::new(
                shared.clone(),
                h.name.clone(),
                h.scenario,
                h.fault,
                h.addr,
                identity,
            ));
            tracker.spawn(serve(listener, server, cancel.clone(), tracker.clone()));
        }
        Ok(RunningFleet {
            hosts,
            ca_pem: tls.map(|t| t.ca_pem),
            tls: spec.tls,
            auth: spec.auth,
            user: spec.user,
            cancel,
            tracker,
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The fleet as an Ansible INI inventory: group `[windows]` with one line per
    /// host (`ansible_host`, `ansible_port`, `ansible_winrm_scheme`,
    /// `fleetscan_scenario`, `fleetscan_fault`), and `[windows:vars]` with the
    /// connection, user and transport.
    pub fn inventory_ini(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# fleetscan emulated fleet: {} hosts, {}, {}. The password is the FLEETSCAN_PASSWORD the emulator was started with (default: fleetscan).",
            self.hosts.len(),
            self.scheme(),
            match self.auth {
                EmuAuth::Basic => "basic",
                EmuAuth::Ntlm => "ntlm",
            }
        );
        s.push_str("[windows]\n");
        for h in &self.hosts {
            let _ = writeln!(
                s,
                "{} ansible_host={} ansible_port={} ansible_winrm_scheme={} fleetscan_scenario={} fleetscan_fault={}",
                h.name,
                h.addr.ip(),
                h.addr.port(),
                self.scheme(),
                h.scenario.name(),
                h.fault.map_or("none", |f| f.name()),
            );
        }
        s.push_str("\n[windows:vars]\nansible_connection=winrm\n");
        let _ = writeln!(s, "ansible_user={}", self.user);
        let _ = writeln!(
            s,
            "ansible_winrm_transport={}",
            match self.auth {
                EmuAuth::Basic => "basic",
                EmuAuth::Ntlm => "ntlm",
            }
        );
        if self.tls {
            s.push_str("ansible_winrm_server_cert_validation=validate\n");
        }
        s
    }

    /// Stops every host: listeners close, open connections are dropped, running
    /// commands are forgotten. Returns when all tasks have ended.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the hosts stopping on their own.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for RunningFleet {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, EmulatorError> {
    let err = |source| EmulatorError::Bind { addr, source };
    let socket = TcpSocket::new_v4().map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

/// The address of each host, checked to stay inside 127.0.0.0/8.
fn plan_addresses(spec: &FleetSpec) -> Result<Vec<SocketAddr>, EmulatorError> {
    let n = spec.hosts.len();
    let loopback = |ip: Ipv4Addr| {
        if ip.octets()[0] == 127 {
            Ok(ip)
        } else {
            Err(EmulatorError::Addressing(format!(
                "{ip} is not a loopback address; the emulator only listens on 127.0.0.0/8"
            )))
        }
    };
    match spec.addressing {
        Addressing::Loopback { first, port } => {
            loopback(first)?;
            let base = u32::from(first);
            (0..n)
                .map(|i| {
                    let ip = u32::try_from(i)
                        .ok()
                        .and_then(|i| base.checked_add(i))
                        .map(Ipv4Addr::from)
                        .filter(|ip| ip.octets()[0] == 127)
                        .ok_or_else(|| {
                            EmulatorError::Addressing(format!(
                                "{n} hosts from {first} run past 127.255.255.255; start lower (e.g. --bind 127.1.0.0/16)"
                            ))
                        })?;
                    Ok(SocketAddr::new(IpAddr::V4(ip), port))
                })
                .collect()
        }
        Addressing::Ports { ip, base_port } => {
            loopback(ip)?;
            (0..n)
                .map(|i| {
                    let port = if base_port == 0 {
                        0
                    } else {
                        u16::try_from(i)
                            .ok()
                            .and_then(|i| base_port.checked_add(i))
                            .ok_or_else(|| {
                                EmulatorError::Addressing(format!(
                                    "{n} hosts from port {base_port} run past port 65535; use a lower --base-port or --bind"
                                ))
                            })?
                    };
                    Ok(SocketAddr::new(IpAddr::V4(ip), port))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_fleet_is_reproducible_and_has_every_fault_from_fifty_hosts() {
        let a = FleetSpec::mixed(60, 7);
        let b = FleetSpec::mixed(60, 7);
        assert_eq!(a.hosts, b.hosts);
        assert_ne!(a.hosts, FleetSpec::mixed(60, 8).hosts);
        for f in Fault::ALL {
            assert!(a.hosts.iter().any(|h| h.fault == Some(f)), "{f} missing");
        }
        let clean = a.hosts.iter().filter(|h| h.fault.is_none()).count();
        assert!(clean > a.hosts.len() / 2, "most hosts are fault-free");
        assert!(a.hosts.iter().any(|h| h.scenario == Scenario::Healthy));
    }

    #[test]
    fn addresses_stay_in_loopback() {
        let mut spec = FleetSpec::uniform(3, Scenario::Healthy);
        spec.addressing = Addressing::Loopback {
            first: Ipv4Addr::new(127, 1, 0, 1),
            port: 5985,
        };
        let addrs = plan_addresses(&spec).expect("fits");
        assert_eq!(addrs[2], "127.1.0.3:5985".parse().expect("addr"));
        spec.addressing = Addressing::Loopback {
            first: Ipv4Addr::new(127, 255, 255, 254),
            port: 5985,
        };
        assert!(plan_addresses(&spec).is_err());
        spec.addressing = Addressing::Loopback {
            first: Ipv4Addr::new(10, 0, 0, 1),
            port: 5985,
        };
        assert!(plan_addresses(&spec).is_err());
        spec.addressing = Addressing::Ports {
            ip: Ipv4Addr::LOCALHOST,
            base_port: 65534,
        };
        assert!(plan_addresses(&spec).is_err());
    }

    #[test]
    fn host_names_are_padded() {
        assert_eq!(host_name(0, 10), "win0001");
        assert_eq!(host_name(12344, 20000), "win12345");
    }
}
