//! Certificate credentials (`keyCredentials` of type `AsymmetricX509Cert`):
//! just enough DER to find a certificate's public key and validity, the
//! thumbprints Entra matches a client assertion's `x5t`/`x5t#S256` against, and
//! the RS256/PS256 signature check (aws-lc-rs).

use aws_lc_rs::{digest, signature};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// One DER element: tag, the whole element and its contents.
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

/// Reads the element at the start of `b`; `None` if it is not well formed.
fn tlv(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    if end > b.len() {
        return None;
    }
    Some((
        Tlv {
            tag,
            whole: &b[..end],
            content: &b[head..end],
        },
        &b[end..],
    ))
}

/// What the emulator needs of an X.509 certificate.
#[derive(Debug, Clone)]
pub struct Cert {
    /// DER `SubjectPublicKeyInfo`.
    pub spki: Vec<u8>,
    /// Validity, Unix milliseconds.
    pub not_before_ms: u64,
    pub not_after_ms: u64,
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
}

impl Cert {
    /// Parses a DER certificate (`Certificate ::= SEQUENCE { tbsCertificate, … }`).
    pub fn from_der(der: &[u8]) -> Option<Cert> {
        let (cert, rest) = tlv(der)?;
        if cert.tag != 0x30 || !rest.is_empty() {
            return None;
        }
        let (tbs, _) = tlv(cert.content)?;
        if tbs.tag != 0x30 {
            return None;
        }
        let mut cur = tbs.content;
        // [0] version (optional), serialNumber, signature, issuer, validity, subject, spki.
        let (first, rest) = tlv(cur)?;
        if first.tag == 0xa0 {
            cur = rest;
        }
        let mut fields = Vec::new();
        for _ in 0..6 {
            let (f, rest) = tlv(cur)?;
            fields.push(f);
            cur = rest;
        }
        let validity = &fields[3];
        let spki = &fields[5];
        if validity.tag != 0x30 || spki.tag != 0x30 {
            return None;
        }
        let (nb, rest) = tlv(validity.content)?;
        let (na, _) = tlv(rest)?;
        Some(Cert {
            spki: spki.whole.to_vec(),
            not_before_ms: der_time(&nb)?,
            not_after_ms: der_time(&na)?,
            sha1: digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
                .as_ref()
                .to_vec(),
            sha256: digest::digest(&digest::SHA256, der).as_ref().to_vec(),
        })
    }

    /// From a `keyCredential.key`: base64 of the DER certificate (or of its PEM).
    pub fn from_key(key_b64: &str) -> Option<Cert> {
        let raw = STANDARD
            .decode(key_b64.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(key_b64.trim()))
            .ok()?;
        if let Some(c) = Cert::from_der(&raw) {
            return Some(c);
        }
        let pem = String::from_utf8(raw).ok()?;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        Cert::from_der(&STANDARD.decode(body.trim()).ok()?)
    }

    /// Upper-case hex SHA-1 thumbprint (what Graph shows as `customKeyIdentifier`).
    pub fn thumbprint_hex(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Whether a JWT header's `x5t` (SHA-1) or `x5t#S256` (SHA-256) names this certificate.
    pub fn named_by(&self, x5t: Option<&str>, x5t_s256: Option<&str>) -> bool {
        let decode = |s: &str| {
            let s = s.trim_end_matches('=').replace('+', "-").replace('/', "_");
            URL_SAFE_NO_PAD.decode(s).ok()
        };
        x5t.and_then(decode).is_some_and(|t| t == self.sha1)
            || x5t_s256.and_then(decode).is_some_and(|t| t == self.sha256)
    }

    /// Checks a JWS signature (`alg` RS256 or PS256) over `signing_input`.
    pub fn verify(&self, alg: &str, signing_input: &[u8], sig: &[u8]) -> Result<(), &'static str> {
        let params: &dyn signature::VerificationAlgorithm = match alg {
            "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
            _ => return Err("unsupported algorithm"),
        };
        signature::UnparsedPublicKey::new(params, &self.spki)
            .verify(signing_input, sig)
            .map_err(|_| "signature mismatch")
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) to Unix ms.
fn der_time(t: &Tlv) -> Option<u64> {
    let s = std::str::from_utf8(t.content).ok()?.strip_suffix('Z')?;
    let (year, rest) = match t.tag {
        0x17 => {
            let yy: i64 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let n = |r: std::ops::Range<usize>| -> Option<i64> { rest.get(r)?.parse().ok() };
    let (mo, d, h, mi, sec) = (n(0..2)?, n(2..4)?, n(4..6)?, n(6..8)?, n(8..10)?);
    let days = crate::util::days_from_civil(year, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        use crate::util::days_from_civil;
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2019, 9, 17), 18_156);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parses_a_generated_certificate_and_checks_signatures() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
        let cert = params.self_signed(&kp).unwrap();
        let der = cert.der().to_vec();
        let c = Cert::from_key(&STANDARD.encode(&der)).expect("parsed");
        assert!(c.not_after_ms > c.not_before_ms);
        assert_eq!(c.thumbprint_hex().len(), 40);
        let x5t = URL_SAFE_NO_PAD.encode(&c.sha1);
        assert!(c.named_by(Some(&x5t), None));
        assert!(c.named_by(None, Some(&URL_SAFE_NO_PAD.encode(&c.sha256))));
        assert!(!c.named_by(Some("AAAA"), None));
        // From its PEM too.
        assert!(Cert::from_key(&STANDARD.encode(cert.pem())).is_some());
        assert!(Cert::from_key("bm90IGEgY2VydA==").is_none());

        let rsa = signature::RsaKeyPair::from_pkcs8(&kp.serialize_der()).unwrap();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        for (alg, enc) in [
            (
                "RS256",
                &signature::RSA_PKCS1_SHA256 as &dyn signature::RsaEncoding,
            ),
            ("PS256", &signature::RSA_PSS_SHA256),
        ] {
            let mut sig = vec![0u8; rsa.public_modulus_len()];
            rsa.sign(enc, &rng, b"header.payload", &mut sig).unwrap();
            assert_eq!(c.verify(alg, b"header.payload", &sig), Ok(()), "{alg}");
            assert!(c.verify(alg, b"header.payloaX", &sig).is_err());
        }
        assert!(c.verify("HS256", b"x", b"y").is_err());
    }
}
