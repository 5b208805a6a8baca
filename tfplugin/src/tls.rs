//! Mutual TLS between Terraform and the provider.
//!
//! Terraform sends its client certificate in `PLUGIN_CLIENT_CERT` and trusts exactly
//! the server certificate the provider prints in the handshake line. The provider
//! makes a fresh self-signed certificate for `localhost` on each start and accepts a
//! connection only from the holder of Terraform's certificate.
//!
//! Terraform's certificate is a self-signed *CA* certificate with an ECDSA P-521 key.
//! A standard chain verifier (webpki) refuses a CA certificate as a client's own, and
//! the *ring* backend cannot check P-521 signatures, so generic client-auth setups either
//! fail or, as some Rust plugin frameworks do, make client auth optional. Instead this
//! module pins the one certificate Terraform announced (byte for byte) and verifies the
//! TLS handshake signature against it with the aws-lc-rs backend, which knows P-521.

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ED25519,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The provider's certificate and key for one process lifetime.
pub struct ServerIdentity {
    /// The certificate (DER), announced in the handshake line.
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

/// The TLS setup failed.
#[derive(Debug)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS setup failed: {}", self.0)
    }
}

impl std::error::Error for TlsError {}

fn err(e: impl std::fmt::Display) -> TlsError {
    TlsError(e.to_string())
}

/// A fresh Ed25519 certificate for `localhost`; `organization` names the provider in
/// it. Ed25519: generated and used for signing faster than an ECDSA key, with less code
/// touched on every start, and accepted by the TLS of every Terraform 1.x and OpenTofu
/// (Go has had Ed25519 certificates in TLS since 1.13; Terraform 1.0 was built with Go
/// 1.16). A Go build restricted to FIPS-only TLS (BoringCrypto) would refuse it;
/// Terraform's releases are not such builds.
pub fn generate_server_identity(organization: &str) -> Result<ServerIdentity, TlsError> {
    let key = KeyPair::generate_for(&PKCS_ED25519).map_err(err)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    // Terraform puts this certificate in its root pool and Go accepts a leaf found
    // there as is. It stays an end-entity certificate (not a CA, unlike go-plugin's own)
    // so that webpki-based clients, such as this project's tests, accept it too.
    params.is_ca = IsCa::ExplicitNoCa;
    // An Ed25519 key only signs (RFC 8410 forbids keyEncipherment for it).
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // A little slack for clock differences; the certificate dies with the process.
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(30)).into();
    params.not_after = (now + Duration::from_secs(60 * 60 * 24 * 365)).into();
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(ServerIdentity {
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    })
}

fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The client certificate Terraform announced in `PLUGIN_CLIENT_CERT`.
#[derive(Debug, Clone)]
pub struct TerraformCert(CertificateDer<'static>);

impl TerraformCert {
    /// Reads the PEM certificate; the only check that can fail on Terraform's input,
    /// so it is made before the handshake line.
    pub fn from_pem(pem: &str) -> Result<Self, TlsError> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .map(|der| TerraformCert(der.into_owned()))
            .map_err(|e| {
                TlsError(format!(
                    "PLUGIN_CLIENT_CERT does not hold a PEM certificate: {e}"
                ))
            })
    }
}

/// Server TLS that serves only the holder of Terraform's certificate, over HTTP/2.
pub fn server_config(
    identity: &ServerIdentity,
    terraform: &TerraformCert,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = crypto_provider();
    let verifier = PinnedClientCert {
        expected: terraform.0.clone(),
        algorithms: provider.signature_verification_algorithms,
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        // Terraform's client asks for TLS 1.2 or later.
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![CertificateDer::from(identity.cert_der.clone())], key)
        .map_err(err)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one client certificate and checks that the client holds its key.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "client certificate is not the one Terraform announced".to_owned(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_a_fresh_certificate() {
        let id = generate_server_identity("terraform-provider-test").unwrap();
        // DER of a certificate starts with a SEQUENCE.
        assert_eq!(id.cert_der[0], 0x30);
        let two = generate_server_identity("terraform-provider-test").unwrap();
        assert_ne!(id.cert_der, two.cert_der, "a fresh certificate per process");
    }

    #[test]
    fn rejects_a_client_certificate_that_is_not_pem() {
        assert!(TerraformCert::from_pem("garbage").is_err());
    }

    #[test]
    fn serves_with_a_fresh_identity_for_terraforms_certificate() {
        use base64::Engine as _;
        let terraform = generate_server_identity("terraform").unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(&terraform.cert_der)
        );
        let terraform = TerraformCert::from_pem(&pem).unwrap();
        let id = generate_server_identity("terraform-provider-test").unwrap();
        let config = server_config(&id, &terraform).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }

    #[test]
    fn p521_is_among_the_verifiable_schemes() {
        let provider = crypto_provider();
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let a = generate_server_identity("terraform-provider-test").unwrap();
        let b = generate_server_identity("terraform-provider-test").unwrap();
        let verifier = PinnedClientCert {
            expected: CertificateDer::from(a.cert_der.clone()),
            algorithms: crypto_provider().signature_verification_algorithms,
        };
        let now = UnixTime::now();
        assert!(
            verifier
                .verify_client_cert(&CertificateDer::from(a.cert_der), &[], now)
                .is_ok()
        );
        assert!(
            verifier
                .verify_client_cert(&CertificateDer::from(b.cert_der), &[], now)
                .is_err()
        );
        assert!(verifier.client_auth_mandatory());
    }
}
