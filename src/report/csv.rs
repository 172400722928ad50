//! The compliance CSV of CLI.md: one row per host and check, plus one row per
//! host without check results (not scanned), written with the `csv` crate.
//!
//! Host names, service names, paths and event texts come from the remote side,
//! so every cell is neutralised against spreadsheet formula injection (CWE-1236)
//! the way OWASP's "CSV Injection" page recommends: a cell that begins with `=`,
//! `+`, `-`, `@`, tab, carriage return or line feed gets a leading apostrophe,
//! which Excel and LibreOffice read as "this is text". The `csv` crate quotes
//! cells holding separators or quotes (RFC 4180), so a value cannot start a new
//! cell either. Cells longer than Excel's limit of 32,767 characters are cut and
//! end with a marker saying how much was cut. The JSON report keeps raw values.
//!
//! Cell conventions: `scanned_at` is the host's start (RFC 3339, UTC); `groups`
//! are joined with `;`; `evidence` is compact JSON (`null` when there is none);
//! `waived` is `true`/`false` on check rows. A host without check results (not
//! scanned) has one row whose check columns and `status` are empty and whose
//! `summary` holds the error; a host that timed out keeps its check rows. Rows
//! end with CRLF (RFC 4180).

use std::borrow::Cow;
use std::io::Write;

use time::format_description::well_known::Rfc3339;

use super::ReportError;
use super::digest::FleetDigest;
use super::model::FleetReport;
use super::stream::{ReportHead, ReportHosts, Sink, run_one};
use super::view::{CheckView, HostView};

/// The header of CLI.md, in order.
pub const COLUMNS: [&str; 17] = [
    "scan_id",
    "scanned_at",
    "host",
    "address",
    "groups",
    "outcome",
    "check_id",
    "title",
    "seed_section",
    "severity",
    "status",
    "summary",
    "evidence",
    "remediation",
    "waived",
    "waiver_reason",
    "waiver_expires",
];

/// Excel's maximum number of characters in one cell.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Writes `report` as CSV to `out`.
///
/// # Errors
/// [`ReportError::Io`] when `out` fails.
pub fn write(report: &FleetReport, out: impl Write) -> Result<(), ReportError> {
    let digest = FleetDigest::of(report);
    let head = ReportHead::of(report, &digest);
    run_one(
        &mut CsvSink::new(&head, out),
        &mut ReportHosts(&report.hosts),
    )
}

/// The CSV writer as a [`Sink`]: the header, then each host's rows as it comes.
pub struct CsvSink<'h, W: Write> {
    scan_id: &'h str,
    writer: csv::Writer<W>,
}

impl<'h, W: Write> CsvSink<'h, W> {
    /// A CSV writer for the report `head` describes, writing to `out`.
    pub fn new(head: &ReportHead<'h>, out: W) -> Self {
        CsvSink {
            scan_id: &head.meta.scan_id,
            writer: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out),
        }
    }
}

impl<W: Write> Sink for CsvSink<'_, W> {
    fn format(&self) -> &'static str {
        "csv"
    }

    fn begin(&mut self) -> std::io::Result<()> {
        self.writer.write_record(COLUMNS).map_err(csv_error)
    }

    fn host(&mut self, _index: usize, host: &HostView<'_>) -> std::io::Result<()> {
        let base = HostCells::of(self.scan_id, host);
        if host.checks.is_empty() {
            let row = base.row(None, host.error.as_deref().unwrap_or(""));
            write_row(&mut self.writer, &row)?;
        }
        for check in &host.checks {
            let row = base.row(Some(check), &check.summary);
            write_row(&mut self.writer, &row)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

fn write_row<W: Write>(
    writer: &mut csv::Writer<W>,
    row: &[Cow<'_, str>; COLUMNS.len()],
) -> std::io::Result<()> {
    // One row per host and check: cells on the stack, no Vec per row.
    let cells = row.each_ref().map(|c| cell(c));
    writer
        .write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(csv_error)
}

fn csv_error(err: csv::Error) -> std::io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(source) => source,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// The cells every row of a host shares.
struct HostCells<'a> {
    scan_id: &'a str,
    scanned_at: String,
    host: &'a str,
    address: &'a str,
    groups: String,
    outcome: &'static str,
}

impl<'a> HostCells<'a> {
    fn of(scan_id: &'a str, host: &'a HostView<'a>) -> HostCells<'a> {
        HostCells {
            scan_id,
            scanned_at: host.started.format(&Rfc3339).unwrap_or_default(),
            host: &host.name,
            address: &host.address,
            groups: host.groups.join(";"),
            outcome: host.outcome.as_str(),
        }
    }

    fn row<'b>(&'b self, check: Option<&'b CheckView<'b>>, summary: &'b str) -> [Cow<'b, str>; 17] {
        let text = |f: fn(&'b CheckView<'b>) -> &'b str| Cow::Borrowed(check.map(f).unwrap_or(""));
        let waiver = check.and_then(|c| c.waived.as_ref());
        [
            Cow::Borrowed(self.scan_id),
            Cow::Borrowed(self.scanned_at.as_str()),
            Cow::Borrowed(self.host),
            Cow::Borrowed(self.address),
            Cow::Borrowed(self.groups.as_str()),
            Cow::Borrowed(self.outcome),
            text(|c| &c.id),
            text(|c| &c.title),
            text(|c| &c.seed_section),
            text(|c| c.severity.as_str()),
            text(|c| c.status.as_str()),
            Cow::Borrowed(summary),
            text(CheckView::evidence_text),
            text(|c| &c.remediation),
            Cow::Borrowed(match check {
                None => "",
                Some(_) if waiver.is_some() => "true",
                Some(_) => "false",
            }),
            Cow::Borrowed(waiver.map_or("", |w| w.reason.as_str())),
            Cow::Borrowed(waiver.and_then(|w| w.expires.as_deref()).unwrap_or("")),
        ]
    }
}

/// One cell as written: neutralised, then cut to [`MAX_CELL_CHARS`].
pub fn cell(value: &str) -> Cow<'_, str> {
    truncate(neutralise(value))
}

/// Prefixes an apostrophe when a spreadsheet could read `value` as a formula
/// (it starts with `=`, `+`, `-`, `@`, tab, CR or LF); other values are unchanged.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Cuts `value` to at most [`MAX_CELL_CHARS`] characters, ending it with
/// `…[truncated N chars]` where N counts the characters removed.
pub fn truncate(value: Cow<'_, str>) -> Cow<'_, str> {
    // A character takes at least one byte: a short value needs no counting,
    // which spares a pass over every cell (evidence cells run to kilobytes).
    if value.len() <= MAX_CELL_CHARS {
        return value;
    }
    let total = value.chars().count();
    if total <= MAX_CELL_CHARS {
        return value;
    }
    // The marker's length depends on N's digit count: settle it in two passes.
    let mut marker = format!("…[truncated {} chars]", total - MAX_CELL_CHARS);
    for _ in 0..2 {
        let keep = MAX_CELL_CHARS - marker.chars().count();
        marker = format!("…[truncated {} chars]", total - keep);
    }
    let keep = MAX_CELL_CHARS - marker.chars().count();
    let mut cut: String = value.chars().take(keep).collect();
    cut.push_str(&marker);
    Cow::Owned(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_neutralises_every_formula_trigger() {
        for bad in ["=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for good in ["web01", "1-2", "", "a=b", "'already"] {
            assert_eq!(neutralise(good), good);
        }
    }

    #[test]
    fn over_long_cell_is_cut_to_the_excel_limit_with_a_marker() {
        let long = "x".repeat(40_000);
        let cut = truncate(Cow::Borrowed(&long));
        assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
        let kept = cut.chars().take_while(|c| *c == 'x').count();
        assert!(cut.ends_with(&format!("…[truncated {} chars]", 40_000 - kept)));
    }

    #[test]
    fn multi_byte_cell_longer_in_bytes_than_the_limit_but_not_in_chars_is_kept_whole() {
        let wide = "é".repeat(MAX_CELL_CHARS - 1);
        assert!(wide.len() > MAX_CELL_CHARS);
        assert_eq!(truncate(Cow::Borrowed(&wide)), wide);
        let over = "é".repeat(MAX_CELL_CHARS + 1);
        assert_eq!(
            truncate(Cow::Borrowed(&over)).chars().count(),
            MAX_CELL_CHARS
        );
    }

    #[test]
    fn cell_at_the_limit_is_kept_whole() {
        let exact = "é".repeat(MAX_CELL_CHARS);
        assert_eq!(truncate(Cow::Borrowed(&exact)), exact);
    }
}
