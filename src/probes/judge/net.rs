//! Network: reaching Azure's endpoints and TLS 1.2.

use serde_json::json;

use crate::probes::json::Json;

use super::{Ctx, Judged, Unknown, Verdict, need_bool, need_objects, opt_str, opt_u64};
use crate::report::model::Status;

/// True when text holds a `host:port` token (locale-independent sign of a proxy in
/// `netsh winhttp show proxy` output, whose words are localized).
fn has_host_port(text: &str) -> bool {
    text.split_whitespace().any(|tok| {
        let tok = tok.trim_matches(|c: char| c == ';' || c == ',' || c == '"');
        match tok.rsplit_once(':') {
            Some((host, port)) => {
                !host.is_empty()
                    && host.chars().any(|c| c.is_ascii_alphanumeric())
                    && !port.is_empty()
                    && port.len() <= 5
                    && port.chars().all(|c| c.is_ascii_digit())
            }
            None => false,
        }
    })
}

/// `net.mars_endpoints`: DNS and TCP 443 to the Azure endpoints; a proxy softens TCP failures.
pub(crate) fn endpoints(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let targets = need_objects(d, "targets")?;
    if targets.is_empty() {
        return Err(Unknown("no endpoint was tested".into()));
    }
    let mut dns_failed = Vec::new();
    let mut tcp_failed = Vec::new();
    for &t in &targets {
        let host = opt_str(t, "host")?.unwrap_or("?");
        if !need_bool(t, "dns_ok")? {
            dns_failed.push(host);
        } else if !need_bool(t, "tcp443")? {
            tcp_failed.push(host);
        }
    }
    let ie_proxy = opt_u64(d, "system_proxy_enable")? == Some(1)
        && opt_str(d, "system_proxy_server")?.is_some();
    let pac = opt_str(d, "system_autoconfig_url")?.is_some();
    let winhttp = opt_str(d, "winhttp_proxy_text")?.is_some_and(has_host_port);
    let proxy = ie_proxy || pac || winhttp;
    let evidence = json!({"tested": targets.len(), "dns_failed": dns_failed, "tcp443_failed": tcp_failed,
                          "system_proxy": ie_proxy, "system_pac": pac, "winhttp_proxy": winhttp,
                          "system_proxy_server": super::scalar(d, "system_proxy_server")?});
    if !dns_failed.is_empty() {
        return Ok(Verdict::new(
            Status::Fail,
            format!("cannot resolve {}", dns_failed.join(", ")),
            evidence,
        ));
    }
    if !tcp_failed.is_empty() {
        return Ok(if proxy {
            Verdict::new(
                Status::Warn,
                format!(
                    "no direct HTTPS to {}; a proxy is configured: confirm the agent uses it",
                    tcp_failed.join(", ")
                ),
                evidence,
            )
        } else {
            Verdict::new(
                Status::Fail,
                format!(
                    "no HTTPS (443) to {} and no proxy for SYSTEM",
                    tcp_failed.join(", ")
                ),
                evidence,
            )
        });
    }
    Ok(Verdict::new(
        Status::Pass,
        format!(
            "all {} Azure endpoints resolve and accept HTTPS",
            targets.len()
        ),
        evidence,
    ))
}

/// `net.tls12`: SChannel client TLS 1.2 not disabled; .NET strong crypto recommended.
pub(crate) fn tls12(_ctx: &Ctx<'_>, d: Json<'_>) -> Judged {
    let enabled = opt_u64(d, "schannel_enabled")?;
    let dbd = opt_u64(d, "schannel_disabled_by_default")?;
    let keys = [
        "net64_system_default_tls",
        "net64_strong_crypto",
        "net32_system_default_tls",
        "net32_strong_crypto",
    ];
    let mut not_set = Vec::new();
    for k in keys {
        if opt_u64(d, k)? != Some(1) {
            not_set.push(k);
        }
    }
    let evidence = json!({"schannel_enabled": enabled, "schannel_disabled_by_default": dbd, "dotnet_values_not_1": not_set,
                          "schannel_client_key_present": super::opt_bool(d, "schannel_client_key_present")?});
    if enabled == Some(0) {
        return Ok(Verdict::new(
            Status::Fail,
            "TLS 1.2 is disabled for the SChannel client (Enabled=0)",
            evidence,
        ));
    }
    if dbd == Some(1) {
        return Ok(Verdict::new(
            Status::Fail,
            "TLS 1.2 is off by default for the SChannel client (DisabledByDefault=1)",
            evidence,
        ));
    }
    if !not_set.is_empty() {
        return Ok(Verdict::new(
            Status::Warn,
            format!(
                "TLS 1.2 enabled; .NET strong-crypto values not set: {}",
                not_set.join(", ")
            ),
            evidence,
        ));
    }
    Ok(Verdict::new(
        Status::Pass,
        "TLS 1.2 enabled and .NET uses the system's strong protocols",
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::has_host_port;
    use crate::report::model::Status;
    use serde_json::json;

    fn ep(tcp_ok: bool, proxy_text: &str) -> serde_json::Value {
        json!({"targets": [
                 {"host": "login.microsoftonline.com", "dns_ok": true, "addresses": ["20.190.128.1"], "dns_error": null, "tcp443": tcp_ok},
                 {"host": "www.msftncsi.com", "dns_ok": true, "addresses": "23.1.2.3", "dns_error": null, "tcp443": true}],
               "system_proxy_enable": null, "system_proxy_server": null, "system_autoconfig_url": null,
               "winhttp_proxy_text": proxy_text})
    }

    #[test]
    fn endpoints_pass_when_all_reachable() {
        assert_eq!(
            judge(
                "net.mars_endpoints",
                ep(
                    true,
                    "Current WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server)."
                )
            )
            .status,
            Status::Pass
        );
    }

    #[test]
    fn tcp_failure_without_proxy_fails_and_with_proxy_warns() {
        assert_eq!(
            judge(
                "net.mars_endpoints",
                ep(false, "Direct access (no proxy server).")
            )
            .status,
            Status::Fail
        );
        let localized = "Param\u{e8}tres actuels du proxy WinHTTP :\r\n    Serveur(s) proxy :  proxy.contoso.com:8080\r\n    Liste de contournement :  (aucun)";
        assert_eq!(
            judge("net.mars_endpoints", ep(false, localized)).status,
            Status::Warn
        );
    }

    #[test]
    fn dns_failure_fails() {
        let d = json!({"targets": {"host": "login.windows.net", "dns_ok": false, "addresses": [], "dns_error": "No such host is known", "tcp443": false},
                       "system_proxy_enable": 1, "system_proxy_server": "proxy:8080", "system_autoconfig_url": null, "winhttp_proxy_text": null});
        assert_eq!(judge("net.mars_endpoints", d).status, Status::Fail);
    }

    #[test]
    fn host_port_detection_ignores_times_and_words() {
        assert!(has_host_port("Proxy Server(s) :  10.0.0.1:3128"));
        assert!(!has_host_port("Direct access (no proxy server)."));
        assert!(!has_host_port("Serveur(s) proxy : aucun"));
    }

    #[test]
    fn tls12_disabled_fails_and_missing_dotnet_values_warn() {
        let d = |enabled: serde_json::Value, strong: serde_json::Value| {
            json!({"schannel_client_key_present": true, "schannel_enabled": enabled,
            "schannel_disabled_by_default": null, "net64_system_default_tls": 1, "net64_strong_crypto": strong,
            "net32_system_default_tls": 1, "net32_strong_crypto": 1})
        };
        assert_eq!(
            judge("net.tls12", d(json!(null), json!(1))).status,
            Status::Pass
        );
        assert_eq!(
            judge("net.tls12", d(json!(0), json!(1))).status,
            Status::Fail
        );
        assert_eq!(
            judge("net.tls12", d(json!(1), json!(null))).status,
            Status::Warn
        );
        assert_eq!(
            judge("net.tls12", d(json!("x"), json!(1))).status,
            Status::Unknown
        );
    }
}
