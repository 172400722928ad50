//! The WS-Management shell (WinRS) client: SOAP envelopes, one kept-alive HTTP
//! connection per host, Basic and NTLM auth (with message sealing over HTTP and
//! channel binding over HTTPS), typed faults, and the Create / Command / Send /
//! Receive / Signal / Delete lifecycle with a PowerShell runner on top.
//!
//! Knows nothing of probes, scanning or reports.
