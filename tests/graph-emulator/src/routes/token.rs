//! `/{tenant}/oauth2/v2.0/token`: the client-credentials grant with a secret or
//! a federated client assertion, answering errors in Entra's OAuth format.

use serde_json::{Value, json};

use crate::auth::{self, Principal};
use crate::errors::Resp;
use crate::server::HttpReq;
use crate::util::{aad_timestamp, new_guid, now_ms, parse_query};
use crate::{Emulator, lock};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn oauth_error(status: u16, error: &str, code: u32, msg: &str) -> Resp {
    let (trace, corr, ts) = (new_guid(), new_guid(), aad_timestamp(now_ms()));
    Resp::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {msg}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
    .with_header("Content-Type", "application/json; charset=utf-8")
}

fn missing(param: &str) -> Resp {
    oauth_error(
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

pub fn handle(emu: &Emulator, req: &HttpReq, tenant: &str) -> Resp {
    if req.method != "POST" {
        return oauth_error(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests. Received a GET request.",
        );
    }
    if lock(&emu.faults).settings.faults_on_token {
        let mut f = lock(&emu.faults);
        let retry = f.settings.retry_after_secs;
        match f.roll() {
            Some(crate::faults::Fault::Throttle) => {
                return oauth_error(
                    429,
                    "temporarily_unavailable",
                    50196,
                    "The server is temporarily throttling requests.",
                )
                .with_header("Retry-After", retry.to_string());
            }
            Some(crate::faults::Fault::Unavailable(s)) => {
                return oauth_error(
                    s,
                    "temporarily_unavailable",
                    90033,
                    "A transient error has occurred. Please try again.",
                );
            }
            None => {}
        }
    }
    let form: Vec<(String, String)> = parse_query(&String::from_utf8_lossy(&req.body), true);
    let get = |k: &str| {
        form.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };

    let now = now_ms();
    let tenants = lock(&emu.tenants);
    let Some(dir) = tenants.for_login(tenant) else {
        return oauth_error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        );
    };
    let Some(grant) = get("grant_type") else {
        return missing("grant_type");
    };
    if grant != "client_credentials" {
        return oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = get("client_id") else {
        return missing("client_id");
    };
    let Some(scope) = get("scope") else {
        return missing("scope");
    };
    let Some(resource) = scope
        .split_whitespace()
        .next()
        .and_then(|s| s.strip_suffix("/.default"))
    else {
        return oauth_error(
            400,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let Some(app) = dir.live_app_by_app_id(client_id).cloned() else {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                dir.org_name
            ),
        );
    };
    if let Some(secret) = get("client_secret") {
        let ok = app
            .secrets
            .iter()
            .any(|s| s.secret == secret && s.end_ms > now);
        if !ok {
            return oauth_error(
                401,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    } else if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(JWT_BEARER) {
            return oauth_error(
                400,
                "invalid_request",
                700023,
                &format!("Invalid client_assertion_type: the value must be '{JWT_BEARER}'."),
            );
        }
        let Some(claims) = auth::decode_unverified(assertion) else {
            return oauth_error(
                400,
                "invalid_client",
                50027,
                "JWT token is invalid or malformed.",
            );
        };
        let s = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => a.clone(),
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64)
            && exp + 300 < now / 1000
        {
            return oauth_error(
                400,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            );
        }
        let (iss, sub) = (s("iss"), s("sub"));
        let mut faults = lock(&emu.faults);
        // A credential still inside the consistency window has not "propagated" yet.
        let matched = app
            .fics
            .iter()
            .filter(|f| {
                !faults.lagging(f.get("id").and_then(Value::as_str).unwrap_or_default(), now)
            })
            .cloned()
            .collect::<Vec<_>>();
        if super::fic::matches_assertion(&matched, &iss, &sub, &aud).is_none() {
            return oauth_error(
                401,
                "invalid_client",
                70021,
                &format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
                ),
            );
        }
    } else {
        return oauth_error(
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        );
    }
    let Some(sp) = dir.live_sp_by_app_id(client_id).cloned() else {
        return oauth_error(
            400,
            "invalid_client",
            7000229,
            &format!(
                "The client application {client_id} is missing service principal in the tenant {}.",
                dir.tenant_id
            ),
        );
    };
    if sp.data.get("accountEnabled").and_then(Value::as_bool) == Some(false) {
        return oauth_error(
            400,
            "unauthorized_client",
            7000112,
            &format!(
                "Application '{client_id}'({}) is disabled.",
                app.display_name()
            ),
        );
    }
    let Some(p) = Principal::resolve(dir, sp.id()) else {
        return oauth_error(
            400,
            "invalid_client",
            7000229,
            "The client application is missing a service principal.",
        );
    };
    let lifetime = emu.config.token_lifetime_secs;
    let tid = dir.tenant_id.clone();
    let claims = auth::claims_for(dir, &p, resource, &tid, now / 1000, lifetime);
    let token = auth::sign(dir, &claims);
    let expires = lifetime.saturating_sub(1);
    Resp::ok(json!({
        "token_type": "Bearer",
        "expires_in": expires,
        "ext_expires_in": expires,
        "access_token": token,
    }))
    .with_header("Content-Type", "application/json; charset=utf-8")
}
