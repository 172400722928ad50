//! One pass over the hosts feeds every writer.
//!
//! A writer is a [`Sink`]: it is made from the [`ReportHead`] (the scan's
//! metadata and the [`FleetDigest`], enough for every fleet-wide part: totals,
//! figures, matrix, ranking, host table), then is handed each host in report
//! order as a [`HostView`], then finishes. A [`HostSource`] yields the hosts: an
//! in-memory report ([`ReportHosts`]) or, after a scan, the journal the hosts
//! were spilled to (`scan::FleetScan`). Each host is produced once and given to
//! every requested writer, so reading the hosts back costs the same whatever
//! the number of formats, and memory holds one host at a time.

use std::io;
use std::ops::ControlFlow;

use super::ReportError;
use super::digest::FleetDigest;
use super::model::{FleetReport, HostReport, ScanMeta};
use super::view::HostView;

/// What every writer knows before the first host: the metadata and the digest.
#[derive(Debug, Clone, Copy)]
pub struct ReportHead<'a> {
    /// The report's `schema_version`.
    pub schema_version: u32,
    /// Scan metadata (waivers applied: expired ones listed).
    pub meta: &'a ScanMeta,
    /// Every host, digested, in report order.
    pub digest: &'a FleetDigest,
}

impl<'a> ReportHead<'a> {
    /// The head of an in-memory report and its digest.
    pub fn of(report: &'a FleetReport, digest: &'a FleetDigest) -> ReportHead<'a> {
        ReportHead {
            schema_version: report.schema_version,
            meta: &report.meta,
            digest,
        }
    }
}

/// A report writer fed one host at a time.
pub trait Sink {
    /// The format's name, for error messages (`csv`, `json`, `html`, `junit`).
    fn format(&self) -> &'static str;
    /// Writes what comes before the first host.
    ///
    /// # Errors
    /// The output failed.
    fn begin(&mut self) -> io::Result<()>;
    /// Writes host number `index` (its place in the digest).
    ///
    /// # Errors
    /// The output failed.
    fn host(&mut self, index: usize, host: &HostView<'_>) -> io::Result<()>;
    /// Writes what follows the last host and flushes.
    ///
    /// # Errors
    /// The output failed.
    fn finish(&mut self) -> io::Result<()>;
}

/// Where the writers get the hosts from, in report order.
pub trait HostSource {
    /// Calls `each` with every host and its index, in report order, until it
    /// returns `Break`.
    ///
    /// # Errors
    /// A host could not be produced (e.g. the journal it was spilled to changed).
    fn for_each_host(
        &mut self,
        each: &mut dyn FnMut(usize, &HostView<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReportError>;

    /// Calls `each` with runs of at most `max` consecutive hosts and the index of
    /// the first, in report order, until it returns `Break`: for writers that
    /// share the work of a run between threads. By default, runs of one host.
    ///
    /// # Errors
    /// As [`HostSource::for_each_host`].
    fn for_each_run(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(usize, &[HostView<'_>]) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        let _ = max;
        self.for_each_host(&mut |index, host| each(index, std::slice::from_ref(host)))
    }
}

/// The hosts of an in-memory report.
#[derive(Debug, Clone, Copy)]
pub struct ReportHosts<'a>(pub &'a [HostReport]);

impl HostSource for ReportHosts<'_> {
    fn for_each_host(
        &mut self,
        each: &mut dyn FnMut(usize, &HostView<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        for (index, host) in self.0.iter().enumerate() {
            if each(index, &HostView::of(host)).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn for_each_run(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(usize, &[HostView<'_>]) -> ControlFlow<()>,
    ) -> Result<(), ReportError> {
        let max = max.max(1);
        for (run, hosts) in self.0.chunks(max).enumerate() {
            let views: Vec<HostView<'_>> = hosts.iter().map(HostView::of).collect();
            if each(run * max, &views).is_break() {
                break;
            }
        }
        Ok(())
    }
}

/// Runs one sink over `source`: begin, every host, finish.
///
/// # Errors
/// [`ReportError::Io`] naming the sink's format when its output fails; the
/// source's error when a host cannot be produced.
pub fn run_one(sink: &mut dyn Sink, source: &mut dyn HostSource) -> Result<(), ReportError> {
    let format = sink.format();
    sink.begin().map_err(ReportError::io(format))?;
    let mut failed = None;
    source.for_each_host(&mut |index, host| match sink.host(index, host) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            failed = Some(e);
            ControlFlow::Break(())
        }
    })?;
    if let Some(e) = failed {
        return Err(ReportError::Io { format, source: e });
    }
    sink.finish().map_err(ReportError::io(format))
}
