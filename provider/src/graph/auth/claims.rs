//! Reading a JWT's payload without verifying it. The provider only needs to know what
//! a token says about itself (tenant, caller, expiry); Graph verifies the signature.
//! Errors never contain the token.

use super::{AuthError, TokenClaims};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a token says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub claims: TokenClaims,
    /// `exp`, when present.
    pub expires_at: Option<SystemTime>,
}

/// The payload (second part) of a JWT as a JSON object. `what` names the token in
/// the error ("the access token from the Azure CLI").
pub fn payload(jwt: &str, what: &str) -> Result<Map<String, Value>, AuthError> {
    let malformed = |why: &str| {
        AuthError::new(
            "Malformed token",
            format!("{what} is not a JSON Web Token ({why})."),
        )
    };
    let mut parts = jwt.trim().split('.');
    let (Some(_header), Some(body), Some(_signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("it does not have three dot-separated parts"));
    };
    if parts.next().is_some() {
        return Err(malformed(
            "it has more than three parts; an encrypted token cannot be read",
        ));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(body))
        .map_err(|_| malformed("its payload is not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed("its payload is not a JSON object")),
    }
}

/// The claims the provider acts on, and `exp`.
pub fn decode(jwt: &str, what: &str) -> Result<Decoded, AuthError> {
    let map = payload(jwt, what)?;
    Ok(from_payload(&map))
}

pub fn from_payload(map: &Map<String, Value>) -> Decoded {
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            map.get(*k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    };
    let strings = |key: &str| -> Vec<String> {
        map.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let expires_at = map.get("exp").and_then(|v| match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Decoded {
        claims: TokenClaims {
            tenant_id: text(&["tid"]),
            object_id: text(&["oid"]),
            app_id: text(&["appid", "azp"]),
            user_principal_name: text(&["upn", "unique_name"]),
            directory_roles: strings("wids"),
            app_permissions: strings("roles"),
        },
        // An `exp` past what the clock can hold is no expiry the provider can use.
        expires_at: expires_at.and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))),
    }
}

/// `base` plus `secs` seconds, or an error naming `what` when that is past what the
/// clock can hold (a token lifetime no real token endpoint sends).
pub fn expiry(base: SystemTime, secs: u64, what: &str) -> Result<SystemTime, super::AuthError> {
    base.checked_add(Duration::from_secs(secs)).ok_or_else(|| {
        super::AuthError::new(
            "Unexpected token lifetime",
            format!("{what} gives a lifetime of {secs} seconds, which is out of range."),
        )
    })
}

/// A string claim (e.g. `iss`, `sub`; `aud` also when it is a one-element array).
pub fn string_claim(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.len() == 1 => items[0].as_str().map(str::to_owned),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// An unsigned JWT with this payload (for tests).
    pub fn unsigned_jwt(payload: &Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.c2lnbmF0dXJl",
            enc(&json!({"alg": "none", "typ": "JWT"})),
            enc(payload)
        )
    }

    #[test]
    fn reads_the_claims_the_provider_needs() {
        let jwt = unsigned_jwt(&json!({
            "tid": "t1", "oid": "o1", "appid": "a1", "upn": "someone@example.com", "exp": 2_000_000_000u64
        }));
        let d = decode(&jwt, "the token").unwrap();
        assert_eq!(d.claims.tenant_id.as_deref(), Some("t1"));
        assert_eq!(d.claims.object_id.as_deref(), Some("o1"));
        assert_eq!(d.claims.app_id.as_deref(), Some("a1"));
        assert_eq!(
            d.claims.user_principal_name.as_deref(),
            Some("someone@example.com")
        );
        assert_eq!(
            d.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
    }

    #[test]
    fn falls_back_to_azp_and_unique_name() {
        let jwt = unsigned_jwt(&json!({"azp": "a2", "unique_name": "u@x"}));
        let d = decode(&jwt, "the token").unwrap();
        assert_eq!(d.claims.app_id.as_deref(), Some("a2"));
        assert_eq!(d.claims.user_principal_name.as_deref(), Some("u@x"));
        assert_eq!(d.expires_at, None);
    }

    #[test]
    fn lifetimes_past_the_clock_are_errors_not_panics() {
        let token = unsigned_jwt(&json!({"tid": "t", "exp": u64::MAX}));
        assert_eq!(decode(&token, "a token").unwrap().expires_at, None);
        assert!(expiry(SystemTime::now(), u64::MAX, "expires_in").is_err());
        assert!(expiry(SystemTime::now(), 3599, "expires_in").is_ok());
    }

    #[test]
    fn padded_payloads_are_accepted() {
        let body = URL_SAFE.encode(br#"{"tid":"t"}"#);
        let d = decode(&format!("e30.{body}.x"), "the token").unwrap();
        assert_eq!(d.claims.tenant_id.as_deref(), Some("t"));
    }

    #[test]
    fn errors_do_not_echo_the_token() {
        for bad in [
            "not-a-jwt-secretvalue",
            "a.!!!secretvalue!!!.c",
            "a.b.c.d.e",
        ] {
            let e = decode(bad, "the access token from somewhere").unwrap_err();
            assert!(!e.to_string().contains("secretvalue"), "{e}");
            assert!(e.detail.contains("the access token from somewhere"));
        }
    }

    #[test]
    fn audiences_may_be_arrays() {
        let map = payload(
            &unsigned_jwt(&json!({"aud": ["api://AzureADTokenExchange"]})),
            "x",
        )
        .unwrap();
        assert_eq!(
            string_claim(&map, "aud").as_deref(),
            Some("api://AzureADTokenExchange")
        );
    }
}
