//! The one error type of the report module: every variant names the file or
//! format involved and says what to do.

use std::io;
use std::path::PathBuf;

/// What went wrong while reading, writing or applying a report or waiver file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written (disk full, no permission, missing directory).
    #[error(
        "cannot write {}: {source}; check that the directory exists, is writable and has free space (no partial file was left behind)",
        path.display()
    )]
    Write {
        /// The report file that was being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Several report files could not be written; each error names its file.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ReportError>),
    /// A writer's output stream failed (the `impl Write` handed to a writer).
    #[error("writing the {format} report failed: {source}")]
    Io {
        /// Which writer: `csv`, `json`, `html`, `junit`.
        format: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a fleetscan JSON report (not JSON, or not our layout).
    #[error(
        "{} is not a fleetscan JSON report: {reason}; pass a file written by `fleetscan scan --json`",
        path.display()
    )]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// What did not fit.
        reason: String,
    },
    /// The report was written by a newer fleetscan with a layout this one does not know.
    #[error(
        "{} has report schema_version {found}, newer than the {supported} this fleetscan reads; use a newer fleetscan",
        path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The schema version in the file.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The journal a scan spilled its hosts to no longer holds what was written
    /// (truncated, edited or replaced while the scan ran), so the reports cannot
    /// be written whole.
    #[error(
        "the journal {} changed while fleetscan was reading the scanned hosts back from it ({reason}); no report file was written. Leave the journal alone until fleetscan has exited, and scan again",
        path.display()
    )]
    JournalChanged {
        /// The journal file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// A waiver file is malformed; `line` is 1-based (0 when unknown).
    #[error("{}:{line}: {message}", path.display())]
    Waiver {
        /// The waiver file.
        path: PathBuf,
        /// The line of the offending entry.
        line: u64,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl ReportError {
    /// An I/O failure of the `format` writer.
    pub(crate) fn io(format: &'static str) -> impl FnOnce(io::Error) -> ReportError {
        move |source| ReportError::Io { format, source }
    }
}
