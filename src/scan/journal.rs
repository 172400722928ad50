//! The journal: one JSON line per finished host, written as the host finishes,
//! so a killed run loses nothing already scanned. Writing happens on its own
//! thread so the runtime never blocks on the disk.
//!
//! The journal is also where a scan keeps its finished hosts: the writer thread
//! notes where each line starts, and once the scan is over [`Journal::finish`]
//! hands back a [`Spill`] from which the report writers read every host again,
//! one at a time ([`crate::scan::FleetScan`]). If a line cannot be written (disk
//! full, removed volume), it and every later line stay in memory instead, so the
//! reports still hold every host.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::report::model::HostReport;
use crate::report::{HostView, ReportError};

/// A journal that could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be created.
    #[error("cannot create the journal {path}: {source}; choose another place with --journal")]
    Create {
        /// The journal path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line could not be written (disk full, removed volume, …).
    #[error("cannot write the journal {path}: {source}; the reports still hold every host")]
    Write {
        /// The journal path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Serialize)]
struct Line<'a> {
    scan_id: &'a str,
    host: &'a HostReport,
}

/// A journal line as the report writers read it back.
#[derive(Deserialize)]
struct LineView<'a> {
    #[serde(borrow)]
    scan_id: Cow<'a, str>,
    #[serde(borrow)]
    host: HostView<'a>,
}

/// Where a recorded host can be found again.
#[derive(Debug)]
pub enum Entry {
    /// The `n`th line handed to the journal (see [`Spill::line`]).
    Ticket(u64),
    /// The journal had already stopped: the line, kept by the caller.
    Line(String),
}

enum Msg {
    Line { ticket: u64, text: String },
    Finish,
}

/// Where the line of one ticket went.
#[derive(Debug)]
enum Slot {
    /// Never received (cannot happen once [`Journal::finish`] returned).
    Missing,
    /// In the file: byte offset and length, newline included.
    Disk { offset: u64, len: usize },
    /// Not written (the journal failed before it): the line, newline included.
    Held(String),
}

/// What the writer thread hands back.
struct Written<W> {
    out: W,
    slots: Vec<Slot>,
    error: Option<std::io::Error>,
}

/// Appends finished hosts to the journal file from a writer thread.
#[derive(Debug)]
pub struct Journal {
    tx: mpsc::Sender<Msg>,
    writer: Mutex<Option<JoinHandle<Written<File>>>>,
    scan_id: String,
    path: PathBuf,
    next: AtomicU64,
    /// The capacity to serialise the next host into: the last line's length and an
    /// eighth more (hosts of one scan are alike).
    line_hint: AtomicUsize,
}

/// The most [`Journal::record`] reserves up front for a line, in bytes: a healthy
/// host's line is ~22 KB, and one host with megabytes of evidence must not make the
/// hosts finishing beside it each reserve as much while their lines wait in the queue.
const LINE_HINT_MAX: usize = 64 << 10;

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Line { ticket, text } => write!(f, "Line({ticket}, {} bytes)", text.len()),
            Msg::Finish => f.write_str("Finish"),
        }
    }
}

impl Journal {
    /// Creates (truncates) the journal at `path` for the scan `scan_id`.
    ///
    /// # Errors
    /// [`JournalError::Create`] when the file cannot be created.
    pub fn create(path: &Path, scan_id: &str) -> Result<Self, JournalError> {
        // Readable too: the hosts are read back through this same handle, so a
        // journal renamed or deleted during the scan still yields them.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|source| JournalError::Create {
                path: path.to_owned(),
                source,
            })?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let writer = std::thread::Builder::new()
            .name("fleetscan-journal".into())
            .spawn(move || {
                let mut written = write_lines(file, &rx);
                if written.error.is_none()
                    && let Err(e) = written.out.sync_all()
                {
                    written.error = Some(e);
                }
                written
            })
            .map_err(|source| JournalError::Create {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            tx,
            writer: Mutex::new(Some(writer)),
            scan_id: scan_id.to_owned(),
            path: path.to_owned(),
            next: AtomicU64::new(0),
            line_hint: AtomicUsize::new(0),
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one finished host; it reaches the disk (written, not synced)
    /// shortly after. Serialises on the calling thread, so hosts finishing on
    /// several runtime threads do not queue behind one another.
    ///
    /// Returns where the host can be found again, or `None` when it could not be
    /// serialised (plain data: that would be our bug; the caller keeps the host).
    pub fn record(&self, host: &HostReport) -> Option<Entry> {
        let line = Line {
            scan_id: &self.scan_id,
            host,
        };
        // Sized from the last line: growing from empty re-copied a healthy host's
        // ~22 KB eight times. serde_json writes UTF-8, so the check below is a
        // formality that costs a fast ASCII pass.
        let hint = self.line_hint.load(Ordering::Relaxed);
        let mut buf = Vec::with_capacity(hint.clamp(256, LINE_HINT_MAX));
        serde_json::to_writer(&mut buf, &line).ok()?;
        buf.push(b'\n');
        self.line_hint
            .store(buf.len() + buf.len() / 8, Ordering::Relaxed);
        let text = String::from_utf8(buf).ok()?;
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        match self.tx.send(Msg::Line { ticket, text }) {
            Ok(()) => Some(Entry::Ticket(ticket)),
            // The writer has finished: the caller keeps the line.
            Err(mpsc::SendError(Msg::Line { text, .. })) => Some(Entry::Line(text)),
            Err(mpsc::SendError(Msg::Finish)) => None,
        }
    }

    /// Waits until every queued line is written and synced, and returns the
    /// journal for reading the hosts back, with the first write error, if any
    /// (the lines from that one on are held in memory).
    pub fn finish(&self) -> (Spill, Option<JournalError>) {
        let _ = self.tx.send(Msg::Finish);
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let written = handle.map(JoinHandle::join);
        let (file, slots, error) = match written {
            Some(Ok(w)) => (Some(w.out), w.slots, w.error),
            Some(Err(_)) => (
                None,
                Vec::new(),
                Some(std::io::Error::other("the journal writer thread failed")),
            ),
            // Finished before: nothing more was written.
            None => (None, Vec::new(), None),
        };
        let spill = Spill {
            path: self.path.clone(),
            scan_id: self.scan_id.clone(),
            file,
            slots,
        };
        let error = error.map(|source| JournalError::Write {
            path: self.path.clone(),
            source,
        });
        (spill, error)
    }
}

/// The writer thread: each line is written with one `write_all` as it comes;
/// after the first failure the lines are held instead. Ends at `Finish`.
fn write_lines<W: Write>(mut out: W, rx: &mpsc::Receiver<Msg>) -> Written<W> {
    let mut slots: Vec<Slot> = Vec::new();
    let mut offset = 0u64;
    let mut error = None;
    for msg in rx {
        let (ticket, text) = match msg {
            Msg::Line { ticket, text } => (ticket, text),
            Msg::Finish => break,
        };
        let slot = if error.is_some() {
            Slot::Held(text)
        } else {
            match out.write_all(text.as_bytes()) {
                Ok(()) => {
                    let len = text.len();
                    let slot = Slot::Disk { offset, len };
                    offset += len as u64;
                    slot
                }
                Err(e) => {
                    error = Some(e);
                    Slot::Held(text)
                }
            }
        };
        let Ok(i) = usize::try_from(ticket) else {
            continue;
        };
        if slots.len() <= i {
            slots.resize_with(i + 1, || Slot::Missing);
        }
        if let Some(place) = slots.get_mut(i) {
            *place = slot;
        }
    }
    Written { out, slots, error }
}

/// Reads `buf.len()` bytes at `offset` without moving a shared file position,
/// so the writers' threads can read hosts back at once.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// As on Unix; Windows' positional read also moves the file position, which no
/// reader here relies on.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// A finished journal, for reading its hosts back by ticket.
#[derive(Debug)]
pub struct Spill {
    path: PathBuf,
    scan_id: String,
    file: Option<File>,
    slots: Vec<Slot>,
}

impl Spill {
    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn changed(&self, reason: String) -> ReportError {
        ReportError::JournalChanged {
            path: self.path.clone(),
            reason,
        }
    }

    /// The host recorded under `ticket`, read from the journal (into `buf`) or
    /// from memory, and checked to be this scan's.
    ///
    /// # Errors
    /// [`ReportError::JournalChanged`] when the journal no longer holds that line
    /// (shorter, or other text where it was) or the line is another scan's.
    pub fn host<'b>(
        &'b self,
        ticket: u64,
        buf: &'b mut Vec<u8>,
    ) -> Result<HostView<'b>, ReportError> {
        let slot = usize::try_from(ticket)
            .ok()
            .and_then(|i| self.slots.get(i))
            .unwrap_or(&Slot::Missing);
        let line: &[u8] = match slot {
            Slot::Held(text) => text.as_bytes(),
            Slot::Missing => {
                return Err(self.changed(format!("line {ticket} was never written")));
            }
            &Slot::Disk { offset, len } => {
                let file = self
                    .file
                    .as_ref()
                    .ok_or_else(|| self.changed("the journal writer failed".to_owned()))?;
                buf.resize(len, 0);
                read_exact_at(file, buf, offset).map_err(|e| {
                    self.changed(format!(
                        "reading {len} bytes at offset {offset}: {e}; was it truncated?"
                    ))
                })?;
                buf
            }
        };
        self.parse(line, ticket)
    }

    /// Parses one line of this scan (newline included).
    fn parse<'b>(&self, line: &'b [u8], ticket: u64) -> Result<HostView<'b>, ReportError> {
        let body = line
            .strip_suffix(b"\n")
            .ok_or_else(|| self.changed(format!("line {ticket} no longer ends where it did")))?;
        // Checked as UTF-8 once, whole (word at a time), so that serde_json's
        // `from_str` need not check each string it borrows again.
        let text = std::str::from_utf8(body)
            .map_err(|e| self.changed(format!("line {ticket} is no longer text ({e})")))?;
        let parsed: LineView<'b> = serde_json::from_str(text)
            .map_err(|e| self.changed(format!("line {ticket} is no longer a host record ({e})")))?;
        if parsed.scan_id != self.scan_id {
            return Err(self.changed(format!(
                "line {ticket} belongs to scan {}, not {}",
                parsed.scan_id, self.scan_id
            )));
        }
        let mut host = parsed.host;
        host.serialised = host_text(body, &self.scan_id);
        Ok(host)
    }

    /// Parses a line the caller kept because the journal had stopped.
    ///
    /// # Errors
    /// As [`Spill::host`].
    pub fn kept_line<'b>(&self, line: &'b str) -> Result<HostView<'b>, ReportError> {
        self.parse(line.as_bytes(), u64::MAX)
    }
}

/// The `host` value of a line of this scan that parsed as a [`LineView`], as
/// [`Journal::record`] wrote it: `{"scan_id":…,"host":` … `}`. That text is the
/// view serialised (a view serialises byte for byte as the [`HostReport`] it
/// shows), so the JSON report can copy it. `None` when the line is laid out in
/// any other way (then the view is serialised again).
fn host_text<'b>(body: &'b [u8], scan_id: &str) -> Option<&'b str> {
    // `Line`'s fields in order, compact, as serde_json writes them.
    let head = format!(
        "{{\"scan_id\":{},\"host\":",
        serde_json::to_string(scan_id).ok()?
    );
    let host = body.strip_prefix(head.as_bytes())?.strip_suffix(b"}")?;
    if !(host.starts_with(b"{") && host.ends_with(b"}")) {
        return None;
    }
    std::str::from_utf8(host).ok()
}

/// Reads a journal back: the hosts it holds, in the order they finished.
/// Lines that are cut short (a run killed mid-write) are skipped.
///
/// # Errors
/// The file cannot be read.
pub fn read(path: &Path) -> std::io::Result<Vec<HostReport>> {
    #[derive(serde::Deserialize)]
    struct Owned {
        host: HostReport,
    }
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Owned>(l).ok())
        .map(|l| l.host)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Outcome;
    use time::OffsetDateTime;

    fn host(name: &str) -> HostReport {
        HostReport {
            name: name.into(),
            address: "127.0.0.1:5985".into(),
            groups: vec![],
            outcome: Outcome::Scanned,
            error: None,
            started: OffsetDateTime::UNIX_EPOCH,
            duration_ms: 3,
            requests: 6,
            checks: vec![],
        }
    }

    fn ticket(entry: Option<Entry>) -> u64 {
        match entry {
            Some(Entry::Ticket(t)) => t,
            other => panic!("not a ticket: {other:?}"),
        }
    }

    #[test]
    fn every_recorded_host_is_on_disk_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "scan-1").unwrap();
        j.record(&host("a"));
        j.record(&host("b"));
        let (_, error) = j.finish();
        assert!(error.is_none(), "{error:?}");
        let hosts = read(&path).unwrap();
        assert_eq!(
            hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(raw.lines().all(|l| l.contains("\"scan_id\":\"scan-1\"")));
    }

    #[test]
    fn a_host_read_back_carries_its_journal_text_equal_to_its_serialisation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "scan \"q\" é").unwrap();
        let report = crate::report::sample::fixed_report();
        let tickets: Vec<u64> = report.hosts.iter().map(|h| ticket(j.record(h))).collect();
        let (spill, error) = j.finish();
        assert!(error.is_none());
        let mut buf = Vec::new();
        for (t, h) in tickets.iter().zip(&report.hosts) {
            let view = spill.host(*t, &mut buf).unwrap();
            let again = serde_json::to_string(&view).unwrap();
            assert_eq!(view.serialised, Some(again.as_str()), "{}", h.name);
            assert_eq!(again, serde_json::to_string(h).unwrap());
        }
    }

    #[test]
    fn a_line_laid_out_otherwise_is_read_but_serialised_again() {
        let compact = br#"{"scan_id":"s","host":{"name":"a"}}"#;
        assert_eq!(host_text(compact, "s"), Some(r#"{"name":"a"}"#));
        for other in [
            &br#"{"scan_id":"s", "host":{"name":"a"}}"#[..],
            br#"{"host":{"name":"a"},"scan_id":"s"}"#,
            br#"{"scan_id":"s","host":{"name":"a"} }"#,
            br#"{"scan_id":"t","host":{"name":"a"}}"#,
        ] {
            assert_eq!(host_text(other, "s"), None);
        }
        let spaced = b"{\"scan_id\":\"s\", \"host\":{\"name\":\"a\",\"address\":\"x\",\"groups\":[],\"outcome\":\"scanned\",\"started\":\"1970-01-01T00:00:00Z\",\"duration_ms\":1,\"checks\":[]}}\n";
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(&dir.path().join("j.jsonl"), "s").unwrap();
        let (spill, _) = j.finish();
        let view = spill.parse(spaced, 0).unwrap();
        assert_eq!(view.name, "a");
        assert_eq!(view.serialised, None);
    }

    #[test]
    fn hosts_are_read_back_by_ticket_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "s").unwrap();
        let tickets: Vec<u64> = ["a", "b", "c"]
            .iter()
            .map(|n| ticket(j.record(&host(n))))
            .collect();
        let (spill, error) = j.finish();
        assert!(error.is_none());
        let mut buf = Vec::new();
        for (t, want) in tickets.iter().zip(["a", "b", "c"]).rev() {
            assert_eq!(spill.host(*t, &mut buf).unwrap().name, want);
        }
    }

    #[test]
    fn a_journal_removed_during_the_scan_still_yields_its_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "s").unwrap();
        let t = ticket(j.record(&host("a")));
        std::fs::remove_file(&path).unwrap();
        let (spill, _) = j.finish();
        assert_eq!(spill.host(t, &mut Vec::new()).unwrap().name, "a");
    }

    #[test]
    fn lines_after_a_write_failure_are_held_in_memory() {
        /// Takes `room` bytes, then fails like a full disk.
        struct Filling {
            room: usize,
            taken: Vec<u8>,
        }
        impl Write for Filling {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.taken.len() + b.len() > self.room {
                    return Err(std::io::Error::other("No space left on device"));
                }
                self.taken.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let line = |name: &str| {
            let mut t = serde_json::to_string(&Line {
                scan_id: "s",
                host: &host(name),
            })
            .unwrap();
            t.push('\n');
            t
        };
        let (tx, rx) = mpsc::channel();
        for (ticket, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let text = line(name);
            tx.send(Msg::Line {
                ticket: ticket as u64,
                text,
            })
            .unwrap();
        }
        tx.send(Msg::Finish).unwrap();
        let room = line("a").len() * 2 + 10;
        let w = write_lines(
            Filling {
                room,
                taken: Vec::new(),
            },
            &rx,
        );
        assert!(w.error.is_some());
        assert!(matches!(w.slots[1], Slot::Disk { .. }));
        assert!(matches!(w.slots[2], Slot::Held(_)) && matches!(w.slots[3], Slot::Held(_)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, &w.out.taken).unwrap();
        let spill = Spill {
            path: path.clone(),
            scan_id: "s".into(),
            file: Some(File::open(&path).unwrap()),
            slots: w.slots,
        };
        let mut buf = Vec::new();
        let names: Vec<String> = (0..4)
            .map(|t| spill.host(t, &mut buf).unwrap().name.into_owned())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_journal_on_a_full_disk_keeps_every_host_and_says_so() {
        let j = Journal::create(Path::new("/dev/full"), "s").unwrap();
        let t = ticket(j.record(&host("a")));
        let (spill, error) = j.finish();
        let error = error.expect("a write error").to_string();
        assert!(error.contains("still hold every host"), "{error}");
        assert_eq!(spill.host(t, &mut Vec::new()).unwrap().name, "a");
    }

    #[test]
    fn a_journal_changed_under_the_scan_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "scan-1").unwrap();
        let a = ticket(j.record(&host("a")));
        let b = ticket(j.record(&host("b")));
        let (spill, _) = j.finish();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut buf = Vec::new();

        // Another scan's journal written over it, same length.
        std::fs::write(&path, text.replace("scan-1", "scan-2")).unwrap();
        let err = spill.host(a, &mut buf).unwrap_err().to_string();
        assert!(err.contains("j.jsonl") && err.contains("scan-2"), "{err}");

        // Edited in place.
        std::fs::write(&path, text.replacen("{", "[", 1)).unwrap();
        let err = spill.host(a, &mut buf).unwrap_err().to_string();
        assert!(err.contains("no longer a host record"), "{err}");

        // A byte that is not UTF-8 inside a string, same length.
        let mut bytes = text.clone().into_bytes();
        let at = text.find("\"a\"").unwrap() + 1;
        bytes[at] = 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = spill.host(a, &mut buf).unwrap_err().to_string();
        assert!(
            err.contains("j.jsonl") && err.contains("no longer text"),
            "{err}"
        );

        // Truncated.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(text.len() as u64 - 10)
            .unwrap();
        let err = spill.host(b, &mut buf).unwrap_err().to_string();
        assert!(
            err.contains("j.jsonl") && err.contains("truncated") && err.contains("no report file"),
            "{err}"
        );
    }

    #[test]
    fn a_line_cut_short_by_a_kill_is_skipped_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "s").unwrap();
        j.record(&host("a"));
        let _ = j.finish();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"scan_id\":\"s\",\"host\":{\"name\":\"b")
            .unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
    }

    #[test]
    fn journal_in_a_missing_directory_is_a_clear_error() {
        let err = Journal::create(Path::new("/nonexistent/dir/j.jsonl"), "s").unwrap_err();
        assert!(err.to_string().contains("--journal"), "{err}");
    }
}
