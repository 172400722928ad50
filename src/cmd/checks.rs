//! `fleetscan checks`: print the check catalogue as a table or JSON.

use std::io::Write;

use fleetscan::cli::{ChecksArgs, ChecksFormat};
use fleetscan::probes::{CheckDef, catalogue};

/// Runs `fleetscan checks` and returns the process exit code.
pub(crate) fn run(args: ChecksArgs) -> anyhow::Result<u8> {
    let checks: Vec<&CheckDef> = catalogue()
        .iter()
        .filter(|c| args.deep || !c.is_heavy())
        .collect();
    let text = match args.format {
        ChecksFormat::Table => table(&checks),
        ChecksFormat::Json => {
            let rows: Vec<serde_json::Value> = checks
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "title": c.title, "seed_section": c.seed_section,
                        "severity": c.severity, "cost": c.cost, "deep_only": c.is_heavy(),
                        "probe": c.probe, "admin_only": c.admin_only, "mars_only": c.mars_only,
                        "remediation": c.remediation,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rows)? + "\n"
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`fleetscan checks | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.map(|()| 0).map_err(Into::into),
    }
}

fn table(checks: &[&CheckDef]) -> String {
    let header = ["ID", "TITLE", "ARTICLE SECTION", "SEVERITY", "COST"];
    let rows: Vec<[String; 5]> = checks
        .iter()
        .map(|c| {
            let cost = if c.is_heavy() {
                format!("{} (--deep)", c.cost)
            } else {
                c.cost.to_string()
            };
            [
                c.id.to_string(),
                c.title.to_string(),
                c.seed_section.to_string(),
                c.severity.to_string(),
                cost,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}
