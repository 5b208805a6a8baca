//! Launching the provider binary the way Terraform does, for tests and benchmarks.

#![allow(dead_code)]

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, PKCS_ECDSA_P521_SHA512};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

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
    pub addr: String,
    pub server_cert_pem: Option<String>,
    pub handshake_line: String,
    pub time_to_handshake: Duration,
}

impl Drop for LaunchedProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn launch(binary: &str, client_cert_pem: Option<&str>) -> LaunchedProvider {
    let mut cmd = Command::new(binary);
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("TF_DISABLE_PLUGIN_TLS")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(pem) = client_cert_pem {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
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
    assert_eq!(&fields[..3], ["1", "5", "tcp"]);
    assert_eq!(fields[4], "grpc");
    let server_cert_pem = (!fields[5].is_empty()).then(|| {
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .expect("unpadded base64 certificate");
        der_to_pem(&der)
    });
    LaunchedProvider {
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

/// Connects like Terraform: trust only the handshake's certificate, name `localhost`,
/// present `client` if given.
pub async fn connect(
    launched: &LaunchedProvider,
    client: Option<&ClientCert>,
) -> Result<Channel, tonic::transport::Error> {
    let port = launched.addr.rsplit(':').next().unwrap();
    let mut endpoint = Endpoint::from_shared(format!("https://localhost:{port}"))?
        .connect_timeout(Duration::from_secs(5));
    let mut tls = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(
            launched.server_cert_pem.as_ref().unwrap(),
        ));
    if let Some(c) = client {
        tls = tls.identity(Identity::from_pem(&c.cert_pem, &c.key_pem));
    }
    endpoint = endpoint.tls_config(tls)?;
    endpoint.connect().await
}
