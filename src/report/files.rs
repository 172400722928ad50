//! Writing the requested report files atomically: each is written to a temporary
//! file in the same directory, flushed to disk, then renamed over the target, so
//! a full disk or a killed process never leaves a half-written report behind
//! (the previous report, if any, stays whole).
//!
//! All requested files are written in one pass over the hosts
//! ([`super::stream`]): each host is produced once (after a scan: read back from
//! the journal once) and handed to every writer.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::ReportError;
use super::csv::CsvSink;
use super::digest::FleetDigest;
use super::html::HtmlSink;
use super::json::JsonSink;
use super::junit::JunitSink;
use super::model::FleetReport;
use super::stream::{HostSource, ReportHead, ReportHosts, Sink};

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

/// Writes every requested file of `paths` (JSON first, the raw record).
///
/// A failure on one file does not stop the others.
///
/// # Errors
/// [`ReportError::Write`] naming the file that could not be written, or
/// [`ReportError::Several`] when more than one failed.
pub fn write_files(report: &FleetReport, paths: &OutputPaths) -> Result<(), ReportError> {
    let digest = FleetDigest::of(report);
    let head = ReportHead::of(report, &digest);
    write_reports(&head, &mut ReportHosts(&report.hosts), paths)
}

/// Each report file's write buffer, in bytes. A 10,000-host scan writes ~300 MB
/// of reports; std's default 8 KB buffer makes that ~37,000 `write` calls, this
/// one ~1,200, for 1 MiB of memory while the four files are written.
const FILE_BUF_BYTES: usize = 256 * 1024;

/// Makes a format's sink for a report head, writing to a file.
type MakeSink = for<'a> fn(&ReportHead<'a>, BufWriter<&'a File>) -> Box<dyn Sink + Send + 'a>;

/// Writes every requested file of `paths` for the report `head` describes, in
/// one pass over `source`: each host is produced once and handed to every
/// writer (JSON first, the raw record). Each file is written atomically; a
/// failure on one file does not stop the others.
///
/// # Errors
/// [`ReportError::Write`] naming the file that could not be written, or
/// [`ReportError::Several`] when more than one failed; the source's error (and
/// no file written) when a host cannot be produced.
pub fn write_reports(
    head: &ReportHead<'_>,
    source: &mut dyn HostSource,
    paths: &OutputPaths,
) -> Result<(), ReportError> {
    let formats: [(&Option<PathBuf>, MakeSink); 4] = [
        (&paths.json, |h, w| Box::new(JsonSink::new(h, w))),
        (&paths.csv, |h, w| Box::new(CsvSink::new(h, w))),
        (&paths.html, |h, w| Box::new(HtmlSink::new(h, w))),
        (&paths.junit, |h, w| Box::new(JunitSink::new(h, w))),
    ];
    let targets: Vec<(&Path, MakeSink)> = formats
        .into_iter()
        .filter_map(|(path, make)| path.as_deref().map(|p| (p, make)))
        .collect();
    write_targets(head, source, &targets)
}

/// A file being written: its temporary sibling, and the first error of its
/// writer (after which the writer is fed no more).
struct Target<'p> {
    path: &'p Path,
    temp: PathBuf,
    file: File,
    error: Option<std::io::Error>,
}

fn write_targets(
    head: &ReportHead<'_>,
    source: &mut dyn HostSource,
    targets: &[(&Path, MakeSink)],
) -> Result<(), ReportError> {
    let mut created: Vec<Result<(Target<'_>, MakeSink), ReportError>> = targets
        .iter()
        .map(|&(path, make)| {
            create_temp(path).map(|(temp, file)| {
                let target = Target {
                    path,
                    temp,
                    file,
                    error: None,
                };
                (target, make)
            })
        })
        .collect();
    let mut open: Vec<&mut (Target<'_>, MakeSink)> =
        created.iter_mut().filter_map(|c| c.as_mut().ok()).collect();
    let fed = feed(head, source, &mut open);
    let mut errors = Vec::new();
    for entry in created {
        match (entry, &fed) {
            (Err(e), _) => errors.push(e),
            (Ok((target, _)), Err(e)) => {
                // The hosts could not all be produced: no report may look whole.
                let _ = std::fs::remove_file(&target.temp);
                tracing::debug!("{} not written: {e}", target.path.display());
            }
            (Ok((target, _)), Ok(())) => {
                if let Err(e) = commit(target) {
                    errors.push(e);
                }
            }
        }
    }
    fed?;
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(ReportError::Several(errors)),
    }
}

/// Hosts handed to the writers at a time: each run is read back (and parsed) once,
/// then every writer writes it on a thread of its own. 64 hosts of a healthy
/// fleet are ~2 MB of journal text held at once.
const RUN_HOSTS: usize = 64;

/// A writer and the first error of its output (after which it is fed no more).
type Feeding<'s> = (Box<dyn Sink + Send + 's>, &'s mut Option<std::io::Error>);

/// Runs every target's writer over `source`: begin, the hosts, finish. A
/// writer's failure is kept in its target; the source's failure is returned.
///
/// The writers share nothing but the hosts they read, so each run of hosts is
/// written by all of them at once, one thread each: after a scan the report files
/// are the one part of the run left, and the four formats cost about the same
/// as reading the hosts back.
fn feed(
    head: &ReportHead<'_>,
    source: &mut dyn HostSource,
    targets: &mut [&mut (Target<'_>, MakeSink)],
) -> Result<(), ReportError> {
    let mut sinks: Vec<Feeding<'_>> = targets
        .iter_mut()
        .map(|entry| {
            let (t, make) = &mut **entry;
            (
                make(head, BufWriter::with_capacity(FILE_BUF_BYTES, &t.file)),
                &mut t.error,
            )
        })
        .collect();
    for (sink, error) in &mut sinks {
        step(sink, error, &mut |s| s.begin());
    }
    source.for_each_run(RUN_HOSTS, &mut |first, hosts| {
        let write_run = |(sink, error): &mut Feeding<'_>| {
            step(sink, error, &mut |s| {
                hosts
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, host)| s.host(first + i, host))
            })
        };
        let Some((here, elsewhere)) = sinks.split_first_mut() else {
            return ControlFlow::Break(());
        };
        let (live, panicked) = std::thread::scope(|scope| {
            let others: Vec<_> = elsewhere
                .iter_mut()
                .map(|feeding| scope.spawn(move || write_run(feeding)))
                .collect();
            let mut live = write_run(here);
            let mut panicked = Vec::new();
            for (i, other) in others.into_iter().enumerate() {
                match other.join() {
                    Ok(still) => live |= still,
                    Err(_) => panicked.push(i),
                }
            }
            (live, panicked)
        });
        for i in panicked {
            // Our bug, not the disk's: the file must not look whole.
            if let Some((_, error)) = elsewhere.get_mut(i) {
                **error = Some(std::io::Error::other(
                    "the writer stopped unexpectedly; please report it",
                ));
            }
        }
        if live {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    for (sink, error) in &mut sinks {
        step(sink, error, &mut |s| s.finish());
    }
    Ok(())
}

/// Runs `f` on a writer that has not failed yet; true while it has not.
fn step(
    sink: &mut Box<dyn Sink + Send + '_>,
    error: &mut Option<std::io::Error>,
    f: &mut dyn FnMut(&mut dyn Sink) -> std::io::Result<()>,
) -> bool {
    if error.is_none()
        && let Err(e) = f(sink.as_mut())
    {
        *error = Some(e);
    }
    error.is_none()
}

/// A new temporary file beside `path`, for writing.
fn create_temp(path: &Path) -> Result<(PathBuf, File), ReportError> {
    let fail = |source: std::io::Error| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let temp = dir_of(path).join(format!(
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
    Ok((temp, file))
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Puts a written target in place (sync, rename) or, when its writer failed,
/// removes the temporary file and names the target in the error.
fn commit(target: Target<'_>) -> Result<(), ReportError> {
    let Target {
        path,
        temp,
        file,
        error,
    } = target;
    let written = match error {
        Some(e) => Err(e),
        None => file.sync_all().and_then(|()| std::fs::rename(&temp, path)),
    };
    drop(file);
    match written {
        Ok(()) => {
            if let Ok(d) = File::open(dir_of(path)) {
                // Persist the rename itself; not every platform can sync a directory.
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(source) => {
            // Best effort: the temporary file is ours and incomplete.
            let _ = std::fs::remove_file(&temp);
            Err(ReportError::Write {
                path: path.to_owned(),
                source,
            })
        }
    }
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

    /// A writer whose disk fills up after the header.
    struct DiskFull<W: std::io::Write>(W);

    impl<W: std::io::Write> Sink for DiskFull<W> {
        fn format(&self) -> &'static str {
            "csv"
        }
        fn begin(&mut self) -> std::io::Result<()> {
            self.0.write_all(b"half")?;
            self.0.flush()
        }
        fn host(&mut self, _: usize, _: &crate::report::HostView<'_>) -> std::io::Result<()> {
            Err(std::io::Error::other("No space left on device"))
        }
        fn finish(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }

    #[test]
    fn failed_write_names_the_file_keeps_the_previous_report_and_not_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("r.csv");
        std::fs::write(&good, "old").unwrap();
        let other = dir.path().join("r.json");
        let report = sample::fixed_report();
        let digest = FleetDigest::of(&report);
        let head = ReportHead::of(&report, &digest);
        let targets: [(&Path, MakeSink); 2] = [
            (&good, |_, w| Box::new(DiskFull(w))),
            (&other, |h, w| Box::new(JsonSink::new(h, w))),
        ];
        let err = write_targets(&head, &mut ReportHosts(&report.hosts), &targets).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("r.csv") && text.contains("No space left"),
            "{text}"
        );
        assert!(text.contains("free space"), "{text}");
        assert_eq!(std::fs::read_to_string(&good).unwrap(), "old");
        let mut json = Vec::new();
        crate::report::json::write(&report, &mut json).unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), json);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// Hosts that cannot all be produced, like a journal cut short under us.
    struct CutShort<'a>(&'a [crate::report::HostReport]);

    impl HostSource for CutShort<'_> {
        fn for_each_host(
            &mut self,
            each: &mut dyn FnMut(usize, &crate::report::HostView<'_>) -> ControlFlow<()>,
        ) -> Result<(), ReportError> {
            if let Some(h) = self.0.first() {
                let _ = each(0, &crate::report::HostView::of(h));
            }
            Err(ReportError::JournalChanged {
                path: PathBuf::from("j.jsonl"),
                reason: "it ends before host 2".into(),
            })
        }
    }

    #[test]
    fn a_source_that_fails_midway_leaves_no_report_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths {
            csv: Some(dir.path().join("r.csv")),
            json: Some(dir.path().join("r.json")),
            html: Some(dir.path().join("r.html")),
            junit: Some(dir.path().join("r.xml")),
        };
        let report = sample::fixed_report();
        let digest = FleetDigest::of(&report);
        let head = ReportHead::of(&report, &digest);
        let err = write_reports(&head, &mut CutShort(&report.hosts), &paths).unwrap_err();
        assert!(err.to_string().contains("j.jsonl"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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
