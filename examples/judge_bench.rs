//! What judging one host costs the client: a healthy emulated host's program output
//! (the default selection, produced in-process once) is fed line by line into a fresh
//! `Evidence` and judged, `--hosts N` times; the results are dropped each round, as
//! the report would drop them eventually.
//!
//! Wall time on a shared machine is noisy, so measure instructions and take the
//! difference between two host counts (setup cancels out):
//!
//! ```sh
//! cargo build --release --example judge_bench
//! for n in 0 200; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/judge_bench --hosts $n 2>&1 | grep 'refs:'; done
//! # instructions per host = (refs(200) - refs(0)) / 200
//! ```

use std::time::Instant;

use fleetscan::emulator::answers;
use fleetscan::emulator::host::HostState;
use fleetscan::emulator::scenario::Scenario;
use fleetscan::probes::{Program, ProgramEnd, Selection, Settings};
use fleetscan::report::model::Status;
use time::macros::datetime;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let mut hosts = 1000usize;
    let mut deep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--hosts" => hosts = args.next().ok_or("--hosts needs a number")?.parse()?,
            "--deep" => deep = true,
            other => return Err(format!("unknown argument {other}; use --hosts N [--deep]").into()),
        }
    }
    let now = datetime!(2026-11-24 20:00:00 UTC);
    let program = Program::assemble(&Selection::all(deep))?;
    let host = HostState::for_scenario(Scenario::Healthy, "srv-0042", 7);
    let out = answers::run_powershell_at(&host, program.script(), "fleetscan", now);
    let bytes: usize = out.stdout_lines.iter().map(|l| l.len() + 2).sum();
    let settings = Settings::default();

    let started = Instant::now();
    let mut unknown = 0usize;
    for _ in 0..hosts {
        let mut evidence = program.collector();
        for line in &out.stdout_lines {
            evidence.accept_line_at(line, now);
        }
        let results = evidence.judge(&settings, ProgramEnd::Completed);
        unknown += results
            .iter()
            .filter(|r| r.status == Status::Unknown)
            .count();
    }
    let elapsed = started.elapsed();
    println!(
        "{hosts} hosts x {} lines ({bytes} bytes), {} checks: {:.1} us/host, {unknown} unknown verdicts",
        out.stdout_lines.len(),
        program.checks().len(),
        elapsed.as_secs_f64() * 1e6 / hosts.max(1) as f64,
    );
    Ok(())
}
