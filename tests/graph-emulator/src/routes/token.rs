//! `/{tenant}/oauth2/v2.0/token`: the client-credentials grant with a secret or
//! a federated client assertion, answering errors in Entra's OAuth format.

use serde_json::{Value, json};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::{self, Principal};
use crate::errors::Resp;
use crate::server::HttpReq;
use crate::state::Application;
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

/// Entra's checks of a certificate client assertion: the key credential its
/// header names (`x5t` = SHA-1 or `x5t#S256` = SHA-256 thumbprint, base64url),
/// an RS256/PS256 signature by it, `iss` and `sub` = the client id, `aud` = this
/// tenant's token endpoint, and `exp`/`nbf` (five minutes of clock skew).
#[allow(clippy::too_many_arguments)]
fn certificate_assertion(
    base: &str,
    login_names: &[&str],
    app: &Application,
    client_id: &str,
    assertion: &str,
    header: &serde_json::Map<String, Value>,
    claims: &Value,
    now_ms: u64,
) -> Result<(), Resp> {
    let h = |k: &str| header.get(k).and_then(Value::as_str);
    let c = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    let shown = h("x5t").or(h("x5t#S256")).unwrap_or_default().to_string();
    let bad_sig = |reason: &str| {
        oauth_error(
            401,
            "invalid_client",
            700027,
            &format!(
                "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments if you are using the Graph API.]"
            ),
        )
    };
    let keys: Vec<(&Value, crate::certs::Cert)> = app
        .data
        .get("keyCredentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|k| k["type"] == "AsymmetricX509Cert" && k["usage"] == "Verify")
        .filter_map(|k| Some((k, crate::certs::Cert::from_key(k["key"].as_str()?)?)))
        .collect();
    let Some((key, cert)) = keys
        .iter()
        .find(|(_, cert)| cert.named_by(h("x5t"), h("x5t#S256")))
    else {
        return Err(bad_sig("The key was not found."));
    };
    let now = now_ms / 1000;
    let expired = |field: &str| {
        key[field]
            .as_str()
            .and_then(crate::util::parse_graph_time)
            .map(|ms| ms / 1000)
    };
    if expired("endDateTime").is_some_and(|end| now > end)
        || expired("startDateTime").is_some_and(|start| now + 300 < start)
        || now_ms > cert.not_after_ms
    {
        return Err(bad_sig("The key used is expired."));
    }
    let Some((input, sig)) = assertion.rsplit_once('.') else {
        return Err(bad_sig(
            "The provided signature value did not match the expected signature value.",
        ));
    };
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    match cert.verify(h("alg").unwrap_or_default(), input.as_bytes(), &sig) {
        Ok(()) => {}
        Err("unsupported algorithm") => {
            return Err(bad_sig(
                "The signing algorithm is not supported; use RS256 or PS256.",
            ));
        }
        Err(_) => {
            return Err(bad_sig(
                "The provided signature value did not match the expected signature value.",
            ));
        }
    }
    if !c("iss").eq_ignore_ascii_case(client_id) || !c("sub").eq_ignore_ascii_case(client_id) {
        return Err(oauth_error(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_string(),
        _ => String::new(),
    };
    let aud_ok = login_names.iter().any(|t| {
        [base, "https://login.microsoftonline.com"]
            .iter()
            .any(|host| {
                [
                    format!("{host}/{t}/oauth2/v2.0/token"),
                    format!("{host}/{t}/oauth2/token"),
                    format!("{host}/{t}/v2.0"),
                ]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(aud.trim_end_matches('/')))
            })
    });
    if !aud_ok {
        return Err(oauth_error(
            401,
            "invalid_client",
            700212,
            &format!(
                "The audience '{aud}' of the client assertion is not this tenant's token endpoint."
            ),
        ));
    }
    let (Some(exp), nbf) = (
        claims.get("exp").and_then(Value::as_u64),
        claims.get("nbf").and_then(Value::as_u64),
    ) else {
        return Err(oauth_error(
            400,
            "invalid_client",
            50027,
            "JWT token is invalid or malformed. The client assertion has no 'exp' claim.",
        ));
    };
    if now > exp + 300 || nbf.is_some_and(|n| now + 300 < n) {
        return Err(oauth_error(
            400,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
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
        let header = auth::decode_header(assertion).unwrap_or_default();
        let names_cert = header.get("x5t").is_some() || header.get("x5t#S256").is_some();
        // A certificate credential: the app signs for itself (iss = sub = client_id)
        // and names its certificate; anything else is a federated assertion.
        if names_cert
            || (iss.eq_ignore_ascii_case(client_id) && sub.eq_ignore_ascii_case(client_id))
        {
            let login_names = [dir.tenant_id.as_str(), dir.domain.as_str(), tenant];
            if let Err(r) = certificate_assertion(
                &emu.base_url,
                &login_names,
                &app,
                client_id,
                assertion,
                &header,
                &claims,
                now,
            ) {
                return r;
            }
        } else {
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

/// App Service's managed-identity endpoint (`IDENTITY_ENDPOINT`):
/// `GET /msi/token?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`
/// (`IDENTITY_HEADER`) → `{"access_token","expires_on","resource","token_type","client_id"}`,
/// `expires_on` in Unix seconds as a string, as App Service sends it.
pub fn managed_identity(emu: &Emulator, req: &HttpReq) -> Resp {
    let fail = |status: u16, error: &str, msg: &str| {
        Resp::json(status, json!({"error": error, "error_description": msg}))
            .with_header("Content-Type", "application/json; charset=utf-8")
    };
    let Some((mi_client, secret)) = &emu.config.managed_identity else {
        return fail(
            404,
            "not_found",
            "No managed identity is configured (--managed-identity).",
        );
    };
    if req.method != "GET" {
        return fail(
            405,
            "invalid_request",
            "The managed identity endpoint takes GET.",
        );
    }
    if req.header("x-identity-header") != Some(secret.as_str()) {
        return fail(
            401,
            "unauthorized",
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    let q = parse_query(&req.query, true);
    let get = |k: &str| {
        q.iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if get("api-version") != Some("2019-08-01") {
        return fail(
            400,
            "invalid_request",
            "The api-version parameter must be 2019-08-01.",
        );
    }
    let Some(resource) = get("resource") else {
        return fail(
            400,
            "invalid_request",
            "The resource parameter is required.",
        );
    };
    if let Some(asked) = get("client_id")
        && !asked.eq_ignore_ascii_case(mi_client)
    {
        return fail(
            400,
            "invalid_request",
            &format!("No managed identity with client id '{asked}' is assigned to this resource."),
        );
    }
    let tenants = lock(&emu.tenants);
    let dir = tenants.home();
    let Some(p) = dir
        .live_sp_by_app_id(mi_client)
        .and_then(|sp| Principal::resolve(dir, sp.id()))
    else {
        return fail(
            400,
            "invalid_request",
            "The managed identity has no service principal.",
        );
    };
    let resource = resource.trim_end_matches("/.default").to_string();
    let now = now_ms() / 1000;
    let lifetime = emu.config.token_lifetime_secs;
    let claims = auth::claims_for(dir, &p, &resource, &dir.tenant_id, now, lifetime);
    Resp::ok(json!({
        "access_token": auth::sign(dir, &claims),
        "expires_on": (now + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": mi_client,
    }))
    .with_header("Content-Type", "application/json; charset=utf-8")
}
