//! Launching the provider binary the way Terraform does, for tests and benchmarks.

#![allow(dead_code)]

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, PKCS_ECDSA_P521_SHA512};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

pub const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client certificate like Terraform's: self-signed ECDSA P-521 CA for localhost.
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl ClientCert {
    pub fn generate() -> Self {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

pub struct LaunchedProvider {
    pub child: Child,
    /// `unix` or `tcp`, as announced.
    pub network: String,
    /// A socket path or a `host:port`.
    pub addr: String,
    pub server_cert_pem: Option<String>,
    pub handshake_line: String,
    pub time_to_handshake: Duration,
}

impl Drop for LaunchedProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, the provider could not remove its socket and private directory.
        if self.network == "unix" {
            let socket = std::path::Path::new(&self.addr);
            let _ = std::fs::remove_file(socket);
            if let Some(dir) = socket.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

pub fn launch(binary: &str, client_cert_pem: Option<&str>) -> LaunchedProvider {
    launch_with_env(binary, client_cert_pem, &[])
}

pub fn launch_with_env(
    binary: &str,
    client_cert_pem: Option<&str>,
    env: &[(&str, &str)],
) -> LaunchedProvider {
    launch_with(binary, client_cert_pem, env, Stdio::null())
}

/// Like [`launch_with_env`], with the provider's stderr (its log) in `child.stderr`.
#[allow(dead_code)]
pub fn launch_logging(
    binary: &str,
    client_cert_pem: Option<&str>,
    env: &[(&str, &str)],
) -> LaunchedProvider {
    launch_with(binary, client_cert_pem, env, Stdio::piped())
}

fn launch_with(
    binary: &str,
    client_cert_pem: Option<&str>,
    env: &[(&str, &str)],
    stderr: Stdio,
) -> LaunchedProvider {
    let mut cmd = Command::new(binary);
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("TF_DISABLE_PLUGIN_TLS")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    if let Some(pem) = client_cert_pem {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
    cmd.envs(env.iter().copied());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("handshake line");
    let time_to_handshake = started.elapsed();
    let line = line.trim_end().to_owned();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(&fields[..2], ["1", "5"]);
    assert!(
        ["unix", "tcp"].contains(&fields[2]),
        "network in handshake line {line:?}"
    );
    assert_eq!(fields[4], "grpc");
    let server_cert_pem = (!fields[5].is_empty()).then(|| {
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .expect("unpadded base64 certificate");
        der_to_pem(&der)
    });
    LaunchedProvider {
        network: fields[2].to_owned(),
        addr: fields[3].to_owned(),
        server_cert_pem,
        handshake_line: line.clone(),
        child,
        time_to_handshake,
    }
}

fn der_to_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Connects like Terraform: over the announced socket, trusting only the handshake's
/// certificate for the name `localhost` and presenting `client` if given; in plain text
/// when the handshake announced no certificate.
pub async fn connect(
    launched: &LaunchedProvider,
    client: Option<&ClientCert>,
) -> Result<Channel, tonic::transport::Error> {
    let scheme = if launched.server_cert_pem.is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint = match launched.network.as_str() {
        // The authority only names the TLS server; the connector below does the dialling.
        "unix" => Endpoint::from_shared(format!("{scheme}://localhost"))?,
        _ => {
            let port = launched.addr.rsplit(':').next().unwrap();
            Endpoint::from_shared(format!("{scheme}://localhost:{port}"))?
        }
    }
    .connect_timeout(Duration::from_secs(5));
    if let Some(server_cert) = &launched.server_cert_pem {
        let mut tls = ClientTlsConfig::new()
            .domain_name("localhost")
            .ca_certificate(Certificate::from_pem(server_cert));
        if let Some(c) = client {
            tls = tls.identity(Identity::from_pem(&c.cert_pem, &c.key_pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    match launched.network.as_str() {
        "unix" => {
            let path = PathBuf::from(&launched.addr);
            endpoint
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
        }
        _ => endpoint.connect().await,
    }
}

/// Connects over the Unix socket with a hand-built rustls client, which (unlike tonic's)
/// presents whatever certificate and key it is given, matching or not, so that tests
/// can play a client that has Terraform's certificate but not its key.
pub async fn connect_presenting(
    launched: &LaunchedProvider,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Channel, tonic::transport::Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::sync::Arc;

    assert_eq!(launched.network, "unix");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(
            CertificateDer::from_pem_slice(launched.server_cert_pem.as_ref().unwrap().as_bytes())
                .unwrap(),
        )
        .unwrap();
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let signer = provider.key_provider.load_private_key(key).unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(vec![cert], signer));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(AlwaysPresent(certified)));
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let path = PathBuf::from(&launched.addr);
    // TLS is done by the connector, so tonic speaks plain HTTP/2 over it.
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (path, connector) = (path.clone(), connector.clone());
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                let name = ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

/// Presents one certificate and key whatever the server asks for.
#[derive(Debug)]
struct AlwaysPresent(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for AlwaysPresent {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
