//! NTLM end to end on loopback against a small WinRM server written here with an
//! sspi acceptor (an implementation independent of the client's code paths except
//! for sspi itself): sealing over HTTP, channel binding over HTTPS, wrong
//! passwords, TLS failures, and the request count per host.
//!
//! The server's multipart framing is written from MS-WSMV 2.2.9.1 here, not taken
//! from the client, so a framing mistake cannot hide on both ends.

mod winrm_support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use fleetscan::winrm::{
    AuthMethod, Client, ClientOptions, CollectedOutput, FailureClass, Scheme, TlsFailure,
    TlsOverride, WinrmError,
};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use winrm_support::*;

fn http(addr: std::net::SocketAddr) -> fleetscan::winrm::Endpoint {
    endpoint(Scheme::Http, addr, TlsOverride::Default)
}

fn priming() -> ClientOptions {
    ClientOptions {
        ntlm_empty_body_priming: true,
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn ntlm_over_http_carries_authenticate_on_the_sealed_create_and_costs_five_requests() {
    let (addr, seen) = serve(ServerOpts::http()).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(&http(addr), AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("connect");
    assert_eq!(session.requests_sent(), 1, "only the NEGOTIATE leg");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 3);
    assert_eq!(out.stdout_lines, vec!["WIN01", "second line"]);
    let seen = seen.lock().expect("lock");
    assert_eq!(
        seen.requests,
        [
            ("Create".to_owned(), true),
            ("Command".to_owned(), true),
            ("Receive".to_owned(), true),
            ("Delete".to_owned(), true)
        ]
    );
    // The AUTHENTICATE rode on the sealed Create, once; the server's answer to it
    // was sealed with the new keys and read.
    assert_eq!(seen.authenticate_with, ["Create"]);
    assert_eq!(seen.auth_legs, 2);
    assert_eq!(seen.connections, 1);
    // NEGOTIATE + Create (with AUTHENTICATE), Command, Receive, Delete.
    assert_eq!(session.requests_sent(), 5);
}

#[tokio::test]
async fn ntlm_empty_body_priming_still_costs_six_requests_and_works() {
    let (addr, seen) = serve(ServerOpts::http()).await;
    let client = Client::new(priming()).expect("client");
    let mut session = client
        .connect(&http(addr), AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("connect");
    assert_eq!(session.requests_sent(), 2, "type 1 and type 3 legs");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 3);
    assert_eq!(out.stdout_lines, vec!["WIN01", "second line"]);
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.authenticate_with, ["(empty body)"]);
    assert!(seen.requests.iter().all(|(_, sealed)| *sealed));
    assert_eq!(seen.requests.len(), 4);
    assert_eq!(session.requests_sent(), 6);
}

#[tokio::test]
async fn ntlm_empty_body_priming_rejects_a_wrong_password_at_connect() {
    let (addr, seen) = serve(ServerOpts::http()).await;
    let client = Client::new(priming()).expect("client");
    let err = client
        .connect(&http(addr), AuthMethod::Ntlm, &creds("not-it"))
        .await
        .expect_err("rejected");
    assert!(
        matches!(err, WinrmError::CredentialsRejected { .. }),
        "{err:?}"
    );
    assert_eq!(seen.lock().expect("lock").auth_legs, 2);
}

#[tokio::test]
async fn ntlm_session_runs_two_commands_on_one_connection() {
    let (addr, seen) = serve(ServerOpts::http()).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(&http(addr), AuthMethod::Negotiate, &creds(PASSWORD))
        .await
        .expect("connect");
    for _ in 0..2 {
        let mut out = CollectedOutput::default();
        session
            .run(&hostname(), &mut out, &limits())
            .await
            .expect("run");
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.connections, 1);
    // The second command's requests need no new AUTHENTICATE.
    assert_eq!(seen.authenticate_with, ["Create"]);
    assert_eq!(session.requests_sent(), 9);
}

#[tokio::test]
async fn ntlm_wrong_password_is_rejected_on_the_first_request_and_not_retried() {
    let (addr, seen) = serve(ServerOpts::http()).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(&http(addr), AuthMethod::Ntlm, &creds("not-it"))
        .await
        .expect("NEGOTIATE and CHALLENGE carry no proof of the password");
    let mut out = CollectedOutput::default();
    let err = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect_err("rejected");
    assert!(
        matches!(err, WinrmError::CredentialsRejected { .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::AuthFailed);
    assert!(!err.is_transient());
    assert!(!format!("{err}{err:?}").contains("not-it"));
    // NEGOTIATE, then the Create with the AUTHENTICATE: one logon attempt, no
    // second try, no Delete (no shell exists).
    assert_eq!(session.requests_sent(), 2);
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.auth_legs, 2);
    assert_eq!(seen.connections, 1);
    assert!(seen.requests.is_empty(), "{:?}", seen.requests);
}

#[tokio::test]
async fn ntlm_over_https_sends_a_matching_channel_binding_with_the_create() {
    let tls = tls_for(&["127.0.0.1"]);
    let (addr, seen) = serve(ServerOpts::https(
        Some(binding(&tls.leaf)),
        tls.server.clone(),
    ))
    .await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let ep = endpoint(
        Scheme::Https,
        addr,
        TlsOverride::ExtraCa(tls.ca_file.path().to_owned()),
    );
    let mut session = client
        .connect(&ep, AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect("run");
    assert_eq!(out.stdout_lines[0], "WIN01");
    let seen = seen.lock().expect("lock");
    // Over TLS the bodies are not sealed (TLS already protects them).
    assert!(seen.requests.iter().all(|(_, sealed)| !sealed));
    assert_eq!(seen.authenticate_with, ["Create"]);
    assert_eq!(session.requests_sent(), 5);
}

#[tokio::test]
async fn ntlm_over_https_with_a_different_channel_binding_is_rejected() {
    let tls = tls_for(&["127.0.0.1"]);
    let (addr, seen) = serve(ServerOpts::https(
        Some(binding(b"some other certificate")),
        tls.server.clone(),
    ))
    .await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let ep = endpoint(
        Scheme::Https,
        addr,
        TlsOverride::ExtraCa(tls.ca_file.path().to_owned()),
    );
    let mut session = client
        .connect(&ep, AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect_err("bad binding");
    assert!(
        matches!(err, WinrmError::CredentialsRejected { .. }),
        "{err:?}"
    );
    assert_eq!(session.requests_sent(), 2);
    assert!(seen.lock().expect("lock").requests.is_empty());
}

#[tokio::test]
async fn cleanup_after_a_deadline_reauthenticates_with_authenticate_on_the_signal() {
    let mut opts = ServerOpts::http();
    opts.hang_receives = true;
    let (addr, seen) = serve(opts).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(&http(addr), AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let err = session
        .run(
            &hostname(),
            &mut out,
            &fleetscan::winrm::RunLimits {
                deadline: tokio::time::Instant::now() + std::time::Duration::from_millis(500),
                ..limits()
            },
        )
        .await
        .expect_err("deadline");
    assert!(matches!(err, WinrmError::DeadlinePassed { .. }), "{err:?}");
    assert_eq!(
        session.leaked_shells(),
        0,
        "Signal and Delete were answered"
    );
    let seen = seen.lock().expect("lock");
    let actions: Vec<&str> = seen.requests.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["Create", "Command", "Receive", "Signal", "Delete"]
    );
    // The hung Receive's connection was dropped; the cleanup connection sent its
    // own AUTHENTICATE with the (sealed) Signal.
    assert_eq!(seen.connections, 2);
    assert_eq!(seen.authenticate_with, ["Create", "Signal"]);
    assert!(seen.requests.iter().all(|(_, sealed)| *sealed));
    // NEGOTIATE, Create, Command, Receive; NEGOTIATE, Signal, Delete.
    assert_eq!(session.requests_sent(), 7);
}

#[tokio::test]
async fn basic_over_https_costs_four_requests() {
    let tls = tls_for(&["127.0.0.1"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tls.server.clone();
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(stream) = tokio_rustls::TlsAcceptor::from(server).accept(tcp).await else {
            return;
        };
        let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
            let ok = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some(&format!(
                    "Basic {}",
                    STANDARD.encode(format!("{USER}:{PASSWORD}"))
                ));
            let body = req.into_body().collect().await?.to_bytes();
            if !ok {
                return Ok::<_, hyper::Error>(empty(401));
            }
            Ok(Response::new(Full::new(Bytes::from(answer(&action_of(
                &String::from_utf8_lossy(&body),
            ))))))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    let client = Client::new(ClientOptions::default()).expect("client");
    let ep = endpoint(
        Scheme::Https,
        addr,
        TlsOverride::ExtraCa(tls.ca_file.path().to_owned()),
    );
    let mut session = client
        .connect(&ep, AuthMethod::Basic, &creds(PASSWORD))
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 3);
    assert_eq!(session.requests_sent(), 4);
}

#[tokio::test]
async fn tls_name_mismatch_and_unknown_ca_are_typed() {
    let tls = tls_for(&["winrm.example.test"]);
    let (addr, _) = serve(ServerOpts::https(None, tls.server.clone())).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let trusted = endpoint(
        Scheme::Https,
        addr,
        TlsOverride::ExtraCa(tls.ca_file.path().to_owned()),
    );
    let err = client
        .connect(&trusted, AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect_err("name");
    assert!(
        matches!(
            err,
            WinrmError::Tls {
                failure: TlsFailure::NameMismatch,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), FailureClass::Unreachable);
    let untrusted = endpoint(Scheme::Https, addr, TlsOverride::Default);
    let err = client
        .connect(&untrusted, AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect_err("ca");
    assert!(
        matches!(
            err,
            WinrmError::Tls {
                failure: TlsFailure::UnknownCa,
                ..
            }
        ),
        "{err:?}"
    );
    // --insecure accepts it.
    let insecure = endpoint(Scheme::Https, addr, TlsOverride::Insecure);
    client
        .connect(&insecure, AuthMethod::Ntlm, &creds(PASSWORD))
        .await
        .expect("insecure");
}

#[tokio::test]
async fn sealed_timed_out_faults_are_unsealed_and_receive_asks_again() {
    let opts = ServerOpts::http();
    opts.receive_timeouts
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let (addr, seen) = serve(opts).await;
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut session = client
        .connect(
            &endpoint(Scheme::Http, addr, TlsOverride::Default),
            AuthMethod::Ntlm,
            &creds(PASSWORD),
        )
        .await
        .expect("connect");
    let mut out = CollectedOutput::default();
    let exit = session
        .run(&hostname(), &mut out, &limits())
        .await
        .expect("run");
    assert_eq!(exit.exit_code, 3);
    let actions: Vec<String> = seen
        .lock()
        .expect("lock")
        .requests
        .iter()
        .map(|(a, _)| a.clone())
        .collect();
    assert_eq!(
        actions,
        [
            "Create", "Command", "Receive", "Receive", "Receive", "Delete"
        ]
    );
    // NEGOTIATE + 6 SOAP requests (the AUTHENTICATE rode on the Create).
    assert_eq!(session.requests_sent(), 7);
}
