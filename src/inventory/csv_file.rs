//! CSV host lists with a header row, as exported from a CMDB or Excel:
//!
//! ```text
//! host,address,port,scheme,auth,groups,user
//! dc01,10.0.0.10,5986,https,ntlm,dc;prod,CORP\svc_scan
//! ```
//!
//! Only `host` is required; column names are case-insensitive; `groups` are separated
//! by `;`, `,` or spaces; any other column becomes a host variable (so an
//! `ansible_winrm_transport` or `fleetscan_password_env` column works too).
//! Excel in many locales saves with `;` between fields: the delimiter is taken from
//! the header row.

use std::sync::Arc;

use super::builder::Builder;
use super::error::{InventoryError, Location};
use super::names;
use super::vars::{Known, Value, Var};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Host,
    Known(Known),
    Groups,
    Var(String),
}

fn column(header: &str) -> Column {
    match header.to_ascii_lowercase().as_str() {
        "host" | "name" | "hostname" | "inventory_hostname" => Column::Host,
        "address" | "ip" => Column::Known(Known::Host),
        "port" => Column::Known(Known::Port),
        "scheme" => Column::Known(Known::Scheme),
        "auth" | "transport" => Column::Known(Known::Transport),
        "user" | "username" => Column::Known(Known::User),
        "path" => Column::Known(Known::Path),
        "cert_validation" => Column::Known(Known::CertValidation),
        "ca_trust_path" => Column::Known(Known::CaTrustPath),
        "password_env" => Column::Known(Known::PasswordEnv),
        "groups" | "group" => Column::Groups,
        _ => Column::Var(header.to_owned()),
    }
}

fn delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let count = |c| header.matches(c).count();
    let (commas, semis, tabs) = (count(','), count(';'), count('\t'));
    if semis > commas && semis >= tabs {
        b';'
    } else if tabs > commas && tabs > semis {
        b'\t'
    } else {
        b','
    }
}

/// The delimiter an Excel `sep=X` line names.
fn excel_sep(line: &str) -> Option<u8> {
    let rest = line.trim().strip_prefix("sep=")?;
    match rest.as_bytes() {
        [d] if d.is_ascii() && *d != b'"' && *d != b'#' => Some(*d),
        _ => None,
    }
}

/// Adds every row of a CSV inventory to `b`.
pub(crate) fn parse(text: &str, file: &Arc<str>, b: &mut Builder) -> Result<(), InventoryError> {
    // Excel's `sep=;` first line names the delimiter; blank it out (keeping the line
    // count, so positions stay right) and use it.
    let (text, delim) = match text.split_once('\n') {
        Some((first, rest)) if excel_sep(first).is_some() => (
            std::borrow::Cow::Owned(format!("#\n{rest}")),
            excel_sep(first).unwrap_or(b','),
        ),
        None if excel_sep(text).is_some() => (std::borrow::Cow::Borrowed(""), b','),
        _ => (std::borrow::Cow::Borrowed(text), delimiter(text)),
    };
    let text: &str = &text;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line() as usize);
        InventoryError::malformed(
            Location::new(file, line.max(1)),
            format!("not valid CSV: {e}"),
        )
    };
    let mut records = reader.records();
    let Some(header) = records.next().transpose().map_err(csv_err)? else {
        return Ok(());
    };
    let header_line = header.position().map_or(1, |p| p.line() as usize);
    let mut columns = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        let at = Location::new(file, header_line).with_column(i + 1);
        if name.is_empty() {
            return Err(InventoryError::malformed(
                at,
                format!("column {} has no name in the header row", i + 1),
            ));
        }
        let col = column(name);
        if columns.contains(&col) {
            return Err(InventoryError::malformed(
                at,
                format!("column '{name}' appears twice in the header row"),
            ));
        }
        columns.push(col);
    }
    let Some(host_col) = columns.iter().position(|c| *c == Column::Host) else {
        return Err(InventoryError::malformed(
            Location::new(file, header_line),
            "the header row has no 'host' column; the first row must name the columns, e.g. host,address,port,scheme,auth,groups,user",
        ));
    };
    for record in records {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let at = Location::new(file, line);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() > columns.len() {
            return Err(InventoryError::malformed(
                at,
                format!(
                    "{} fields but the header names {}; quote fields that contain the delimiter",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        let host_cell = record.get(host_col).unwrap_or_default().trim();
        if host_cell.is_empty() {
            return Err(InventoryError::malformed(
                at.with_column(host_col + 1),
                "the host cell is empty",
            ));
        }
        let hp = names::split_host_port(host_cell).map_err(|what| {
            InventoryError::malformed(at.clone().with_column(host_col + 1), what)
        })?;
        let h = b.host(&hp.host)?;
        if let Some(port) = hp.port {
            b.set_host_known(
                h,
                Known::Port,
                Var {
                    name: "host port".to_owned(),
                    value: Value::Text(port.to_string()),
                    at: at.clone(),
                },
            )?;
        }
        for (i, (col, cell)) in columns.iter().zip(record.iter()).enumerate() {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let at = at.clone().with_column(i + 1);
            let name = header.get(i).unwrap_or_default().trim().to_owned();
            match col {
                Column::Host => {}
                Column::Groups => {
                    for group in cell.split([';', ',', ' ', '\t']).filter(|g| !g.is_empty()) {
                        let g = b.group(group, Some(&at));
                        b.add_to_group(h, g);
                    }
                }
                Column::Known(known) => b.set_host_known(
                    h,
                    *known,
                    Var {
                        name: format!("{name} column"),
                        value: Value::text(cell),
                        at,
                    },
                )?,
                Column::Var(_) => b.set_host_var(
                    h,
                    Var {
                        name,
                        value: Value::text(cell),
                        at,
                    },
                )?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Scheme, Target, Transport};

    fn load(text: &str) -> Result<Vec<Target>, InventoryError> {
        let mut b = Builder::new();
        parse(text, &Arc::from("hosts.csv"), &mut b)?;
        Ok(b.resolve()?.targets)
    }

    #[test]
    fn every_documented_column_is_read() {
        let t = load(
            "host,address,port,scheme,auth,groups,user\n\
             dc01,10.0.0.10,5986,https,ntlm,dc;prod,CORP\\svc_scan\n\
             fs01,,,,,prod files,\n",
        )
        .unwrap();
        assert_eq!(t[0].address, "10.0.0.10");
        assert_eq!(t[0].port, Some(5986));
        assert_eq!(t[0].scheme, Some(Scheme::Https));
        assert_eq!(t[0].transport, Some(Transport::Ntlm));
        assert_eq!(t[0].groups, ["dc", "prod"]);
        assert_eq!(t[0].user.as_deref(), Some("CORP\\svc_scan"));
        assert_eq!(t[1].address, "fs01");
        assert_eq!(t[1].groups, ["prod", "files"]);
    }

    #[test]
    fn extra_columns_become_vars_and_ansible_columns_are_honoured() {
        let t = load(
            "Host,Site,ansible_winrm_transport,fleetscan_password_env\nweb01,ams,kerberos,WEB_PW\n",
        )
        .unwrap();
        assert_eq!(t[0].vars.get("Site").map(String::as_str), Some("ams"));
        assert_eq!(
            t[0].transport,
            Some(Transport::Unsupported("kerberos".into()))
        );
        assert_eq!(t[0].password_env.as_deref(), Some("WEB_PW"));
    }

    #[test]
    fn semicolon_delimited_excel_export_loads() {
        let t = load("host;port;groups\r\nweb01;5985;web\r\n").unwrap();
        assert_eq!(t[0].port, Some(5985));
        assert_eq!(t[0].groups, ["web"]);
    }

    #[test]
    fn excel_sep_line_names_the_delimiter() {
        let t = load("sep=|\r\nhost|port|groups\r\nweb01|5986|web;prod\r\n").unwrap();
        assert_eq!(t[0].port, Some(5986));
        assert_eq!(t[0].groups, ["web", "prod"]);
        let err = load("sep=;\nhost;port\nweb01;x\n").unwrap_err().to_string();
        assert!(err.starts_with("hosts.csv:3:2: "), "{err}");
    }

    #[test]
    fn bad_port_names_line_and_column() {
        let err = load("host,port\nweb01,5985\nweb02,99999\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("hosts.csv:3:2: host 'web02': invalid port column '99999'"),
            "{err}"
        );
    }

    #[test]
    fn missing_host_column_explains_the_header() {
        let err = load("server,port\nweb01,5985\n").unwrap_err().to_string();
        assert!(err.contains("no 'host' column"), "{err}");
    }

    #[test]
    fn too_many_fields_is_an_error() {
        let err = load("host,port\nweb01,5985,extra\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("hosts.csv:2: 3 fields"), "{err}");
    }
}
