//! A tiny HTTP/1.1 client over tokio (plain or TLS) and helpers to drive the
//! emulator in-process, so the tests need no HTTP client crate.
#![allow(dead_code)]

use graph_emulator::{Config, RunningEmulator};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TENANT: &str = "00000000-0000-4000-8000-00000000a001";
pub const CI_CLIENT: &str = "00000000-0000-4000-8000-00000000c101";
pub const CI_SECRET: &str = "terraform-ci-secret";
pub const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
pub const GRAPH_SP: &str = "00000000-0000-4000-8000-00000000d001";
pub const OWNER: &str = "00000000-0000-4000-8000-00000000b002";
pub const OWNED_APP1: &str = "00000000-0000-4000-8000-00000000e001";
pub const OWNED_APP2: &str = "00000000-0000-4000-8000-00000000e002";
pub const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";
pub const GROUP_READ_ALL: &str = "5b567255-7703-4780-807c-7be8301ae99b";

#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Res {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    s.flush().await.unwrap();
    let mut raw = Vec::new();
    // A TLS peer may close without close_notify; keep what was read.
    let _ = s.read_to_end(&mut raw).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Res {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete HTTP response");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let p = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..p]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[p + 2..p + 2 + n]);
            rest = &rest[p + 2 + n + 2..];
        }
        body = out;
    }
    Res {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

/// One request to `base` (http:// only; see [`https_request`]).
pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Res {
    let host = base.strip_prefix("http://").expect("http base");
    let s = TcpStream::connect(host).await.unwrap();
    exchange(s, host, method, path, headers, body).await
}

/// One HTTPS request trusting only `cert_pem`.
pub async fn https_request(base: &str, cert_pem: &str, method: &str, path: &str) -> Res {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let hostport = base.strip_prefix("https://").unwrap();
    let port = hostport.rsplit(':').next().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let tcp = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    exchange(tls, hostport, method, path, &[], b"").await
}

pub struct Emu {
    pub base: String,
    pub running: RunningEmulator,
}

pub async fn start() -> Emu {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> Emu {
    let running = graph_emulator::start(config).await.unwrap();
    Emu {
        base: running.base_url.clone(),
        running,
    }
}

impl Emu {
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Res {
        request(&self.base, method, path, headers, body).await
    }

    /// A Graph call (`path` after `/v1.0`) with a bearer token and optional JSON body.
    pub async fn graph(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Res {
        self.graph_h(token, method, path, body, &[]).await
    }

    pub async fn graph_h(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Res {
        let auth = format!("Bearer {token}");
        let mut h: Vec<(&str, &str)> = vec![("Authorization", auth.as_str())];
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        if !bytes.is_empty() {
            h.push(("Content-Type", "application/json"));
        }
        h.extend_from_slice(extra);
        self.raw(method, &format!("/v1.0{path}"), &h, &bytes).await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Res {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(
            method,
            &format!("/_emulator/{path}"),
            &[("Content-Type", "application/json")],
            &bytes,
        )
        .await
    }

    /// A token for a seeded user, minted by the admin side (what the stand-in `az` does).
    pub async fn user_token(&self, upn: &str) -> String {
        let r = self
            .admin("POST", "tokens", Some(json!({"user": upn})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    /// The token endpoint's form post.
    pub async fn token_form(&self, tenant: &str, form: &str) -> Res {
        self.raw(
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
        .await
    }

    /// terraform-ci's token via client credentials with its secret.
    pub async fn ci_token(&self) -> String {
        let r = self
            .token_form(
                TENANT,
                &format!("grant_type=client_credentials&client_id={CI_CLIENT}&client_secret={CI_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    pub async fn set_faults(&self, v: Value) {
        let r = self.admin("PUT", "faults", Some(v)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// Creates an app as `token` and returns its JSON.
    pub async fn create_app(&self, token: &str, body: Value) -> Value {
        let r = self.graph(token, "POST", "/applications", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    }
}

/// An unsigned external JWT (the emulator does not verify client assertions).
pub fn assertion(iss: &str, sub: &str, aud: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(
        json!({"iss": iss, "sub": sub, "aud": aud, "exp": now + 600, "iat": now}).to_string(),
    );
    format!("{h}.{p}.c2ln")
}

/// Asserts Graph's error envelope and headers.
pub fn assert_graph_error(r: &Res, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{}", r.body);
    let inner = &v["error"]["innerError"];
    let date = inner["date"].as_str().unwrap();
    assert_eq!(date.len(), 19, "date without fraction or Z: {date}");
    assert!(!date.ends_with('Z'));
    assert_eq!(inner["request-id"].as_str(), r.header("request-id"));
    assert_eq!(
        inner["client-request-id"].as_str(),
        r.header("client-request-id")
    );
}
