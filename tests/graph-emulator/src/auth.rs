//! Tokens (HS256 JWTs signed with the tenant's persisted key) and the caller
//! model that Graph's authorization checks use.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::state::{
    AZ_CLI_APP_ID, Application, Directory, ROLE_APP_ADMIN, ROLE_CLOUD_APP_ADMIN, ROLE_GLOBAL_ADMIN,
    ROLE_PRIV_ROLE_ADMIN,
};

fn key(dir: &Directory) -> hmac::Key {
    let raw = STANDARD.decode(&dir.signing_key).unwrap_or_default();
    hmac::Key::new(hmac::HMAC_SHA256, &raw)
}

pub fn sign(dir: &Directory, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256","kid":"graph-emulator"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let tag = hmac::sign(&key(dir), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Decodes a JWT's payload without checking its signature (client assertions
/// come from external issuers the emulator cannot verify).
pub fn decode_unverified(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let _header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A JWT's header, undecoded signature aside.
pub fn decode_header(token: &str) -> Option<serde_json::Map<String, Value>> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks signature, lifetime and tenant; the error string is Graph's 401 message.
pub fn verify(dir: &Directory, token: &str, now_secs: u64) -> Result<Value, &'static str> {
    if token.is_empty() {
        return Err("Access token is empty.");
    }
    let Some((input, sig)) = token.rsplit_once('.') else {
        return Err("CompactToken parsing failed with error code: 80049217");
    };
    if input.split('.').count() != 2 {
        return Err("CompactToken parsing failed with error code: 80049217");
    }
    let claims =
        decode_unverified(token).ok_or("CompactToken parsing failed with error code: 80049217")?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "Access token validation failure.")?;
    hmac::verify(&key(dir), input.as_bytes(), &sig)
        .map_err(|_| "Access token validation failure.")?;
    let exp = claims["exp"].as_u64().unwrap_or(0);
    let nbf = claims["nbf"].as_u64().unwrap_or(0);
    if now_secs >= exp || now_secs + 300 < nbf {
        return Err("Access token has expired or is not yet valid.");
    }
    if claims["tid"].as_str() != Some(dir.tenant_id.as_str()) {
        return Err("Access token validation failure. Invalid issuer or tenant.");
    }
    let aud = claims["aud"].as_str().unwrap_or_default();
    if !is_graph_audience(aud) {
        return Err("Access token validation failure. Invalid audience.");
    }
    Ok(claims)
}

/// Graph accepts its appId and its URI (with or without a trailing slash); the
/// emulator also accepts its own base URL so clients can use `{base}/.default`.
pub fn is_graph_audience(aud: &str) -> bool {
    let a = aud.trim_end_matches('/');
    a == crate::state::GRAPH_APP_ID
        || a.eq_ignore_ascii_case("https://graph.microsoft.com")
        || a.starts_with("http://127.0.0.1")
        || a.starts_with("https://localhost")
        || a.starts_with("http://localhost")
        || a.starts_with("https://127.0.0.1")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    App,
}

/// The caller of a Graph request, resolved against the current directory (so
/// role changes made through the admin side apply at once).
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: Kind,
    pub oid: String,
    /// For apps: the client id; for users: the client the token was minted for.
    pub app_id: String,
    pub upn: Option<String>,
    pub display_name: String,
    /// Directory role template ids.
    pub wids: Vec<String>,
    /// Graph application permissions (values), for app callers.
    pub permissions: Vec<String>,
}

impl Principal {
    pub fn resolve(dir: &Directory, oid: &str) -> Option<Principal> {
        if let Some(u) = dir.users.iter().find(|u| u.id == oid) {
            return Some(Principal {
                kind: Kind::User,
                oid: u.id.clone(),
                app_id: AZ_CLI_APP_ID.into(),
                upn: Some(u.upn.clone()),
                display_name: u.display_name.clone(),
                wids: u.roles.clone(),
                permissions: vec![],
            });
        }
        let sp = dir.sp(oid).filter(|s| s.deleted_ms.is_none())?;
        Some(Principal {
            kind: Kind::App,
            oid: sp.id().into(),
            app_id: sp.app_id().into(),
            upn: None,
            display_name: sp.display_name().into(),
            wids: sp.roles.clone(),
            permissions: dir.graph_permissions_of(sp.id()),
        })
    }

    pub fn has_role(&self, template: &str) -> bool {
        self.wids.iter().any(|w| w.eq_ignore_ascii_case(template))
    }
    pub fn has_perm(&self, p: &str) -> bool {
        self.permissions.iter().any(|x| x == p)
    }

    /// May create and manage any application / service principal.
    pub fn is_app_admin(&self) -> bool {
        self.has_role(ROLE_CLOUD_APP_ADMIN)
            || self.has_role(ROLE_APP_ADMIN)
            || self.has_role(ROLE_GLOBAL_ADMIN)
            || self.has_perm("Application.ReadWrite.All")
            || self.has_perm("Directory.ReadWrite.All")
    }

    /// May register applications (users by default may not, per the brief's tenant).
    pub fn can_create_app(&self) -> bool {
        self.is_app_admin() || self.has_perm("Application.ReadWrite.OwnedBy")
    }

    /// An owner may manage its own application.
    pub fn can_manage(&self, app: &Application) -> bool {
        self.is_app_admin() || app.owners.iter().any(|o| o == &self.oid)
    }

    /// Admin consent to Microsoft Graph application permissions.
    pub fn can_grant_graph(&self) -> bool {
        self.has_role(ROLE_PRIV_ROLE_ADMIN)
            || self.has_role(ROLE_GLOBAL_ADMIN)
            || self.has_perm("AppRoleAssignment.ReadWrite.All")
    }
}

/// Claims for a token issued to `p` for `aud`.
pub fn claims_for(
    dir: &Directory,
    p: &Principal,
    aud: &str,
    tenant: &str,
    now: u64,
    lifetime: u64,
) -> Value {
    let mut c = json!({
        "aud": aud,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "tid": tenant,
        "oid": p.oid,
        "sub": p.oid,
        "appid": p.app_id,
        "azp": p.app_id,
        "idtyp": if p.kind == Kind::App { "app" } else { "user" },
        "wids": p.wids,
        "ver": "1.0",
        "uti": crate::util::new_guid(),
    });
    match p.kind {
        Kind::App => {
            c["roles"] = json!(dir.graph_permissions_of(&p.oid));
            c["app_displayname"] = json!(p.display_name);
        }
        Kind::User => {
            c["upn"] = json!(p.upn);
            c["unique_name"] = json!(p.upn);
            c["name"] = json!(p.display_name);
            c["scp"] = json!(
                "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All Directory.AccessAsUser.All"
            );
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_roundtrip() {
        let dir = Directory::seeded(crate::seed::DEFAULT_TENANT, None);
        let p = Principal::resolve(&dir, crate::seed::USER_APP_ADMIN).unwrap();
        let c = claims_for(
            &dir,
            &p,
            "https://graph.microsoft.com",
            &dir.tenant_id,
            1000,
            3600,
        );
        let t = sign(&dir, &c);
        assert!(verify(&dir, &t, 1001).is_ok());
        assert_eq!(
            verify(&dir, &t, 5000),
            Err("Access token has expired or is not yet valid.")
        );
        let mut bad = t.clone();
        bad.push('x');
        assert!(verify(&dir, &bad, 1001).is_err());
        assert!(verify(&dir, "abc", 1001).is_err());
    }
}
