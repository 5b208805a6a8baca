//! Signing in as an application with a client certificate (`client_certificate_path`
//! or `client_certificate`, `client_certificate_password`; `ARM_CLIENT_CERTIFICATE_PATH`,
//! `ARM_CLIENT_CERTIFICATE`, `ARM_CLIENT_CERTIFICATE_PASSWORD`): a client assertion
//! signed with the certificate's RSA key, handed to `azure_identity`'s client-assertion
//! credential. The library's own certificate credential needs OpenSSL; here the file
//! is read with a little DER and the assertion is signed with aws-lc-rs, as the library
//! would sign it (RS256, `x5t` = the certificate's SHA-1 thumbprint, `aud` = the token
//! endpoint, `iss` = `sub` = the client id, ten minutes).
//!
//! Files: PKCS#12 (`.pfx`/`.p12`; PBES2 with AES, as OpenSSL 3 and current Windows
//! write, MAC checked) or PEM (a `CERTIFICATE` and a `PRIVATE KEY`, `RSA PRIVATE KEY`
//! or `ENCRYPTED PRIVATE KEY`). The file is read at each sign-in (certificates rotate).

use super::der::{self, Reader, Tlv};
use super::entra::{Credential, Target, require_tenant};
use super::oidc::{MakeAssertion, exchange};
use super::{AccessToken, AuthError, TokenSource};
use crate::config::Secret;
use async_trait::async_trait;
use aws_lc_rs::{cipher, digest, hmac, pbkdf2, rand, signature};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long an assertion is valid (the library's choice too).
const ASSERTION_LIFETIME_SECS: u64 = 600;
/// A PKCS#12 file's key derivations may not ask for more than this.
const MAX_ITERATIONS: u64 = 10_000_000;
/// Larger files are not certificates.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where the certificate comes from. `Debug` shows no content.
#[derive(Clone, Debug)]
pub enum CertificateOrigin {
    /// `client_certificate_path` / `ARM_CLIENT_CERTIFICATE_PATH`.
    Path(PathBuf),
    /// `client_certificate` / `ARM_CLIENT_CERTIFICATE`: the file's bytes, base64.
    Inline(Secret),
}

impl CertificateOrigin {
    /// The setting to fix, as people know it.
    pub fn setting(&self) -> String {
        match self {
            CertificateOrigin::Path(p) => format!(
                "client_certificate_path / ARM_CLIENT_CERTIFICATE_PATH ({})",
                p.display()
            ),
            CertificateOrigin::Inline(_) => "client_certificate / ARM_CLIENT_CERTIFICATE".into(),
        }
    }

    async fn bytes(&self) -> Result<Vec<u8>, AuthError> {
        match self {
            CertificateOrigin::Path(path) => {
                let unreadable = |e: std::io::Error| {
                    AuthError::new(
                        "Cannot read the client certificate",
                        format!("Reading {}: {e}.", self.setting()),
                    )
                };
                let size = tokio::fs::metadata(path).await.map_err(unreadable)?.len();
                if size > MAX_FILE_BYTES {
                    return Err(AuthError::new(
                        "Not a client certificate",
                        format!(
                            "{} is {size} bytes; a certificate file is a few kilobytes.",
                            self.setting()
                        ),
                    ));
                }
                tokio::fs::read(path).await.map_err(unreadable)
            }
            CertificateOrigin::Inline(b64) => {
                let text: String = b64.expose().split_whitespace().collect();
                STANDARD.decode(text).map_err(|_| {
                    AuthError::new(
                        "Invalid client certificate",
                        format!(
                            "{} is not base64. Give the PKCS#12 (.pfx) or PEM file's \
                             contents base64-encoded, e.g. `base64 -w0 cert.pfx`.",
                            self.setting()
                        ),
                    )
                })
            }
        }
    }
}

/// A certificate and its private key, ready to sign.
pub struct ClientCertificate {
    der: Vec<u8>,
    key: signature::RsaKeyPair,
    not_before: i64,
    not_after: i64,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("sha256", &self.thumbprint_sha256())
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Reads a PKCS#12 or PEM file. `setting` names it in errors.
    pub fn parse(
        bytes: &[u8],
        password: Option<&Secret>,
        setting: &str,
    ) -> Result<Self, AuthError> {
        let password = password.map(Secret::expose).unwrap_or("");
        let text = std::str::from_utf8(bytes).unwrap_or("");
        let (certs, key) = if text.contains("-----BEGIN") {
            pem(text, password, setting)?
        } else {
            pkcs12(bytes, password, setting)?
        };
        let Some(key) = key else {
            return Err(AuthError::new(
                "Client certificate without a private key",
                format!(
                    "{setting} holds no private key. It needs the certificate and its RSA \
                     private key (a .pfx exported with the private key, or a PEM file with \
                     both)."
                ),
            ));
        };
        let key = rsa_key(&key, setting)?;
        let public = signature::KeyPair::public_key(&key).as_ref().to_vec();
        // The certificate of this key (a file may carry its chain too).
        let mut found = None;
        for cert in certs {
            if let Some(info) = CertInfo::parse(&cert)
                && info.rsa_public_key == public
            {
                found = Some((cert, info));
                break;
            }
        }
        let Some((der, info)) = found else {
            return Err(AuthError::new(
                "Client certificate does not match its key",
                format!(
                    "{setting} has no certificate for its private key. Export the certificate \
                     together with its own private key."
                ),
            ));
        };
        Ok(ClientCertificate {
            der,
            key,
            not_before: info.not_before,
            not_after: info.not_after,
        })
    }

    /// Refuses a certificate outside its validity, which Entra ID would refuse too.
    pub fn check_validity(&self, now: i64, setting: &str) -> Result<(), AuthError> {
        if now > self.not_after {
            return Err(AuthError::new(
                "Expired client certificate",
                format!(
                    "The certificate in {setting} (SHA-256 thumbprint {}) expired on {}. Create \
                     a new certificate, upload its public part to the application \
                     (Certificates & secrets → Certificates) and point {setting} at it.",
                    self.thumbprint_sha256(),
                    der::date(self.not_after)
                ),
            ));
        }
        if now < self.not_before {
            return Err(AuthError::new(
                "Client certificate not yet valid",
                format!(
                    "The certificate in {setting} is valid only from {}; check the clock of \
                     this machine, or use a certificate valid now.",
                    der::date(self.not_before)
                ),
            ));
        }
        Ok(())
    }

    /// Hex SHA-256 of the certificate, as the portal shows thumbprints (upper case).
    pub fn thumbprint_sha256(&self) -> String {
        digest::digest(&digest::SHA256, &self.der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// A client assertion for `client_id` at `audience` (the token URL).
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
    ) -> Result<Secret, AuthError> {
        let x5t = URL_SAFE_NO_PAD
            .encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der).as_ref());
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": x5t});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| {
                AuthError::new(
                    "Cannot sign with the client certificate",
                    "aws-lc-rs refused to sign with the certificate's RSA key.",
                )
            })?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig)
        )))
    }
}

/// What the provider reads from an X.509 certificate.
struct CertInfo {
    /// DER `RSAPublicKey` (the subjectPublicKey bits), as aws-lc-rs gives a key pair's.
    rsa_public_key: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

impl CertInfo {
    fn parse(der: &[u8]) -> Option<CertInfo> {
        let mut outer = Reader::new(der);
        let cert = outer.expect(der::SEQUENCE)?;
        let tbs = cert.reader().expect(der::SEQUENCE)?;
        let mut r = tbs.reader();
        r.optional(0xa0); // version
        r.expect(der::INTEGER)?; // serialNumber
        r.expect(der::SEQUENCE)?; // signature
        r.expect(der::SEQUENCE)?; // issuer
        let validity = r.expect(der::SEQUENCE)?;
        r.expect(der::SEQUENCE)?; // subject
        let spki = r.expect(der::SEQUENCE)?;
        let mut v = validity.reader();
        let not_before = v.next()?.time()?;
        let not_after = v.next()?.time()?;
        let mut s = spki.reader();
        s.expect(der::SEQUENCE)?; // algorithm
        let bits = s.expect(der::BIT_STRING)?;
        let (unused, key) = bits.content.split_first()?;
        (*unused == 0).then_some(())?;
        Some(CertInfo {
            rsa_public_key: key.to_vec(),
            not_before,
            not_after,
        })
    }
}

/// The private key, as found in the file.
enum Key {
    Pkcs8(Vec<u8>),
    Pkcs1(Vec<u8>),
}

fn rsa_key(key: &Key, setting: &str) -> Result<signature::RsaKeyPair, AuthError> {
    let parsed = match key {
        Key::Pkcs8(der) => signature::RsaKeyPair::from_pkcs8(der),
        Key::Pkcs1(der) => signature::RsaKeyPair::from_der(der),
    };
    parsed.map_err(|e| {
        AuthError::new(
            "Unsupported client certificate key",
            format!(
                "The private key in {setting} is not a usable RSA key ({e}). Entra ID accepts \
                 RSA certificates (2048 bits or more) for applications."
            ),
        )
    })
}

fn wrong_password(setting: &str) -> AuthError {
    AuthError::new(
        "Wrong client certificate password",
        format!(
            "The password does not open {setting}. Set client_certificate_password / \
             ARM_CLIENT_CERTIFICATE_PASSWORD to the password the file was exported with \
             (leave it unset for a file without one)."
        ),
    )
}

fn malformed(setting: &str, why: &str) -> AuthError {
    AuthError::new(
        "Invalid client certificate",
        format!(
            "{setting} is not a PKCS#12 (.pfx/.p12) or PEM file this provider can read \
             ({why})."
        ),
    )
}

/// PEM blocks: certificates and one private key.
fn pem(
    text: &str,
    password: &str,
    setting: &str,
) -> Result<(Vec<Vec<u8>>, Option<Key>), AuthError> {
    let mut certs = Vec::new();
    let mut key = None;
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| malformed(setting, "a PEM header is not closed"))?;
        let label = &after[..label_end];
        let body_start = label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let end = after
            .find(&end_marker)
            .ok_or_else(|| malformed(setting, &format!("no {end_marker} line")))?;
        let body: String = after[body_start..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.split_whitespace())
            .collect();
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| malformed(setting, &format!("the {label} block is not base64")))?;
        match label {
            "CERTIFICATE" => certs.push(bytes),
            "PRIVATE KEY" => key = Some(Key::Pkcs8(bytes)),
            "RSA PRIVATE KEY" => {
                if after[body_start..end].contains("Proc-Type: 4,ENCRYPTED") {
                    return Err(malformed(
                        setting,
                        "its key is encrypted the legacy OpenSSL way; convert it with \
                         `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
                    ));
                }
                key = Some(Key::Pkcs1(bytes))
            }
            "ENCRYPTED PRIVATE KEY" => {
                key = Some(Key::Pkcs8(decrypt_private_key(&bytes, password, setting)?))
            }
            "EC PRIVATE KEY" => {
                return Err(AuthError::new(
                    "Unsupported client certificate key",
                    format!(
                        "The private key in {setting} is an EC key; Entra ID accepts RSA \
                         certificates for applications."
                    ),
                ));
            }
            _ => {}
        }
        rest = &after[end + end_marker.len()..];
    }
    if certs.is_empty() {
        return Err(malformed(setting, "no CERTIFICATE block"));
    }
    Ok((certs, key))
}

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const OID_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const OID_SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const OID_X509_CERT: &str = "1.2.840.113549.1.9.22.1";
const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";

/// A PKCS#12 file (RFC 7292): its MAC checked with the password, then its bags read.
fn pkcs12(
    bytes: &[u8],
    password: &str,
    setting: &str,
) -> Result<(Vec<Vec<u8>>, Option<Key>), AuthError> {
    let bad = |why: &str| malformed(setting, why);
    let pfx = Reader::new(bytes)
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("not DER"))?;
    let mut r = pfx.reader();
    let version = r.expect(der::INTEGER).and_then(|v| v.small_uint());
    if version != Some(3) {
        return Err(bad("not a version 3 PFX"));
    }
    let auth_safe = r.expect(der::SEQUENCE).ok_or_else(|| bad("no authSafe"))?;
    let (content_type, content) = content_info(&auth_safe).ok_or_else(|| bad("bad authSafe"))?;
    if content_type != der::oid(OID_DATA) {
        return Err(bad("public-key integrity mode is not supported"));
    }
    let auth_safe_bytes = content
        .octets()
        .ok_or_else(|| bad("authSafe is not data"))?;
    if let Some(mac_data) = r.expect(der::SEQUENCE) {
        check_mac(&mac_data, &auth_safe_bytes, password, setting)?;
    }
    let mut certs = Vec::new();
    let mut key = None;
    let mut safes = Reader::new(&auth_safe_bytes)
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("bad AuthenticatedSafe"))?
        .reader();
    while let Some(ci) = safes.next() {
        let (ty, content) = content_info(&ci).ok_or_else(|| bad("bad ContentInfo"))?;
        let safe_contents = if ty == der::oid(OID_DATA) {
            content.octets().ok_or_else(|| bad("bad data"))?
        } else if ty == der::oid(OID_ENCRYPTED_DATA) {
            // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo }
            if content.tag != der::SEQUENCE {
                return Err(bad("bad EncryptedData"));
            }
            let mut e = content.reader();
            e.expect(der::INTEGER);
            let mut eci = e
                .expect(der::SEQUENCE)
                .ok_or_else(|| bad("bad EncryptedContentInfo"))?
                .reader();
            eci.expect(der::OID);
            let algorithm = eci
                .expect(der::SEQUENCE)
                .ok_or_else(|| bad("no algorithm"))?;
            let encrypted = eci
                .next()
                .and_then(|t| t.octets())
                .ok_or_else(|| bad("no encrypted content"))?;
            decrypt(&algorithm, &encrypted, password, setting)?
        } else {
            continue;
        };
        read_bags(&safe_contents, password, setting, &mut certs, &mut key)?;
    }
    Ok((certs, key))
}

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }`: the
/// type's DER and the inner element.
fn content_info<'a>(ci: &Tlv<'a>) -> Option<(Vec<u8>, Tlv<'a>)> {
    let mut r = ci.reader();
    let ty = r.expect(der::OID)?.content.to_vec();
    let inner = r.expect(0xa0)?.reader().next()?;
    Some((ty, inner))
}

fn read_bags(
    safe_contents: &[u8],
    password: &str,
    setting: &str,
    certs: &mut Vec<Vec<u8>>,
    key: &mut Option<Key>,
) -> Result<(), AuthError> {
    let bad = |why: &str| malformed(setting, why);
    let mut bags = Reader::new(safe_contents)
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("bad SafeContents"))?
        .reader();
    while let Some(bag) = bags.next() {
        let mut b = bag.reader();
        let id = b
            .expect(der::OID)
            .ok_or_else(|| bad("bad SafeBag"))?
            .content;
        let value = b
            .expect(0xa0)
            .and_then(|v| v.reader().next())
            .ok_or_else(|| bad("bad SafeBag value"))?;
        if id == der::oid(OID_CERT_BAG) {
            let mut c = value.reader();
            if c.expect(der::OID).map(|o| o.content.to_vec()) == Some(der::oid(OID_X509_CERT))
                && let Some(cert) = c
                    .expect(0xa0)
                    .and_then(|v| v.reader().next())
                    .and_then(|v| v.octets())
            {
                certs.push(cert);
            }
        } else if id == der::oid(OID_KEY_BAG) {
            *key = Some(Key::Pkcs8(value.whole.to_vec()));
        } else if id == der::oid(OID_SHROUDED_KEY_BAG) {
            *key = Some(Key::Pkcs8(decrypt_private_key(
                value.whole,
                password,
                setting,
            )?));
        }
    }
    Ok(())
}

/// `EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }`.
fn decrypt_private_key(der: &[u8], password: &str, setting: &str) -> Result<Vec<u8>, AuthError> {
    let bad = || malformed(setting, "bad EncryptedPrivateKeyInfo");
    let mut r = Reader::new(der)
        .expect(der::SEQUENCE)
        .ok_or_else(bad)?
        .reader();
    let algorithm = r.expect(der::SEQUENCE).ok_or_else(bad)?;
    let data = r.expect(der::OCTET_STRING).ok_or_else(bad)?;
    decrypt(&algorithm, data.content, password, setting)
}

/// PBES2 (PBKDF2 + AES-CBC) decryption; the legacy PKCS#12 schemes (3DES, RC2) are
/// refused with how to convert the file.
fn decrypt(
    algorithm: &Tlv<'_>,
    data: &[u8],
    password: &str,
    setting: &str,
) -> Result<Vec<u8>, AuthError> {
    let bad = |why: &str| malformed(setting, why);
    let mut a = algorithm.reader();
    let oid = a
        .expect(der::OID)
        .ok_or_else(|| bad("no algorithm"))?
        .content;
    if oid != der::oid(OID_PBES2) {
        return Err(AuthError::new(
            "Unsupported client certificate encryption",
            format!(
                "{setting} is encrypted with a legacy PKCS#12 scheme (3DES or RC2, as older \
                 tools write). Re-export it with AES, e.g. `openssl pkcs12 -legacy -in old.pfx \
                 -nodes | openssl pkcs12 -export -out new.pfx`, or use a PEM file."
            ),
        ));
    }
    let mut params = a
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("no PBES2 parameters"))?
        .reader();
    let mut kdf = params
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("no key derivation"))?
        .reader();
    if kdf.expect(der::OID).map(|o| o.content.to_vec()) != Some(der::oid(OID_PBKDF2)) {
        return Err(bad("key derivation other than PBKDF2"));
    }
    let mut p = kdf
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("no PBKDF2 parameters"))?
        .reader();
    let salt = p
        .expect(der::OCTET_STRING)
        .ok_or_else(|| bad("no salt"))?
        .content;
    let iterations = p
        .expect(der::INTEGER)
        .and_then(|i| i.small_uint())
        .filter(|i| (1..=MAX_ITERATIONS).contains(i))
        .and_then(|i| NonZeroU32::new(i as u32))
        .ok_or_else(|| bad("bad PBKDF2 iteration count"))?;
    p.optional(der::INTEGER); // keyLength
    let prf = match p.optional(der::SEQUENCE) {
        None => pbkdf2::PBKDF2_HMAC_SHA1,
        Some(prf) => {
            let id = prf.reader().expect(der::OID).map(|o| o.content.to_vec());
            match id {
                Some(o) if o == der::oid("1.2.840.113549.2.7") => pbkdf2::PBKDF2_HMAC_SHA1,
                Some(o) if o == der::oid("1.2.840.113549.2.9") => pbkdf2::PBKDF2_HMAC_SHA256,
                Some(o) if o == der::oid("1.2.840.113549.2.10") => pbkdf2::PBKDF2_HMAC_SHA384,
                Some(o) if o == der::oid("1.2.840.113549.2.11") => pbkdf2::PBKDF2_HMAC_SHA512,
                _ => return Err(bad("unsupported PBKDF2 hash")),
            }
        }
    };
    let mut scheme = params
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("no encryption scheme"))?
        .reader();
    let cipher_oid = scheme
        .expect(der::OID)
        .ok_or_else(|| bad("no cipher"))?
        .content;
    let (alg, key_len) = if cipher_oid == der::oid("2.16.840.1.101.3.4.1.2") {
        (&cipher::AES_128, 16)
    } else if cipher_oid == der::oid("2.16.840.1.101.3.4.1.22") {
        (&cipher::AES_192, 24)
    } else if cipher_oid == der::oid("2.16.840.1.101.3.4.1.42") {
        (&cipher::AES_256, 32)
    } else {
        return Err(bad("cipher other than AES-CBC"));
    };
    let iv: [u8; 16] = scheme
        .expect(der::OCTET_STRING)
        .and_then(|iv| iv.content.try_into().ok())
        .ok_or_else(|| bad("bad AES IV"))?;
    let mut key = vec![0u8; key_len];
    pbkdf2::derive(prf, iterations, salt, password.as_bytes(), &mut key);
    let unbound = cipher::UnboundCipherKey::new(alg, &key).map_err(|_| bad("bad AES key"))?;
    let decrypting =
        cipher::PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(|_| bad("bad AES key"))?;
    let mut buf = data.to_vec();
    let plain = decrypting
        .decrypt(
            &mut buf,
            cipher::DecryptionContext::Iv128(aws_lc_rs::iv::FixedLength::from(iv)),
        )
        .map_err(|_| wrong_password(setting))?;
    Ok(plain.to_vec())
}

/// `MacData ::= SEQUENCE { DigestInfo, macSalt, iterations DEFAULT 1 }`, keyed by the
/// PKCS#12 key derivation (RFC 7292 B.2) of the password as a BMPString.
fn check_mac(
    mac_data: &Tlv<'_>,
    auth_safe: &[u8],
    password: &str,
    setting: &str,
) -> Result<(), AuthError> {
    let bad = |why: &str| malformed(setting, why);
    let mut m = mac_data.reader();
    let mut digest_info = m
        .expect(der::SEQUENCE)
        .ok_or_else(|| bad("bad MAC"))?
        .reader();
    let alg = digest_info
        .expect(der::SEQUENCE)
        .and_then(|a| a.reader().expect(der::OID))
        .ok_or_else(|| bad("bad MAC algorithm"))?
        .content;
    let expected = digest_info
        .expect(der::OCTET_STRING)
        .ok_or_else(|| bad("bad MAC value"))?
        .content;
    let salt = m
        .expect(der::OCTET_STRING)
        .ok_or_else(|| bad("no MAC salt"))?
        .content;
    let iterations = match m.optional(der::INTEGER) {
        None => 1,
        Some(i) => i
            .small_uint()
            .filter(|i| (1..=MAX_ITERATIONS).contains(i))
            .ok_or_else(|| bad("bad MAC iteration count"))?,
    };
    let (hash, hmac_alg, v) = if alg == der::oid("1.3.14.3.2.26") {
        (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            64,
        )
    } else if alg == der::oid("2.16.840.1.101.3.4.2.1") {
        (&digest::SHA256, hmac::HMAC_SHA256, 64)
    } else if alg == der::oid("2.16.840.1.101.3.4.2.2") {
        (&digest::SHA384, hmac::HMAC_SHA384, 128)
    } else if alg == der::oid("2.16.840.1.101.3.4.2.3") {
        (&digest::SHA512, hmac::HMAC_SHA512, 128)
    } else {
        return Err(bad("unsupported MAC hash"));
    };
    // An empty password is the empty BMPString (two zero bytes) for OpenSSL, and no
    // bytes at all for some other writers.
    let mut candidates = vec![bmp_string(password)];
    if password.is_empty() {
        candidates.push(Vec::new());
    }
    for pw in candidates {
        let mac_key = pkcs12_kdf(hash, v, &pw, salt, 3, iterations, hash.output_len());
        let key = hmac::Key::new(hmac_alg, &mac_key);
        if hmac::verify(&key, auth_safe, expected).is_ok() {
            return Ok(());
        }
    }
    Err(wrong_password(setting))
}

/// UTF-16BE with a terminating zero, as PKCS#12 passwords are.
fn bmp_string(password: &str) -> Vec<u8> {
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend([0, 0]);
    out
}

/// RFC 7292 appendix B.2: `n` bytes of key material of purpose `id`.
fn pkcs12_kdf(
    hash: &'static digest::Algorithm,
    v: usize,
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u64,
    n: usize,
) -> Vec<u8> {
    let u = hash.output_len();
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = v * src.len().div_ceil(v);
        src.iter().cycle().take(len).copied().collect()
    };
    let d = vec![id; v];
    let mut i: Vec<u8> = fill(salt);
    i.extend(fill(password));
    let mut out = Vec::with_capacity(n);
    loop {
        let mut ctx = digest::Context::new(hash);
        ctx.update(&d);
        ctx.update(&i);
        let mut a = ctx.finish().as_ref().to_vec();
        for _ in 1..iterations {
            a = digest::digest(hash, &a).as_ref().to_vec();
        }
        out.extend_from_slice(&a[..u.min(n - out.len())]);
        if out.len() >= n {
            return out;
        }
        // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
        let b: Vec<u8> = a.iter().cycle().take(v).copied().collect();
        for chunk in i.chunks_mut(v) {
            let mut carry = 1u16;
            for k in (0..v).rev() {
                let sum = u16::from(chunk[k]) + u16::from(b[k]) + carry;
                chunk[k] = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// `Debug` shows no certificate content or password.
#[derive(Debug)]
pub struct CertificateSource {
    target: Target,
    origin: CertificateOrigin,
    password: Option<Secret>,
    http: reqwest::Client,
}

impl CertificateSource {
    /// Fails (without I/O) when the tenant is missing.
    pub fn new(
        http: reqwest::Client,
        login_endpoint: &url::Url,
        graph_endpoint: &url::Url,
        tenant_id: Option<&str>,
        client_id: &str,
        origin: CertificateOrigin,
        password: Option<Secret>,
    ) -> Result<Self, AuthError> {
        let tenant = require_tenant(tenant_id, "a client certificate")?;
        Ok(CertificateSource {
            target: Target::new(login_endpoint, graph_endpoint, &tenant, client_id),
            origin,
            password,
            http,
        })
    }

    /// The certificate, read and checked now.
    pub async fn load(&self) -> Result<ClientCertificate, AuthError> {
        let setting = self.origin.setting();
        let bytes = self.origin.bytes().await?;
        let cert = ClientCertificate::parse(&bytes, self.password.as_ref(), &setting)?;
        cert.check_validity(unix_now() as i64, &setting)?;
        Ok(cert)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct Signer {
    cert: ClientCertificate,
    client_id: String,
    audience: String,
}

#[async_trait]
impl MakeAssertion for Signer {
    async fn make(&self) -> Result<(Secret, String), AuthError> {
        let jwt = self
            .cert
            .assertion(&self.client_id, &self.audience, unix_now())?;
        Ok((jwt, String::new()))
    }
}

#[async_trait]
impl TokenSource for CertificateSource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let cert = self.load().await?;
        let thumbprint = cert.thumbprint_sha256();
        let setting = self.origin.setting();
        let signer = Signer {
            cert,
            client_id: self.target.client_id.clone(),
            // The URL the request really goes to: Entra checks `aud` against it.
            audience: self.target.token_url().to_string(),
        };
        exchange(
            &self.target,
            &self.http,
            signer,
            "a client certificate",
            |_| Credential::Certificate {
                setting,
                thumbprint,
            },
        )
        .await
    }

    fn describe(&self) -> String {
        format!(
            "client certificate from {} for client id {} in tenant {}",
            match &self.origin {
                CertificateOrigin::Path(p) => p.display().to_string(),
                CertificateOrigin::Inline(_) => "client_certificate".into(),
            },
            self.target.client_id,
            self.target.tenant_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;

    const PASSWORD: &str = "psoxy-test-password";

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/graph/auth/testdata")
                .join(name),
        )
        .unwrap()
    }

    fn parse(name: &str, password: Option<&str>) -> Result<ClientCertificate, AuthError> {
        let password = password.map(Secret::new);
        ClientCertificate::parse(&fixture(name), password.as_ref(), "the test setting")
    }

    #[test]
    fn pkcs12_and_pem_files_give_the_same_certificate() {
        let pem = parse("cert-and-key.pem", None).unwrap();
        let thumbprint = pem.thumbprint_sha256();
        assert_eq!(thumbprint.len(), 64);
        for (name, password) in [
            ("aes.pfx", Some(PASSWORD)),
            ("no-password.pfx", None),
            ("no-password.pfx", Some("")),
            ("encrypted-key.pem", Some(PASSWORD)),
        ] {
            let c = parse(name, password).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.thumbprint_sha256(), thumbprint, "{name}");
            c.check_validity(unix_now() as i64, "x").unwrap();
        }
    }

    #[test]
    fn a_wrong_password_names_the_password_setting() {
        for name in ["aes.pfx", "encrypted-key.pem", "no-password.pfx"] {
            let e = parse(name, Some("not-the-password")).unwrap_err();
            assert_eq!(e.summary, "Wrong client certificate password", "{name}");
            assert!(e.detail.contains("ARM_CLIENT_CERTIFICATE_PASSWORD"), "{e}");
            assert!(e.detail.contains("the test setting"), "{e}");
            assert!(!e.to_string().contains("not-the-password"), "{e}");
        }
        let e = parse("aes.pfx", None).unwrap_err();
        assert_eq!(e.summary, "Wrong client certificate password");
    }

    #[test]
    fn an_expired_certificate_is_refused_with_its_date() {
        let setting = "client_certificate_path / ARM_CLIENT_CERTIFICATE_PATH (expired.pem)";
        let c = parse("expired.pem", None).unwrap();
        let e = c.check_validity(unix_now() as i64, setting).unwrap_err();
        assert_eq!(e.summary, "Expired client certificate");
        assert!(e.detail.contains("expired on 2020-02-01"), "{e}");
        assert!(e.detail.contains(setting), "{e}");
        let c = parse("expired.pfx", Some(PASSWORD)).unwrap();
        assert!(c.check_validity(unix_now() as i64, "x").is_err());
        // Inside its validity it is fine.
        let inside = der::days_from_civil(2020, 1, 15) * 86_400;
        c.check_validity(inside, "x").unwrap();
    }

    #[test]
    fn legacy_encryption_is_refused_with_how_to_convert() {
        let e = parse("legacy.pfx", Some(PASSWORD)).unwrap_err();
        assert_eq!(e.summary, "Unsupported client certificate encryption");
        assert!(e.detail.contains("openssl pkcs12"), "{e}");
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        let pfx = fixture("aes.pfx");
        for len in (0..pfx.len()).step_by(7) {
            assert!(ClientCertificate::parse(&pfx[..len], None, "x").is_err());
        }
        let mut flipped = pfx.clone();
        for i in (0..flipped.len()).step_by(13) {
            flipped[i] ^= 0x55;
            let _ = ClientCertificate::parse(&flipped, Some(&Secret::new(PASSWORD)), "x");
            flipped[i] ^= 0x55;
        }
        let e = ClientCertificate::parse(b"hello", None, "the test setting").unwrap_err();
        assert_eq!(e.summary, "Invalid client certificate");
        let pem = String::from_utf8(fixture("cert-and-key.pem")).unwrap();
        let cert_only = &pem[..pem.find("-----BEGIN PRIVATE KEY").unwrap()];
        let e = ClientCertificate::parse(cert_only.as_bytes(), None, "x").unwrap_err();
        assert_eq!(e.summary, "Client certificate without a private key");
    }

    #[test]
    fn the_assertion_is_signed_and_names_the_certificate() {
        let c = parse("aes.pfx", Some(PASSWORD)).unwrap();
        let jwt = c
            .assertion(
                "client-1",
                "https://login.example/t/oauth2/v2.0/token",
                1_000,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        let x5t = URL_SAFE_NO_PAD
            .encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &c.der).as_ref());
        assert_eq!(header["x5t"], x5t);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(claims["exp"], 1_600);
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signature::KeyPair::public_key(&c.key).as_ref().to_vec(),
        );
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
        assert!(!format!("{c:?}").contains("PRIVATE"));
    }

    fn source(emu: &Emu, origin: CertificateOrigin, password: Option<&str>) -> CertificateSource {
        CertificateSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            origin,
            password.map(Secret::new),
        )
        .unwrap()
    }

    fn path(name: &str) -> CertificateOrigin {
        CertificateOrigin::Path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/graph/auth/testdata")
                .join(name),
        )
    }

    #[tokio::test]
    async fn signs_in_against_the_emulator_with_pkcs12_and_inline_pem() {
        let emu = Emu::start().await;
        let cert = parse("cert-and-key.pem", None).unwrap();
        // Not registered yet: Entra's refusal, explained.
        let s = source(&emu, path("aes.pfx"), Some(PASSWORD));
        let e = s.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Certificate not accepted", "{e}");
        assert!(e.detail.contains(&cert.thumbprint_sha256()), "{e}");
        assert!(e.detail.contains("ARM_CLIENT_CERTIFICATE_PATH"), "{e}");

        emu.add_key_credential(&cert.der).await;
        let token = s.fetch().await.unwrap();
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        assert_eq!(token.claims.tenant_id.as_deref(), Some(TENANT));
        let inline =
            CertificateOrigin::Inline(Secret::new(STANDARD.encode(fixture("cert-and-key.pem"))));
        let token = source(&emu, inline, None).fetch().await.unwrap();
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        assert_no_leak(&[&format!("{s:?}"), &s.describe()], &[PASSWORD]);
        emu.stop().await;
    }

    #[tokio::test]
    async fn a_missing_file_and_bad_base64_name_their_setting() {
        let emu = Emu::start().await;
        let e = source(&emu, path("nope.pfx"), None)
            .fetch()
            .await
            .unwrap_err();
        assert_eq!(e.summary, "Cannot read the client certificate");
        assert!(
            e.detail
                .contains("client_certificate_path / ARM_CLIENT_CERTIFICATE_PATH"),
            "{e}"
        );
        let e = source(&emu, CertificateOrigin::Inline(Secret::new("%%%")), None)
            .fetch()
            .await
            .unwrap_err();
        assert!(
            e.detail
                .contains("client_certificate / ARM_CLIENT_CERTIFICATE"),
            "{e}"
        );
        emu.stop().await;
    }
}
