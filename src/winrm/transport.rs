//! One HTTP/1.1 connection to one host, kept alive for the whole session.
//!
//! NTLM authenticates the TCP connection, so every request of a host must go over
//! the same socket. A pooled client may move a request to a fresh, unauthenticated
//! socket (hyper-util's pool races a new connect against an idle checkout;
//! hyperium/hyper#4134), so this uses `hyper::client::conn::http1` directly: one
//! `SendRequest` is one socket.
//!
//! hyper's connection future is polled inside [`Connection::post`], on the
//! session's own task, rather than spawned as a driver task of its own: the
//! connection only has work while a request is in flight, and a driver task would
//! turn every request and response into a wake-up of another task, often on
//! another worker thread (a futex call each way). The socket closes with the
//! [`Connection`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{Action, TlsFailure, WinrmError};

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Read buffer of one connection, in bytes: each read from the socket takes at
/// most this much, and a response's header block must fit in it.
///
/// hyper's default grows the buffer to fit the largest read (up to ~400 KB) and
/// keeps that capacity for the connection's life; a Create response (~17 KB, the
/// environment echoed) or a Receive (~40 KB) left every waiting session holding
/// 32-64 KB. A fixed 8 KB (hyper's own initial size and smallest cap) costs a few
/// more reads per large response; bodies of any size still arrive whole, since
/// they are collected chunk by chunk. WinRM response headers are well under 1 KB
/// (an NTLM challenge is ~400 bytes of base64).
pub(crate) const READ_BUF_BYTES: usize = 8 * 1024;

/// Where to connect.
#[derive(Debug, Clone)]
pub(crate) struct Dial<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) path: &'a str,
    /// `Some` for HTTPS.
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub(crate) connect_timeout: Duration,
}

/// A complete HTTP response, body capped.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// `WWW-Authenticate` values, in order.
    pub(crate) www_authenticate: Vec<String>,
    /// `Content-Type`, empty when absent.
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

/// hyper's side of the socket: reads and writes happen while it is polled.
type Driver = http1::Connection<TokioIo<Box<dyn Io>>, Full<Bytes>>;

/// One pinned connection.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once hyper has closed the connection (an error or the peer's close);
    /// the next request then fails as `ConnectionLost`.
    driver: Option<Driver>,
    host: String,
    host_header: HeaderValue,
    path: String,
    /// DER of the server's leaf certificate (HTTPS only), for channel binding.
    pub(crate) peer_leaf: Option<Vec<u8>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("tls", &self.peer_leaf.is_some())
            .finish_non_exhaustive()
    }
}

fn tls_failure(e: &std::io::Error) -> TlsFailure {
    use rustls::CertificateError as C;
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::NameMismatch,
            C::UnknownIssuer | C::BadSignature => TlsFailure::UnknownCa,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TlsFailure::Expired,
            other => TlsFailure::Other(format!("invalid certificate: {other:?}")),
        },
        Some(other) => TlsFailure::Other(other.to_string()),
        None => TlsFailure::Other(e.to_string()),
    }
}

/// Resolves, connects (TCP, then TLS for HTTPS) and starts the HTTP/1.1 driver.
///
/// # Errors
/// `Dns`, `Refused`, `ConnectTimeout`, `Connect` or `Tls`.
///
/// # Cancel safety
/// Safe to drop: nothing is shared until it returns.
pub(crate) async fn connect(d: Dial<'_>) -> Result<Connection, WinrmError> {
    let host = d.host.trim_start_matches('[').trim_end_matches(']');
    let started = Instant::now();
    // A user-given timeout may be huge; `+` would panic on overflow.
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(d.connect_timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
    let timed_out = || WinrmError::ConnectTimeout {
        host: host.to_owned(),
        port: d.port,
        after: d.connect_timeout,
    };
    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, d.port))).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(source)) => {
                return Err(WinrmError::Dns {
                    host: host.to_owned(),
                    source,
                });
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
    let mut last_err: Option<std::io::Error> = None;
    let mut tcp = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(timed_out()),
            Ok(Ok(s)) => {
                tcp = Some(s);
                break;
            }
            Ok(Err(e)) => last_err = Some(e),
        }
    }
    let tcp = match (tcp, last_err) {
        (Some(t), _) => t,
        (None, Some(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(WinrmError::Refused {
                host: host.to_owned(),
                port: d.port,
            });
        }
        (None, Some(source)) => {
            return Err(WinrmError::Connect {
                host: host.to_owned(),
                port: d.port,
                source,
            });
        }
        (None, None) => {
            return Err(WinrmError::Dns {
                host: host.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
            });
        }
    };
    let _ = tcp.set_nodelay(true);
    let (io, peer_leaf): (Box<dyn Io>, Option<Vec<u8>>) = match d.tls {
        None => (Box::new(tcp), None),
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
                WinrmError::Tls {
                    host: host.to_owned(),
                    failure: TlsFailure::Other(format!("'{host}' is not a valid TLS server name")),
                }
            })?;
            let stream = match tokio::time::timeout_at(
                deadline,
                TlsConnector::from(config).connect(name, tcp),
            )
            .await
            {
                Err(_) => return Err(timed_out()),
                Ok(Err(e)) => {
                    return Err(WinrmError::Tls {
                        host: host.to_owned(),
                        failure: tls_failure(&e),
                    });
                }
                Ok(Ok(s)) => s,
            };
            let leaf = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            (Box::new(stream), leaf)
        }
    };
    let (sender, conn) = http1::Builder::new()
        .read_buf_exact_size(Some(READ_BUF_BYTES))
        .handshake::<_, Full<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| WinrmError::Connect {
            host: host.to_owned(),
            port: d.port,
            source: std::io::Error::other(e),
        })?;
    let authority = if host.contains(':') {
        format!("[{host}]:{}", d.port)
    } else {
        format!("{host}:{}", d.port)
    };
    tracing::debug!(
        host,
        port = d.port,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "connected"
    );
    Ok(Connection {
        sender,
        driver: Some(conn),
        host: host.to_owned(),
        host_header: HeaderValue::from_str(&authority).map_err(|_| WinrmError::Config {
            detail: format!("'{host}' cannot be used in a Host header"),
        })?,
        path: d.path.to_owned(),
        peer_leaf,
    })
}

/// One request's contents.
pub(crate) struct Post<'a> {
    pub(crate) action: Action,
    /// Full `Authorization` value (`Basic …`, `Negotiate …`); marked sensitive.
    pub(crate) authorization: Option<&'a SecretString>,
    /// `None` for the empty-body auth legs.
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: Bytes,
    pub(crate) read_timeout: Duration,
    pub(crate) max_body: usize,
}

impl Connection {
    /// Sends one POST and reads the whole response, capped at `max_body` bytes.
    ///
    /// # Errors
    /// `ConnectionLost`, `ReadTimeout`, `TooLarge`. After any error the connection
    /// is in an unknown state; the caller drops it.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping it mid-flight leaves a request on the wire whose
    /// response would be read by the next caller, so callers that drop it must drop
    /// the connection too.
    pub(crate) async fn post(&mut self, p: Post<'_>) -> Result<Reply, WinrmError> {
        let started = Instant::now();
        let lost = |before_response| WinrmError::ConnectionLost {
            host: self.host.clone(),
            action: p.action,
            before_response,
        };
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.path.as_str())
            .header(header::HOST, self.host_header.clone())
            .header(header::USER_AGENT, "fleetscan")
            .header(header::CONTENT_LENGTH, p.body.len());
        if let Some(ct) = p.content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        if let Some(auth) = p.authorization {
            let mut value =
                HeaderValue::from_str(auth.expose_secret()).map_err(|_| WinrmError::Config {
                    detail:
                        "the credentials cannot be sent in an HTTP header (control characters?)"
                            .to_owned(),
                })?;
            value.set_sensitive(true);
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let request = builder
            .body(Full::new(p.body))
            .map_err(|e| WinrmError::Config {
                detail: format!("cannot build the request: {e}"),
            })?;
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await.map_err(|_| lost(true))?;
            let response = sender.send_request(request).await.map_err(|_| lost(true))?;
            let (parts, mut incoming) = response.into_parts();
            let too_large = || WinrmError::TooLarge {
                host: self.host.clone(),
                action: p.action,
                what: "response body (bytes)",
                limit: p.max_body,
            };
            // Copied into one buffer sized from Content-Length as each piece
            // arrives, rather than collecting the pieces and copying them at the
            // end: each piece is let go at once, so hyper reuses its read buffer
            // instead of allocating a new one per read, and the body is never
            // held twice. One copy either way; the result is uniquely owned, so
            // unsealing decrypts it in place.
            let declared = incoming.size_hint().exact().unwrap_or(0);
            if declared > p.max_body as u64 {
                return Err(too_large());
            }
            let mut body = BytesMut::with_capacity(declared as usize);
            while let Some(frame) = incoming.frame().await {
                let Ok(data) = frame.map_err(|_| lost(false))?.into_data() else {
                    continue;
                };
                if data.len() > p.max_body.saturating_sub(body.len()) {
                    return Err(too_large());
                }
                body.extend_from_slice(&data);
            }
            let body = body.freeze();
            let www_authenticate = parts
                .headers
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            Ok::<_, WinrmError>(Reply {
                status: parts.status.as_u16(),
                www_authenticate,
                content_type,
                body,
            })
        };
        let reply = tokio::time::timeout(p.read_timeout, drive(&mut self.driver, exchange))
            .await
            .map_err(|_| WinrmError::ReadTimeout {
                host: self.host.clone(),
                action: p.action,
                after: p.read_timeout,
            })??;
        tracing::debug!(
            host = %self.host,
            action = %p.action,
            status = reply.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "winrm request"
        );
        Ok(reply)
    }
}

/// Runs `exchange` while polling hyper's connection, on the caller's task.
///
/// The connection is polled first so that a response it has just read reaches
/// the exchange in the same poll. When the connection ends (error or the peer
/// closing), the exchange is still polled to its end: it then fails as lost.
async fn drive<T>(driver: &mut Option<Driver>, exchange: impl Future<Output = T>) -> T {
    let mut exchange = std::pin::pin!(exchange);
    std::future::poll_fn(|cx| {
        if let Some(conn) = driver.as_mut()
            && Pin::new(conn).poll(cx).is_ready()
        {
            // Errors surface through the exchange as a closed connection.
            *driver = None;
        }
        exchange.as_mut().poll(cx)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Answers each request on one connection with the next canned response,
    /// written in one piece so the client sees as much as its buffer takes.
    async fn serve(responses: Vec<Vec<u8>>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            for response in responses {
                // Requests here have empty bodies: read up to the end of the head.
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    if socket.read(&mut byte).await.unwrap() == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                socket.write_all(&response).await.unwrap();
            }
        });
        port
    }

    fn response(extra_headers: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n{extra_headers}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn body_of(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..len).map(|_| rng.u8(..)).collect()
    }

    async fn dial(port: u16) -> Connection {
        connect(Dial {
            host: "127.0.0.1",
            port,
            path: "/wsman",
            tls: None,
            connect_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap()
    }

    fn post(max_body: usize) -> Post<'static> {
        Post {
            action: Action::Receive,
            authorization: None,
            content_type: None,
            body: Bytes::new(),
            read_timeout: Duration::from_secs(10),
            max_body,
        }
    }

    #[tokio::test]
    async fn responses_many_times_the_read_buffer_arrive_whole_on_one_connection() {
        // A large body, then a small one, then a large one again: the capped read
        // buffer is reused across exchanges without losing or mixing bytes.
        let bodies = [
            body_of(40 * READ_BUF_BYTES + 123, 1),
            body_of(17, 2),
            body_of(3 * READ_BUF_BYTES, 3),
        ];
        let port = serve(bodies.iter().map(|b| response("", b)).collect()).await;
        let mut conn = dial(port).await;
        for expected in &bodies {
            let reply = conn.post(post(1 << 20)).await.unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.body.len(), expected.len());
            assert!(reply.body == expected[..], "body bytes differ");
        }
    }

    #[tokio::test]
    async fn the_connection_is_driven_on_the_callers_task_not_a_task_of_its_own() {
        // A third answer keeps the server task alive, waiting, through the checks.
        let answers = [b"<a/>", b"<b/>", b"<c/>"];
        let port = serve(answers.iter().map(|b| response("", *b)).collect()).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let mut conn = dial(port).await;
        assert_eq!(metrics.num_alive_tasks(), before, "connect spawned a task");
        assert_eq!(&conn.post(post(1 << 20)).await.unwrap().body[..], b"<a/>");
        assert_eq!(&conn.post(post(1 << 20)).await.unwrap().body[..], b"<b/>");
        assert_eq!(
            metrics.num_alive_tasks(),
            before,
            "a request spawned a task"
        );
    }

    #[tokio::test]
    async fn a_peer_that_closes_after_its_answer_makes_the_next_request_lost_not_hang() {
        // The server answers once, then drops the socket.
        let port = serve(vec![response("", b"<a/>")]).await;
        let mut conn = dial(port).await;
        assert_eq!(&conn.post(post(1 << 20)).await.unwrap().body[..], b"<a/>");
        let err = conn.post(post(1 << 20)).await.unwrap_err();
        assert!(matches!(err, WinrmError::ConnectionLost { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn chunked_response_larger_than_the_read_buffer_arrives_whole() {
        let body = body_of(5 * READ_BUF_BYTES + 7, 4);
        let mut wire =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for chunk in body.chunks(3000) {
            wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let port = serve(vec![wire]).await;
        let reply = dial(port).await.post(post(1 << 20)).await.unwrap();
        assert!(reply.body == body[..], "body bytes differ");
    }

    #[tokio::test]
    async fn response_headers_of_several_kilobytes_still_fit_the_read_buffer() {
        // Far more than WinRM sends (an NTLM challenge is ~400 bytes), well inside
        // the buffer that now also caps the header block.
        let challenge = "A".repeat(READ_BUF_BYTES / 2);
        let headers = format!(
            "WWW-Authenticate: Negotiate {challenge}\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"
        );
        let port = serve(vec![response(&headers, b"<ok/>")]).await;
        let reply = dial(port).await.post(post(1 << 20)).await.unwrap();
        assert_eq!(reply.www_authenticate.len(), 2);
        assert_eq!(
            reply.www_authenticate[0].len(),
            "Negotiate ".len() + challenge.len()
        );
        assert_eq!(&reply.body[..], b"<ok/>");
    }

    #[tokio::test]
    async fn chunked_body_over_max_body_is_too_large() {
        // No Content-Length to refuse up front: the cap holds while reading.
        let mut wire =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for chunk in body_of(4 * READ_BUF_BYTES, 6).chunks(3000) {
            wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let port = serve(vec![wire]).await;
        let err = dial(port)
            .await
            .post(post(3 * READ_BUF_BYTES))
            .await
            .unwrap_err();
        assert!(matches!(err, WinrmError::TooLarge { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn body_exactly_at_max_body_arrives_whole() {
        let body = body_of(3 * READ_BUF_BYTES, 7);
        let port = serve(vec![response("", &body)]).await;
        let reply = dial(port)
            .await
            .post(post(3 * READ_BUF_BYTES))
            .await
            .unwrap();
        assert!(reply.body == body[..], "body bytes differ");
    }

    #[tokio::test]
    async fn body_over_max_body_is_too_large_even_when_read_in_small_pieces() {
        let body = body_of(4 * READ_BUF_BYTES, 5);
        let port = serve(vec![response("", &body)]).await;
        let err = dial(port)
            .await
            .post(post(3 * READ_BUF_BYTES))
            .await
            .unwrap_err();
        assert!(matches!(err, WinrmError::TooLarge { .. }), "{err:?}");
    }
}
