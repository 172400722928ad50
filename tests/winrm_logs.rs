//! The client's logs, captured at trace level (sspi's included), never contain the
//! password. Alone in its binary so no other test races the tracing callsite cache.

mod winrm_support;

use std::sync::{Arc, Mutex};

use fleetscan::winrm::{AuthMethod, Client, ClientOptions, CollectedOutput, Scheme, TlsOverride};
use winrm_support::*;

/// Collects everything the client logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn client_logs_at_trace_level_never_contain_the_password() {
    // The server runs in its own runtime, on threads without the capturing
    // subscriber, so only the client's (and sspi's client-side) logs are checked.
    let server_rt = tokio::runtime::Runtime::new().expect("server runtime");
    let (addr, _) = server_rt.block_on(serve(ServerOpts::http()));
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let client = Client::new(ClientOptions::default()).expect("client");
        let ep = endpoint(Scheme::Http, addr, TlsOverride::Default);
        let mut session = client
            .connect(&ep, AuthMethod::Ntlm, &creds(PASSWORD))
            .await
            .expect("connect");
        let mut out = CollectedOutput::default();
        session
            .run(&hostname(), &mut out, &limits())
            .await
            .expect("run");
        // The AUTHENTICATE (and so the rejection) comes with the first SOAP request.
        let mut rejected = client
            .connect(&ep, AuthMethod::Ntlm, &creds("wrong-canary-Pa55"))
            .await
            .expect("connect");
        let err = rejected
            .run(&hostname(), &mut CollectedOutput::default(), &limits())
            .await
            .expect_err("rejected");
        tracing::debug!(session = ?rejected, "rejected session");
        tracing::debug!(error = %err, debug = ?err, session = ?session, "final state");
    });
    let text = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
    assert!(text.contains("winrm request"), "the capture works");
    for secret in [PASSWORD, "wrong-canary-Pa55"] {
        assert!(!text.contains(secret), "{secret} leaked into the logs");
        let utf16: String = secret.chars().flat_map(|c| [c, '\0']).collect();
        assert!(!text.contains(&utf16));
    }
    drop(server_rt);
}
