//! Writing the requested report files atomically: each is written to a temporary
//! file in the same directory, flushed to disk, then renamed over the target, so
//! a full disk or a killed process never leaves a half-written report behind
//! (the previous report, if any, stays whole).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::model::FleetReport;
use super::{ReportError, csv, html, json, junit};

/// Where to write each format; `None` skips it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputPaths {
    /// The compliance CSV.
    pub csv: Option<PathBuf>,
    /// The JSON report.
    pub json: Option<PathBuf>,
    /// The HTML dashboard.
    pub html: Option<PathBuf>,
    /// The JUnit XML.
    pub junit: Option<PathBuf>,
}

type Writer = fn(&FleetReport, &mut BufWriter<File>) -> Result<(), ReportError>;

/// Writes every requested file of `paths` (JSON first, the raw record).
///
/// A failure on one file does not stop the others.
///
/// # Errors
/// [`ReportError::Write`] naming the file that could not be written, or
/// [`ReportError::Several`] when more than one failed.
pub fn write_files(report: &FleetReport, paths: &OutputPaths) -> Result<(), ReportError> {
    let jobs: [(&Option<PathBuf>, Writer); 4] = [
        (&paths.json, |r, w| json::write(r, w)),
        (&paths.csv, |r, w| csv::write(r, w)),
        (&paths.html, |r, w| html::write(r, w)),
        (&paths.junit, |r, w| junit::write(r, w)),
    ];
    let mut errors: Vec<ReportError> = jobs
        .into_iter()
        .filter_map(|(path, writer)| path.as_deref().map(|p| (p, writer)))
        .filter_map(|(path, writer)| write_atomically(path, |w| writer(report, w)).err())
        .collect();
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(ReportError::Several(errors)),
    }
}

/// Writes `path` through `fill`: a temporary sibling, `sync_all`, then rename.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let fail = |source: std::io::Error| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let temp = dir.join(format!(
        ".{}.{}-{:08x}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u32(..)
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(fail)?;
    let mut out = BufWriter::new(file);
    let written = fill(&mut out)
        .map_err(|e| match e {
            ReportError::Io { source, .. } => fail(source),
            other => other,
        })
        .and_then(|()| out.flush().map_err(fail))
        .and_then(|()| out.get_ref().sync_all().map_err(fail))
        .and_then(|()| std::fs::rename(&temp, path).map_err(fail));
    if written.is_err() {
        // Best effort: the temporary file is ours and incomplete.
        let _ = std::fs::remove_file(&temp);
    } else if let Ok(d) = File::open(&dir) {
        // Persist the rename itself; not every platform can sync a directory.
        let _ = d.sync_all();
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn write_files_writes_each_requested_format_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths {
            csv: Some(dir.path().join("r.csv")),
            json: Some(dir.path().join("r.json")),
            html: None,
            junit: Some(dir.path().join("r.xml")),
        };
        write_files(&sample::fixed_report(), &paths).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["r.csv", "r.json", "r.xml"]);
    }

    #[test]
    fn failed_write_names_the_file_and_keeps_the_previous_report() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("r.csv");
        std::fs::write(&good, "old").unwrap();
        let err = write_atomically(&good, |w| {
            w.write_all(b"half").map_err(ReportError::io("csv"))?;
            Err(ReportError::Io {
                format: "csv",
                source: std::io::Error::other("No space left on device"),
            })
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("r.csv") && text.contains("No space left"),
            "{text}"
        );
        assert!(text.contains("free space"), "{text}");
        assert_eq!(std::fs::read_to_string(&good).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_reported_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths {
            csv: Some(dir.path().join("nope/r.csv")),
            json: Some(dir.path().join("r.json")),
            html: Some(dir.path().join("nope/r.html")),
            junit: None,
        };
        let err = write_files(&sample::fixed_report(), &paths).unwrap_err();
        assert!(
            matches!(&err, ReportError::Several(v) if v.len() == 2),
            "{err}"
        );
        assert!(err.to_string().contains("nope/r.html"));
        assert!(dir.path().join("r.json").exists());
    }
}
