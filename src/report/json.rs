//! The whole report as JSON: raw values (not neutralised, not cut), with the
//! `schema_version` that [`read`] checks. Input of `fleetscan report` and `diff`.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use super::ReportError;
use super::digest::FleetDigest;
use super::model::{FleetReport, SCHEMA_VERSION};
use super::stream::{ReportHead, ReportHosts, Sink, run_one};
use super::view::HostView;

/// Writes `report` as JSON to `out`: one host per line (compact inside), so the
/// file stays about half the size of indented JSON at thousands of hosts while
/// `grep` and line diffs still work. Ends with a newline.
///
/// # Errors
/// [`ReportError::Io`] when `out` fails.
pub fn write(report: &FleetReport, out: impl Write) -> Result<(), ReportError> {
    let digest = FleetDigest::of(report);
    let head = ReportHead::of(report, &digest);
    run_one(
        &mut JsonSink::new(&head, out),
        &mut ReportHosts(&report.hosts),
    )
}

/// The JSON writer as a [`Sink`]: the same fields, in the same order, as
/// `#[derive(Serialize)] FleetReport`, one host per line.
pub struct JsonSink<'h, W: Write> {
    head: ReportHead<'h>,
    out: W,
    first: bool,
}

impl<'h, W: Write> JsonSink<'h, W> {
    /// A JSON writer for the report `head` describes, writing to `out`.
    pub fn new(head: &ReportHead<'h>, out: W) -> Self {
        JsonSink {
            head: *head,
            out,
            first: true,
        }
    }
}

impl<W: Write> Sink for JsonSink<'_, W> {
    fn format(&self) -> &'static str {
        "json"
    }

    fn begin(&mut self) -> std::io::Result<()> {
        write!(
            self.out,
            "{{\"schema_version\":{},\n\"meta\":",
            self.head.schema_version
        )?;
        serde_json::to_writer(&mut self.out, self.head.meta)?;
        write!(self.out, ",\n\"hosts\":[")
    }

    fn host(&mut self, _index: usize, host: &HostView<'_>) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        match host.serialised {
            Some(text) => self.out.write_all(text.as_bytes())?,
            None => serde_json::to_writer(&mut self.out, host)?,
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

/// Reads a report written by [`write`] from `path`.
///
/// # Errors
/// [`ReportError::Read`] when the file cannot be read, [`ReportError::NewerSchema`]
/// when a newer fleetscan wrote it, [`ReportError::NotAReport`] when it is not
/// JSON or not a fleetscan report.
pub fn read(path: &Path) -> Result<FleetReport, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    from_slice(&bytes, path)
}

/// Parses a report from `bytes`; `path` only names the origin in errors.
///
/// # Errors
/// As [`read`], without [`ReportError::Read`].
pub fn from_slice(bytes: &[u8], path: &Path) -> Result<FleetReport, ReportError> {
    /// Just enough of the layout to tell what the file is before parsing it all.
    #[derive(Deserialize)]
    struct Probe {
        schema_version: Option<serde_json::Value>,
        meta: Option<serde::de::IgnoredAny>,
        hosts: Option<serde::de::IgnoredAny>,
    }
    let not_a_report = |reason: String| ReportError::NotAReport {
        path: path.to_owned(),
        reason,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            not_a_report("the top level is not a JSON object".to_owned())
        } else {
            not_a_report(format!("not valid JSON ({e})"))
        }
    })?;
    let version = match probe.schema_version {
        None => {
            return Err(not_a_report("it has no schema_version field".to_owned()));
        }
        Some(v) => v
            .as_u64()
            .ok_or_else(|| not_a_report(format!("schema_version {v} is not a whole number")))?,
    };
    if version > u64::from(SCHEMA_VERSION) {
        return Err(ReportError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 || probe.meta.is_none() || probe.hosts.is_none() {
        return Err(not_a_report(
            "it lacks the meta and hosts of a fleetscan report".to_owned(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| not_a_report(format!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn json_round_trips_the_raw_values() {
        let report = sample::fixed_report();
        let mut out = Vec::new();
        write(&report, &mut out).unwrap();
        let back = from_slice(&out, Path::new("r.json")).unwrap();
        assert_eq!(back, report);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"schema_version\":1,"));
        assert!(text.contains(r#""name":"=HYPERLINK(\"http://x\",\"y\")""#));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::to_value(&report).unwrap(),
            "same as serde's layout"
        );
        assert_eq!(
            text.lines().count(),
            3 + report.hosts.len() + 1,
            "one host per line"
        );
    }

    #[test]
    fn read_names_a_newer_schema_version() {
        let err = from_slice(
            br#"{"schema_version": 9, "meta": {}, "hosts": []}"#,
            Path::new("n.json"),
        )
        .unwrap_err();
        assert!(
            matches!(err, ReportError::NewerSchema { found: 9, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer fleetscan"), "{err}");
    }

    #[test]
    fn read_rejects_json_that_is_not_a_fleetscan_report() {
        for (bytes, want) in [
            (&b"[1,2]"[..], "not a JSON object"),
            (b"{\"name\": \"x\"}", "no schema_version"),
            (b"not json", "not valid JSON"),
            (b"{\"schema_version\": 1}", "lacks the meta and hosts"),
            (
                b"{\"schema_version\": \"1\", \"meta\": {}, \"hosts\": []}",
                "not a whole number",
            ),
        ] {
            let err = from_slice(bytes, Path::new("x.json")).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("x.json is not a fleetscan JSON report"),
                "{text}"
            );
            assert!(text.contains(want), "{text}");
        }
    }
}
