//! Reading an inventory file into text, and picking its format.
//!
//! Windows tools write text in several encodings: PowerShell 5.1's `Out-File` and
//! `>` write UTF-16LE with a byte-order mark, Notepad writes UTF-8 with one. Both are
//! decoded here so a host list exported on a Windows box loads as is.

use std::path::Path;
use std::sync::Arc;

use super::error::{InventoryError, Location};

/// The largest inventory file read (64 MiB, far beyond any real fleet).
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// An inventory format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One host a line, optional `:port`, `#` comments.
    Plain,
    /// CSV with a header row (`host,address,port,scheme,auth,groups,user`).
    Csv,
    /// Ansible INI inventory.
    Ini,
    /// Ansible YAML inventory.
    Yaml,
}

/// Reads `path`, decoding UTF-8 (BOM optional) or UTF-16 with a BOM.
pub(crate) fn read_text(path: &Path, name: &Arc<str>) -> Result<String, InventoryError> {
    let meta = std::fs::metadata(path).map_err(|source| InventoryError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_dir() {
        return Err(InventoryError::IsDirectory {
            path: path.to_owned(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(InventoryError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| InventoryError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(InventoryError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    decode(&bytes, name)
}

/// Decodes inventory bytes: UTF-8 (optional BOM), UTF-16LE/BE with a BOM.
pub(crate) fn decode(bytes: &[u8], name: &Arc<str>) -> Result<String, InventoryError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, name);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, name, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, name, u16::from_be_bytes);
    }
    utf8(bytes, name)
}

fn utf8(bytes: &[u8], name: &Arc<str>) -> Result<String, InventoryError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            Err(InventoryError::NotText {
                at: Location::new(name, line),
            })
        }
    }
}

fn utf16(
    bytes: &[u8],
    name: &Arc<str>,
    unit: fn([u8; 2]) -> u16,
) -> Result<String, InventoryError> {
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    let mut line = 1;
    for ch in char::decode_utf16(units) {
        match ch {
            Ok(c) => {
                if c == '\n' {
                    line += 1;
                }
                out.push(c);
            }
            Err(_) => {
                return Err(InventoryError::NotText {
                    at: Location::new(name, line),
                });
            }
        }
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(InventoryError::NotText {
            at: Location::new(name, line),
        });
    }
    Ok(out)
}

/// The format named by a file extension, if it names one.
pub(crate) fn format_from_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "list" => Some(Format::Plain),
        "csv" => Some(Format::Csv),
        "ini" | "cfg" => Some(Format::Ini),
        "yml" | "yaml" => Some(Format::Yaml),
        _ => None,
    }
}

/// Guesses the format from the first meaningful lines.
pub(crate) fn sniff(text: &str) -> Format {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    let Some(first) = lines.next() else {
        return Format::Plain;
    };
    if first == "---" || first.starts_with("%YAML") || looks_like_yaml_key(first) {
        return Format::Yaml;
    }
    if looks_like_csv_header(first) || (first.starts_with("sep=") && first.len() == 5) {
        return Format::Csv;
    }
    let ini_line = |l: &str| {
        looks_like_ini_section(l)
            || l.split_whitespace()
                .skip(1)
                .any(|tok| tok.contains('=') && !tok.starts_with('='))
    };
    if ini_line(first) || lines.take(200).any(ini_line) {
        return Format::Ini;
    }
    Format::Plain
}

fn looks_like_yaml_key(line: &str) -> bool {
    let line = line.split(" #").next().unwrap_or(line).trim_end();
    line.strip_suffix(':').is_some_and(|key| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

fn looks_like_csv_header(line: &str) -> bool {
    let delim = if line.contains(',') {
        ','
    } else if line.contains(';') {
        ';'
    } else if line.contains('\t') {
        '\t'
    } else {
        return false;
    };
    line.split(delim)
        .map(|f| f.trim().trim_matches('"').to_ascii_lowercase())
        .any(|f| f == "host" || f == "name" || f == "hostname")
}

fn looks_like_ini_section(line: &str) -> bool {
    let Some(inner) = line.strip_prefix('[').and_then(|l| l.split(']').next()) else {
        return false;
    };
    !inner.is_empty()
        && inner.parse::<std::net::Ipv6Addr>().is_err()
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        && !inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> Arc<str> {
        Arc::from("t")
    }

    #[test]
    fn utf16le_with_bom_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "web01\r\nweb02\r\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&bytes, &name()).unwrap(), "web01\r\nweb02\r\n");
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(decode(b"\xEF\xBB\xBFweb01", &name()).unwrap(), "web01");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = decode(b"web01\nweb\xFF02\n", &name()).unwrap_err();
        assert_eq!(err.to_string().split(':').nth(1), Some("2"), "{err}");
    }

    #[test]
    fn sniffing_recognises_each_format() {
        assert_eq!(sniff("# hosts\nall:\n  hosts:\n"), Format::Yaml);
        assert_eq!(sniff("host,port,groups\nweb01,5985,web\n"), Format::Csv);
        assert_eq!(sniff("sep=;\nhost;port\n"), Format::Csv);
        assert_eq!(sniff("[web]\nweb01\n"), Format::Ini);
        assert_eq!(sniff("web01 ansible_port=5986\n"), Format::Ini);
        assert_eq!(sniff("web01\nweb02:5986\n[::1]:5985\n"), Format::Plain);
        assert_eq!(sniff(""), Format::Plain);
    }

    #[test]
    fn extension_picks_the_format() {
        assert_eq!(
            format_from_extension(Path::new("a/prod.YML")),
            Some(Format::Yaml)
        );
        assert_eq!(
            format_from_extension(Path::new("hosts.list")),
            Some(Format::Plain)
        );
        assert_eq!(format_from_extension(Path::new("hosts")), None);
    }
}
