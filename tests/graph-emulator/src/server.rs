//! HTTP(S) plumbing: binding, the optional self-signed TLS listener, and the
//! single axum handler that turns HTTP into [`routes`] calls and back.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body as AxBody;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::errors::{Body, GRAPH_JSON, Resp};
use crate::faults::Faults;
use crate::tenants::Tenants;
use crate::{Config, Emulator, RunningEmulator, lock, routes};

/// Max request body; Graph's own limit for directory writes is far lower.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub async fn start(config: Config) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let tenants = match &config.state_file {
        Some(p) => match Tenants::load(p)? {
            Some(mut t) => {
                // Tenants named on the command line but not in the file are added;
                // every tenant gets the `--admin-client` identities.
                for id in std::iter::once(&config.tenant).chain(&config.extra_tenants) {
                    if t.get(id).is_none() {
                        t.tenants.push(Emulator::fresh_directory(&config, id, None));
                    }
                }
                for d in t.tenants.iter_mut() {
                    Emulator::add_configured_identities(&config, d);
                }
                t
            }
            None => Emulator::fresh_tenants(&config),
        },
        None => Emulator::fresh_tenants(&config),
    };
    let tls = match &config.tls_dir {
        Some(d) => Some(load_or_make_cert(d)?),
        None => None,
    };
    let base_url = match &tls {
        Some(_) => format!("https://localhost:{}", addr.port()),
        // A wildcard bind is reached through loopback.
        None if addr.ip().is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let emu = Arc::new(Emulator {
        base_url: base_url.clone(),
        faults: Mutex::new(Faults::new(config.faults.clone())),
        config,
        tenants: Mutex::new(tenants),
        log: Mutex::new(Vec::new()),
        writes: Mutex::new(Default::default()),
    });
    emu.persist(&lock(&emu.tenants));

    let app = Router::new()
        .fallback(handle)
        .with_state(emu.clone())
        .into_make_service_with_connect_info::<Conn>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        let _ = rx.await;
    };
    let cert_pem = tls.as_ref().map(|t| t.0.clone());
    let task = match tls {
        Some((_, acceptor)) => {
            let l = Killable(TlsListener::spawn(listener, acceptor));
            tokio::spawn(async move {
                let _ = axum::serve(l, app).with_graceful_shutdown(signal).await;
            })
        }
        None => tokio::spawn(async move {
            let _ = axum::serve(Killable(listener), app)
                .with_graceful_shutdown(signal)
                .await;
        }),
    };
    Ok(RunningEmulator {
        base_url,
        addr,
        emulator: emu,
        cert_pem,
        shutdown: Some(tx),
        task,
    })
}

/// Reuses `cert.pem`/`key.pem` in the directory if both exist (so clients that
/// trusted it keep working across restarts), otherwise generates them.
fn load_or_make_cert(
    dir: &std::path::Path,
) -> std::io::Result<(String, tokio_rustls::TlsAcceptor)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    std::fs::create_dir_all(dir)?;
    let (cp, kp) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (cert_pem, key_pem) = match (std::fs::read_to_string(&cp), std::fs::read_to_string(&kp)) {
        (Ok(c), Ok(k)) => (c, k),
        _ => {
            let ck = rcgen::generate_simple_self_signed(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
            ])
            .map_err(std::io::Error::other)?;
            let (c, k) = (ck.cert.pem(), ck.signing_key.serialize_pem());
            std::fs::write(&kp, &k)?;
            std::fs::write(&cp, &c)?;
            (c, k)
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(std::io::Error::other)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(std::io::Error::other)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((cert_pem, tokio_rustls::TlsAcceptor::from(Arc::new(cfg))))
}

/// Accepts TCP and completes TLS handshakes concurrently, so one slow client
/// cannot stall the others.
struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    fn spawn(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor) -> TlsListener {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(x) => x,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        let _ = tx.send((s, peer)).await;
                    }
                });
            }
        });
        TlsListener { rx, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The acceptor task only ends with the process; park forever.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Wraps a listener so that each connection can be cut by the request it carries
/// (`act_then_drop`): once killed, reads and writes fail, so the server closes the
/// socket without writing the answer.
struct Killable<L>(L);

/// The kill switch of one connection, handed to its requests as connect info.
#[derive(Clone, Default)]
pub struct Conn(Arc<AtomicBool>);

impl Conn {
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub struct KillableIo<T> {
    inner: T,
    conn: Conn,
}

impl<T> KillableIo<T> {
    fn check(&self) -> std::io::Result<()> {
        if self.conn.0.load(Ordering::SeqCst) {
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "connection dropped by a fault rule",
            ))
        } else {
            Ok(())
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for KillableIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for KillableIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Killable<L> {
    type Io = KillableIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (inner, addr) = self.0.accept().await;
        (
            KillableIo {
                inner,
                conn: Conn::default(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl<L: axum::serve::Listener> Connected<IncomingStream<'_, Killable<L>>> for Conn {
    fn connect_info(stream: IncomingStream<'_, Killable<L>>) -> Self {
        stream.io().conn.clone()
    }
}

/// The parts of an HTTP request the routes need.
#[derive(Debug, Clone)]
pub struct HttpReq {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub client_request_id: String,
}

impl HttpReq {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn handle(
    State(emu): State<Arc<Emulator>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => Vec::new(),
    };
    let request_id = crate::util::new_guid();
    let client_request_id = parts
        .headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let hreq = HttpReq {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body: bytes,
        request_id: request_id.clone(),
        client_request_id: client_request_id.clone(),
    };
    // The request runs in a task of its own, so it is acted on to the end even when
    // the client goes away meanwhile (a slow tenant during Ctrl-C).
    let task = tokio::spawn(async move { routes::dispatch(&emu, hreq).await });
    let resp = match task.await {
        Ok(r) => r,
        Err(_) => Resp {
            status: 500,
            headers: Vec::new(),
            body: Body::Text("internal error".into()),
        },
    };
    if matches!(resp.body, Body::Abort) {
        conn.kill();
    }
    to_http(resp, &request_id, &client_request_id)
}

fn to_http(resp: Resp, request_id: &str, client_request_id: &str) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    let mut has_ct = false;
    for (k, v) in &resp.headers {
        has_ct |= k.eq_ignore_ascii_case("content-type");
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            b = b.header(k, v);
        }
    }
    b = b
        .header("request-id", request_id)
        .header("client-request-id", client_request_id)
        .header(
            "x-ms-ags-diagnostic",
            r#"{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"graph-emulator"}}"#,
        )
        .header("OData-Version", "4.0")
        .header("Cache-Control", "no-cache");
    let body = match resp.body {
        Body::Empty => AxBody::empty(),
        Body::Json(v) => {
            if !has_ct {
                b = b.header("Content-Type", GRAPH_JSON);
            }
            AxBody::from(serde_json::to_vec(&v).unwrap_or_default())
        }
        Body::Text(t) => {
            if !has_ct {
                b = b.header("Content-Type", "text/plain");
            }
            AxBody::from(t)
        }
        Body::Oversized(n) => {
            if !has_ct {
                b = b.header("Content-Type", GRAPH_JSON);
            }
            b = b.header("Content-Length", n.to_string());
            AxBody::new(Padding::new(n))
        }
        // The connection is already killed; whatever is written next fails.
        Body::Abort => AxBody::empty(),
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(AxBody::empty()))
}

/// `{"value":[],"padding":"aaaa…"}` of exactly `total` bytes, produced in chunks
/// so that a large answer never sits in memory.
struct Padding {
    head: &'static [u8],
    tail: &'static [u8],
    fill: u64,
    stage: u8,
}

const PAD_HEAD: &[u8] = br#"{"value":[],"padding":""#;
const PAD_TAIL: &[u8] = br#""}"#;
const PAD_CHUNK: usize = 64 * 1024;
static PAD_BYTES: [u8; PAD_CHUNK] = [b'a'; PAD_CHUNK];
static SPACES: [u8; PAD_CHUNK] = [b' '; PAD_CHUNK];

impl Padding {
    fn new(total: u64) -> Padding {
        let frame = (PAD_HEAD.len() + PAD_TAIL.len()) as u64;
        if total >= frame {
            Padding {
                head: PAD_HEAD,
                tail: PAD_TAIL,
                fill: total - frame,
                stage: 0,
            }
        } else {
            // Too small for the frame: `{}` after leading whitespace.
            Padding {
                head: b"",
                tail: b"{}",
                fill: total.saturating_sub(2),
                stage: 0,
            }
        }
    }
}

impl http_body::Body for Padding {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let data = |b: &'static [u8]| {
            Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
                b,
            )))))
        };
        loop {
            match self.stage {
                0 => {
                    self.stage = 1;
                    if !self.head.is_empty() {
                        return data(self.head);
                    }
                }
                1 if self.fill > 0 => {
                    let n = self.fill.min(PAD_CHUNK as u64) as usize;
                    self.fill -= n as u64;
                    let src: &'static [u8] = if self.head.is_empty() {
                        &SPACES
                    } else {
                        &PAD_BYTES
                    };
                    return data(&src[..n]);
                }
                1 => {
                    self.stage = 2;
                    return data(self.tail);
                }
                _ => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let rest = match self.stage {
            0 => self.head.len() as u64 + self.fill + self.tail.len() as u64,
            1 => self.fill + self.tail.len() as u64,
            _ => 0,
        };
        http_body::SizeHint::with_exact(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    fn collect(mut p: Padding) -> Vec<u8> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        while let Poll::Ready(Some(Ok(f))) = Pin::new(&mut p).poll_frame(&mut cx) {
            out.extend_from_slice(f.data_ref().unwrap());
        }
        out
    }

    #[test]
    fn padding_is_valid_json_of_the_exact_size() {
        for n in [2u64, 5, 25, 26, 100, 200_000] {
            let p = Padding::new(n);
            assert_eq!(p.size_hint().exact(), Some(n));
            let bytes = collect(p);
            assert_eq!(bytes.len() as u64, n, "size {n}");
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert!(v.is_object());
        }
    }
}
