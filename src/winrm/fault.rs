//! SOAP faults as WinRM sends them: `s:Fault` with a subcode (`w:TimedOut`,
//! `w:QuotaLimit`, `w:InvalidSelectors`, …), a reason, and in `s:Detail` a
//! `f:WSManFault Code=… Machine=…` with a message, or for WMI-backed errors an
//! `MSFT_WmiError` whose `error_Code` carries the number (MS-WSMV 2.2.4.43, 3.1.4.5.2.1).

use std::fmt;

use super::xml::{Element, NS_SOAP, NS_WSMAN_FAULT};

/// A WS-Management fault, reduced to what a user and the retry logic need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsmanFault {
    /// The numeric WSManFault code (e.g. 2150858793 TimedOut, 2150859173 quota), when present.
    pub code: Option<u32>,
    /// The `Machine` attribute: which host produced the fault.
    pub machine: Option<String>,
    /// The SOAP subcode's local name, e.g. `TimedOut`, `QuotaLimit`, `AccessDenied`.
    pub subcode: Option<String>,
    /// The most specific human message (WSManFault message, else the SOAP reason).
    pub message: String,
}

impl fmt::Display for WsmanFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "code {code}")?,
            None => f.write_str("no code")?,
        }
        if let Some(sub) = &self.subcode {
            write!(f, " ({sub})")?;
        }
        if let Some(machine) = &self.machine {
            write!(f, " from {machine}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl WsmanFault {
    /// True for "no output before OperationTimeout": ask again (MS-WSMV 3.1.4.14).
    pub fn is_operation_timeout(&self) -> bool {
        self.code == Some(super::error::FAULT_OPERATION_TIMEOUT)
            || (self.code.is_none() && self.subcode.as_deref() == Some("TimedOut"))
    }
}

/// Messages from Windows are long; keep a readable amount.
const MAX_MESSAGE_CHARS: usize = 600;

/// Finds `s:Body/s:Fault` in an envelope and reads it; `None` if the body holds no fault.
pub(crate) fn find_fault(envelope: &Element) -> Option<WsmanFault> {
    let fault = envelope.path(&[(NS_SOAP, "Body"), (NS_SOAP, "Fault")])?;
    let subcode = fault
        .path(&[(NS_SOAP, "Code"), (NS_SOAP, "Subcode"), (NS_SOAP, "Value")])
        .map(|v| qname_local(v.text.trim()).to_owned());
    let reason = fault
        .path(&[(NS_SOAP, "Reason"), (NS_SOAP, "Text")])
        .map(|t| tidy(&t.text))
        .unwrap_or_default();
    let detail = fault.child(NS_SOAP, "Detail");
    let wsman = detail.and_then(|d| d.descendant(NS_WSMAN_FAULT, "WSManFault"));
    let mut code = wsman.and_then(|w| w.attr("Code")).and_then(parse_code);
    let machine = wsman.and_then(|w| w.attr("Machine")).map(str::to_owned);
    let mut message = wsman
        .and_then(|w| w.child(NS_WSMAN_FAULT, "Message"))
        .map(|m| tidy(&m.deep_text()))
        .filter(|m| !m.is_empty());
    if let Some(d) = detail {
        // Quota faults come as MSFT_WmiError (WinRb wmi_error_v2.xml): error_Code and Message.
        if code.is_none() {
            code = d
                .descendant_local("error_Code")
                .and_then(|e| parse_code(&e.text));
        }
        if message.is_none() {
            message = d
                .descendant_local("Message")
                .map(|m| tidy(&m.deep_text()))
                .filter(|m| !m.is_empty());
        }
    }
    let message = message.unwrap_or(reason);
    Some(WsmanFault {
        code,
        machine,
        subcode,
        message: truncate(message),
    })
}

fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn qname_local(q: &str) -> &str {
    q.rsplit_once(':').map_or(q, |(_, local)| local)
}

fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(mut s: String) -> String {
    if let Some((idx, _)) = s.char_indices().nth(MAX_MESSAGE_CHARS) {
        s.truncate(idx);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::xml::{XmlLimits, parse};

    fn fault_of(doc: &str) -> Option<WsmanFault> {
        find_fault(&parse(doc.as_bytes(), XmlLimits::default()).expect("well-formed"))
    }

    #[test]
    fn operation_timeout_fault_is_recognised_by_code() {
        let doc = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win01"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;
        let fault = fault_of(doc).expect("a fault");
        assert_eq!(fault.code, Some(2_150_858_793));
        assert_eq!(fault.subcode.as_deref(), Some("TimedOut"));
        assert_eq!(fault.machine.as_deref(), Some("win01"));
        assert!(fault.is_operation_timeout());
    }

    #[test]
    fn wmi_error_quota_fault_carries_error_code() {
        let doc = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">w:QuotaLimit</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">quota</s:Text></s:Reason><s:Detail><p:MSFT_WmiError xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_WmiError"><p:Message>The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent shells, which has been exceeded.</p:Message><p:error_Code>2150859173</p:error_Code></p:MSFT_WmiError></s:Detail></s:Fault></s:Body></s:Envelope>"#;
        let fault = fault_of(doc).expect("a fault");
        assert_eq!(fault.code, Some(2_150_859_173));
        assert!(fault.message.contains("30 concurrent shells"));
        assert_eq!(fault.subcode.as_deref(), Some("QuotaLimit"));
    }

    #[test]
    fn envelope_without_fault_has_none() {
        assert!(
            fault_of(r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#)
                .is_none()
        );
    }
}
