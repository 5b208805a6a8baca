//! Sign-in surfaces beyond secrets and federated credentials: App Service's
//! managed-identity endpoint and certificate credentials (client assertions
//! signed with a key whose certificate is in the app's keyCredentials).

mod common;

use aws_lc_rs::signature::{self, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use graph_emulator::Config;
use serde_json::{Value, json};

const MI: &str = "0000000a-0000-4000-8000-0000000000a1";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn managed_identity_endpoint_issues_tokens_for_the_configured_identity() {
    let emu = start_with(Config {
        managed_identity: Some((MI.into(), "identity-secret".into())),
        ..Config::default()
    })
    .await;
    let url = "/msi/token?resource=https://graph.microsoft.com&api-version=2019-08-01";
    let r = emu
        .raw("GET", url, &[("X-IDENTITY-HEADER", "identity-secret")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["resource"], "https://graph.microsoft.com");
    assert_eq!(v["client_id"], MI);
    let exp: u64 = v["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(exp > now() + 3000);
    // The identity is an admin-client-like one: it can create applications.
    let t = v["access_token"].as_str().unwrap();
    let r = emu
        .graph(
            t,
            "POST",
            "/applications",
            Some(json!({"displayName": "from-mi"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let me = emu
        .graph(t, "GET", &format!("/servicePrincipals(appId='{MI}')"), None)
        .await
        .json();
    assert_eq!(me["servicePrincipalType"], "ManagedIdentity");
    // With client_id naming it, and `/.default` on the resource.
    let r = emu
        .raw("GET", &format!("/msi/token?resource=https://graph.microsoft.com/.default&api-version=2019-08-01&client_id={MI}"), &[("X-IDENTITY-HEADER", "identity-secret")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["resource"], "https://graph.microsoft.com");

    for (path, header, status) in [
        (url, Some("wrong"), 401),
        (url, None, 401),
        (
            "/msi/token?api-version=2019-08-01",
            Some("identity-secret"),
            400,
        ),
        (
            "/msi/token?resource=https://graph.microsoft.com&api-version=2017-09-01",
            Some("identity-secret"),
            400,
        ),
        (
            "/msi/token?resource=https://graph.microsoft.com&api-version=2019-08-01&client_id=00000000-0000-4000-8000-0000000000ff",
            Some("identity-secret"),
            400,
        ),
    ] {
        let h: Vec<(&str, &str)> = header
            .map(|x| vec![("X-IDENTITY-HEADER", x)])
            .unwrap_or_default();
        let r = emu.raw("GET", path, &h, b"").await;
        assert_eq!(r.status, status, "{path} {header:?}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }
    emu.running.shutdown().await;

    // Without --managed-identity there is no such endpoint.
    let emu = start().await;
    let r = emu
        .raw("GET", url, &[("X-IDENTITY-HEADER", "identity-secret")], b"")
        .await;
    assert_eq!(r.status, 404);
    emu.running.shutdown().await;
}

struct Signer {
    key: RsaKeyPair,
    cert_der: Vec<u8>,
}

impl Signer {
    fn new() -> Signer {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["psoxy-client".into()])
            .unwrap()
            .self_signed(&kp)
            .unwrap();
        Signer {
            key: RsaKeyPair::from_pkcs8(&kp.serialize_der()).unwrap(),
            cert_der: cert.der().to_vec(),
        }
    }
    fn x5t(&self) -> String {
        let d =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der);
        URL_SAFE_NO_PAD.encode(d.as_ref())
    }
    fn x5t_s256(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.cert_der);
        URL_SAFE_NO_PAD.encode(d.as_ref())
    }
    fn jwt(&self, header: Value, claims: Value) -> String {
        let alg = header["alg"].as_str().unwrap().to_string();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let enc: &dyn signature::RsaEncoding = if alg == "PS256" {
            &signature::RSA_PSS_SHA256
        } else {
            &signature::RSA_PKCS1_SHA256
        };
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                enc,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

async fn exchange(emu: &Emu, client_id: &str, assertion: &str) -> Res {
    emu.token_form(
        TENANT,
        &format!("grant_type=client_credentials&client_id={client_id}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"),
    )
    .await
}

#[tokio::test]
async fn certificate_credentials_are_verified_as_entra_does() {
    let emu = start().await;
    let ci = emu.ci_token().await;
    let signer = Signer::new();
    let app = emu
        .create_app(
            &ci,
            json!({"displayName": "cert-app", "keyCredentials": [{
                "type": "AsymmetricX509Cert", "usage": "Verify", "displayName": "CN=psoxy-client",
                "key": STANDARD.encode(&signer.cert_der)}]}),
        )
        .await;
    let (id, client_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    // Graph's view: derived fields filled, the key itself only on $select.
    let kc = &app["keyCredentials"][0];
    assert!(kc["key"].is_null(), "{kc}");
    assert_eq!(kc["customKeyIdentifier"].as_str().unwrap().len(), 40);
    assert!(kc["keyId"].as_str().is_some() && kc["endDateTime"].as_str().is_some());
    let sel = emu
        .graph(
            &ci,
            "GET",
            &format!("/applications/{id}?$select=keyCredentials"),
            None,
        )
        .await
        .json();
    assert_eq!(
        sel["keyCredentials"][0]["key"],
        STANDARD.encode(&signer.cert_der)
    );
    // Not a certificate: refused.
    let r = emu
        .graph(&ci, "PATCH", &format!("/applications/{id}"), Some(json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA=="}]})))
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    let r = emu
        .graph(
            &ci,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": client_id})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let aud = format!("{}/{TENANT}/oauth2/v2.0/token", emu.base);
    let claims = |aud: &str, exp: u64, nbf: u64, iss: &str| json!({"aud": aud, "iss": iss, "sub": client_id, "exp": exp, "nbf": nbf, "jti": uuid::Uuid::new_v4().to_string()});
    let good = claims(&aud, now() + 600, now(), &client_id);
    // RS256 with x5t, PS256 with x5t#S256.
    let a = signer.jwt(
        json!({"alg": "RS256", "typ": "JWT", "x5t": signer.x5t()}),
        good.clone(),
    );
    let r = exchange(&emu, &client_id, &a).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        emu.graph(&t, "GET", "/organization", None).await.status,
        200
    );
    let a = signer.jwt(
        json!({"alg": "PS256", "typ": "JWT", "x5t#S256": signer.x5t_s256()}),
        good.clone(),
    );
    assert_eq!(exchange(&emu, &client_id, &a).await.status, 200);
    // The public login host is accepted as the audience as well.
    let a = signer.jwt(
        json!({"alg": "RS256", "x5t": signer.x5t()}),
        claims(
            &format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
            now() + 600,
            now(),
            &client_id,
        ),
    );
    assert_eq!(exchange(&emu, &client_id, &a).await.status, 200);

    let code = |r: &Res| r.json()["error_codes"][0].as_u64().unwrap();
    // A signature by another key, or a tampered token.
    let other = Signer::new();
    let forged = other.jwt(json!({"alg": "RS256", "x5t": signer.x5t()}), good.clone());
    let r = exchange(&emu, &client_id, &forged).await;
    assert_eq!((r.status, code(&r)), (401, 700027), "{}", r.body);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700027:")
    );
    let a = signer.jwt(json!({"alg": "RS256", "x5t": signer.x5t()}), good.clone());
    let mut parts: Vec<&str> = a.split('.').collect();
    let other_claims =
        URL_SAFE_NO_PAD.encode(claims(&aud, now() + 9999, now(), &client_id).to_string());
    parts[1] = &other_claims;
    let r = exchange(&emu, &client_id, &parts.join(".")).await;
    assert_eq!((r.status, code(&r)), (401, 700027));
    // A certificate the app does not have.
    let r = exchange(
        &emu,
        &client_id,
        &other.jwt(json!({"alg": "RS256", "x5t": other.x5t()}), good.clone()),
    )
    .await;
    assert_eq!((r.status, code(&r)), (401, 700027));
    assert!(r.body.contains("The key was not found"));
    // HS256 is not a certificate signature.
    let hs = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "x5t": signer.x5t()}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let r = exchange(&emu, &client_id, &hs).await;
    assert_eq!((r.status, code(&r)), (401, 700027));
    assert!(r.body.contains("RS256 or PS256"), "{}", r.body);
    // Expired, not yet valid.
    let r = exchange(
        &emu,
        &client_id,
        &signer.jwt(
            json!({"alg": "RS256", "x5t": signer.x5t()}),
            claims(&aud, now() - 1000, now() - 2000, &client_id),
        ),
    )
    .await;
    assert_eq!((r.status, code(&r)), (400, 700024));
    let r = exchange(
        &emu,
        &client_id,
        &signer.jwt(
            json!({"alg": "RS256", "x5t": signer.x5t()}),
            claims(&aud, now() + 5000, now() + 1000, &client_id),
        ),
    )
    .await;
    assert_eq!((r.status, code(&r)), (400, 700024));
    // Another audience; an issuer that is not the client.
    let r = exchange(
        &emu,
        &client_id,
        &signer.jwt(
            json!({"alg": "RS256", "x5t": signer.x5t()}),
            claims(
                "https://elsewhere.example/token",
                now() + 600,
                now(),
                &client_id,
            ),
        ),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(code(&r), 700212);
    let mut c = good.clone();
    c["iss"] = json!("someone-else");
    let r = exchange(
        &emu,
        &client_id,
        &signer.jwt(json!({"alg": "RS256", "x5t": signer.x5t()}), c),
    )
    .await;
    assert_eq!((r.status, code(&r)), (401, 700021));
    // Removing the certificate removes the sign-in.
    let r = emu
        .graph(
            &ci,
            "PATCH",
            &format!("/applications/{id}"),
            Some(json!({"keyCredentials": []})),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = exchange(
        &emu,
        &client_id,
        &signer.jwt(json!({"alg": "RS256", "x5t": signer.x5t()}), good),
    )
    .await;
    assert_eq!((r.status, code(&r)), (401, 700027));
    emu.running.shutdown().await;
}
