//! The fleet benchmark: what a scan costs the jump host, and how close it gets to
//! the ideal wall time.
//!
//! ```sh
//! cargo run --release --example fleet_bench -- --write docs/BENCHMARKS.md
//! cargo run --release --example fleet_bench -- --sizes 100 --modes ntlm-http
//! cargo run --release --example fleet_bench -- --repeat 3   # medians of 3 rounds
//! cargo run --release --example fleet_bench -- --instructions 200 --write docs/BENCHMARKS.md
//! ```
//!
//! For each transport (HTTP + NTLM with sealing, HTTPS + Basic) and fleet size it
//! starts `fleetscan emulate` (its own process, with `--latency` per HTTP exchange and
//! `--ps-runtime` per program), then scans it with the release `fleetscan scan` in
//! another process that writes every report (CSV, JSON, HTML, JUnit), so client and
//! server costs are measured apart. The scanner's CPU time and peak RSS come from
//! `getrusage(RUSAGE_CHILDREN)` in a small measuring process whose only child is the
//! scanner.
//!
//! `--instructions N` instead counts instructions with valgrind's callgrind: one scan
//! of N hosts with the scanner under callgrind (the emulator native), then one with
//! the emulator under callgrind (the scanner native). Seconds drift with whatever else
//! the machine runs; instruction counts repeat to a fraction of a percent, so this is
//! the figure to compare builds by on a shared or throttled machine.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    NtlmHttp,
    BasicHttps,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NtlmHttp => "HTTP + NTLM (sealed)",
            Mode::BasicHttps => "HTTPS + Basic",
        }
    }
    fn parse(s: &str) -> Result<Mode> {
        match s {
            "ntlm-http" => Ok(Mode::NtlmHttp),
            "basic-https" => Ok(Mode::BasicHttps),
            other => Err(format!("unknown mode {other}; use ntlm-http or basic-https").into()),
        }
    }
    /// Requests pywinrm 0.5 needs for the same work (research/roundtrips_and_kerberos.md,
    /// A.1: program in an environment variable, one Receive, Signal before Delete).
    fn pywinrm_requests(self) -> u32 {
        match self {
            Mode::NtlmHttp => 8,
            Mode::BasicHttps => 5,
        }
    }
}

struct Options {
    sizes: Vec<usize>,
    modes: Vec<Mode>,
    concurrency: Option<usize>,
    /// Runs per transport and size; the table shows medians (and the CPU range).
    repeat: usize,
    latency: String,
    ps_runtime: String,
    write: Option<PathBuf>,
    /// Count instructions under callgrind with a fleet of this many hosts instead.
    instructions: Option<usize>,
}

#[derive(Debug, Default, Clone)]
struct Usage {
    wall: f64,
    user: f64,
    sys: f64,
    max_rss_kib: u64,
    exit: i32,
}

struct Row {
    /// Runs behind the figures (medians when more than one).
    runs: usize,
    /// Lowest and highest client CPU per host (ms) over the runs.
    cpu_range: (f64, f64),
    mode: Mode,
    hosts: usize,
    concurrency: usize,
    usage: Usage,
    ideal: f64,
    requests_per_host: f64,
    scanned: usize,
    /// The emulator's CPU seconds while the scan ran (it shares the cores).
    emulator_cpu: Option<f64>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        return measure(&args[1..]);
    }
    let opts = parse(&args)?;
    let bin = build_release()?;
    raise_nofile(&opts);
    let work = std::env::temp_dir().join(format!("fleet_bench_{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let latency = fleetscan::cli::parse_duration(&opts.latency)?;
    let runtime = fleetscan::cli::parse_duration(&opts.ps_runtime)?;
    if let Some(n) = opts.instructions {
        let result = count_all(&bin, &work, n, &opts);
        let _ = std::fs::remove_dir_all(&work);
        let table = render_instructions(&result?, &opts);
        println!("{table}");
        if let Some(path) = &opts.write {
            write_section(path, INSTRUCTIONS_MARKERS, &table, &args.join(" "))?;
            eprintln!("bench: figures written to {}", path.display());
        }
        return Ok(());
    }

    // Every transport and size once per round, rounds repeated: on a machine whose
    // speed drifts within minutes, each row's median then draws on the whole
    // period instead of on the few minutes its own runs happened to take.
    let mut cells: Vec<(Mode, usize, usize)> = Vec::new();
    for &mode in &opts.modes {
        for &n in &opts.sizes {
            cells.push((mode, n, timing_concurrency(&opts, n)));
        }
    }
    let rounds = opts.repeat.max(1);
    let mut runs: Vec<Vec<Row>> = cells.iter().map(|_| Vec::with_capacity(rounds)).collect();
    for round in 1..=rounds {
        for (&(mode, n, c), cell_runs) in cells.iter().zip(&mut runs) {
            eprintln!(
                "bench: {} with {n} hosts, concurrency {c} (round {round} of {rounds}) …",
                mode.name()
            );
            let run = run_one(&bin, &work, mode, n, c, &opts, latency, runtime)?;
            eprintln!(
                "bench:   wall {:.2}s (ideal {:.2}s, ×{:.2}), CPU {:.3} ms/host, peak RSS {} MiB, {:.1} requests/host, {}/{} scanned",
                run.usage.wall,
                run.ideal,
                run.usage.wall / run.ideal,
                cpu_ms_per_host(&run),
                run.usage.max_rss_kib / 1024,
                run.requests_per_host,
                run.scanned,
                run.hosts
            );
            cell_runs.push(run);
        }
    }
    let rows: Vec<Row> = runs.into_iter().map(median_row).collect();
    let _ = std::fs::remove_dir_all(&work);
    let table = render(&rows, &opts);
    println!("{table}");
    if let Some(path) = &opts.write {
        write_section(path, TIMING_MARKERS, &table, &args.join(" "))?;
        eprintln!("bench: figures written to {}", path.display());
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        sizes: vec![100, 1000, 10_000],
        modes: vec![Mode::NtlmHttp, Mode::BasicHttps],
        concurrency: None,
        latency: "10ms".into(),
        ps_runtime: "1s".into(),
        write: None,
        repeat: 1,
        instructions: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => {
                o.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<std::result::Result<_, _>>()?
            }
            "--modes" => {
                o.modes = value()?
                    .split(',')
                    .map(|s| Mode::parse(s.trim()))
                    .collect::<Result<_>>()?
            }
            "--concurrency" => o.concurrency = Some(value()?.parse()?),
            "--latency" => o.latency = value()?,
            "--ps-runtime" => o.ps_runtime = value()?,
            "--write" => o.write = Some(PathBuf::from(value()?)),
            "--repeat" => o.repeat = value()?.parse::<usize>()?.max(1),
            "--instructions" => o.instructions = Some(value()?.parse::<usize>()?.max(1)),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(o)
}

/// Builds the release binary (the example itself may be built without it).
fn build_release() -> Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "fleetscan"])
        .status()?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    Ok(target.join("release").join("fleetscan"))
}

/// Concurrency of a timed run of `n` hosts: `--concurrency`, or 256 (1,000 from
/// 10,000 hosts up), never more than the hosts.
fn timing_concurrency(opts: &Options, n: usize) -> usize {
    opts.concurrency
        .unwrap_or(if n >= 10_000 { 1000 } else { 256 })
        .min(n)
}

/// Concurrency of an `--instructions` run of `n` hosts: `--concurrency`, or 100.
fn instructions_concurrency(opts: &Options, n: usize) -> usize {
    opts.concurrency.unwrap_or(100).min(n)
}

/// Raises this process's open-file soft limit to the hard limit (the emulator and
/// the scanner inherit it and raise their own), and says when the hard limit is
/// too low for the fleets this run starts: the emulator holds a listener per host
/// and a socket per host in flight, plus the 256 it keeps spare.
fn raise_nofile(opts: &Options) {
    let fleets: Vec<(usize, usize)> = match opts.instructions {
        Some(n) => vec![(n, instructions_concurrency(opts, n))],
        None => opts
            .sizes
            .iter()
            .map(|&n| (n, timing_concurrency(opts, n)))
            .collect(),
    };
    let needed = fleets.iter().map(|&(n, c)| n + c + 256).max().unwrap_or(0) as u64;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => eprintln!(
            "bench: the open-file limit is {limit}; the largest fleet here needs about {needed} (raise the hard limit with ulimit -Hn)"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("bench: cannot raise the open-file limit: {e}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    bin: &Path,
    work: &Path,
    mode: Mode,
    n: usize,
    c: usize,
    opts: &Options,
    latency: Duration,
    runtime: Duration,
) -> Result<Row> {
    let dir = work.join(format!("{mode:?}-{n}"));
    std::fs::create_dir_all(&dir)?;
    let mut emulate = Command::new(bin);
    emulate.args(emulate_args(mode, n, &dir, opts));
    let mut server = Emulator::start(emulate, None)?;
    let scan = scan_args(mode, &dir, c);
    let me = std::env::current_exe()?;
    let emulator_before = server.cpu_seconds();
    let out = Command::new(me)
        .arg("--measure")
        .arg(bin)
        .args(&scan)
        .env("FLEETSCAN_PASSWORD", "fleetscan")
        .stderr(Stdio::inherit())
        .output()?;
    let emulator_cpu = server
        .cpu_seconds()
        .zip(emulator_before)
        .map(|(after, before)| after - before);
    server.stop();
    let usage = parse_usage(&String::from_utf8_lossy(&out.stdout))?;
    if usage.exit != 0 {
        eprintln!(
            "bench:   scanner exited {} (0 expected on a healthy fleet)",
            usage.exit
        );
    }
    // Only each host's outcome and request count: at 10,000 hosts the report is
    // ~200 MB, which as a `serde_json::Value` tree took 1.5 GB of this process.
    let report: ReportCounts = serde_json::from_slice(&std::fs::read(dir.join("r.json"))?)?;
    let hosts = report.hosts;
    let scanned = hosts.iter().filter(|h| h.outcome == "scanned").count();
    let requests: f64 = hosts.iter().filter_map(|h| h.requests).sum();
    let requests_per_host = requests / hosts.len().max(1) as f64;
    let waves = n.div_ceil(c) as f64;
    let ideal = waves * (runtime.as_secs_f64() + requests_per_host * latency.as_secs_f64());
    let cpu = (usage.user + usage.sys) * 1000.0 / n as f64;
    Ok(Row {
        runs: 1,
        cpu_range: (cpu, cpu),
        mode,
        hosts: n,
        concurrency: c,
        usage,
        ideal,
        requests_per_host,
        scanned,
        emulator_cpu,
    })
}

/// What the benchmark reads of the JSON report; every other field is skipped.
#[derive(serde::Deserialize)]
struct ReportCounts {
    hosts: Vec<HostCounts>,
}

#[derive(serde::Deserialize)]
struct HostCounts {
    outcome: String,
    requests: Option<f64>,
}

/// `fleetscan emulate …` for a healthy fleet of `n` hosts, its inventory (and CA)
/// written into `dir`.
fn emulate_args(mode: Mode, n: usize, dir: &Path, opts: &Options) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "emulate".into(),
        "--hosts".into(),
        n.to_string(),
        "--scenario".into(),
        "healthy".into(),
        "--latency".into(),
        opts.latency.clone(),
        "--ps-runtime".into(),
        opts.ps_runtime.clone(),
        "--bind".into(),
        "127.20.0.0/16".into(),
        "--inventory-out".into(),
        path(&dir.join("fleet.ini")),
    ];
    match mode {
        Mode::NtlmHttp => args.extend(["--auth".into(), "ntlm".into()]),
        Mode::BasicHttps => args.extend([
            "--auth".into(),
            "basic".into(),
            "--tls".into(),
            "--ca-out".into(),
            path(&dir.join("ca.pem")),
        ]),
    }
    args
}

/// `fleetscan scan …` of the fleet [`emulate_args`] serves, every report written
/// into `dir`.
fn scan_args(mode: Mode, dir: &Path, c: usize) -> Vec<String> {
    let mut scan: Vec<String> = vec![
        "scan".into(),
        "-i".into(),
        path(&dir.join("fleet.ini")),
        "-u".into(),
        "fleetscan".into(),
    ];
    for (flag, file) in [
        ("--json", "r.json"),
        ("--csv", "r.csv"),
        ("--html", "r.html"),
        ("--junit", "r.xml"),
        ("--journal", "j.jsonl"),
    ] {
        scan.push(flag.into());
        scan.push(path(&dir.join(file)));
    }
    scan.extend([
        "--concurrency".into(),
        c.to_string(),
        "--timeout".into(),
        "600s".into(),
        "-q".into(),
    ]);
    if mode == Mode::BasicHttps {
        scan.extend([
            "--auth".into(),
            "basic".into(),
            "--scheme".into(),
            "https".into(),
            "--ca-cert".into(),
            path(&dir.join("ca.pem")),
        ]);
    }
    scan
}

/// Instructions one scan cost, each side counted in a run of its own.
struct Instructions {
    mode: Mode,
    hosts: usize,
    concurrency: usize,
    client: u64,
    emulator: u64,
}

fn count_all(bin: &Path, work: &Path, n: usize, opts: &Options) -> Result<Vec<Instructions>> {
    let version = Command::new("valgrind").arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        return Err(
            "--instructions needs valgrind on PATH (Debian/Ubuntu: apt install valgrind)".into(),
        );
    }
    let c = instructions_concurrency(opts, n);
    let mut out = Vec::new();
    for &mode in &opts.modes {
        eprintln!(
            "bench: {} with {n} hosts, concurrency {c}, under callgrind …",
            mode.name()
        );
        let client = count_one(bin, work, mode, n, c, opts, Side::Client)?;
        let emulator = count_one(bin, work, mode, n, c, opts, Side::Emulator)?;
        eprintln!(
            "bench:   client {:.2} M, emulator {:.2} M instructions per host",
            client as f64 / n as f64 / 1e6,
            emulator as f64 / n as f64 / 1e6
        );
        out.push(Instructions {
            mode,
            hosts: n,
            concurrency: c,
            client,
            emulator,
        });
    }
    Ok(out)
}

/// Which process of a scan runs under callgrind.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Client,
    Emulator,
}

/// `valgrind --tool=callgrind` in front of `bin`, its profile discarded: only the
/// total it prints at exit ("Collected : N") is read, from `log`.
fn under_callgrind(bin: &Path, log: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(format!("--log-file={}", path(log)))
        .arg(bin);
    cmd
}

fn count_one(
    bin: &Path,
    work: &Path,
    mode: Mode,
    n: usize,
    c: usize,
    opts: &Options,
    side: Side,
) -> Result<u64> {
    let dir = work.join(format!("callgrind-{mode:?}-{n}"));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("callgrind.log");
    let _ = std::fs::remove_file(&log);
    let mut emulate = if side == Side::Emulator {
        under_callgrind(bin, &log)
    } else {
        Command::new(bin)
    };
    emulate.args(emulate_args(mode, n, &dir, opts));
    let mut server = Emulator::start(emulate, Some(&dir))?;
    let mut scan = if side == Side::Client {
        under_callgrind(bin, &log)
    } else {
        Command::new(bin)
    };
    let status = scan
        .args(scan_args(mode, &dir, c))
        .env("FLEETSCAN_PASSWORD", "fleetscan")
        .stdout(Stdio::null())
        .status()?;
    // The emulator writes its total when it exits on SIGTERM.
    server.stop();
    if status.code() != Some(0) {
        eprintln!("bench:   scanner exited {status} (0 expected on a healthy fleet)");
    }
    let text = std::fs::read_to_string(&log)
        .map_err(|e| format!("no callgrind log at {}: {e}", log.display()))?;
    collected(&text).ok_or_else(|| {
        format!(
            "callgrind printed no total in {} (did the process exit cleanly?)",
            log.display()
        )
        .into()
    })
}

/// The total of callgrind's "==pid== Collected : 1234567" line.
fn collected(log: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.split_once("Collected :").map(|(_, n)| n.trim()))
        .and_then(|n| n.replace(',', "").parse().ok())
}

fn render_instructions(rows: &[Instructions], opts: &Options) -> String {
    let mut s = format!(
        "Instructions counted by valgrind's callgrind (repeatable to a fraction of a percent, whatever else the machine runs): one scan with the scanner under callgrind, one with the emulator under it. Latency {} per HTTP exchange, program runtime {} per host, healthy fleet, all checks, every report written.\n\n",
        opts.latency, opts.ps_runtime
    );
    s.push_str("| transport | hosts | concurrency | client instructions / host (M) | emulator instructions / host (M) |\n");
    s.push_str("|---|---:|---:|---:|---:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} |\n",
            r.mode.name(),
            r.hosts,
            r.concurrency,
            r.client as f64 / r.hosts as f64 / 1e6,
            r.emulator as f64 / r.hosts as f64 / 1e6,
        ));
    }
    s
}

/// One row for several runs of the same transport and size: the median of each
/// figure taken on its own (this machine's speed can drift between runs), the
/// client CPU's range beside it.
fn median_row(mut runs: Vec<Row>) -> Row {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    let cpu: Vec<f64> = runs.iter().map(cpu_ms_per_host).collect();
    let lowest = cpu.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = cpu.iter().copied().fold(0.0, f64::max);
    let count = runs.len();
    let scanned = runs.iter().map(|r| r.scanned).min().unwrap_or(0);
    let wall = median(runs.iter().map(|r| r.usage.wall).collect());
    let rss = median(runs.iter().map(|r| r.usage.max_rss_kib as f64).collect());
    let emulator = runs
        .iter()
        .map(|r| r.emulator_cpu)
        .collect::<Option<Vec<f64>>>();
    let cpu_median = median(cpu);
    let mut row = runs.swap_remove(0);
    let hosts = row.hosts as f64;
    row.runs = count;
    row.scanned = scanned;
    row.cpu_range = (lowest, highest);
    row.usage.wall = wall;
    row.usage.max_rss_kib = rss as u64;
    // The median CPU is carried as user time; cpu_ms_per_host adds user and sys.
    row.usage.user = cpu_median * hosts / 1000.0;
    row.usage.sys = 0.0;
    row.emulator_cpu = emulator.map(median);
    row
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `fleetscan emulate` in its own process, stopped with SIGTERM.
struct Emulator(Child);

impl Emulator {
    /// Starts `cmd` and waits for its "ready:" line; its stderr goes to
    /// `emulator.err` in `quiet_dir` when given (a callgrind run's chatter).
    fn start(mut cmd: Command, quiet_dir: Option<&Path>) -> Result<Emulator> {
        let stderr = match quiet_dir {
            Some(dir) => Stdio::from(std::fs::File::create(dir.join("emulator.err"))?),
            None => Stdio::inherit(),
        };
        let mut child = cmd
            .env("FLEETSCAN_PASSWORD", "fleetscan")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        match lines.next() {
            Some(Ok(line)) if line.starts_with("ready:") => {
                eprintln!("bench:   emulator {line}");
                // Keep draining stdout so the emulator never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                Ok(Emulator(child))
            }
            other => {
                let _ = child.kill();
                Err(format!("the emulator did not get ready: {other:?}").into())
            }
        }
    }

    /// User + system CPU seconds the emulator has used so far (Linux `/proc`), if readable.
    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).ok()?;
        // Fields after the parenthesised command name; utime and stime are the 14th
        // and 15th fields of the whole line, in clock ticks.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (ticks > 0).then(|| (utime + stime) / ticks as f64)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Child mode: run the scanner, then print its wall time and rusage as one line.
fn measure(args: &[String]) -> Result<()> {
    let (bin, rest) = args.split_first().ok_or("--measure needs a command")?;
    let t0 = Instant::now();
    let status = Command::new(bin)
        .args(rest)
        .stdout(Stdio::null())
        .status()?;
    let wall = t0.elapsed().as_secs_f64();
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    if rc != 0 {
        return Err("getrusage failed".into());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wall={wall} user={} sys={} maxrss={} exit={}",
        secs(ru.ru_utime),
        secs(ru.ru_stime),
        ru.ru_maxrss,
        status.code().unwrap_or(-1)
    )?;
    Ok(())
}

fn parse_usage(text: &str) -> Result<Usage> {
    let mut u = Usage::default();
    for kv in text.split_whitespace() {
        let (k, v) = kv.split_once('=').ok_or("bad usage line")?;
        match k {
            "wall" => u.wall = v.parse()?,
            "user" => u.user = v.parse()?,
            "sys" => u.sys = v.parse()?,
            "maxrss" => u.max_rss_kib = v.parse()?,
            "exit" => u.exit = v.parse()?,
            _ => {}
        }
    }
    if u.wall == 0.0 {
        return Err(format!("the measuring process printed no usage: {text:?}").into());
    }
    Ok(u)
}

fn cpu_ms_per_host(r: &Row) -> f64 {
    (r.usage.user + r.usage.sys) * 1000.0 / r.hosts as f64
}

fn render(rows: &[Row], opts: &Options) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Latency {} per HTTP exchange, program runtime {} per host, healthy fleet, all checks, every report written.",
        opts.latency, opts.ps_runtime
    ));
    if opts.repeat > 1 {
        s.push_str(&format!(
            " Each row: the median of {} runs for each figure, one in each of {} rounds over every transport and size, the client CPU's lowest–highest in brackets.",
            opts.repeat, opts.repeat
        ));
    }
    s.push_str("\n\n");
    s.push_str("| transport | hosts | concurrency | wall (s) | ideal (s) | wall / ideal | requests / host (pywinrm) | client CPU / host (ms) | client peak RSS (MiB) | RSS / concurrent session (KiB) | emulator CPU / host (ms) | scanned |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} ({}) | {} | {:.1} | {:.0} | {} | {}/{} |\n",
            r.mode.name(),
            r.hosts,
            r.concurrency,
            r.usage.wall,
            r.ideal,
            r.usage.wall / r.ideal,
            r.requests_per_host,
            r.mode.pywinrm_requests(),
            cpu_cell(r),
            r.usage.max_rss_kib as f64 / 1024.0,
            r.usage.max_rss_kib as f64 / r.concurrency as f64,
            r.emulator_cpu.map_or_else(
                || "n/a".to_owned(),
                |s| format!("{:.3}", s * 1000.0 / r.hosts as f64)
            ),
            r.scanned,
            r.hosts,
        ));
    }
    s
}

/// The client CPU per host, with its range when the row stands for several runs.
fn cpu_cell(r: &Row) -> String {
    let median = cpu_ms_per_host(r);
    if r.runs > 1 {
        format!("{median:.3} ({:.3}–{:.3})", r.cpu_range.0, r.cpu_range.1)
    } else {
        format!("{median:.3}")
    }
}

/// A generated section of the document: its begin and end markers, its heading,
/// and what to keep in mind about the machine.
type Markers = (&'static str, &'static str, &'static str, &'static str);

const TIMING_MARKERS: Markers = (
    "<!-- fleet_bench:begin -->",
    "<!-- fleet_bench:end -->",
    "Latest run",
    "the emulator shares the cores, so the client's own CPU is what counts",
);
const INSTRUCTIONS_MARKERS: Markers = (
    "<!-- fleet_bench:instructions:begin -->",
    "<!-- fleet_bench:instructions:end -->",
    "Latest instruction count",
    "instruction counts do not depend on the machine's speed or load, only on the build, the work and the CPU's instruction set (SIMD paths are chosen at run time)",
);

/// Replaces the section between `markers` in `path` (or appends it).
fn write_section(path: &Path, markers: Markers, table: &str, args: &str) -> Result<()> {
    let (begin, end_marker, heading, machine_note) = markers;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    let date = time::OffsetDateTime::now_utc().date();
    let section = format!(
        "{begin}\n## {heading} ({date})\n\nMachine: {cores} cores ({cpu}), {mem} RAM; {machine_note}.\n\nCommand: `cargo run --release --example fleet_bench -- {args}`\n\n{table}{end_marker}\n"
    );
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(begin), old.find(end_marker)) {
        (Some(a), Some(b)) if a < b => {
            let end = b + end_marker.len() + 1;
            format!("{}{}{}", &old[..a], section, old.get(end..).unwrap_or(""))
        }
        _ => format!("{old}\n{section}"),
    };
    std::fs::write(path, new)?;
    Ok(())
}
