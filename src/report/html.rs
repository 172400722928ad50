//! The one-file HTML dashboard: inline CSS and a small inline script, no external
//! reference of any kind (scripts, styles, fonts, images, links), so it works
//! offline and as an e-mail attachment. A Content-Security-Policy meta tag
//! forbids any load as a second line of defence.
//!
//! Layout, top to bottom: the fleet at a glance (hosts scanned / failing / not
//! scanned, the ready percentage, a host × check matrix coloured by status); the
//! failing checks ranked by the number of hosts they hit, with the fix and the
//! hosts; a sortable, filterable host table; the hosts that could not be scanned
//! and why; one collapsed `<details>` per host with every check's evidence.
//!
//! Every text is escaped (host names and evidence come from the remote side) and
//! element ids are made from indexes, never from names. To stay usable at
//! thousands of hosts the markup is lean: matrix cells are bare `<td class=x>`
//! (end tags omitted, as HTML allows; tooltips are filled in by the script on
//! hover), and per-host evidence sits in closed `<details>`.

use std::collections::HashMap;
use std::io::Write;

use time::format_description::well_known::Rfc3339;

use super::ReportError;
use super::digest::{CheckCounts, FleetDigest, HostDigest};
use super::model::{FleetReport, Outcome, Status};
use super::stats::{FailingCheck, FleetStats, check_columns, failing_checks};
use super::stream::{ReportHead, ReportHosts, Sink, run_one};
use super::text::Html;
use super::view::{CheckView, HostView};

/// Evidence longer than this many characters is cut on the page (the JSON report
/// keeps it whole): one host's oversized output must not bloat the dashboard.
pub const MAX_EVIDENCE_CHARS: usize = 4_000;

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1em 2em;color:#1d2330;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:1.6em}
code,table.e td+td+td+td{font:12px/1.3 ui-monospace,Consolas,monospace;word-break:break-all;white-space:pre-wrap}
.meta{color:#556}.tiles{display:flex;flex-wrap:wrap;gap:.8em}
.tile{border:1px solid #ccd;border-radius:6px;padding:.5em 1em;min-width:8em}.tile b{display:block;font-size:1.8em}
.tile.bad b{color:#b3261e}.tile.good b{color:#1e7b34}.def{max-width:60em;color:#334}
.mx{max-height:70vh;overflow:auto;border:1px solid #ccd;margin-top:.5em}
table.m{border-collapse:collapse;font-size:11px}
table.m td{width:9px;height:9px;padding:0;border:1px solid #fff}
table.m th{position:sticky;left:0;background:#fff;text-align:left;font-weight:normal;white-space:nowrap;padding:0 .5em 0 0;max-width:18em;overflow:hidden;text-overflow:ellipsis}
table.m thead th{top:0;z-index:1;vertical-align:bottom}
table.m thead th span{writing-mode:vertical-rl;transform:rotate(180deg);font-size:10px}
table.m td.x{width:auto;font-size:10px;background:#fbe3e1;color:#b3261e;padding:0 .4em}
.p{background:#4caf50}.w{background:#f2b705}.f{background:#d93025}.u{background:#9aa0a6}.n{background:#e3e6ea}.v{background:#7e57c2}.z{background:#fff;outline:1px dashed #ccd}
.legend span{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin:0 .2em 0 .8em}
table.t{border-collapse:collapse}table.t th,table.t td{border-bottom:1px solid #e3e6ea;padding:.2em .6em;text-align:left;vertical-align:top}
table.t th{background:#f4f5f7;position:sticky;top:0;cursor:pointer}
th[aria-sort=ascending]::after{content:" \25B2"}th[aria-sort=descending]::after{content:" \25BC"}
tr.sf td:first-child{border-left:4px solid #d93025}tr.sw td:first-child{border-left:4px solid #f2b705}
tr.su td:first-child{border-left:4px solid #9aa0a6}tr.sv td:first-child{border-left:4px solid #7e57c2}
details{margin:.3em 0}details>summary{cursor:pointer}.host{content-visibility:auto;contain-intrinsic-size:auto 1.6em}
.fix{white-space:pre-wrap;background:#f4f5f7;padding:.4em .6em;border-radius:4px}
.hl a{margin-right:.6em}.bad{color:#b3261e}.sev{font-size:.85em;color:#556}
"#;

const SCRIPT: &str = r##"
(function(){
var t=document.getElementById('ht'),q=document.getElementById('q'),cnt=document.getElementById('qn');
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),heads=t.tHead.rows[0].cells;
q.addEventListener('input',function(){
 var v=q.value.toLowerCase(),shown=0;
 rows.forEach(function(r){var ok=r.textContent.toLowerCase().indexOf(v)>=0;r.hidden=!ok;if(ok)shown++;});
 cnt.textContent=v?shown+' of '+rows.length+' hosts':'';
});
Array.prototype.forEach.call(heads,function(th,i){th.addEventListener('click',function(){
 var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
 Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
 th.setAttribute('aria-sort',dir>0?'ascending':'descending');
 rows.sort(function(a,b){
  var x=a.cells[i].textContent,y=b.cells[i].textContent,nx=Number(x),ny=Number(y);
  var r=(x!==''&&y!==''&&!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
  return r*dir;
 });
 rows.forEach(function(r){body.appendChild(r);});
});});
function openId(id){
 var e=id&&document.getElementById(id);
 if(e&&e.tagName==='DETAILS'){e.open=true;e.scrollIntoView();}
}
document.addEventListener('click',function(e){
 var a=e.target.closest&&e.target.closest('a[href^="#"]');
 if(a)openId(a.getAttribute('href').slice(1));
});
openId(location.hash.slice(1));
var m=document.getElementById('mx'),names={p:'pass',w:'warn',f:'fail',u:'unknown',n:'not applicable',v:'waived',z:'no result'};
if(m){m.addEventListener('mouseover',function(e){
 var td=e.target;if(td.tagName!=='TD'||td.title)return;
 var th=m.tHead.rows[0].cells[td.cellIndex];
 td.title=td.parentNode.cells[0].textContent+' \u00b7 '+(td.colSpan>1?td.textContent:th.textContent+' \u00b7 '+(names[td.className]||''));
});}
})();
"##;

/// The matrix class of a check result: one letter, see `STYLE`.
fn cell_class(status: Status, waived: bool) -> &'static str {
    if waived {
        return "v";
    }
    match status {
        Status::Pass => "p",
        Status::Warn => "w",
        Status::Fail => "f",
        Status::Unknown => "u",
        Status::NotApplicable => "n",
    }
}

/// Writes `report` as one self-contained HTML page to `out`.
///
/// # Errors
/// [`ReportError::Io`] when `out` fails.
pub fn write(report: &FleetReport, out: impl Write) -> Result<(), ReportError> {
    let digest = FleetDigest::of(report);
    let head = ReportHead::of(report, &digest);
    run_one(
        &mut HtmlSink::new(&head, out),
        &mut ReportHosts(&report.hosts),
    )
}

/// The HTML writer as a [`Sink`]: everything up to the per-host evidence comes
/// from the digest; each host's `<details>` is written as the host comes.
pub struct HtmlSink<'h, W: Write> {
    page: Page<'h>,
    out: W,
}

impl<'h, W: Write> HtmlSink<'h, W> {
    /// An HTML writer for the report `head` describes, writing to `out`.
    pub fn new(head: &ReportHead<'h>, out: W) -> Self {
        HtmlSink {
            page: Page::new(*head),
            out,
        }
    }
}

impl<W: Write> Sink for HtmlSink<'_, W> {
    fn format(&self) -> &'static str {
        "html"
    }

    fn begin(&mut self) -> std::io::Result<()> {
        self.page.write_head(&mut self.out)
    }

    fn host(&mut self, index: usize, host: &HostView<'_>) -> std::io::Result<()> {
        self.page.host_section(&mut self.out, index, host)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.page.write_tail(&mut self.out)?;
        self.out.flush()
    }
}

struct Page<'a> {
    report: ReportHead<'a>,
    stats: FleetStats,
    columns: Vec<&'a str>,
    failing: Vec<FailingCheck<'a>>,
    /// Check id → index in `failing`, for the "fix" links of the host sections.
    failing_index: HashMap<&'a str, usize>,
}

fn view_counts(host: &HostView<'_>) -> CheckCounts {
    CheckCounts::of(host.checks.iter().map(|c| (c.status, c.waived.is_some())))
}

fn view_is_ready(host: &HostView<'_>) -> bool {
    host.outcome == Outcome::Scanned && !host.has_unwaived_failure()
}

impl<'a> Page<'a> {
    fn new(report: ReportHead<'a>) -> Page<'a> {
        let failing = failing_checks(report.digest);
        let failing_index = failing.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        Page {
            report,
            stats: FleetStats::of(report.digest),
            columns: check_columns(report.meta, report.digest),
            failing,
            failing_index,
        }
    }

    /// Everything before the first host's evidence.
    fn write_head(&self, out: &mut impl Write) -> std::io::Result<()> {
        let meta = self.report.meta;
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
             <title>fleetscan: System State backup readiness, scan {}</title>\n<style>{STYLE}</style></head>\n<body>\n",
            Html(&meta.scan_id)
        )?;
        writeln!(out, "<h1>System State backup readiness</h1>")?;
        writeln!(
            out,
            "<p class=meta>Scan <code>{}</code> · started {} · finished {} · fleetscan {} · inventory {} · {} checks selected{}</p>",
            Html(&meta.scan_id),
            meta.started.format(&Rfc3339).unwrap_or_default(),
            meta.finished.format(&Rfc3339).unwrap_or_default(),
            Html(&meta.fleetscan_version),
            Html(&meta.inventory_files.join(", ")),
            meta.selected_checks.len(),
            if meta.interrupted {
                " · <b class=bad>interrupted: unfinished hosts are skipped</b>"
            } else {
                ""
            }
        )?;
        self.glance(out)?;
        self.matrix(out)?;
        self.failing_checks(out)?;
        self.host_table(out)?;
        self.unscanned(out)?;
        writeln!(out, "<section id=detail><h2>Evidence per host</h2>")
    }

    /// Everything after the last host's evidence.
    fn write_tail(&self, out: &mut impl Write) -> std::io::Result<()> {
        let meta = self.report.meta;
        writeln!(out, "</section>")?;
        write!(
            out,
            "<footer><p class=meta>Written by fleetscan {}. This page is self-contained: it loads nothing from anywhere.</p></footer>\n<script>{SCRIPT}</script>\n</body></html>\n",
            Html(&meta.fleetscan_version)
        )
    }

    fn glance(&self, out: &mut impl Write) -> std::io::Result<()> {
        let s = &self.stats;
        let scanned = s.outcome(Outcome::Scanned);
        let skipped = s.outcome(Outcome::Skipped);
        writeln!(
            out,
            "<section id=glance><h2>At a glance</h2><div class=tiles>"
        )?;
        let tiles: [(&str, String, &str); 5] = [
            ("", s.selected.to_string(), "hosts selected"),
            ("", scanned.to_string(), "scanned"),
            (
                if s.failing_hosts > 0 { "bad" } else { "good" },
                s.failing_hosts.to_string(),
                "with failing checks",
            ),
            (
                if s.unscanned_hosts > 0 { "bad" } else { "good" },
                s.unscanned_hosts.to_string(),
                "could not be scanned",
            ),
            (
                if s.ready_hosts == s.selected {
                    "good"
                } else {
                    "bad"
                },
                s.ready_percent_text(),
                "ready for System State backup",
            ),
        ];
        for (class, value, label) in tiles {
            writeln!(
                out,
                "<div class=\"tile {class}\"><b>{value}</b>{label}</div>"
            )?;
        }
        writeln!(out, "</div>")?;
        writeln!(
            out,
            "<p class=def><b>Ready for System State backup</b> = hosts that were scanned completely and have no failing check \
             (warnings, unknowns and waived failures allowed), divided by all {} selected hosts; hosts that could not be scanned, \
             timed out or were skipped count as not ready. Here: {} of {}.{}</p>",
            s.selected,
            s.ready_hosts,
            s.selected,
            if skipped > 0 {
                format!(" {skipped} hosts were skipped.")
            } else {
                String::new()
            }
        )?;
        let outcomes: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| format!("{o} {}", s.outcome(*o)))
            .collect();
        let statuses: Vec<String> = Status::ALL
            .iter()
            .map(|st| format!("{st} {}", s.status(*st)))
            .collect();
        writeln!(
            out,
            "<p>Hosts: {}.<br>Check results: {} ({} waived).</p>",
            outcomes.join(", "),
            statuses.join(", "),
            s.waived
        )?;
        let expired = &self.report.meta.expired_waivers;
        if !expired.is_empty() {
            write!(
                out,
                "<p class=bad>Expired waivers, no longer applied ({}):</p><ul>",
                expired.len()
            )?;
            for waiver in expired {
                write!(out, "<li><code>{}</code>", Html(waiver))?;
            }
            writeln!(out, "</ul>")?;
        }
        Ok(())
    }

    fn matrix(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "<h3>Host × check matrix</h3><p class=legend>\
             <span class=p></span>pass<span class=w></span>warn<span class=f></span>fail\
             <span class=v></span>waived<span class=u></span>unknown<span class=n></span>not applicable\
             <span class=z></span>no result · worst hosts first; hover a cell for details, click a host for its evidence.</p>"
        )?;
        write!(
            out,
            "<div class=mx><table class=m id=mx><thead><tr><th>host"
        )?;
        for id in &self.columns {
            write!(out, "<th><span>{}</span>", Html(id))?;
        }
        writeln!(out, "</thead><tbody>")?;
        let position: HashMap<&str, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let digest = self.report.digest;
        let mut order: Vec<(usize, &HostDigest, CheckCounts)> = digest
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (i, h, h.counts()))
            .collect();
        order.sort_by_key(|(i, h, t)| {
            let rank = if t.fail > 0 {
                0
            } else if h.outcome != Outcome::Scanned {
                1
            } else if t.warn + t.unknown > 0 {
                2
            } else {
                3
            };
            (rank, usize::MAX - t.fail, *i)
        });
        let mut cells: Vec<&str> = vec!["z"; self.columns.len()];
        for (index, host, _) in order {
            write!(out, "<tr><th><a href=#h{index}>{}</a>", Html(&host.name))?;
            if host.checks.is_empty() {
                writeln!(
                    out,
                    "<td class=x colspan={}>{}",
                    self.columns.len().max(1),
                    host.outcome
                )?;
                continue;
            }
            cells.iter_mut().for_each(|c| *c = "z");
            for &mark in &host.checks {
                if let Some(&i) = position.get(digest.kind(mark).id.as_ref())
                    && let Some(slot) = cells.get_mut(i)
                {
                    *slot = cell_class(mark.status, mark.waived);
                }
            }
            for class in &cells {
                write!(out, "<td class={class}>")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "</tbody></table></div></section>")
    }

    fn failing_checks(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "<section id=failing><h2>Failing checks ({})</h2>",
            self.failing.len()
        )?;
        if self.failing.is_empty() {
            writeln!(
                out,
                "<p>No check fails on any host (waived failures aside).</p>"
            )?;
        }
        for (i, check) in self.failing.iter().enumerate() {
            writeln!(
                out,
                "<details id=c{i}{}><summary><b>{}</b> host{} · <code>{}</code> {} <span class=sev>{}</span></summary>\
                 <p class=fix>{}</p><p class=hl>",
                if i < 5 { " open" } else { "" },
                check.hosts.len(),
                if check.hosts.len() == 1 { "" } else { "s" },
                Html(check.id),
                Html(check.title),
                check.severity,
                Html(check.remediation)
            )?;
            for &h in &check.hosts {
                if let Some(host) = self.report.digest.hosts.get(h) {
                    write!(out, "<a href=#h{h}>{}</a> ", Html(&host.name))?;
                }
            }
            writeln!(out, "</p></details>")?;
        }
        writeln!(out, "</section>")
    }

    fn host_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "<section id=hosts><h2>Hosts ({})</h2>\
             <p><input id=q type=search placeholder=\"Filter hosts…\" aria-label=\"Filter hosts\"> <span id=qn></span> · click a column to sort</p>\
             <table class=t id=ht><thead><tr><th>host<th>address<th>groups<th>outcome<th>ready<th>fail<th>warn<th>unknown<th>waived<th>pass<th>n/a<th>seconds</thead><tbody>",
            self.report.digest.hosts.len()
        )?;
        for (i, host) in self.report.digest.hosts.iter().enumerate() {
            let t = host.counts();
            writeln!(
                out,
                "<tr><td><a href=#h{i}>{}</a><td>{}<td>{}<td>{}<td>{}<td>{}<td>{}<td>{}<td>{}<td>{}<td>{}<td>{:.1}",
                Html(&host.name),
                Html(&host.address),
                Html(&host.groups.join(", ")),
                host.outcome,
                if host.is_ready() { "yes" } else { "no" },
                t.fail,
                t.warn,
                t.unknown,
                t.waived,
                t.pass,
                t.na,
                host.duration_ms as f64 / 1000.0
            )?;
        }
        writeln!(out, "</tbody></table></section>")
    }

    fn unscanned(&self, out: &mut impl Write) -> std::io::Result<()> {
        let hosts: Vec<(usize, &HostDigest)> = self
            .report
            .digest
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.outcome != Outcome::Scanned)
            .collect();
        writeln!(
            out,
            "<section id=unscanned><h2>Hosts not scanned ({})</h2>",
            hosts.len()
        )?;
        if hosts.is_empty() {
            return writeln!(out, "<p>Every host was scanned.</p></section>");
        }
        writeln!(
            out,
            "<table class=t><thead><tr><th>host<th>address<th>outcome<th>why</thead><tbody>"
        )?;
        for (i, host) in hosts {
            writeln!(
                out,
                "<tr><td><a href=#h{i}>{}</a><td>{}<td class=bad>{}<td>{}",
                Html(&host.name),
                Html(&host.address),
                host.outcome,
                Html(host.error.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out, "</tbody></table></section>")
    }

    /// One host's collapsed section with every check's evidence.
    fn host_section(
        &self,
        out: &mut impl Write,
        i: usize,
        host: &HostView<'_>,
    ) -> std::io::Result<()> {
        let t = view_counts(host);
        writeln!(
            out,
            "<details class=host id=h{i}><summary><b>{}</b> · {}{} · {} fail · {} warn · {} unknown · {} waived</summary>",
            Html(&host.name),
            host.outcome,
            if view_is_ready(host) { " · ready" } else { "" },
            t.fail,
            t.warn,
            t.unknown,
            t.waived
        )?;
        writeln!(
            out,
            "<p class=meta>{} · groups {} · started {} · {:.1} s · {} requests</p>",
            Html(&host.address),
            Html(&host.groups.join(", ")),
            host.started.format(&Rfc3339).unwrap_or_default(),
            host.duration_ms as f64 / 1000.0,
            host.requests
        )?;
        if let Some(error) = &host.error {
            writeln!(out, "<p class=bad>{}: {}</p>", host.outcome, Html(error))?;
        }
        if !host.checks.is_empty() {
            writeln!(
                out,
                "<table class=\"t e\"><thead><tr><th>check<th>status<th>summary<th>evidence</thead><tbody>"
            )?;
            for check in &host.checks {
                self.check_row(out, check)?;
            }
            writeln!(out, "</tbody></table>")?;
        }
        writeln!(out, "</details>")
    }

    fn check_row(&self, out: &mut impl Write, check: &CheckView<'_>) -> std::io::Result<()> {
        // Passing rows carry no class: they are the bulk of a big report.
        match cell_class(check.status, check.waived.is_some()) {
            "p" => write!(out, "<tr><td>{}<td>{}", Html(&check.id), check.status)?,
            class => write!(
                out,
                "<tr class=s{class}><td>{}<td>{}",
                Html(&check.id),
                check.status
            )?,
        }
        if let Some(w) = &check.waived {
            write!(
                out,
                " (waived: {}{})",
                Html(&w.reason),
                w.expires
                    .as_deref()
                    .map(|d| format!(", until {}", Html(d)))
                    .unwrap_or_default()
            )?;
        }
        write!(out, "<td>{}", Html(&check.summary))?;
        if check.status == Status::Fail
            && check.waived.is_none()
            && let Some(i) = self.failing_index.get(check.id.as_ref())
        {
            write!(out, " <a href=#c{i}>fix</a>")?;
        }
        let evidence = check.evidence_text();
        // A character takes at least one byte: short evidence needs no counting.
        let cut = if evidence.len() <= MAX_EVIDENCE_CHARS {
            None
        } else {
            evidence.char_indices().nth(MAX_EVIDENCE_CHARS)
        };
        match cut {
            None => writeln!(out, "<td>{}", Html(evidence)),
            Some((cut, _)) => writeln!(
                out,
                "<td>{}<b>…[{} more characters in the JSON report]</b>",
                Html(evidence.get(..cut).unwrap_or("")),
                evidence.get(cut..).unwrap_or("").chars().count()
            ),
        }
    }
}
