//! HTTP(S) plumbing: binding, the optional self-signed TLS listener, and the
//! single axum handler that turns HTTP into [`routes`] calls and back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body as AxBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::net::{TcpListener, TcpStream};

use crate::errors::{Body, GRAPH_JSON, Resp};
use crate::faults::Faults;
use crate::state::Directory;
use crate::{Config, Emulator, RunningEmulator, lock, routes};

/// Max request body; Graph's own limit for directory writes is far lower.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub async fn start(config: Config) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let dir = match &config.state_file {
        Some(p) => match Directory::load(p)? {
            Some(mut d) => {
                for (id, secret) in &config.admin_clients {
                    d.ensure_admin_client(id, secret);
                }
                d
            }
            None => Emulator::fresh_directory(&config, None),
        },
        None => Emulator::fresh_directory(&config, None),
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
        dir: Mutex::new(dir),
        log: Mutex::new(Vec::new()),
    });
    emu.persist(&lock(&emu.dir));

    let app = Router::new().fallback(handle).with_state(emu.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        let _ = rx.await;
    };
    let cert_pem = tls.as_ref().map(|t| t.0.clone());
    let task = match tls {
        Some((_, acceptor)) => {
            let l = TlsListener::spawn(listener, acceptor);
            tokio::spawn(async move {
                let _ = axum::serve(l, app).with_graceful_shutdown(signal).await;
            })
        }
        None => tokio::spawn(async move {
            let _ = axum::serve(listener, app)
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

async fn handle(State(emu): State<Arc<Emulator>>, req: Request) -> Response {
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
    let resp = routes::dispatch(&emu, hreq).await;
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
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(AxBody::empty()))
}
