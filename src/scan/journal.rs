//! The journal: one JSON line per finished host, flushed as the host finishes, so a
//! killed run loses nothing already scanned. Writing happens on its own thread so
//! the runtime never blocks on the disk.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde::Serialize;

use crate::report::model::HostReport;

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

/// Appends finished hosts to the journal file from a writer thread.
#[derive(Debug)]
pub struct Journal {
    tx: Option<mpsc::Sender<String>>,
    writer: Option<JoinHandle<Result<(), JournalError>>>,
    scan_id: String,
}

impl Journal {
    /// Creates (truncates) the journal at `path` for the scan `scan_id`.
    ///
    /// # Errors
    /// [`JournalError::Create`] when the file cannot be created.
    pub fn create(path: &Path, scan_id: &str) -> Result<Self, JournalError> {
        let file = File::create(path).map_err(|source| JournalError::Create {
            path: path.to_owned(),
            source,
        })?;
        let (tx, rx) = mpsc::channel::<String>();
        let path = path.to_owned();
        let writer = std::thread::Builder::new()
            .name("fleetscan-journal".into())
            .spawn(move || {
                let mut out = BufWriter::new(file);
                for line in rx {
                    out.write_all(line.as_bytes())
                        .and_then(|()| out.write_all(b"\n"))
                        .and_then(|()| out.flush())
                        .map_err(|source| JournalError::Write {
                            path: path.clone(),
                            source,
                        })?;
                }
                out.get_ref()
                    .sync_all()
                    .map_err(|source| JournalError::Write { path, source })
            })
            .map_err(|source| JournalError::Create {
                path: PathBuf::new(),
                source,
            })?;
        Ok(Self {
            tx: Some(tx),
            writer: Some(writer),
            scan_id: scan_id.to_owned(),
        })
    }

    /// Queues one finished host; it reaches the disk (flushed) shortly after.
    pub fn record(&self, host: &HostReport) {
        let line = Line {
            scan_id: &self.scan_id,
            host,
        };
        // A HostReport always serializes (plain data); an error here would be our bug.
        if let (Some(tx), Ok(text)) = (&self.tx, serde_json::to_string(&line)) {
            // A send error means the writer stopped on an I/O error; finish() reports it.
            let _ = tx.send(text);
        }
    }

    /// Waits until every queued line is on disk.
    ///
    /// # Errors
    /// The first write error, if any.
    pub fn finish(mut self) -> Result<(), JournalError> {
        drop(self.tx.take());
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) | None => Ok(()),
        }
    }
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

    #[test]
    fn every_recorded_host_is_on_disk_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "scan-1").unwrap();
        j.record(&host("a"));
        j.record(&host("b"));
        j.finish().unwrap();
        let hosts = read(&path).unwrap();
        assert_eq!(
            hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(raw.lines().all(|l| l.contains("\"scan_id\":\"scan-1\"")));
    }

    #[test]
    fn a_line_cut_short_by_a_kill_is_skipped_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, "s").unwrap();
        j.record(&host("a"));
        j.finish().unwrap();
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
